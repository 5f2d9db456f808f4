"""What a new process pays to import the stack, with and without compiled bytecode.

Every process the pipeline and the tests start (Beam workers, Trainer
workers, the model server, the benchmark scripts, a notebook's kernel)
imports TensorFlow and TFX again. Where `PYTHONDONTWRITEBYTECODE` is set,
Python reads `.pyc` files but never writes them, so unless the installer
compiled them, each of those processes compiles the libraries from source.
`make setup` installs with uv's `--compile-bytecode`; this measures what
that saves.

Per module, side by side in one run: the CPU seconds (user + system) and
wall seconds of a fresh `python -c "import MODULE"`, once reading the
installed bytecode and once compiling from source (`-X pycache_prefix`
pointed at an empty folder, so no `.pyc` is found, and none written; the
standard library's start-up modules compile too, a fraction of a second).
The median of `--repeats` runs each.

    python -m benchmarks.import_time            # 3 modules, 3 runs each: ~5 min
    python -m benchmarks.import_time --quick    # the standard library's json, once
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from typing import List

from benchmarks import provenance

DEFAULT_OUT = os.path.join("benchmarks", "results")
QUICK_OUT = os.path.join("runs", "benchmarks-quick")
MODULES = ("tensorflow", "tfx.v1", "tfx_seqgen.pipeline.local_runs")
QUICK_MODULES = ("json",)
MODES = {"bytecode": "installed bytecode", "source": "compiled from source"}


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def import_once(module: str, mode: str, empty_cache: str) -> tuple:
    """(CPU seconds, wall seconds) of a fresh interpreter importing `module`."""
    prefix = ["-X", f"pycache_prefix={empty_cache}"] if mode == "source" else []
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    cpu, start = _children_cpu(), time.monotonic()
    done = subprocess.run(
        [sys.executable, *prefix, "-c", f"import {module}"], env=env, capture_output=True, text=True
    )
    if done.returncode:
        sys.exit(f"importing {module} failed ({mode}):\n{done.stderr[-3000:]}")
    return _children_cpu() - cpu, time.monotonic() - start


def measure(modules, repeats: int) -> List[dict]:
    rows = []
    with tempfile.TemporaryDirectory() as empty_cache:
        for module in modules:
            for mode in MODES:
                runs = [import_once(module, mode, empty_cache) for _ in range(repeats)]
                rows.append(
                    {
                        "module": module,
                        "mode": mode,
                        "cpu_seconds": statistics.median(cpu for cpu, _ in runs),
                        "wall_seconds": statistics.median(wall for _, wall in runs),
                        "repeats": repeats,
                    }
                )
                print(f"{module}, {MODES[mode]}: {rows[-1]['cpu_seconds']:.1f} s CPU", flush=True)
    return rows


def table(rows: List[dict]) -> str:
    lines = [
        "| module | bytecode | CPU s | wall s | CPU vs installed bytecode |",
        "|---|---|---|---|---|",
    ]
    installed = {r["module"]: r["cpu_seconds"] for r in rows if r["mode"] == "bytecode"}
    for r in rows:
        ratio = r["cpu_seconds"] / installed[r["module"]] if installed[r["module"]] else 0.0
        lines.append(
            f"| {r['module']} | {MODES[r['mode']]} | {r['cpu_seconds']:.1f} | "
            f"{r['wall_seconds']:.1f} | {ratio:.2f}x |"
        )
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_MODULES}, once, for CI")
    parser.add_argument("--repeats", type=int, default=None, help="runs per cell (default 3)")
    parser.add_argument("--out", default=None, help=f"results (default {DEFAULT_OUT})")
    args = parser.parse_args(argv)
    repeats = args.repeats or (1 if args.quick else 3)
    if repeats < 1:
        parser.error(f"--repeats must be at least 1; got {repeats}")
    out = args.out or (QUICK_OUT if args.quick else DEFAULT_OUT)
    os.makedirs(out, exist_ok=True)
    rows = measure(QUICK_MODULES if args.quick else MODULES, repeats)
    stamp = provenance.stamp()
    with open(os.path.join(out, "import_time.json"), "w") as f:
        json.dump([{**row, **stamp} for row in rows], f, indent=1)
    report = table(rows)
    with open(os.path.join(out, "import_time.md"), "w") as f:
        f.write("# Importing the stack in a new process (benchmarks/import_time.py)\n\n")
        f.write(report + "\n")
    print(report)


if __name__ == "__main__":
    main()
