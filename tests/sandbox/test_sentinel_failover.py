"""The code interpreter across a Redis failover: the sandbox worker keeps its process, its queue
and the thread's session while Sentinel promotes the replica."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import openai
import pytest

from tests.sandbox.conftest import SANDBOX_SETTINGS, SandboxStack, logs_of, run_code
from tests.support.sentinel import SentinelCluster, sentinel_cluster
from tests.support.servers import sqlite_database
from tests.support.stack import stack

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def failover(sandbox_image: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[
        tuple[SandboxStack, SentinelCluster]]:
    """API, run worker, beat and a sandbox worker on a Sentinel URL."""
    workdir = tmp_path_factory.mktemp("sbx-sentinel")
    settings = {**SANDBOX_SETTINGS, "ORCH_SANDBOX_IMAGE": sandbox_image,
                "ORCH_SANDBOX_STATE_DIR": str(workdir / "sbx")}
    with sentinel_cluster(workdir) as cluster, sqlite_database(workdir) as url, stack(
            url, workdir, cluster.url, **settings) as st:
        box = SandboxStack(st)
        box.start_sandbox()
        try:
            yield box, cluster
        finally:
            box.stop()


def test_session_survives_primary_killed(failover: tuple[SandboxStack, SentinelCluster]) -> None:
    box, cluster = failover
    sdk = openai.OpenAI(base_url=box.st.api.base_url, api_key=box.st.api.keys[0],
                        max_retries=2)
    tutor: Any = sdk.beta.assistants.create(model="scripted-model",
                                            tools=[{"type": "code_interpreter"}])
    thread = sdk.beta.threads.create()
    run, _, _ = run_code(sdk, box.st, tutor.id, "secret = 41", thread_id=thread.id)
    assert run.status == "completed", (run.last_error, box.log())
    sandbox_pid = box.proc.pid if box.proc else None

    old = cluster.master_port()
    cluster.kill_primary()
    assert cluster.wait_promoted(old) == cluster.replica_port

    # The next cell of the thread reaches the same session: the sandbox worker's consumer
    # follows the new primary, and the thread's route to its queue was replicated.
    run, step, _ = run_code(sdk, box.st, tutor.id, "print(secret + 1)", thread_id=thread.id)
    assert run.status == "completed", (run.last_error, box.log())
    assert "42" in logs_of(step)
    assert box.proc is not None and box.proc.pid == sandbox_pid and box.proc.poll() is None
