"""Fast Weights as a matrix or as attention: the same numbers, a fraction of the work.

The Fast Weights cell (models/fast_weights.py) carries A, a units x units
matrix per example; stepped one step at a time it decays A, adds an outer
product and multiplies A by the inner state every step. For ART that is a
[128, 50, 50] tensor written and read several times a step, forward and
backward, and XLA's train step is bound by those passes (BENCHMARKS.md,
"Where ART's time goes"). FastWeightsRNN never forms A: after t steps

    A(t) v = decay^(t+1) A0 v + rate * sum_k decay^(t-k) s_k (s_k . v)

where s_k are the stored states, attention over the past. This script runs
one training step's core through the real layer both ways (Fast Weights
50, 11 steps, batch 128, layer norm, one inner step, as in ART; the cell's
`attention_form` on and off, the same weights), from a learned h0 with A0
zero or learned, checks that the losses and the gradients of every weight,
h0 and A0 agree to float rounding, and times forward + backward under XLA,
the two forms taking turns.

    python -m benchmarks.fast_weights_forms           # 5 rounds of 50 steps
    python -m benchmarks.fast_weights_forms --quick   # the check, and 2 rounds of 5
                                                      # without XLA's compile time, for CI
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Callable, Dict, List

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from tfx_seqgen.models.fast_weights import FastWeightsCell, FastWeightsRNN  # noqa: E402

BATCH, STEPS, UNITS, FEATURES = 128, 11, 50, 100


class Core:
    """Inputs, a loss target, a learned start (h0, A0) and the layer in both forms."""

    def __init__(self, seed: int = 0):
        rng = np.random.default_rng(seed)

        def normal(shape, scale):
            return rng.normal(0.0, scale, shape).astype("float32")

        self.inputs = tf.constant(normal((BATCH, STEPS, FEATURES), 1.0))
        self.target = tf.constant(normal((BATCH, UNITS), 1.0))
        self.h0 = tf.Variable(normal((1, UNITS), 0.1))
        self.a0 = tf.Variable(normal((1, UNITS * UNITS), 0.1))
        self.layers = {
            # Unrolled: the matrix form's fastest loop under XLA (cells.FASTEST_LOOP).
            form: FastWeightsRNN(
                FastWeightsCell(UNITS, attention_form=form == "attention"), unroll=True
            )
            for form in ("matrix", "attention")
        }
        for layer in self.layers.values():
            layer.build(self.inputs.shape)
        self.layers["attention"].set_weights(self.layers["matrix"].get_weights())

    def variables(self, form: str) -> List[tf.Variable]:
        return [*self.layers[form].trainable_variables, self.h0, self.a0]

    def loss(self, form: str, learn_a0: bool):
        h0 = tf.broadcast_to(self.h0, (BATCH, UNITS))
        a0 = tf.broadcast_to(self.a0 if learn_a0 else tf.zeros_like(self.a0), (BATCH, UNITS**2))
        outputs = self.layers[form](self.inputs, initial_state=[h0, a0])
        return tf.reduce_sum(outputs * self.target)


def train_step(core: Core, form: str, learn_a0: bool, xla: bool = True) -> Callable:
    """The loss and its gradients for every variable, as one graph, XLA-compiled or not."""
    variables = core.variables(form)

    @tf.function(jit_compile=xla)
    def step():
        with tf.GradientTape() as tape:
            loss = core.loss(form, learn_a0)
        gradients = tape.gradient(loss, variables)
        return loss, [
            tf.zeros_like(v) if g is None else g for g, v in zip(gradients, variables, strict=True)
        ]

    return step


def largest_gradient_difference(a: list, b: list) -> float:
    """max over variables of max |a - b| / max |b|."""
    return max(
        float(tf.reduce_max(tf.abs(x - y)) / (tf.reduce_max(tf.abs(y)) + 1e-12))
        for x, y in zip(a, b, strict=True)
    )


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="2 rounds of 5 steps without XLA, for CI"
    )
    args = parser.parse_args(argv)
    rounds, calls = (2, 5) if args.quick else (5, 50)
    core = Core()
    steps: Dict[tuple, Callable] = {
        (form, a0): train_step(core, form, a0, xla=not args.quick)
        for a0 in (False, True)
        for form in ("matrix", "attention")
    }
    first = {key: step() for key, step in steps.items()}  # compiles each
    print(f"Fast Weights {UNITS}, {STEPS} steps, batch {BATCH}: one step's loss and gradients")
    print(f"{'A0':<10} {'loss, matrix':>14} {'loss, attention':>16} {'max gradient diff':>18}")
    for a0 in (False, True):
        (matrix_loss, matrix_grads), (attention_loss, attention_grads) = (
            first[("matrix", a0)],
            first[("attention", a0)],
        )
        difference = largest_gradient_difference(attention_grads, matrix_grads)
        print(
            f"{'learned' if a0 else 'zero':<10} {float(matrix_loss):>14.6f} "
            f"{float(attention_loss):>16.6f} {difference:>18.1e}"
        )
    rates: Dict[tuple, list] = {key: [] for key in steps}
    for _ in range(rounds):
        for key, step in steps.items():
            start = time.perf_counter()
            for _ in range(calls):
                step()[0].numpy()
            rates[key].append(calls / (time.perf_counter() - start))
    compiled = "as a graph, without XLA" if args.quick else "under XLA"
    print(f"\nforward + backward {compiled}, steps/s (median of {rounds} rounds of {calls})")
    print(f"{'A0':<10} {'matrix':>8} {'attention':>10} {'speed-up':>9}")
    for a0 in (False, True):
        matrix, attention = (np.median(rates[(form, a0)]) for form in ("matrix", "attention"))
        print(
            f"{'learned' if a0 else 'zero':<10} {matrix:>8.0f} {attention:>10.0f} "
            f"{attention / matrix:>8.2f}x"
        )


if __name__ == "__main__":
    main()
