"""The tasks tfx-seqgen runs, one package each; this registry is the one list of them.

A task is a `Task` record (tasks/task.py) built in its package's `__init__`.
Adding a task means its package and one entry below; nothing else switches
on a task's name.
"""

from __future__ import annotations

from typing import Dict

from tfx_seqgen.tasks.art import ART
from tfx_seqgen.tasks.lcd import LCD
from tfx_seqgen.tasks.sequences import SEQUENCES
from tfx_seqgen.tasks.task import Task

REGISTRY: Dict[str, Task] = {task.name: task for task in (LCD, ART, SEQUENCES)}
NAMES = tuple(REGISTRY)


def get(name: str) -> Task:
    """The registered task called `name`; an unknown name is refused, naming the known ones."""
    if name not in REGISTRY:
        raise ValueError(f"task={name!r} is unknown; allowed: {', '.join(NAMES)}.")
    return REGISTRY[name]


__all__ = ["NAMES", "REGISTRY", "Task", "get"]
