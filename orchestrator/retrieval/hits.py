"""A search hit: what lexical, dense and fused search all return."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Hit:
    """A matching chunk and its score in [0, 1]."""

    vector_store_id: str
    file_id: str
    ordinal: int
    text: str
    score: float
