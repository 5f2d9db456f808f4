"""Lint and the import layers, enforced in CI by ruff (the same checks as `make lint`)."""

import os
import subprocess
import sys

import pytest

from tests import ROOT

RUFF = os.path.join(os.path.dirname(sys.executable), "ruff")

# Bottom to top: components/ and models/, then tasks/ (the registry and one
# package per task), then pipeline/, then serving/, then the command line. A
# folder may import only from the layers below it.
FORBIDDEN = {
    "components": [
        "tfx_seqgen.models",
        "tfx_seqgen.tasks",
        "tfx_seqgen.pipeline",
        "tfx_seqgen.serving",
    ],
    "models": [
        "tfx_seqgen.components",
        "tfx_seqgen.tasks.lcd.model",
        "tfx_seqgen.pipeline.configs",
        "tfx_seqgen.serving",
    ],
    "tasks": ["tfx_seqgen.pipeline.local_runs", "tfx_seqgen.serving.demo", "tfx_seqgen.cli"],
    "tasks/lcd": ["tfx_seqgen.pipeline.configs", "tfx_seqgen.serving.client"],
    "pipeline": ["tfx_seqgen.serving.client", "tfx_seqgen.cli"],
    "serving": ["tfx_seqgen.cli"],
}
ALLOWED = {
    "tasks": ["tfx_seqgen.models.training", "tfx_seqgen.components.example_gen"],
    "tasks/lcd": ["tfx_seqgen.models.scaling", "tfx_seqgen.components.evaluator"],
    "pipeline": ["tfx_seqgen.models.training", "tfx_seqgen.tasks.lcd.data"],
    "serving": ["tfx_seqgen.pipeline.local_runs", "tfx_seqgen.tasks.lcd.view"],
}


def ruff_on(folder: str, source: str) -> subprocess.CompletedProcess:
    """`ruff check` of `source` as if it were a new module in `folder`."""
    return subprocess.run(
        [RUFF, "check", "--stdin-filename", f"{folder}/new_module.py", "-"],
        input=source,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )


def test_the_repository_is_ruff_clean():
    for command in ([RUFF, "check", "."], [RUFF, "format", "--check", "."]):
        result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
        assert result.returncode == 0, result.stdout[-3000:]


@pytest.mark.parametrize(
    "folder, module", [(f, m) for f, modules in FORBIDDEN.items() for m in modules]
)
def test_an_upward_import_is_refused(folder, module):
    # At module level and inside a function alike.
    for source in (
        f"import {module}\n\nprint({module})\n",
        f"def f():\n    from {module} import x\n\n    return x\n",
    ):
        result = ruff_on(folder, source)
        assert result.returncode == 1 and "TID251" in result.stdout, (source, result.stdout)


@pytest.mark.parametrize(
    "folder, module", [(f, m) for f, modules in ALLOWED.items() for m in modules]
)
def test_a_downward_import_is_fine(folder, module):
    result = ruff_on(folder, f"import {module}\n\nprint({module})\n")
    assert result.returncode == 0, result.stdout
