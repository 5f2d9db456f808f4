"""`seqgen run` as a user types it.

The bad-input cases call the command's `main` in this process (what a
subprocess would run, minus the seconds of importing TensorFlow each time);
one case and the whole run go through a real `python -m tfx_seqgen`.
"""

import os
import shutil
import subprocess
import sys
from types import SimpleNamespace

import pytest

from tests.conftest import TINY_RUNS
from tfx_seqgen import cli

SEQGEN = [sys.executable, "-m", "tfx_seqgen"]


def seqgen(*args, cwd):
    return subprocess.run(
        [*SEQGEN, *args], capture_output=True, text=True, timeout=600, cwd=cwd, check=False
    )


@pytest.fixture
def seqgen_here(tmp_path, monkeypatch, capsys):
    """`seqgen ARGS` run by its `main` in this process, from tmp_path.

    Returns what the subprocess form returns: returncode and stderr. The
    command's logging set-up is skipped: it would replace pytest's handlers.
    """
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(cli, "configure_logging", lambda verbose: None)

    def run(*args):
        capsys.readouterr()
        try:
            code = cli.main(list(args))
        except SystemExit as exit:  # argparse's own errors
            code = exit.code
        return SimpleNamespace(returncode=code, stderr=capsys.readouterr().err)

    return run


def test_bad_parameter_exits_2_naming_it(tmp_path):
    """As typed: a real `python -m tfx_seqgen` process."""
    result = seqgen("run", "--task", "lcd", "--data", "length=1", cwd=tmp_path)
    assert result.returncode == 2
    assert "LcdExampleGen: length=1 is invalid; allowed: an integer at least 2" in result.stderr
    assert not os.path.exists(tmp_path / "runs")


@pytest.mark.parametrize(
    "option,message",
    [
        (["--data", "length=1"], "LcdExampleGen: length=1 is invalid"),
        (
            ["--data", "pairs=3"],
            "LcdExampleGen: pairs=3 is invalid; allowed: one of the parameters",
        ),
        (["--eval", "max_mse=NaN"], "Evaluator: max_mse=nan is invalid"),
    ],
)
def test_bad_data_and_blessing_values_are_refused_without_importing_tensorflow(
    option, message, tmp_path
):
    """A typo costs a second, not TensorFlow's import: these checks need none of it."""
    blocked = (
        "import sys; sys.modules['tensorflow'] = None; from tfx_seqgen.cli import main; "
        "sys.exit(main(sys.argv[1:]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", blocked, "run", "--task", "lcd", *option],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert result.returncode == 2, result.stderr[-2000:]
    assert message in result.stderr
    assert not os.path.exists(tmp_path / "runs")


def test_unknown_parameter_lists_the_known_ones(seqgen_here):
    result = seqgen_here("run", "--task", "art", "--data", "pairs=3")
    assert result.returncode == 2
    assert "pairs=3 is invalid; allowed: one of the parameters num_pairs, alphabet" in result.stderr


def test_bad_training_setting_exits_2_naming_it(seqgen_here):
    result = seqgen_here("run", "--task", "lcd", "--train", "epochs=0")
    assert result.returncode == 2
    assert "epochs=0 is invalid; allowed: an integer at least 1" in result.stderr


def test_bad_blessing_threshold_exits_2_naming_it(seqgen_here, tmp_path):
    result = seqgen_here("run", "--task", "lcd", "--eval", "max_mse=NaN")
    assert result.returncode == 2
    assert "Evaluator: max_mse=nan is invalid; allowed: a finite number" in result.stderr
    result = seqgen_here("run", "--task", "lcd", "--eval", "min_accuracy=0.5")
    assert result.returncode == 2
    assert (
        "min_accuracy=0.5 is invalid; allowed: one of the parameters min_improvement, "
        "eval_sample_per_slice, min_coverage, max_coverage, headline" in (result.stderr)
    )
    assert not os.path.exists(tmp_path / "runs")


@pytest.mark.parametrize(
    "option,message",
    [
        (
            ["--eval", "headline=mae"],
            "Evaluator: headline='mae' is invalid; allowed: one of crps, rollout, teacher_forced",
        ),
        (
            ["--eval", "min_coverage=1.5"],
            "Evaluator: min_coverage=1.5 is invalid; allowed: a number in (0, 1)",
        ),
        (
            ["--train", "eval_samples=0"],
            "eval_samples=0 is invalid; allowed: an integer at least 1 and at most 1000",
        ),
    ],
)
def test_bad_generator_scoring_stops_before_anything_runs(option, message, seqgen_here, tmp_path):
    result = seqgen_here("run", "--task", "lcd", *option)
    assert result.returncode == 2
    assert message in result.stderr
    assert not os.path.exists(tmp_path / "runs")


@pytest.mark.parametrize(
    "task, option, message",
    [
        (
            "lcd",
            "model.unitz=16",
            "model.unitz=16 is invalid; allowed: one of the parameters cell, units, ",
        ),
        ("lcd", "model.cell=transformer", "model.cell='transformer' is invalid; allowed: one of "),
        ("lcd", "model.units=-3", "model.units=-3 is invalid; allowed: an integer at least 1"),
        (
            "lcd",
            "model.strategy=learned_distributon",
            "model.strategy='learned_distributon' is invalid; allowed: one of ('zero', ",
        ),
        ("lcd", "model.context_units=[50, 0]", "model.context_units=[50, 0] is invalid"),
        (
            "art",
            "model.context_every_step=true",
            "model.context_every_step=True is invalid; allowed: one of the parameters ",
        ),
        ("art", "model.embedding_dim=0", "model.embedding_dim=0 is invalid"),
        ("lcd", "model.noise=pink", "model.noise='pink' is invalid; allowed: None or one of "),
    ],
)
def test_bad_model_options_stop_before_anything_runs(task, option, message, seqgen_here, tmp_path):
    result = seqgen_here("run", "--task", task, "--train", option)
    assert result.returncode == 2, result.stderr[-2000:]
    assert message in result.stderr
    assert not os.path.exists(tmp_path / "runs")


def test_unknown_task_is_refused_by_the_parser(seqgen_here):
    result = seqgen_here("run", "--task", "weather")
    assert result.returncode == 2 and "invalid choice: 'weather'" in result.stderr


@pytest.mark.e2e
def test_run_prints_where_everything_went(art_run, tmp_path):
    """The ART demo, trained in the CLI's own process; its data (the shared tiny
    run's) comes from TFX's cache, as it would on a user's second run."""
    root = tmp_path / "root"
    root.mkdir()
    shutil.copyfile(art_run.metadata_path, root / "metadata.sqlite")
    data = TINY_RUNS["art"]["data_overrides"]
    result = seqgen(
        "run",
        "--task",
        "art",
        "--data",
        f"train_count={data['train_count']}",
        "--data",
        f"eval_count={data['eval_count']}",
        "--train",
        "jit_compile=false",  # compiling would take longer than training on 400 examples
        "--pipeline-root",
        str(root),
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert f"Pipeline seqgen-art-demo finished. Pipeline root: {root}" in result.stdout
    assert "ArtExampleGen          cached" in result.stdout
    assert "Trainer                executed" in result.stdout
    assert f"(train={data['train_count']}, eval={data['eval_count']})" in result.stdout
    assert "Component ArtExampleGen is running." in result.stderr  # progress is shown
    assert "Contextual model vs h0 = 0 baseline on the eval split:" in result.stdout
    assert "  overall        accuracy" in result.stdout
    assert ("Pushed to " in result.stdout) != ("Not pushed:" in result.stdout)
    # A successful run ends cleanly: no TensorFlow objects freed during shutdown.
    assert "Exception ignored" not in result.stderr, result.stderr[-2000:]


def test_band_calibration_without_enough_training_periods_stops_before_anything_runs(
    seqgen_here, tmp_path
):
    result = seqgen_here("run", "--task", "lcd", "--data", "train_periods=[1.0, 2.0]")
    assert result.returncode == 2
    assert "calibrate_band=True needs at least 3 training periods" in result.stderr
    assert "train_periods=[1.0, 2.0]" in result.stderr
    assert not os.path.exists(tmp_path / "runs")


@pytest.mark.parametrize(
    "text, expected",
    [
        ("values=[demand]", ("values", ["demand"])),
        ("values=[load, temp]", ("values", ["load", "temp"])),
        ('values=["load", "temp"]', ("values", ["load", "temp"])),
        ("context=[]", ("context", [])),
        ("eval_periods=[1, 2]", ("eval_periods", [1, 2])),
        ("id=meter", ("id", "meter")),
        ('holdout={"season": "2"}', ("holdout", {"season": "2"})),
    ],
)
def test_data_values_are_json_or_bare_words(text, expected):
    assert cli._assignment(text) == expected


def test_a_misspelt_column_of_the_users_data_exits_2_before_any_component(seqgen_here, tmp_path):
    (tmp_path / "days.csv").write_text("day,hour,demand\n0,0,1.5\n0,1,1.2\n")
    result = seqgen_here(
        "run", "--task", "sequences", "--data", "path=days.csv", "--data", "id=day",
        "--data", "step=hour", "--data", "values=[demnd]",
    )  # fmt: skip
    assert result.returncode == 2
    assert "days.csv has no column 'demnd'; its columns: day, hour, demand." in result.stderr
    assert not os.path.exists(tmp_path / "runs" / "seqgen-sequences-demo" / "metadata.sqlite")
