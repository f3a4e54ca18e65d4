"""One signed POST: pinned to checked addresses, no redirects, capped in time and size."""

from __future__ import annotations

import os
import threading
import time
import typing
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from datetime import UTC, datetime

import httpcore
import httpx
from standardwebhooks import Webhook

from orchestrator.config import get_settings
from orchestrator.webhooks.guard import Networks, UnsafeTarget, check_url, resolve

USER_AGENT = "assistants-orchestrator-webhooks/1"
EXCERPT = 1024  # characters of the answer kept in the delivery log


_deadline = threading.local()  # when the current thread's attempt must be over


def _left(timeout: float | None, kind: type[Exception]) -> float | None:
    """The socket timeout to use: the phase's own, cut to what is left of the attempt."""
    end = getattr(_deadline, "at", None)
    if end is None:
        return timeout
    left = end - time.monotonic()
    if left <= 0:
        raise kind("the attempt's deadline passed")
    return left if timeout is None else min(timeout, left)


class DeadlineStream(httpcore.NetworkStream):
    """A connection whose every operation respects the attempt's deadline."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self.inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        """Read, within the deadline."""
        return self.inner.read(max_bytes, _left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        """Write, within the deadline."""
        self.inner.write(buffer, _left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        """Close the socket."""
        self.inner.close()

    def start_tls(self, ssl_context: typing.Any, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        """TLS handshake (SNI = the URL's host), within the deadline."""
        return DeadlineStream(self.inner.start_tls(
            ssl_context, server_hostname, _left(timeout, httpcore.ConnectTimeout)))

    def get_extra_info(self, info: str) -> typing.Any:
        """Socket details, as the wrapped stream has them."""
        return self.inner.get_extra_info(info)


_resolvers: tuple[int, ThreadPoolExecutor] | None = None


def _resolve_within(host: str, port: int, allow_private: bool, allowed: Networks,
                    timeout: float | None) -> list[str]:
    """resolve() bounded by the attempt's deadline (getaddrinfo itself cannot be cut short)."""
    global _resolvers
    if _resolvers is None or _resolvers[0] != os.getpid():
        _resolvers = (os.getpid(), ThreadPoolExecutor(4, thread_name_prefix="webhook-dns"))
    future = _resolvers[1].submit(resolve, host, port, allow_private, allowed)
    try:
        return future.result(timeout=timeout)
    except FutureTimeout:
        raise httpcore.ConnectTimeout(f"resolving '{host}' took too long") from None


class GuardedBackend(httpcore.SyncBackend):
    """Resolves and checks the host at connect time, then connects to that very address.

    httpcore still uses the URL's host for TLS SNI, certificate checks and the Host header,
    so only the socket address is pinned.
    """

    def __init__(self, allow_private: bool, allowed: Networks = ()) -> None:
        self.allow_private = allow_private
        self.allowed = allowed

    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None,
                    socket_options: typing.Iterable[typing.Any] | None = None,
                    ) -> httpcore.NetworkStream:
        """Connect to the first checked address that answers."""
        addresses = _resolve_within(host, port, self.allow_private, self.allowed,
                                    _left(timeout, httpcore.ConnectTimeout))
        error: Exception | None = None
        for address in addresses:
            try:
                return DeadlineStream(super().connect_tcp(
                    address, port, _left(timeout, httpcore.ConnectTimeout), local_address,
                    socket_options))
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        assert error is not None
        raise error


class GuardedTransport(httpx.HTTPTransport):
    """httpx's transport over a connection pool that uses GuardedBackend."""

    def __init__(self, allow_private: bool, max_connections: int = 20,
                 allowed: Networks = ()) -> None:
        super().__init__(trust_env=False)
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=max_connections, max_keepalive_connections=max_connections,
            keepalive_expiry=30.0, network_backend=GuardedBackend(allow_private, allowed))


_client: tuple[int, httpx.Client] | None = None


def client() -> httpx.Client:
    """A per-process client (recreated after fork): no env proxies, no redirects."""
    global _client
    if _client is None or _client[0] != os.getpid():
        s = get_settings()
        _client = (os.getpid(), httpx.Client(
            transport=GuardedTransport(s.webhook_allow_private,
                                       allowed=s.webhook_allowed_networks),
            follow_redirects=False,
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


def _read_capped(response: httpx.Response, limit: int) -> bytes:
    data = bytearray()
    for chunk in response.iter_raw():
        data += chunk
        if len(data) >= limit:
            break
    return bytes(data[:limit])


def post(url: str, body: str, msg_id: str, secrets: list[str]) -> Outcome:
    """POST the body once; 2xx is success, anything else (or no answer) a failure.

    Every connect, TLS handshake, write and read of the attempt shares one deadline, so a
    receiver dripping its answer byte by byte is cut off too.
    """
    s = get_settings()
    started = time.monotonic()
    _deadline.at = started + s.webhook_timeout

    def outcome(ok: bool, code: int | None, excerpt: str | None, error: str | None) -> Outcome:
        return Outcome(ok, code, int((time.monotonic() - started) * 1000), excerpt, error)

    try:
        check_url(url)
        with client().stream("POST", url, content=body.encode(),
                             headers=headers(secrets, msg_id, body)) as response:
            raw = _read_capped(response, s.webhook_max_response_bytes)
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
    finally:
        _deadline.at = None
