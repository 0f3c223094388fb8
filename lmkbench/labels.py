"""Model labels: the label a result is filed under, ``checkpoint[~variant]``.

The variant names the encoder settings the run *asked for* that set it apart from the checkpoint as shipped
(a positions method, an explicit max length, ``windows``, an explicit dtype), so one results folder holds a model under several
settings without collisions, and the label is known before any model loads (finished cells are found without
loading one). :mod:`lmkbench.variants` pairs the variants of a model query by query.
"""
from __future__ import annotations

from .specs import slug

SEPARATOR = "~"
#: the label shown for a model's base variant (the checkpoint as shipped)
AS_TRAINED = "as-trained"


def variant_of(settings) -> str:
    """The label suffix of an :class:`~lmkbench.settings.EncoderSettings`: what the user asked for that sets the
    encoder apart from the checkpoint as shipped — a positions method, an explicit max length, ``windows`` —
    ``'pi-4096'``, ``'512'``, ``'windows'``, ``''`` (known before any model loads, so finished cells are found
    without loading one)."""
    parts = []
    if str(settings.positions).strip() not in ("", "native"):
        from .positions import parse_positions

        spec = str(parse_positions(settings.positions).spec).replace(":factor=", "")
        parts.append(slug(spec.removesuffix(".0") if spec.endswith(".0") else spec))
    if settings.max_length is not None:
        parts.append(str(settings.max_length))
    if settings.long_policy != "truncate":
        parts.append(str(settings.long_policy))
    if str(getattr(settings, "dtype", "auto")) != "auto":     # fp32 and bf16 are two systems, never one cell
        parts.append(str(settings.dtype))
    return "-".join(parts)


def label_for(base: str, settings) -> str:
    """``base`` (without ``~``: a folder named ``x~pi-256`` is not ``x``'s variant) plus ``~variant`` when
    :func:`variant_of` is not empty (``minilm``, ``minilm~pi-4096``, ``minilm~bf16``)."""
    return with_variant(str(base).replace(SEPARATOR, "-"), variant_of(settings))


def with_variant(base: str, variant: str) -> str:
    return f"{base}{SEPARATOR}{variant}" if variant else base


def split_label(label: str) -> tuple[str, str]:
    """``"minilm~pi-4096"`` → ``("minilm", "pi-4096")``; a label without a variant → ``(label, "")``."""
    base, _, variant = str(label).partition(SEPARATOR)
    return base, variant


def variant_name(label: str) -> str:
    return split_label(label)[1] or AS_TRAINED
