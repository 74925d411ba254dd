"""Console pages: Evaluation: metrics, confusion matrix, PR curves, per class, bad cases."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
