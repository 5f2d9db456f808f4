"""Where a result came from: the commit and the date, kept beside its numbers.

A results file outlives the code that wrote it; its stamp says which code
that was. A run from a working tree with uncommitted changes to tracked
files is marked `-dirty`, so a number never claims a commit it did not run.
"""

from __future__ import annotations

import datetime
import subprocess


def commit() -> str:
    """The short hash of HEAD, `-dirty` when tracked files differ from it; `unknown` outside git."""
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    if head.returncode:
        return "unknown"
    changed = subprocess.run(["git", "diff", "--quiet", "HEAD"], capture_output=True).returncode
    return head.stdout.strip() + ("-dirty" if changed else "")


def stamp() -> dict:
    """{"commit": ..., "date": "YYYY-MM-DD"} for a result written now."""
    return {"commit": commit(), "date": datetime.date.today().isoformat()}
