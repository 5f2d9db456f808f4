"""Package attributes imported on first use (PEP 562).

The packages re-export their main classes, but importing a package should
not import TensorFlow or TFX for a caller that needs one light module: the
command line checks parameters, and its client commands start, in seconds.
"""

from __future__ import annotations

import importlib
from typing import Callable, Dict


def exports(package: str, names: Dict[str, str]) -> Callable[[str], object]:
    """A module `__getattr__` that imports `names[attribute]` (a submodule) when asked."""

    def __getattr__(name: str) -> object:
        if name not in names:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(f"{package}.{names[name]}"), name)

    return __getattr__
