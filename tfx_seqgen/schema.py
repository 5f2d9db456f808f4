"""One typed schema per configuration section, with pydantic: it validates and documents.

Every section of a run's configuration (a task's dataset, the Trainer's
settings, a task model's options, the blessing) is a `Schema`: a frozen
pydantic model whose fields carry their rule in words (`allowed`) beside
their constraints. A bad value is refused on construction with an error
that names the section, the parameter, the value and what is allowed,
and an unknown name with the names that exist, so a typo stops a run
before any component starts. The command line's help and the docs'
tables are checked against the same fields (tests/test_schema.py).

Light on purpose: pydantic alone, so `seqgen` checks a run in a second.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, Dict, Sequence

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tfx_seqgen.errors import InvalidParameterError


class Schema(BaseModel):
    """A configuration section: strict types (no bool for an int, no "3" for a number)."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    # How errors name the section, e.g. "LcdExampleGen" or "Evaluator".
    OWNER: ClassVar[str] = "config"

    def __init__(self, **values: Any):
        unknown = [name for name in values if name not in type(self).model_fields]
        if unknown:
            name = unknown[0]
            raise self.error(
                name, values[name], f"one of the parameters {', '.join(self.model_fields)}"
            )
        try:
            super().__init__(**values)
        except ValidationError as error:
            raise self._refusal(error, values) from None

    @classmethod
    def error(cls, name: str, value: Any, allowed: str) -> ValueError:
        """The section's error for `name=value`; subclasses choose the exception type."""
        return InvalidParameterError(cls.OWNER, name, value, allowed)

    @classmethod
    def _refusal(cls, error: ValidationError, values: Dict[str, Any]) -> ValueError:
        first = error.errors()[0]
        cause = (first.get("ctx") or {}).get("error")
        if isinstance(cause, ValueError) and getattr(cause, "from_schema", False):
            return cause  # raised by a validator of ours, already in words
        name = str(first["loc"][0]) if first["loc"] else ""
        value = values.get(name, first.get("input"))
        return cls.error(name, value, allowed(cls, name))

    @classmethod
    def refuse(cls, name: str, value: Any, allowed_text: str) -> ValueError:
        """An error a validator raises; pydantic hands it through unchanged."""
        error = cls.error(name, value, allowed_text)
        error.from_schema = True  # type: ignore[attr-defined]
        return error

    @classmethod
    def rules(cls) -> Dict[str, str]:
        """{field: what it allows}, in declaration order: for help texts and docs."""
        return {name: allowed(cls, name) for name in cls.model_fields}


def allowed(schema: type, name: str) -> str:
    """A field's rule in words (its `allowed` extra)."""
    field = schema.model_fields.get(name)
    extra = (field.json_schema_extra or {}) if field else {}
    return str(extra.get("allowed", "a valid value"))


def _field(default: Any, rule: str, doc: str, **constraints: Any) -> Any:
    return Field(default, description=doc, json_schema_extra={"allowed": rule}, **constraints)


def integer(
    default: Any, minimum: int, maximum: int | None = None, doc: str = "", optional: bool = False
) -> Any:
    """An int field in [minimum, maximum]; bools and floats are refused. An `optional`
    one (typed `int | None`) also takes None."""
    upper = "" if maximum is None else f" and at most {maximum}"
    rule = ("None or " if optional else "") + f"an integer at least {minimum}{upper}"
    return _field(default, rule, doc, ge=minimum, le=maximum)


def number(default: Any, positive: bool = False, doc: str = "", rule: str = "") -> Any:
    """A finite float field (an int is taken as a float), optionally > 0."""
    words = rule or "a finite number" + (" greater than 0" if positive else "")
    return _field(default, words, doc, allow_inf_nan=False, gt=0 if positive else None)


def fraction(default: Any, doc: str = "") -> Any:
    """A float strictly between 0 and 1."""
    return _field(default, "a number in (0, 1)", doc, gt=0, lt=1, allow_inf_nan=False)


def flag(default: Any, doc: str = "") -> Any:
    return _field(default, "true or false", doc)


def choice(default: Any, options: Sequence[str], doc: str = "", rule: str = "") -> Any:
    """A field typed Literal[...] of `options`; the rule lists them."""
    return _field(default, rule or f"one of {', '.join(options)}", doc)


def text(default: Any, rule: str, doc: str = "") -> Any:
    return _field(default, rule, doc)


def positive_periods(schema: type, name: str, value: Any) -> list:
    """A non-empty sequence of distinct, finite numbers > 0, as a list of floats."""
    rule = allowed(schema, name)
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) or not value:
        raise schema.refuse(name, value, rule)
    numbers = []
    for item in value:
        if isinstance(item, bool) or not isinstance(item, (int, float)):
            raise schema.refuse(name, value, rule)
        if not math.isfinite(item) or item <= 0:
            raise schema.refuse(name, value, rule)
        numbers.append(float(item))
    if len(set(numbers)) != len(numbers):
        raise schema.refuse(name, value, rule)
    return numbers
