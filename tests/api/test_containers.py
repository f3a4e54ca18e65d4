"""/v1/containers and their files through the official SDK: create, list (pagination, name),
retrieve, delete; files by upload or file id, content, delete; tenancy and bad input."""

from __future__ import annotations

from typing import Any

import openai
import pytest

MODEL = "scripted-model"


def test_containers_crud_through_the_sdk(client: openai.OpenAI,
                                         other_client: openai.OpenAI) -> None:
    sdk, other = client, other_client
    fid = sdk.files.create(file=("notes.txt", b"hello container"), purpose="assistants").id
    made = sdk.containers.create(name="crud", file_ids=[fid],
                                 expires_after={"anchor": "last_active_at", "minutes": 5})
    assert made.id.startswith("cntr_") and made.name == "crud" and made.status == "running"
    assert made.expires_after.minutes == 5 and made.expires_after.anchor == "last_active_at"
    second = sdk.containers.create(name="crud-2")
    assert sdk.containers.retrieve(made.id).name == "crud"
    page = sdk.containers.list(limit=1)
    assert [c.id for c in page.data] == [second.id] and page.has_more
    assert [c.id for c in sdk.containers.list(name="crud").data] == [made.id]
    [placed] = sdk.containers.files.list(made.id).data
    assert (placed.path, placed.bytes, placed.source) == ("/mnt/data/notes.txt", 15, "user")
    by_id = sdk.containers.files.create(made.id, file_id=fid)
    assert by_id.id == placed.id  # the same path: the same container file
    uploaded = sdk.containers.files.create(made.id, file=("data.bin", b"\x00\x01\x02"))
    assert sdk.containers.files.retrieve(uploaded.id, container_id=made.id).bytes == 3
    assert sdk.containers.files.content.retrieve(
        uploaded.id, container_id=made.id).read() == b"\x00\x01\x02"
    assert len(sdk.containers.files.list(made.id, order="asc").data) == 2
    sdk.containers.files.delete(uploaded.id, container_id=made.id)
    with pytest.raises(openai.NotFoundError):
        sdk.containers.files.retrieve(uploaded.id, container_id=made.id)
    assert [f.id for f in sdk.containers.files.list(made.id).data] == [placed.id]

    # Another tenant sees none of it.
    for attempt in (lambda: other.containers.retrieve(made.id),
                    lambda: other.containers.files.list(made.id),
                    lambda: other.containers.files.content.retrieve(placed.id,
                                                                    container_id=made.id),
                    lambda: other.containers.delete(made.id)):
        with pytest.raises(openai.NotFoundError):
            attempt()
    assert other.containers.list().data == []
    with pytest.raises(openai.NotFoundError) as err:
        other.responses.create(model=MODEL, input="x", tools=[
            {"type": "code_interpreter", "container": made.id}])
    assert err.value.body["param"] == "tools[0].container"

    # Bad input is a 400 that changes nothing.
    before = len(sdk.containers.list(limit=100).data)
    bad: list[dict[str, Any]] = [
        {"name": ""}, {"name": "x", "file_ids": ["file-nope"]},
        {"name": "x", "expires_after": {"anchor": "created_at", "minutes": 5}},
        {"name": "x", "expires_after": {"anchor": "last_active_at", "minutes": 0}},
        {"name": "x", "memory_limit": "3g"}, {"name": "x", "extra_body": {"colour": "blue"}}]
    for body in bad:
        with pytest.raises(openai.BadRequestError):
            sdk.containers.create(**body)  # type: ignore[arg-type]
    assert len(sdk.containers.list(limit=100).data) == before
    with pytest.raises(openai.BadRequestError) as err:
        sdk.containers.create(name="x", file_ids=["file-nope"])
    assert err.value.body["param"] == "file_ids[0]"
    with pytest.raises(openai.NotFoundError):
        sdk.containers.files.create(made.id, file_id="file-nope")
    with pytest.raises(openai.BadRequestError) as err:
        sdk.responses.create(model=MODEL, input="x", tools=[
            {"type": "code_interpreter", "container": {"type": "bogus"}}])
    assert err.value.body["param"] == "tools[0].container"
    with pytest.raises(openai.BadRequestError):
        sdk.containers.list(limit=0)

    deleted = sdk.containers.delete(made.id)
    assert deleted is None or getattr(deleted, "deleted", True)
    with pytest.raises(openai.NotFoundError):
        sdk.containers.retrieve(made.id)
    with pytest.raises(openai.NotFoundError):
        sdk.responses.create(model=MODEL, input="x", tools=[
            {"type": "code_interpreter", "container": made.id}])
