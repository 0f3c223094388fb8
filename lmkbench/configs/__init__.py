"""Config files (task files, suites, leaderboard configs): YAML read with line numbers, validated by pydantic
models, every problem one :class:`~lmkbench.errors.InputError` with file, line and field.

* :mod:`.yamlfile` — :func:`read_yaml`, :func:`line_of`;
* :mod:`.models` — :class:`StrictModel` (the base of every config model), ``Text``, :func:`checked`, :func:`model_of` (a config model
  from a dataclass, e.g. :class:`~lmkbench.settings.EncoderSettings`), :func:`validate`;
* :mod:`.errors` — a ``ValidationError`` as one ``InputError``.
"""
from __future__ import annotations

from .models import StrictModel, Text, checked, model_of, validate
from .yamlfile import LineDict, line_of, read_yaml

__all__ = ["LineDict", "StrictModel", "Text", "checked", "line_of", "model_of", "read_yaml", "validate"]
