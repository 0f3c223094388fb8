"""The base of every config model: strict types, unknown keys refused (with a "did you mean"), and
:func:`validate`, which turns whatever pydantic finds into one :class:`~lmkbench.errors.InputError`."""
from __future__ import annotations

import dataclasses
import typing
from typing import Annotated, Any, Callable, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, ValidationError, create_model, \
    model_validator

from ..errors import LmkbenchError
from .errors import UnknownKey, input_error
from .yamlfile import line_of
from ..params import did_you_mean

M = TypeVar("M", bound=BaseModel)

#: a non-empty string, stripped
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


def checked(check: Callable[[Any], Any]) -> AfterValidator:
    """A field check from a function that returns the value (perhaps normalised) or raises LmkbenchError."""
    def run(value):
        try:
            return check(value)
        except LmkbenchError as exc:
            raise ValueError(str(exc)) from None
    return AfterValidator(run)


class StrictModel(BaseModel):
    """A mapping of a config file: no type coercion ("512" is not an int, 1 is not true), no unknown keys."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _no_unknown_keys(cls, data: Any) -> Any:
        if isinstance(data, dict):
            known = list(cls.model_fields)
            unknown = sorted((k for k in data if k not in cls.model_fields),
                             key=lambda k: (line_of(data, k) or 0, str(k)))
            if unknown:
                raise UnknownKey(unknown[0], f"unknown key{did_you_mean(unknown[0], known)} "
                                             f"(known: {', '.join(sorted(known))})")
        return data


def model_of(cls: type, base: type[M] = StrictModel) -> type[M]:
    """A config model with the fields of a dataclass: its annotations (bounds included), defaults and help."""
    hints = typing.get_type_hints(cls, include_extras=True)
    fields = {f.name: (hints[f.name], Field(f.default, description=f.metadata.get("help")))
              for f in dataclasses.fields(cls)}
    return create_model(f"{cls.__name__}Config", __base__=base, **fields)


def validate(model: type[M], data: Any, *, file, prefix: str = "", line: int | None = None) -> M:
    """``data`` (as :func:`~lmkbench.configs.yamlfile.read_yaml` reads it) as a ``model``, or one InputError
    naming ``file``, the line and the field path (``prefix`` + the path inside ``data``)."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise input_error(exc, data, file=file, prefix=prefix, line=line) from None
