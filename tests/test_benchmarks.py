"""The benchmark scripts run in their quick mode and print their tables."""

import os
import subprocess
import sys

import pytest

import local_runner

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def benchmark(*args):
    result = subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=900
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


@pytest.mark.e2e
def test_serving_benchmark_prints_latency_and_throughput(lcd_run):
    base = os.path.dirname(local_runner.pushed_to(lcd_run))
    out = benchmark("benchmarks.serving", "--quick", "--model-base-path", base)
    rows = [
        line.split() for line in out.splitlines() if line.strip().startswith(("1 ", "16 ", "128 "))
    ]
    assert [r[0] for r in rows] == ["1", "1", "16", "16", "128", "128"]
    assert all(float(r[-1].replace(",", "")) > 0 for r in rows if "gRPC" in r)


def test_serving_benchmark_says_what_to_do_without_a_model(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.serving", "--model-base-path", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode != 0
    assert "run `make demo` first, or pass --model-base-path" in result.stderr
