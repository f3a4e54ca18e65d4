"""Sandbox hosts: each worker's own queue and liveness key, and where a session's job goes.

A sandbox worker serves the shared `sandbox` queue and `sandbox.<host>`. As each job starts
it records its host and instance for the job's session (table sandbox_sessions: it outlives
a Redis restart), and it renews `orch:sandbox:alive:<host>` (value: its instance) every
heartbeat. The session's next job goes to that host's queue while the same instance is alive
there; otherwise to the shared queue, with a note the sandbox shows if it starts a new
session.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from dataclasses import dataclass

from redis.exceptions import RedisError
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from orchestrator.jobs import QUEUES, Task
from orchestrator.models import SandboxSessionRecord
from orchestrator.models.base import now
from orchestrator.redis_client import get_redis

log = logging.getLogger(__name__)
SHARED = QUEUES[Task.SANDBOX_EXECUTE]
ALIVE = "orch:sandbox:alive:"
FRESH = "[This is a new Python session: the previous one {why}. {lost}]"
LOST_THREAD = ("Its variables and the files its code wrote are gone; the attached files are "
               "in /mnt/data again.")
LOST_CONTAINER = "Its variables are gone; the container's files are in /mnt/data again."


def queue_of(host: str) -> str:
    """The queue only the worker named `host` consumes."""
    return f"{SHARED}.{host}"


def alive_key(host: str) -> str:
    """The liveness key of the worker named `host` (its value: that worker's instance)."""
    return ALIVE + host


def alive_ttl(every: float) -> int:
    """How long a liveness key lasts: three heartbeats (whole seconds, at least 1)."""
    return max(1, math.ceil(every * 3))


@dataclass(frozen=True)
class Holder:
    """Where a session's last job started: the host's name and its worker's instance."""

    host: str
    instance: str


@dataclass(frozen=True)
class Route:
    """Where to send a job, and what the sandbox says if it has to start a new session."""

    queue: str
    note: str = ""


def holder(session: Session, tenant: str, key: str) -> Holder | None:
    """The host recorded for the session, if any job of it ever started."""
    rec = session.get(SandboxSessionRecord, (tenant, key))
    return None if rec is None else Holder(rec.host, rec.instance)


def record(session: Session, tenant: str, key: str, host: str, instance: str) -> None:
    """Note that a job of the session starts on `host` (an upsert: one statement)."""
    values = {"tenant": tenant, "session": key, "host": host, "instance": instance,
              "updated_at": now()}
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(SandboxSessionRecord).values(**values)
    session.exec(stmt.on_conflict_do_update(
        index_elements=["tenant", "session"],
        set_={k: values[k] for k in ("host", "instance", "updated_at")}))


def route(held: Holder | None, container: bool) -> Route:
    """The holder's queue while its worker instance is alive; else the shared queue, with a
    note saying why the session is new (shown only if the sandbox does start a new one)."""
    if held is None:
        return Route(SHARED)
    lost = LOST_CONTAINER if container else LOST_THREAD
    try:
        raw = get_redis().get(alive_key(held.host))
    except RedisError:  # cannot tell: the holder is the best guess, the lease the safety net
        why = f"was on sandbox host '{held.host}' and is gone"
        return Route(queue_of(held.host), FRESH.format(why=why, lost=lost))
    live = raw.decode() if isinstance(raw, bytes) else raw
    if live == held.instance:
        why = f"was on sandbox host '{held.host}' and is gone"
        return Route(queue_of(held.host), FRESH.format(why=why, lost=lost))
    why = (f"was on sandbox host '{held.host}', which is unreachable" if live is None else
           f"was on sandbox host '{held.host}', whose sandbox worker has restarted since")
    return Route(SHARED, FRESH.format(why=why, lost=lost))


def workers_alive() -> bool:
    """Whether any sandbox worker's liveness key is current (then a slow job is only queued)."""
    return next(iter(get_redis().scan_iter(ALIVE + "*", count=100)), None) is not None


def claim(host: str, instance: str, every: float) -> bool:
    """Take the host's name for this worker: at once if free, else once the key of the one
    before lapses (a killed worker's, within three heartbeats); False if it is renewed all
    along (another live worker has this name). Without Redis we cannot tell: True."""
    key, ttl = alive_key(host), alive_ttl(every)
    deadline = time.monotonic() + ttl + every
    waited = False
    while True:
        try:
            if get_redis().set(key, instance, nx=True, ex=ttl):
                return True
        except RedisError:
            return True
        if time.monotonic() > deadline:
            return False
        if not waited:
            log.warning("sandbox host name '%s' is taken: waiting up to %g s for the key of "
                        "the worker before to lapse", host, ttl + every)
            waited = True
        time.sleep(min(every, 1.0))


def beat(host: str, instance: str, every: float) -> None:
    """Renew this worker's liveness key (recreating it after a Redis restart)."""
    with contextlib.suppress(RedisError):
        get_redis().set(alive_key(host), instance, ex=alive_ttl(every))


def retire(host: str, instance: str) -> None:
    """Remove this worker's liveness key (if it is still ours) as it stops."""
    with contextlib.suppress(RedisError):
        redis = get_redis()
        raw = redis.get(alive_key(host))
        if (raw.decode() if isinstance(raw, bytes) else raw) == instance:
            redis.delete(alive_key(host))
