"""The task registry: every record resolves, and the layers agree on the tasks."""

import pytest
import tensorflow_model_analysis as tfma

from tfx_seqgen import tasks
from tfx_seqgen.pipeline import configs
from tfx_seqgen.tasks.task import resolve


@pytest.mark.parametrize("name", tasks.NAMES)
def test_every_record_resolves_to_working_parts(name):
    task = tasks.get(name)
    generator = task.example_gen()
    assert generator.outputs["examples"] is not None
    assert isinstance(generator.dataset, task.dataset)
    assert callable(resolve(task.preprocessing_fn))
    assert resolve(task.preprocessing_fn).__module__ == f"tfx_seqgen.tasks.{name}.preprocessing"
    config = task.eval_config()
    assert isinstance(config, tfma.EvalConfig) and config.model_specs
    assert task.closing_view is None or callable(task.closing_view)


def test_the_trainer_and_the_pipeline_know_the_same_tasks():
    assert sorted(tasks.NAMES) == sorted(configs.TASKS)
    for config in configs.CONFIGS:
        for name in tasks.NAMES:
            assert configs.training_params(name, config)["task"] == name


def test_an_unknown_task_is_refused_with_the_allowed_ones():
    with pytest.raises(ValueError, match=r"task='weather' is unknown; allowed: lcd, art\."):
        tasks.get("weather")
