"""The pipeline's data half on Beam's DirectRunner with several worker processes.

Its own file, so pytest-xdist runs it beside tests/test_pipeline_e2e.py's
portable-runner test rather than after it: each is minutes long.
"""

import pytest

from tests.conftest import TINY_RUNS
from tests.helpers import assert_same_data
from tfx_seqgen.pipeline import local_runs


@pytest.mark.e2e
def test_data_half_on_multi_processing_beam_gives_the_same_data(lcd_run, tmp_path):
    """The generator, StatisticsGen and Transform on the DirectRunner with 2 worker
    processes, as on a cluster: each worker writes and analyzes its own shards.

    The run stops after Transform (TFX's partial run): the Evaluator's Beam job
    is checked out of process by the portable-runner test, and training is not
    Beam work.
    """
    run = local_runs.run(
        "lcd",
        "demo",
        str(tmp_path),
        beam_args=["--direct_running_mode=multi_processing", "--direct_num_workers=2"],
        to_component="Transform",
        **TINY_RUNS["lcd"],
    )
    assert [c.node_id for c in run.components] == [
        "LcdExampleGen",
        "StatisticsGen",
        "SchemaGen",
        "Transform",
    ]
    assert_same_data(run, lcd_run)


def test_an_unknown_component_to_stop_at_is_refused_before_anything_runs(tmp_path, no_beam):
    with pytest.raises(ValueError) as raised:
        local_runs.run("lcd", "demo", str(tmp_path / "run"), to_component="Trainr")
    assert "to_component='Trainr' is not a component of seqgen-lcd-demo" in str(raised.value)
    assert "allowed: one of LcdExampleGen, StatisticsGen" in str(raised.value)
    assert not (tmp_path / "run").exists()
