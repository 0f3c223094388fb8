"""Datasets: typed containers and the loaders that fill them."""
from .types import LabelledData, RetrievalData

__all__ = ["RetrievalData", "LabelledData"]
