"""TFX component machinery shared by every task: Beam dataset writing, the Evaluator's
thresholds, the atomic Pusher, and the parameter checks.

A task's own components live in its package (tasks/<task>/component.py).
The names below are imported on first use (tfx_seqgen.lazy): the light
modules (`validation`, `evaluator`) load without TFX.
"""

from tfx_seqgen import lazy

_EXPORTS = {
    "DatasetComponent": "example_gen",
    "InvalidParameterError": "validation",
    "ServingPusher": "pusher",
}
__all__ = sorted(_EXPORTS)
__getattr__ = lazy.exports(__name__, _EXPORTS)
