"""Inspector sessions: signed for a configured key only, expiring, bound to the key."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from orchestrator import tenancy
from orchestrator.config import get_settings
from orchestrator.inspector import auth
from orchestrator.inspector.live import Typing, frame

KEYS = "sk-one-0123456789,sk-two-9876543210"


@pytest.fixture()
def keys(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Two configured API keys."""
    monkeypatch.setenv("ORCH_API_KEYS", KEYS)
    get_settings.cache_clear()
    tenancy.known_tenants.cache_clear()
    yield
    get_settings.cache_clear()
    tenancy.known_tenants.cache_clear()


def test_session_names_the_keys_tenant_and_never_holds_the_key(keys: None) -> None:
    value = auth.session_for("sk-one-0123456789")
    assert value is not None and "sk-one" not in value and "0123456789" not in value
    assert auth.tenant_of_session(value) == tenancy.tenant_of("sk-one-0123456789")
    assert auth.session_for("sk-unknown") is None


def test_forged_tampered_and_expired_sessions_are_refused(
        keys: None, monkeypatch: pytest.MonkeyPatch) -> None:
    value = auth.session_for("sk-one-0123456789")
    assert value is not None
    tenant, expires, signature = value.split(".")
    other = tenancy.tenant_of("sk-two-9876543210")
    assert auth.tenant_of_session(f"{other}.{expires}.{signature}") is None
    assert auth.tenant_of_session(f"{tenant}.{int(expires) + 1}.{signature}") is None
    assert auth.tenant_of_session(f"{tenant}.{expires}.{'0' * 64}") is None
    assert auth.tenant_of_session("garbage") is None and auth.tenant_of_session(None) is None
    monkeypatch.setattr(auth.time, "time", lambda: int(expires) + 1)
    assert auth.tenant_of_session(value) is None


def test_removing_the_key_ends_its_sessions(keys: None, monkeypatch: pytest.MonkeyPatch) -> None:
    value = auth.session_for("sk-two-9876543210")
    monkeypatch.setenv("ORCH_API_KEYS", "sk-one-0123456789")
    get_settings.cache_clear()
    assert auth.tenant_of_session(value) is None


@pytest.mark.parametrize(("target", "expected"), [
    ("/inspector/threads/t", "/inspector/threads/t"), ("https://evil.example", "/inspector"),
    ("//evil.example/inspector", "/inspector"), ("/v1/threads", "/inspector"),
    ("/inspector\\\\evil", "/inspector"), (None, "/inspector")])
def test_only_inspector_paths_are_followed_after_sign_in(target: str | None,
                                                         expected: str) -> None:
    assert auth.safe_next(target) == expected


def test_every_cookie_value_is_tried() -> None:
    header = 'a=1; orch_inspector=stale; b=2; orch_inspector="fresh"'
    assert auth.cookie_values(header) == ["stale", "fresh"]


def test_sse_frames_carry_multiline_html_and_typing_follows_deltas() -> None:
    assert frame("changed", "<a>\r\n<b>\n") == b"event: changed\ndata: <a>\ndata: <b>\ndata: \n\n"
    typing = Typing()
    delta = {"id": "msg_1", "delta": {"content": [{"index": 0, "type": "text",
                                                  "text": {"value": "Hel"}}]}}
    assert typing.feed("thread.message.delta", delta)
    assert typing.feed("thread.message.delta", {**delta, "delta": {"content": [
        {"index": 0, "type": "text", "text": {"value": "lo"}}]}})
    assert typing.snapshot() == {"messages": [{"id": "msg_1", "text": "Hello"}]}
    assert not typing.feed("thread.run.step.created", {"id": "step_1"})
    assert typing.feed("thread.message.completed", {"id": "msg_1"})
    assert typing.snapshot() == {"messages": []}
    assert not typing.feed("thread.message.delta", delta)  # late delta of a finished message
