"""The task registry: every record resolves, and the layers agree on the tasks."""

import pytest
import tensorflow_model_analysis as tfma

from tfx_seqgen.models.training_config import trainer_tasks
from tfx_seqgen.pipeline import configs, tasks


@pytest.mark.parametrize("name", tasks.NAMES)
def test_every_record_resolves_to_working_parts(name):
    task = tasks.get(name)
    generator = tasks.resolve(task.example_gen)()
    assert generator.outputs["examples"] is not None
    assert callable(tasks.resolve(task.preprocessing_fn))
    config = task.eval_config()
    assert isinstance(config, tfma.EvalConfig) and config.model_specs
    assert task.closing_view is None or callable(tasks.resolve(task.closing_view))


def test_the_trainer_and_the_pipeline_know_the_same_tasks():
    assert sorted(tasks.NAMES) == sorted(trainer_tasks()) == sorted(configs.TASKS)
    for config in configs.CONFIGS:
        for name in tasks.NAMES:
            assert configs.training_params(name, config)["task"] == name


def test_an_unknown_task_is_refused_with_the_allowed_ones():
    with pytest.raises(ValueError, match=r"task='weather' is unknown; allowed: lcd, art\."):
        tasks.get("weather")
