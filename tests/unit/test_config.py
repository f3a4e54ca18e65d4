"""Settings refuse combinations that would break crash safety; messages show URLs safely."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from orchestrator.config import Settings, shown_url


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
