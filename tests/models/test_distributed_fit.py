"""The distributed training loop gives what Keras's fit gives on one worker."""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.models import distributed_case as case
from tfx_seqgen.components.local_workers import free_ports
from tfx_seqgen.errors import InvalidTrainingConfig
from tfx_seqgen.models.distributed_fit import DistributedFit

# Summation order differs (Keras's reductions against ours, and the
# all-reduce's on two workers): about 1e-7 relative per step, seen up to 6e-8
# after 3 epochs. A real difference (another batch order, unscaled or
# per-worker clipped gradients, the other worker's noise) moves the loss by
# more than 1e-3.
RTOL = 1e-5


@pytest.mark.parametrize("strategy", ["zero", "learned_distribution"])
def test_the_loop_on_one_worker_trains_as_fit_does(strategy):
    fitted = case.train(strategy, distributed=False)
    looped = case.train(strategy, distributed=True)
    for key in ("loss", "val_loss"):
        np.testing.assert_allclose(looped[key], fitted[key], rtol=RTOL)
    assert fitted["loss"][-1] < fitted["loss"][0]  # it trained


def classification(rows: int, seed: int, weights: bool):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 4)).astype("float32")
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype("int64") + (x[:, 2] > 1).astype("int64")
    parts = (x, y, rng.uniform(0.5, 2.0, size=rows).astype("float32")) if weights else (x, y)
    return tf.data.Dataset.from_tensor_slices(parts).shuffle(rows, seed=2).batch(16)


@pytest.mark.parametrize("weights", [False, True])
def test_accuracy_sample_weights_and_stopping_as_fit(weights):
    def train(distributed: bool):
        keras.utils.set_random_seed(4)
        model = keras.Sequential(
            [keras.Input((4,)), keras.layers.Dense(8, "relu"), keras.layers.Dense(3)]
        )
        model.compile(
            optimizer=keras.optimizers.Adam(0.05),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            metrics=["accuracy"],
        )
        train_set, eval_set = classification(100, 0, weights), classification(40, 1, weights)
        if distributed:
            return DistributedFit(model).fit(train_set, eval_set, 8, "c", stop_at_accuracy=0.9)
        from tfx_seqgen.models.training import StopAtAccuracy

        return model.fit(
            train_set,
            validation_data=eval_set,
            epochs=8,
            verbose=0,
            callbacks=[StopAtAccuracy(0.9)],
        )

    fitted, looped = train(False).history, train(True).history
    assert len(looped["loss"]) == len(fitted["loss"]) < 8  # stopped at 90% eval accuracy
    for key in ("loss", "val_loss", "accuracy", "val_accuracy"):
        np.testing.assert_allclose(looped[key], fitted[key], rtol=RTOL)


def test_a_run_started_again_resumes_after_its_last_epoch(tmp_path):
    uninterrupted = case.train("learned_distribution", distributed=True)
    first = case.train("learned_distribution", True, epochs=2, checkpoint_dir=str(tmp_path))
    resumed = case.train("learned_distribution", True, checkpoint_dir=str(tmp_path))
    assert first["loss"] == uninterrupted["loss"][:2]
    # The third epoch draws the shuffle and the h0 noise it draws uninterrupted.
    assert resumed == uninterrupted


def test_an_unsupported_metric_is_named():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    with pytest.raises(InvalidTrainingConfig, match=r"metrics \['mae'\] are not supported"):
        DistributedFit(model)


@pytest.mark.e2e
def test_two_workers_train_as_one(tmp_path):
    """Two processes under MultiWorkerMirroredStrategy, each half of every batch,
    one of them an empty last batch, give the loss curves of one worker's fit."""
    out = tmp_path / "history.json"
    ports = free_ports(2)
    workers = []
    for index in range(2):
        tf_config = {
            "cluster": {"worker": [f"127.0.0.1:{p}" for p in ports]},
            "task": {"type": "worker", "index": index},
        }
        env = dict(os.environ, TF_CONFIG=json.dumps(tf_config), TF_NUM_INTRAOP_THREADS="1")
        command = [sys.executable, "-m", "tests.models.distributed_case", "learned_distribution"]
        workers.append(subprocess.Popen([*command, str(out)], env=env, stderr=subprocess.PIPE))
    errors = [w.communicate(timeout=300)[1].decode()[-2000:] for w in workers]
    assert [w.returncode for w in workers] == [0, 0], errors
    two = json.loads(out.read_text())
    one = case.train("learned_distribution", distributed=False)
    for key in ("loss", "val_loss"):
        np.testing.assert_allclose(two[key], one[key], rtol=RTOL)
