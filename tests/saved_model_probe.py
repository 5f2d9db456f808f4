"""Exercises an exported SavedModel with TensorFlow alone and prints a JSON report.

Run as a script in a fresh process: it refuses to import any module of this
project, to prove the SavedModel needs nothing but TensorFlow.
    python tests/saved_model_probe.py SAVED_MODEL_DIR {lcd,art}
"""

import json
import sys

PROJECT_MODULES = {"tfx_seqgen", "models", "components", "pipeline", "serving", "tests"}


class _RefuseProjectImports:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in PROJECT_MODULES:
            raise ImportError(f"the probe may not import {name}")


sys.meta_path.insert(0, _RefuseProjectImports())

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402


def outcome(call):
    try:
        call()
        return {"status": "OK"}
    except tf.errors.InvalidArgumentError as error:
        return {"status": "INVALID_ARGUMENT", "message": error.message}


def example(features):
    proto = tf.train.Example()
    for name, values in features.items():
        feature = proto.features.feature[name]
        if isinstance(values[0], float):
            feature.float_list.value.extend(values)
        elif isinstance(values[0], int):
            feature.int64_list.value.extend(values)
        else:
            feature.bytes_list.value.extend(values)
    return proto.SerializeToString()


def probe_lcd(model):
    generate = model.signatures["generate"]

    def run(x0=(3.0, 2.5), period=(2.0, 1.0), seed=(7, 8), num_samples=5, steps=12):
        return generate(
            x0=tf.constant(x0, tf.float32),
            period=tf.constant(period, tf.float32),
            seed=tf.constant(seed, tf.int64),
            num_samples=tf.constant(num_samples, tf.int32),
            steps=tf.constant(steps, tf.int32),
        )["trajectories"].numpy()

    first, again, reseeded = run(), run(), run(seed=(70, 80))
    per_row = run(num_samples=(5, 5), steps=(12, 12))
    alone = run(x0=(2.5,), period=(1.0,), seed=(8,))
    bad = {
        "num_samples=0": lambda: run(num_samples=0),
        "num_samples=1001": lambda: run(num_samples=1001),
        "steps=0": lambda: run(steps=0),
        "steps=1001": lambda: run(steps=1001),
        "x0=nan": lambda: run(x0=(float("nan"), 2.5)),
        "period=inf": lambda: run(period=(2.0, float("inf"))),
        "period=-2": lambda: run(period=(2.0, -2.0)),
        "x0=0": lambda: run(x0=(3.0, 0.0)),
        "period rows": lambda: run(period=(2.0,)),
        "num_samples per row differ": lambda: run(num_samples=(5, 6)),
        "steps rows": lambda: run(steps=(12, 12, 12)),
        "num_samples rank": lambda: run(num_samples=((5,), (5,))),
        "seed rows": lambda: run(seed=(1, 2, 3)),
        "rows x num_samples x steps": lambda: run(
            x0=[3.0] * 20, period=[2.0] * 20, seed=list(range(20)), num_samples=1000, steps=1000
        ),
    }
    examples = tf.constant([example({"x": np.linspace(3, 0, 13).tolist(), "period": [2.0]})])
    served = model.signatures["serving_default"](examples=examples)
    evaluated = model.signatures["evaluate"](examples=examples)
    drawn = run(
        x0=(3.0,),
        period=(2.0,),
        seed=tuple(tf.strings.to_hash_bucket_fast(examples, 2**62).numpy().tolist()),
        num_samples=100,
    )[:, :, 1:]
    truth = np.linspace(3, 0, 13, dtype=np.float32)[None, 1:]
    # CRPS written out here: E|X - y| - E|X - X'| / 2 over the drawn samples.
    crps = np.abs(drawn - truth[:, None]).mean(axis=1) - 0.5 * np.abs(
        drawn[:, :, None] - drawn[:, None, :]
    ).mean(axis=(1, 2))
    low, high = np.percentile(drawn, [5, 95], axis=1)
    # The rollout starts from the example's first value and period.
    from_example = served["rollout"].numpy()[0]
    generated = run(x0=(3.0,), period=(2.0,), seed=(1,), num_samples=50)[0, :, 1:]
    # A calibrated deterministic h0 draws the rollout plus q(t) * z per path:
    # each path's deviation, divided by the first path's, is one number.
    ratio = (generated - from_example) / (generated[:1] - from_example)
    # A start the training covered, one with 10 times its amplitude, a period past its periods.
    in_range = generate(
        x0=tf.constant([3.0, 30.0, 3.0]),
        period=tf.constant([2.0, 2.0, 9.0]),
        seed=tf.constant([1, 2, 3], tf.int64),
        num_samples=tf.constant(2),
        steps=tf.constant(3),
    )["in_training_range"]
    return {
        "in_training_range": in_range.numpy().tolist(),
        "rollout_is_generate": bool(np.allclose(from_example, generated, atol=1e-5)),
        "rollout_shifted_per_path": bool(
            np.allclose(ratio, ratio[:, :1], rtol=1e-3, atol=1e-3)
            and not np.allclose(generated, from_example, atol=1e-4)
        ),
        "signatures": sorted(model.signatures),
        "shape": list(first.shape),
        "starts": first[:, :, 0].tolist(),
        "same_seed_identical": bool(np.array_equal(first, again)),
        "per_row_counts_identical": bool(np.array_equal(first, per_row)),
        "other_seed_differs": bool(not np.allclose(first, reseeded)),
        "samples_differ": bool(not np.allclose(first[0, 0], first[0, 1])),
        "row_alone_identical": bool(np.allclose(alone[0], first[1], atol=1e-5)),
        "finite": bool(np.isfinite(first).all()),
        "bad": {name: outcome(call) for name, call in bad.items()},
        "serving_default": {k: list(v.shape) for k, v in served.items()},
        "evaluate": {k: list(v.shape) for k, v in evaluated.items()},
        "evaluate_is_generate_scored": bool(
            np.allclose(evaluated["crps"], crps, atol=1e-5)
            and np.allclose(evaluated["band_width"], high - low, atol=1e-5)
            and np.array_equal(evaluated["coverage"], ((truth >= low) & (truth <= high)) * 1.0)
            and np.allclose(evaluated["sample_mean"], drawn.mean(axis=1), atol=1e-5)
        ),
    }


def probe_art(model):
    answer = model.signatures["answer"]
    result = answer(query=tf.constant(["c9k8j3f1??k", "a1b2c3d4??d"]))
    bad = {
        query: outcome(lambda q=query: answer(query=tf.constant(["c9k8j3f1??k", q])))
        for query in ["c9k8j3f1??z", "c9k8j3f1?k", "c9c8j3f1??c", "", "c9k8j3f1??kk", "c9k8j3f1!!k"]
    }
    served = model.signatures["serving_default"](
        examples=tf.constant([example({"query": [b"c9k8j3f1??k"], "target": [8]})])
    )
    return {
        "signatures": sorted(model.signatures),
        "digit": result["digit"].numpy().tolist(),
        "probability_sums": result["probabilities"].numpy().sum(axis=1).tolist(),
        "probabilities_shape": list(result["probabilities"].shape),
        "bad": bad,
        "serving_default": {k: list(v.shape) for k, v in served.items()},
    }


if __name__ == "__main__":
    path, task = sys.argv[1], sys.argv[2]
    loaded = tf.saved_model.load(path)
    report = probe_lcd(loaded) if task == "lcd" else probe_art(loaded)
    print("REPORT " + json.dumps(report))
