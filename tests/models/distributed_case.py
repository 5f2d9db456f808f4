"""A small LCD training case for the distributed loop, run in-process or as a worker.

As a script (`python -m tests.models.distributed_case STRATEGY OUT`), it
trains under the TF_CONFIG it is given and the chief writes its history to
OUT as JSON.
"""

import json
import sys

import keras
import numpy as np
import tensorflow as tf

from tfx_seqgen.models import cluster
from tfx_seqgen.models.distributed_fit import DistributedFit
from tfx_seqgen.tasks.lcd.model import LcdModel

# 193 rows in batches of 32: the last global batch has one row, so on two
# workers one of them trains that step on an empty batch.
ROWS, EVAL_ROWS, STEPS, BATCH, EPOCHS = 193, 64, 12, 32, 3


def arrays(rows: int, seed: int):
    """Random walks as LcdModel inputs and next-step deltas."""
    rng = np.random.default_rng(seed)
    x = (rng.normal(size=(rows, STEPS + 1)).cumsum(1) * 0.1).astype("float32")
    inputs = {"x": x[:, :-1], "x0": x[:, 0], "period": rng.uniform(size=rows).astype("float32")}
    return inputs, np.diff(x, axis=1)


def dataset(rows: int, seed: int, shuffle: bool) -> tf.data.Dataset:
    inputs, targets = arrays(rows, seed)
    order = tf.data.Dataset.range(rows)
    if shuffle:
        order = order.shuffle(rows, seed=3, reshuffle_each_iteration=True)
    tensors = {k: tf.constant(v) for k, v in inputs.items()}
    gather = lambda i: ({k: tf.gather(v, i) for k, v in tensors.items()}, tf.gather(targets, i))  # noqa: E731
    return order.batch(BATCH).map(gather)


def model(strategy: str) -> keras.Model:
    """A tiny LCD model; the learning rate is high enough that clipping at 0.5 acts."""
    built = LcdModel(seed=0, strategy=strategy, units=16, context_units=[8])
    built.compile(
        optimizer=keras.optimizers.Adam(1e-2, global_clipnorm=0.5), loss="mse", jit_compile=False
    )
    return built


def train(strategy: str, distributed: bool, epochs: int = EPOCHS, checkpoint_dir=None) -> dict:
    """The history of `fit` (distributed=False) or of DistributedFit, from the same start."""
    keras.utils.set_random_seed(1)
    trained = model(strategy)
    train_set, eval_set = dataset(ROWS, 0, True), dataset(EVAL_ROWS, 9, False)
    if not distributed:
        history = trained.fit(train_set, validation_data=eval_set, epochs=epochs, verbose=0)
    else:
        history = DistributedFit(trained).fit(
            train_set, eval_set, epochs, "case", checkpoint_dir=checkpoint_dir
        )
    return {k: history.history[k] for k in ("loss", "val_loss")}


if __name__ == "__main__":
    strategy_name, out = sys.argv[1:3]
    worker = cluster.from_environment()
    with cluster.connect(worker, 120).scope():
        result = train(strategy_name, distributed=True)
    if worker.is_chief:
        with open(out, "w") as f:
            json.dump(result, f)
