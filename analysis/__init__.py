"""Reductions, statistics and figures over run and sweep directories; never runs the model."""

from __future__ import annotations
