"""Shared helpers for the deep-learning-in-visual-computing lab notebooks (see docs/architecture.md)."""

__version__ = "0.1.0"
