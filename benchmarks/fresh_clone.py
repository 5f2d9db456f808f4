"""A newcomer's two commands, timed in a fresh clone: `make test` as CI runs it, then `make demo`.

Clones the repository's HEAD into a new folder, runs `.ci/run` there (the
set-up from scratch, then the README's test command), then `make demo`
(set up by then, as the README's "once set up" says). Keeps the wall time
of each, the counts pytest printed, and whether the demo ended with
trajectories from the served model, with the commit and the date. Each run
is appended to the results file, so earlier runs stay. The machine's two
cores are the point: run it alone.

    python -m benchmarks.fresh_clone                # ~20 minutes
    python -m benchmarks.fresh_clone --skip-tests   # the demo alone (set-up included)
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time

from benchmarks import provenance

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT = os.path.join(ROOT, "benchmarks", "results", "fresh_clone.json")
# How the demo's last step opens (serving/demo.py): the model was served and answered.
DEMO_DONE = re.compile(r"^Generated trajectories from model .* served over gRPC", re.M)


def timed(command: list, cwd: str, log: str) -> tuple:
    """Runs `command` with its output kept in `log`: (seconds, exit code, output)."""
    start = time.monotonic()
    lines = []
    with open(log, "w") as out:
        process = subprocess.Popen(
            command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        for line in process.stdout:
            out.write(line)
            lines.append(line)
            if line.startswith(("==", "make", "+")) or "passed" in line or "PASSED" in line:
                print(line, end="", flush=True)
        process.wait()
    return time.monotonic() - start, process.returncode, "".join(lines)


def pytest_counts(text: str) -> dict:
    """{"passed": n, "skipped": n, ...} from pytest's last summary line."""
    summary = [line for line in text.splitlines() if re.search(r"\d+ passed", line)]
    if not summary:
        return {}
    return {kind: int(n) for n, kind in re.findall(r"(\d+) (\w+)", summary[-1])}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-tests", action="store_true", help="time `make demo` alone")
    parser.add_argument("--out", default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    stamp = provenance.stamp()
    if stamp["commit"].endswith("-dirty"):
        sys.exit(
            "fresh_clone times HEAD: commit your changes first (the clone would not hold them)"
        )
    work = tempfile.mkdtemp(prefix="seqgen-fresh-")
    clone = os.path.join(work, "clone")
    subprocess.run(["git", "clone", "-q", ROOT, clone], check=True)
    print(f"fresh clone of {stamp['commit']} in {clone}", flush=True)
    run = {**stamp, "cores": os.cpu_count()}
    if not args.skip_tests:
        seconds, code, text = timed([".ci/run"], clone, os.path.join(work, "test.log"))
        run["test"] = {"seconds": round(seconds, 1), "exit_code": code, **pytest_counts(text)}
        print(f"make test (.ci/run): {seconds:.0f} s, exit code {code}", flush=True)
    seconds, code, text = timed(["make", "demo"], clone, os.path.join(work, "demo.log"))
    run["demo"] = {
        "seconds": round(seconds, 1),
        "exit_code": code,
        "set_up_before": not args.skip_tests,
        "served_trajectories": bool(DEMO_DONE.search(text)),
    }
    print(f"make demo: {seconds:.0f} s, exit code {code}", flush=True)
    runs = json.load(open(args.out)) if os.path.exists(args.out) else []
    runs.append(run)
    with open(args.out, "w") as f:
        json.dump(runs, f, indent=1)
    print(json.dumps(run, indent=1))


if __name__ == "__main__":
    main()
