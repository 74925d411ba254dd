"""Console pages: Data center: datasets, versions, upload, image grid, labelling."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
