"""The Celery broker (Redis or RabbitMQ): its URL, its Celery settings and its queue depths."""

from __future__ import annotations

import contextlib
import logging
import math
import threading
from typing import Any
from urllib.parse import urlsplit

import redis
from amqp.exceptions import AMQPError, NotFound
from celery import Celery
from kombu import Connection, Exchange, Queue
from kombu.exceptions import KombuError

from orchestrator.config import get_settings
from orchestrator.redis_client import celery_broker, get_redis
from orchestrator.shared import process_wide

QUEUES = ("runs", "batch", "sandbox", "webhooks", "maintenance")
AMQP_SCHEMES = ("amqp", "amqps", "pyamqp")
log = logging.getLogger(__name__)


class BrokerUnavailable(Exception):
    """The broker did not answer (a queue depth could not be read)."""


def is_amqp(url: str) -> bool:
    """Whether the URL names a RabbitMQ (AMQP) broker."""
    return urlsplit(url).scheme in AMQP_SCHEMES


def celery_settings() -> dict[str, Any]:
    """Celery settings that depend on the broker: URL, queue declarations, transport options.

    RabbitMQ: each queue is a durable quorum queue behind a topic exchange of its name, which
    is what Celery's native delayed delivery needs: a countdown message waits in RabbitMQ's
    `celery_delayed_*` quorum queues (declared by each worker at start), not in a worker's
    memory, so it survives worker and broker restarts. Publishes wait for the broker's confirm.
    An unacknowledged message returns to its queue when the consumer's connection closes, so
    there is no visibility timeout. Redis (or Sentinel's master, redis_client.celery_broker):
    plain queues and the visibility-timeout redelivery.
    """
    s = get_settings()
    if not s.broker_url:
        url, options = celery_broker()
        return {
            "broker_url": url,
            "task_queues": [Queue(name) for name in QUEUES],
            "broker_transport_options": {
                **options,
                "visibility_timeout": s.broker_visibility_timeout,
                "unacked_restore_interval": 5,
                "unacked_restore_throttle": 1,
            },
        }
    return {
        "broker_url": s.broker_url,
        "task_queues": [quorum_queue(name) for name in QUEUES],
        # Queues made on demand (a sandbox host's own queue) are quorum queues too.
        "task_create_missing_queue_type": "quorum",
        "task_create_missing_queue_exchange_type": "topic",
        "broker_transport_options": {"confirm_publish": True},
        # Quorum queues refuse a global QoS: Celery then uses a per-consumer prefetch.
        "worker_detect_quorum_queues": True,
        "broker_native_delayed_delivery_queue_type": "quorum",
    }


def quorum_queue(name: str) -> Queue:
    """A durable quorum queue bound to a topic exchange of the same name."""
    return Queue(name, Exchange(name, type="topic", durable=True), routing_key=name,
                 durable=True, queue_arguments={"x-queue-type": "quorum"})


def declare_queues(app: Celery) -> None:
    """RabbitMQ: declare every queue and its exchange when a worker starts, whichever it
    consumes, so that Celery's delayed delivery can bind them all (it binds every configured
    queue and fails on an exchange nobody declared yet). A broker that is down is logged:
    Celery's own connection retry takes over, and a durable queue declared once stays."""
    if not is_amqp(str(app.conf.broker_url)):
        return
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=3)
            channel = conn.default_channel
            for queue in app.amqp.queues.values():
                queue(channel).declare()
    except (KombuError, AMQPError, OSError) as exc:
        log.warning("could not declare the broker's queues yet (%s: %s)",
                    type(exc).__name__, exc)


def countdown(seconds: float | None) -> float | None:
    """The countdown to publish with: RabbitMQ's delayed delivery counts whole seconds (and
    refuses less than one), so there it is rounded up, never shorter than asked."""
    if not seconds or seconds <= 0 or not get_settings().broker_url:
        return seconds
    return float(math.ceil(seconds))


def queue_depths(names: tuple[str, ...]) -> list[int]:
    """Messages ready in each queue (not those reserved by workers); 0 for a queue not yet
    declared. Raises BrokerUnavailable when the broker does not answer."""
    try:
        if get_settings().broker_url:
            return _amqp_depths(names)
        pipe = get_redis().pipeline(transaction=False)
        for name in names:
            pipe.llen(name)
        return [int(n) for n in pipe.execute()]
    except (redis.RedisError, KombuError, AMQPError, OSError) as exc:
        raise BrokerUnavailable(f"{type(exc).__name__}: {exc}") from exc


_amqp_lock = threading.Lock()


@process_wide
def _amqp_connection() -> Connection:
    """One connection per process for reading queue depths (a passive declare each)."""
    return Connection(get_settings().broker_url, connect_timeout=5)


def _amqp_depths(names: tuple[str, ...]) -> list[int]:
    with _amqp_lock:
        conn = _amqp_connection()
        try:
            conn.ensure_connection(max_retries=1, interval_start=0)
            return [_ready(conn, name) for name in names]
        except BaseException:
            conn.collect()  # drop a broken connection: the next call connects afresh
            raise


def _ready(conn: Connection, name: str) -> int:
    channel = conn.channel()
    try:
        return int(channel.queue_declare(queue=name, passive=True).message_count)
    except NotFound:  # not declared yet (no worker has started); the broker closed the channel
        return 0
    finally:
        with contextlib.suppress(AMQPError, OSError):
            channel.close()
