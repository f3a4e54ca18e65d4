"""One signed POST: pinned to checked addresses, no redirects, capped in time and size."""

from __future__ import annotations

import os
import time
import typing
from dataclasses import dataclass
from datetime import UTC, datetime

import httpcore
import httpx
from standardwebhooks import Webhook

from orchestrator.config import get_settings
from orchestrator.webhooks.guard import UnsafeTarget, check_url, resolve

USER_AGENT = "assistants-orchestrator-webhooks/1"
EXCERPT = 1024  # characters of the answer kept in the delivery log


class GuardedBackend(httpcore.SyncBackend):
    """Resolves and checks the host at connect time, then connects to that very address.

    httpcore still uses the URL's host for TLS SNI, certificate checks and the Host header,
    so only the socket address is pinned.
    """

    def __init__(self, allow_private: bool) -> None:
        self.allow_private = allow_private

    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None,
                    socket_options: typing.Iterable[typing.Any] | None = None,
                    ) -> httpcore.NetworkStream:
        """Connect to the first checked address that answers."""
        addresses = resolve(host, port, self.allow_private)
        error: Exception | None = None
        for address in addresses:
            try:
                return super().connect_tcp(address, port, timeout, local_address,
                                           socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        assert error is not None
        raise error


class GuardedTransport(httpx.HTTPTransport):
    """httpx's transport over a connection pool that uses GuardedBackend."""

    def __init__(self, allow_private: bool, max_connections: int = 20) -> None:
        super().__init__(trust_env=False)
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=max_connections, max_keepalive_connections=max_connections,
            keepalive_expiry=30.0, network_backend=GuardedBackend(allow_private))


_client: tuple[int, httpx.Client] | None = None


def client() -> httpx.Client:
    """A per-process client (recreated after fork): no env proxies, no redirects."""
    global _client
    if _client is None or _client[0] != os.getpid():
        s = get_settings()
        _client = (os.getpid(), httpx.Client(
            transport=GuardedTransport(s.webhook_allow_private), follow_redirects=False,
            trust_env=False, timeout=httpx.Timeout(s.webhook_timeout),
            headers={"User-Agent": USER_AGENT}))
    return _client[1]


@dataclass
class Outcome:
    """What one attempt saw."""

    ok: bool
    status_code: int | None
    latency_ms: int
    excerpt: str | None
    error: str | None


def signature(secrets: list[str], msg_id: str, at: datetime, body: str) -> str:
    """The webhook-signature header: one v1 signature per live secret, space separated."""
    return " ".join(Webhook(secret).sign(msg_id, at, body) for secret in secrets)


def headers(secrets: list[str], msg_id: str, body: str) -> dict[str, str]:
    """Standard Webhooks headers for this attempt (the timestamp is the attempt's)."""
    at = datetime.fromtimestamp(int(time.time()), tz=UTC)
    return {"webhook-id": msg_id, "webhook-timestamp": str(int(at.timestamp())),
            "webhook-signature": signature(secrets, msg_id, at, body),
            "content-type": "application/json"}


def _read_capped(response: httpx.Response, limit: int, deadline: float) -> bytes:
    data = bytearray()
    for chunk in response.iter_raw():
        data += chunk
        if len(data) >= limit or time.monotonic() > deadline:
            break
    return bytes(data[:limit])


def post(url: str, body: str, msg_id: str, secrets: list[str]) -> Outcome:
    """POST the body once; 2xx is success, anything else (or no answer) a failure."""
    s = get_settings()
    started = time.monotonic()
    deadline = started + s.webhook_timeout

    def outcome(ok: bool, code: int | None, excerpt: str | None, error: str | None) -> Outcome:
        return Outcome(ok, code, int((time.monotonic() - started) * 1000), excerpt, error)

    try:
        check_url(url)
        with client().stream("POST", url, content=body.encode(),
                             headers=headers(secrets, msg_id, body)) as response:
            raw = _read_capped(response, s.webhook_max_response_bytes, deadline)
            excerpt = raw.decode("utf-8", errors="replace")[:EXCERPT]
            code = response.status_code
            if 200 <= code < 300:
                return outcome(True, code, excerpt, None)
            why = f"receiver answered {code}"
            if response.is_redirect:
                why += " (redirects are not followed)"
            return outcome(False, code, excerpt, why)
    except UnsafeTarget as exc:
        return outcome(False, None, None, f"refused: {exc}")
    except httpx.TimeoutException as exc:
        return outcome(False, None, None, f"timeout after {s.webhook_timeout:g}s "
                                          f"({type(exc).__name__})")
    except httpx.HTTPError as exc:
        return outcome(False, None, None, f"{type(exc).__name__}: {exc}"[:500])
