"""Settings refuse combinations that would break crash safety."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from orchestrator.config import Settings


def test_a_lease_must_outlive_two_heartbeats() -> None:
    # A lease is renewed once it is a heartbeat old; shorter than two heartbeats it could lapse
    # while its model call is still running.
    with pytest.raises(ValidationError, match="ORCH_LEASE_SECONDS"):
        Settings(lease_seconds=10, heartbeat_seconds=5)
    assert Settings(lease_seconds=11, heartbeat_seconds=5).lease_seconds == 11

