"""The Trainer's module: what its `run_fn` path names, for every task.

TFX re-imports (reloads) the module a `run_fn` path names each time a Trainer
runs in a process. Keeping that module this thin means the reload never
replaces the classes the rest of the package and its callers hold, such as
TrainingConfig and InvalidTrainingConfig.
"""

from __future__ import annotations

from tfx import v1 as tfx


def run_fn(fn_args: tfx.components.FnArgs) -> None:
    """TFX Trainer entry point: the custom_config's task trains and exports its model."""
    from tfx_seqgen import tasks
    from tfx_seqgen.models import training

    custom_config = dict(fn_args.custom_config or {})
    training.run_fn(fn_args, tasks.get(str(custom_config.get("task"))))
