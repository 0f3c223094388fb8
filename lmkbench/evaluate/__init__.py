"""Evaluators: turn embeddings of a task's texts into metrics and per-item scores.

Each evaluator is a small class registered in :data:`EVALUATORS` under the task kind it serves.
"""
from .base import EVALUATORS, EvalOutput, Evaluator, evaluator_for

__all__ = ["EVALUATORS", "EvalOutput", "Evaluator", "evaluator_for"]
