"""Every Python example in README.md and docs/ runs as written."""

import re
import subprocess
import sys

import pytest

from tests import ROOT

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCKS = [
    block for page in PAGES for block in re.findall(r"```python\n(.*?)```", page.read_text(), re.S)
]


def test_readme_has_python_examples():
    assert len(BLOCKS) >= 2


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_python_example_runs(index, tmp_path):
    script = tmp_path / "example.py"
    script.write_text(BLOCKS[index])
    result = subprocess.run(
        [sys.executable, str(script)], cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr[-3000:]
    # Every print line's trailing comment is the output the page promises.
    prints = [line for line in BLOCKS[index].splitlines() if line.startswith("print(")]
    printed = result.stdout.splitlines()[-len(prints) :] if prints else []
    for line, output in zip(prints, printed, strict=True):
        assert "  # " in line, f"a print without the output it promises: {line}"
        assert output == line.split("  # ", 1)[1], line
