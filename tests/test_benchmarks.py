"""The benchmark scripts run in their quick mode and print their tables.

The training benchmarks run by their `main` in this process, which has
TensorFlow and TFX loaded already (half a minute a script otherwise); the
data generation and serving benchmarks, which measure processes, run as
`python -m benchmarks.NAME`, as the docs type them.
"""

import importlib
import json
import os
import re
import subprocess
import sys

import pytest

from tests import ROOT
from tfx_seqgen import cli
from tfx_seqgen.pipeline import local_runs


def benchmark(*args):
    result = subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=900
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


@pytest.fixture
def in_process(monkeypatch, capsys):
    """Runs `benchmarks.NAME ARGS` by its main in this process; returns what it printed.

    The scripts' logging set-up is skipped: it would replace pytest's handlers.
    """
    monkeypatch.chdir(ROOT)
    monkeypatch.setattr(cli, "configure_logging", lambda verbose: None)

    def run(module, *args):
        capsys.readouterr()
        importlib.import_module(module).main([str(a) for a in args])
        return capsys.readouterr().out

    return run


@pytest.mark.e2e
def test_serving_benchmark_prints_latency_and_throughput(lcd_run, tmp_path):
    base = os.path.dirname(local_runs.pushed_to(lcd_run))
    out = benchmark("benchmarks.serving", "--quick", "--model-base-path", base, "--out", tmp_path)
    speed, cpu = out.split("CPU per trajectory with 8 clients")

    def rows(table):
        lines = table.splitlines()
        return [line.split() for line in lines if line.strip().startswith(("1 ", "16 ", "128 "))]

    for table in (speed, cpu):
        assert [r[0] for r in rows(table)] == ["1"] * 5 + ["16"] * 5 + ["128"] * 5
        paths = ["in", "gRPC", "REST", "gRPC,"] * 3
        assert [r[1] for r in rows(table) if r[1] != "direct"] == paths
    # 8-client throughput is positive on every path, and the direct path is its own 1.00x.
    assert all(float(r[-2].replace(",", "")) > 0 for r in rows(speed))
    assert [r[-1] for r in rows(speed) if r[1] == "direct"] == ["1.00x"] * 3
    # Both processes spend CPU on a served request; the in-process paths have no server.
    for r in rows(cpu):
        if r[1] in ("direct", "in"):  # client CPU, server CPU, cores busy
            assert float(r[-3]) > 0 and r[-2] == "0.000" and float(r[-1]) > 0
        else:  # client CPU, server CPU, cores busy, server alone vs direct
            assert float(r[-4]) > 0 and float(r[-3]) > 0 and float(r[-1].rstrip("x")) > 0
    assert "floor: model status p50" in out
    floor_cpu = re.search(r"([\d.]+) ms a request in the clients and ([\d.]+) ms in the", out)
    assert float(floor_cpu[1]) > 0 and float(floor_cpu[2]) > 0
    # The results file holds every printed row, with where and when it was measured.
    results = json.loads((tmp_path / "serving.json").read_text())
    assert len(results["rows"]) == 15 and results["clients"] == 8
    direct = [r for r in results["rows"] if r["path"] == "direct signature call"]
    assert [r["vs_direct"] for r in direct] == [1.0] * 3
    assert results["commit"] and results["date"]
    assert (tmp_path / "serving.md").read_text().count("gRPC, batching server") == 6  # 2 tables


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


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    """Output and data directories shared by the quick runs (the data runs are cached)."""
    root = tmp_path_factory.mktemp("benchmarks")
    return ["--quick", "--out", str(root / "out"), "--data-root", str(root / "data")], root / "out"


def table_rows(report: str, heading: str) -> list:
    """The body rows of the markdown table under a `### heading`, as lists of cells."""
    section = report.split(f"### {heading}", 1)[1].split("###", 1)[0]
    lines = [line for line in section.splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in lines[2:]]


@pytest.mark.e2e
def test_lcd_quality_scores_sampled_trajectories_per_period_and_resumes(quick, in_process):
    args, out = quick
    first = in_process("benchmarks.lcd_quality", *args)
    report = (out / "lcd_quality.md").read_text()
    assert report in first
    overall = {row[1]: row for row in table_rows(report, "Per seed, overall")}
    assert set(overall) == {"paper", "generator", "generator_linear_g", "baseline"}
    # Both are calibrated on the calibration split: h0 = 0 gets a band too (a unit
    # normal per path, scaled), not a line.
    assert float(overall["baseline"][4]) > 0.0 and float(overall["generator"][4]) > 0.0
    for name in ("CRPS", "Truth in the 90% band", "Mean-h0 rollout MSE"):
        periods = [row[0] for row in table_rows(report, f"{name} per unseen period")]
        assert periods == ["1", "2", "3", "4"]
    checks = table_rows(report, "Generator against the baseline, per seed")
    assert len(checks) == 1 and checks[0][2].endswith("of 4")
    for name in ("lcd_eval_mse.png", "lcd_bands_generator.png", "lcd_bands_baseline.png"):
        assert (out / name).stat().st_size > 10_000
    runs = json.loads((out / "lcd_quality.json").read_text())
    assert sorted(runs) == [
        "baseline/seed=0",
        "generator/seed=0",
        "generator_linear_g/seed=0",
        "paper/seed=0",
    ]
    assert len(runs["baseline/seed=0"]["eval_mse"]) == 2
    # A second run trains nothing and reports the same numbers.
    second = in_process("benchmarks.lcd_quality", *args)
    assert (out / "lcd_quality.md").read_text() == report and report in second


@pytest.mark.e2e
def test_sequences_quality_runs_the_pipeline_on_real_data_per_season(in_process, tmp_path):
    printed = in_process("benchmarks.sequences_quality", "--quick", "--out", tmp_path)
    report = (tmp_path / "sequences_quality.md").read_text()
    assert report.split("\n", 2)[2] in printed
    lines = [line for line in report.splitlines() if line.startswith("|")][2:]
    rows = {r[2]: r for r in ([c.strip() for c in line.strip("|").split("|")] for line in lines)}
    assert set(rows) == {"overall", "season=apr-sep", "season=oct-mar"}
    for row in rows.values():
        contextual, baseline = (float(v) for v in row[4].split(" / "))  # in the 90% band
        assert 0 < contextual <= 1 and 0 < baseline <= 1


@pytest.mark.e2e
def test_lcd_held_out_scores_recipes_at_training_periods_left_out(quick, in_process):
    """The paper's training periods are 0.5, 1.5, ..., 4.5: the fold leaves out 1.5 and 3.5."""
    args, out = quick
    in_process("benchmarks.lcd_held_out", *args)
    report = (out / "lcd_held_out.md").read_text()
    rows = table_rows(report, "Mean path at held-out training periods")
    assert [row[0] for row in rows][-1] == "baseline (h0 = 0)" and len(rows) == 5
    results = json.loads((out / "lcd_held_out.json").read_text())
    for name, result in results.items():
        assert sorted(result["mse"]) == ["1.5", "3.5"], name
        assert all(0 < value < 1e3 for value in result["mse"].values()), name
    assert rows[-1][-1] == ""
    assert all(row[-1] in ("0 of 1 seeds", "1 of 1 seeds") for row in rows[:-1])


@pytest.mark.e2e
def test_art_quality_reports_three_strategies(quick, in_process):
    args, out = quick
    in_process("benchmarks.art_quality", *args)
    report = (out / "art_quality.md").read_text()
    assert table_rows(report, "Eval accuracy per epoch")[0][0] == "1"
    per_seed = table_rows(report, "Per seed")
    assert [row[1] for row in per_seed] == ["zero", "free", "learned"]
    assert all(row[2].endswith("%") and 0.0 <= float(row[2][:-1]) <= 100.0 for row in per_seed)
    assert all(row[6] == "not in 2" for row in per_seed)  # 99% is out of reach in 2 epochs
    assert (out / "art_eval_accuracy.png").exists() and (out / "art_eval_loss.png").exists()


@pytest.mark.e2e
def test_ablation_covers_every_strategy_with_both_cells(quick, in_process):
    from benchmarks import ablation

    args, out = quick
    in_process("benchmarks.ablation", *args)
    rows = table_rows((out / "ablation.md").read_text(), "Strategy x cell")
    assert [(r[0], r[1]) for r in rows] == [
        (v, c) for v in ablation.VARIANTS for c in ablation.CELLS
    ]
    by_variant = {(r[0], r[1]): r for r in rows}
    # Every model is calibrated on the calibration split, as served: a deterministic
    # start gets a band (a unit normal per path, scaled) as a noisy one does.
    for cell in ablation.CELLS:
        assert float(by_variant[("zero + gaussian noise", cell)][5]) > 0.0
        assert float(by_variant[("learned", cell)][5]) > 0.0


@pytest.mark.e2e
def test_pipeline_speed_reports_training_rates_and_component_times(quick, in_process, lcd_run):
    """The component times are those of `lcd_run` (--pipeline-root): nothing runs twice."""
    args, out = quick
    in_process("benchmarks.pipeline_speed", *args, "--pipeline-root", lcd_run.pipeline_root)
    report = (out / "pipeline_speed.md").read_text()
    training = table_rows(report, "Training steps/s")
    shared = ("Trainer, previous path", "plain Keras fit (NumPy)")
    fast = ("Trainer, fast path (default)", "fast path, most steps per call")
    assert [(r[0], r[2]) for r in training] == [
        *(("lcd", path) for path in fast + shared),
        *(("art", path) for path in (*fast, "fast path, A formed every step", *shared)),
    ]
    assert all(float(r[6].replace(",", "")) > 0 for r in training)
    assert all(r[7] == "1.00x" for r in training if r[2] == "Trainer, previous path")
    assert "LSTM 128 ceiling: the gate products of one training step" in report
    components = {r[0]: r for r in table_rows(report, "Wall time per component")}
    for node in ("LcdExampleGen", "Transform", "Trainer", "BaselineTrainer", "Evaluator"):
        assert components[node][1] == "executed" and float(components[node][2]) > 0
        recorded = next(c.seconds for c in lcd_run.components if c.node_id == node)
        assert float(components[node][2]) == round(recorded, 1)
    total = next(r for name, r in components.items() if name.startswith("all components"))
    assert float(total[2]) > float(components["Trainer"][2])


def test_pipeline_speed_refuses_a_pipeline_root_without_a_run(in_process, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        in_process("benchmarks.pipeline_speed", "--quick", "--pipeline-root", tmp_path)
    assert exit_info.value.code == 2
    assert f"--pipeline-root {tmp_path} holds no metadata.sqlite" in capsys.readouterr().err


@pytest.mark.e2e
def test_data_generation_scales_without_more_memory_per_worker(tmp_path):
    """From 20 to 100 thousand LCD records on 2 Beam workers, no worker needs more
    memory: shards stream. (The rates are the benchmark's to report, not a test's.)"""
    path = tmp_path / "rows.json"
    out = benchmark("benchmarks.data_generation", "--quick", "--runners", "direct", "--json", path)
    small, large = json.loads(path.read_text())
    assert (small["records"], large["records"]) == (20_000, 100_000)
    assert small["rate"] > 0 and large["rate"] > 0
    assert 0 < large["worker_mb"] <= 1.25 * small["worker_mb"]
    assert 4 < large["output_mb"] / small["output_mb"] < 6
    assert "DirectRunner, 2 processes" in out


def test_shuffle_memory_measures_a_group_by_key_alone(tmp_path):
    out = benchmark("benchmarks.shuffle_memory", "--quick", "--out", tmp_path)
    (row,) = json.loads((tmp_path / "shuffle_memory.json").read_text())
    assert row["rows"] == 250_000 and row["buckets"] == 8  # 8 MB of CSV a bucket, at least 8
    assert row["shuffled_mb"] == pytest.approx(250_000 * 36 / 2**20)
    assert row["worker_mb"] > 0 and row["launcher_mb"] > 0 and row["commit"]
    assert "| 250,000 | 8 |" in (tmp_path / "shuffle_memory.md").read_text()
    assert "| 250,000 | 8 |" in out


def test_fast_weights_in_attention_form_computes_the_matrix_forms_loss_and_gradients(
    in_process,
):
    out = in_process("benchmarks.fast_weights_forms", "--quick")
    agreement = out.split("max gradient diff")[1].split("forward + backward")[0]
    rows = [line.split() for line in agreement.strip().splitlines()]
    assert [row[0] for row in rows] == ["zero", "learned"]
    # The loss sums 6,400 float32 products (random weights, so its value varies):
    # rounding alone moved it by up to 3.5e-5, a wrong decay power by 0.38-1.3.
    # The gradient difference is relative: 6e-7 to 8e-7, against 0.22-0.55.
    for _, matrix_loss, attention_loss, difference in rows:
        assert float(attention_loss) == pytest.approx(float(matrix_loss), abs=1e-3)
        assert float(difference) < 1e-4
    speed = out.split("speed-up")[1].strip().splitlines()
    assert [line.split()[0] for line in speed] == ["zero", "learned"]
    assert all(float(line.split()[1]) > 0 and float(line.split()[2]) > 0 for line in speed)


@pytest.mark.e2e
def test_sequences_read_writes_the_same_series_as_a_hand_written_pandas_job(tmp_path):
    path = tmp_path / "rows.json"
    out = benchmark("benchmarks.sequences_read", "--quick", "--sizes", "25000", "--json", path)
    pandas, beam = json.loads(path.read_text())
    assert (pandas["runner"], beam["runner"]) == ("pandas", "direct")
    # 1,000 series of 25 steps, split 70/15/15 by the hash of the id.
    assert pandas["series"] == beam["series"] and sum(beam["series"].values()) == 1_000
    assert 0.6 < beam["series"]["train"] / 1_000 < 0.8
    assert "every reader wrote the same series per split" in out


@pytest.mark.e2e
def test_lcd_demo_keeps_per_period_scores_and_draws_the_summary_figure(in_process, tmp_path):
    printed = in_process("benchmarks.lcd_demo", "--quick", "--out", tmp_path)
    result = json.loads((tmp_path / "lcd_demo.json").read_text())["seed=0"]
    assert set(result["scores"]) == {"overall", *(f"period={p}" for p in (1.0, 2.0, 3.0, 4.0))}
    for scores in result["scores"].values():
        assert all(0 <= share <= 1 for share in scores["coverage"])
        assert all(crps > 0 for crps in scores["crps"])
    assert result["blessed"] is True and result["seconds"] > 0 and result["commit"]
    assert "| seed=0 | overall |" in printed
    assert (tmp_path / "summary.png").stat().st_size > 10_000


def test_fresh_clone_reads_the_counts_of_pytests_last_summary_line():
    from benchmarks.fresh_clone import pytest_counts

    log = "collected 600 items\n...\n=== 541 passed, 36 skipped, 2 warnings in 931.20s ==="
    assert pytest_counts(log) == {"passed": 541, "skipped": 36, "warnings": 2}
    assert pytest_counts("ERROR: no tests ran") == {}


def test_streaming_memory_passes_over_every_record(lcd_run, tmp_path):
    run_root = lcd_run.pipeline_root
    benchmark(
        "benchmarks.streaming_memory",
        "--quick",
        "--transform-run",
        run_root,
        "--data-dir",
        str(tmp_path / "records"),
        "--out",
        str(tmp_path),
    )
    rows = json.loads((tmp_path / "streaming_memory.json").read_text())
    # Streamed and from memory: every record in one pass each.
    assert [(r["rows"], r["input"]) for r in rows] == [(20_000, "streamed"), (20_000, "in memory")]
    assert all(r["peak_mb"] > 100 and r["seconds"] > 0 for r in rows)
    assert "| 20,000 | in memory |" in (tmp_path / "streaming_memory.md").read_text()


def test_streaming_projection_extends_the_largest_sizes_measured():
    from benchmarks.streaming_memory import projection

    rows = [
        {"rows": 30_000_000, "seconds": 300.0, "peak_mb": 1000.0, "input": "streamed"},
        {"rows": 1_000_000, "seconds": 30.0, "peak_mb": 2000.0, "input": "in memory"},
        {"rows": 3_000_000, "seconds": 90.0, "peak_mb": 5000.0, "input": "in memory"},
    ]
    lines = projection(rows, training_rate=5000.0).splitlines()
    # 100M records at 100,000 a second: 0.28 h; held: 5,000 MB + 97M x 1.5 KB = 147 GB;
    # trained at 5,000 a second: 5.6 h. A billion: 2.8 h, 1,465 GB, 55.6 h.
    assert lines[2] == "| 100,000,000 | 0.3 | 1,000 | 147 | 5.6 |"
    assert lines[3] == "| 1,000,000,000 | 2.8 | 1,000 | 1,465 | 55.6 |"
    assert "grows 1,500 MB a million records" in lines[-1]


def test_import_time_compares_installed_bytecode_with_compiling_from_source(tmp_path):
    out = benchmark("benchmarks.import_time", "--quick", "--out", tmp_path)
    rows = json.loads((tmp_path / "import_time.json").read_text())
    assert [(r["module"], r["mode"]) for r in rows] == [("json", "bytecode"), ("json", "source")]
    # Compiling even the interpreter's start-up modules from source costs several
    # times reading their .pyc (seen: 0.05 s against 0.3 s of CPU); equal times
    # would mean the empty pycache_prefix did not keep the bytecode out.
    assert rows[1]["cpu_seconds"] > 1.5 * rows[0]["cpu_seconds"] > 0
    assert "| json | compiled from source |" in out
