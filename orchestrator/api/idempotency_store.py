"""Idempotency keys in the database: claim a key, record its response, replay it for 24 h."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from orchestrator.config import get_settings
from orchestrator.db import get_engine
from orchestrator.models import IdempotencyKeyRecord as Key
from orchestrator.models.base import now

PURGE_EVERY = 60.0  # seconds between one process's deletions of expired keys
_purged = {"at": 0.0}
_purge_lock = threading.Lock()


@dataclass(frozen=True)
class Claimed:
    """This request holds the key: run it, then complete() or release() the claim."""

    created_at: int


@dataclass(frozen=True)
class InFlight:
    """Another request with the key is still running."""


@dataclass(frozen=True)
class Stored:
    """The key's first request finished: its fingerprint and response."""

    request_hash: str
    status_code: int
    headers: list[Any]
    body: bytes


Claim = Claimed | InFlight | Stored


def claim(tenant: str, key: str) -> Claim:
    """Take the key for a new request, or say who has it (a unique row, so two concurrent
    requests cannot both take it). Expired keys and abandoned claims are taken over."""
    _purge_expired()
    s = get_settings()
    for _ in range(2):
        created = now()
        try:
            with Session(get_engine()) as session:
                session.add(Key(tenant=tenant, key=key, created_at=created))
                session.commit()
            return Claimed(created)
        except IntegrityError:
            pass
        with Session(get_engine()) as session:
            row = session.get(Key, (tenant, key))
            if row is None:
                continue  # released meanwhile: claim again
            finished = row.status_code is not None
            age = created - row.created_at
            if finished and age < s.idempotency_ttl_seconds:
                return Stored(row.request_hash or "", int(row.status_code or 0),
                              list(row.headers or []), bytes(row.body or b""))
            if not finished and age < s.idempotency_lock_seconds:
                return InFlight()
            session.execute(delete(Key).where(  # compare-and-set on the row we saw
                col(Key.tenant) == tenant, col(Key.key) == key,
                col(Key.created_at) == row.created_at))
            session.commit()
    return InFlight()  # lost the race for the expired key twice: someone else runs it


def complete(tenant: str, key: str, claimed: Claimed, request_hash: str, status_code: int,
             headers: list[Any], body: bytes) -> None:
    """Record the response of the request that holds the claim."""
    with Session(get_engine()) as session:
        session.execute(update(Key).where(
            col(Key.tenant) == tenant, col(Key.key) == key,
            col(Key.created_at) == claimed.created_at, col(Key.status_code).is_(None),
        ).values(request_hash=request_hash, status_code=status_code, headers=headers,
                 body=body))
        session.commit()


def release(tenant: str, key: str, claimed: Claimed) -> None:
    """Give the key up (nothing to replay): the next request with it runs afresh."""
    with Session(get_engine()) as session:
        session.execute(delete(Key).where(
            col(Key.tenant) == tenant, col(Key.key) == key,
            col(Key.created_at) == claimed.created_at, col(Key.status_code).is_(None)))
        session.commit()


def _purge_expired() -> None:
    """Delete keys past their lifetime, at most once a minute per process (lazy expiry)."""
    t = time.monotonic()
    with _purge_lock:
        if t - _purged["at"] < PURGE_EVERY:
            return
        _purged["at"] = t
    cutoff = now() - get_settings().idempotency_ttl_seconds
    with Session(get_engine()) as session:
        session.execute(delete(Key).where(col(Key.created_at) < cutoff))
        session.commit()

