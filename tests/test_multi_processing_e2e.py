"""The whole pipeline on Beam's DirectRunner with several worker processes.

Its own file, so pytest-xdist runs it beside tests/test_pipeline_e2e.py's
portable-runner test rather than after it: each is minutes long.
"""

import pytest

from tests.conftest import TINY_RUNS
from tests.helpers import assert_same_data_and_scores
from tfx_seqgen.pipeline import local_runs


@pytest.mark.e2e
def test_whole_pipeline_on_multi_processing_beam_gives_the_same_data(lcd_run, tmp_path):
    """Every Beam component on the DirectRunner with 2 worker processes, as on a cluster."""
    run = local_runs.run(
        "lcd",
        "demo",
        str(tmp_path),
        beam_args=["--direct_running_mode=multi_processing", "--direct_num_workers=2"],
        **TINY_RUNS["lcd"],
    )
    assert_same_data_and_scores(run, lcd_run)
