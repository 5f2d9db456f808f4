"""The task registry: every record resolves, and the layers agree on the tasks."""

import pandas as pd
import pytest
import tensorflow_model_analysis as tfma

from tfx_seqgen import tasks
from tfx_seqgen.pipeline import configs
from tfx_seqgen.tasks.task import resolve


def data_params(name: str, directory) -> dict:
    """Parameters a task's data component can be built with (the user's data: a CSV)."""
    if name != "sequences":
        return {}
    rows = [
        dict(id=f"s{i}", t=t, v=float(t * i), kind="ab"[i % 2]) for i in range(4) for t in range(3)
    ]
    pd.DataFrame(rows).to_csv(directory / "data.csv", index=False)
    return dict(path=str(directory / "data.csv"), id="id", step="t", values=["v"], context=["kind"])


@pytest.mark.parametrize("name", tasks.NAMES)
def test_every_record_resolves_to_working_parts(name, tmp_path):
    task = tasks.get(name)
    generator = task.example_gen(**data_params(name, tmp_path))
    assert generator.outputs["examples"] is not None
    assert isinstance(generator.dataset, task.dataset)
    assert callable(resolve(task.preprocessing_fn))
    assert resolve(task.preprocessing_fn).__module__ == f"tfx_seqgen.tasks.{name}.preprocessing"
    config = task.eval_config(None, generator.dataset)
    assert isinstance(config, tfma.EvalConfig) and config.model_specs
    assert task.closing_view is None or callable(task.closing_view)


def test_the_trainer_and_the_pipeline_know_the_same_tasks():
    assert sorted(tasks.NAMES) == sorted(configs.TASKS)
    for config in configs.CONFIGS:
        for name in tasks.NAMES:
            assert configs.training_params(name, config)["task"] == name


def test_an_unknown_task_is_refused_with_the_allowed_ones():
    with pytest.raises(
        ValueError, match=r"task='weather' is unknown; allowed: lcd, art, sequences\."
    ):
        tasks.get("weather")
