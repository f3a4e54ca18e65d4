"""/v1/files routes."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["files"])
