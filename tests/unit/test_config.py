"""Settings refuse combinations that would break crash safety; messages show URLs safely."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from orchestrator.config import Settings, shown_url
from orchestrator.redis_url import SentinelUrl, parse_sentinel


def test_a_lease_must_outlive_two_heartbeats() -> None:
    # A lease is renewed once it is a heartbeat old; shorter than two heartbeats it could lapse
    # while its model call is still running.
    with pytest.raises(ValidationError, match="ORCH_LEASE_SECONDS"):
        Settings(lease_seconds=10, heartbeat_seconds=5)
    assert Settings(lease_seconds=11, heartbeat_seconds=5).lease_seconds == 11



def test_a_url_in_a_message_never_shows_its_credentials() -> None:
    # A run's last_error names the model URL it tried; tenants read last_error.
    assert (shown_url("https://user:s3cret@models.internal:8443/v1?key=s3cret#x")
            == "https://models.internal:8443/v1")
    assert shown_url("http://[::1]:11434/v1") == "http://[::1]:11434/v1"
    assert shown_url("http://127.0.0.1:11434/v1") == "http://127.0.0.1:11434/v1"


def test_redis_url_is_one_server_or_sentinels_in_celerys_form() -> None:
    # Celery's documented form writes the database once, on the last entry; every client
    # (kombu reads the first entry only) must agree on it, and on the master's password.
    url = "sentinel://:p%40ss@10.0.0.1:26379;sentinel://10.0.0.2/3"
    target = parse_sentinel(Settings(redis_url=url).redis_url)
    assert target == SentinelUrl((("10.0.0.1", 26379), ("10.0.0.2", 26379)), 3, None, "p@ss")
    assert target.for_celery() == ("sentinel://:p%40ss@10.0.0.1:26379/3;"
                                   "sentinel://:p%40ss@10.0.0.2:26379/3")
    assert parse_sentinel("redis://127.0.0.1:6379/0") is None
    for bad, says in [("sentinel://a:26379/1;sentinel://b:26379/2", "different databases"),
                      ("redis://a:6379;redis://b:6379", "sentinel://"),
                      ("sentinel://a:26379;redis://b:6379", "is not sentinel://host:port"),
                      ("http://a:6379", "unknown scheme")]:
        with pytest.raises(ValidationError, match=says):
            Settings(redis_url=bad)


def test_the_broker_url_is_empty_or_rabbitmq() -> None:
    # Empty: ORCH_REDIS_URL's Redis (or Sentinel's master) is the broker; anything else must be
    # RabbitMQ, refused at start with the fix, and without echoing a password-bearing URL.
    assert Settings(broker_url="").broker_url == ""
    url = "amqp://user:pw@mq.internal:5672/orch"
    assert Settings(broker_url=url).broker_url == url
    with pytest.raises(ValidationError, match="amqp:// or amqps://") as refused:
        Settings(broker_url="redis://user:s3cret@other:6379/1")
    assert "s3cret" not in str(refused.value)
