"""Named run configurations: `paper` reproduces the paper, `demo` fits a laptop."""

from __future__ import annotations

from typing import Any, Dict

TASKS = ("lcd", "art")

# Data-generator parameters per config and task: keyword arguments of
# LcdExampleGen / ArtExampleGen. Missing keys take the paper's defaults.
DATA: Dict[str, Dict[str, Dict[str, Any]]] = {
    "paper": {"lcd": {}, "art": {}},
    # LCD at the paper's size is already small; ART is cut to a tenth.
    "demo": {"lcd": {}, "art": {"train_count": 10_000, "eval_count": 2_000}},
}
CONFIGS = tuple(DATA)


def data_params(task: str, config: str) -> Dict[str, Any]:
    """The data generator's parameters for a task under a named config."""
    if task not in TASKS:
        raise ValueError(f"task={task!r} is unknown; allowed: {', '.join(TASKS)}.")
    if config not in DATA:
        raise ValueError(f"config={config!r} is unknown; allowed: {', '.join(CONFIGS)}.")
    return dict(DATA[config][task])
