"""One schema per configuration section: the docs' tables and the CLI's help follow it."""

import re
import subprocess
import sys

import pytest

from tests import ROOT
from tfx_seqgen import tasks
from tfx_seqgen.errors import InvalidParameterError, InvalidTrainingConfig
from tfx_seqgen.models.training_config import TrainingConfig

PIPELINE_DOC = (ROOT / "docs" / "pipeline.md").read_text()


def _table_keys(heading: str) -> list:
    """The backticked first cells of the first table after `heading` in docs/pipeline.md."""
    text = PIPELINE_DOC.split(heading, 1)[1]
    table = text[text.index("\n|") :].split("\n\n", 1)[0]
    return [m.group(1) for m in re.finditer(r"^\| `([a-z_]+)`", table, re.M)]


def test_the_docs_document_every_trainer_setting_and_no_other():
    documented = _table_keys("reads `custom_config`:")
    assert sorted(documented) == sorted(set(TrainingConfig.model_fields) - {"task"})


def test_the_docs_document_every_blessing_parameter_and_no_other():
    section = PIPELINE_DOC.split("| setting (`--eval`)", 1)[1].split("\n\n", 1)[0]
    documented = re.findall(r"^\| `([a-z_]+)`(?:, `([a-z_]+)`)?", section, re.M)
    names = {name for pair in documented for name in pair if name}
    schema = {name for task in tasks.REGISTRY.values() for name in task.evaluation.model_fields}
    assert names == schema


def test_the_command_lines_help_names_every_setting():
    result = subprocess.run(
        [sys.executable, "-m", "tfx_seqgen", "run", "--help"], capture_output=True, text=True
    )
    help_text = " ".join(result.stdout.split())
    for name in set(TrainingConfig.model_fields) - {"task", "model"}:
        assert name in help_text, name
    for task in tasks.REGISTRY.values():
        for name in task.evaluation.model_fields:
            assert name in help_text, name


@pytest.mark.parametrize(
    "section, params, error, message",
    [
        (
            lambda p: tasks.get("lcd").dataset(**p),
            {"lenght": 3},
            InvalidParameterError,
            "LcdExampleGen: lenght=3 is invalid; allowed: one of the parameters train_periods,",
        ),
        (
            lambda p: tasks.get("art").evaluation(**p),
            {"min_acuracy": 0.5},
            InvalidParameterError,
            "Evaluator: min_acuracy=0.5 is invalid; allowed: one of the parameters min_impro",
        ),
        (
            lambda p: tasks.get("lcd").training_config(p),
            {"task": "lcd", "model": {"unitz": 3}},
            InvalidTrainingConfig,
            "Trainer custom_config: model.unitz=3 is invalid; allowed: one of the parameters cell,",
        ),
        (
            lambda p: tasks.get("art").training_config(p),
            {"task": "art", "model": {"context_every_step": True}},
            InvalidTrainingConfig,
            "model.context_every_step=True is invalid; allowed: one of the parameters",
        ),
        (
            lambda p: tasks.get("lcd").training_config(p),
            {"task": "lcd", "model": {}, "eval_sample": 7},
            InvalidTrainingConfig,
            "Trainer custom_config: eval_sample=7 is invalid; allowed: one of the parameters task,",
        ),
    ],
)
def test_an_unknown_name_in_any_section_is_refused_naming_the_known_ones(
    section, params, error, message
):
    with pytest.raises(error) as raised:
        section(params)
    assert message in str(raised.value)
