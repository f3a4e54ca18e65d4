"""Fuzzing request bodies: schemathesis over the server's own /openapi.json, plus properties.

No request, however malformed, may produce a 5xx: bad input is a 400 (or 401/404/405/413)
in OpenAI's error envelope. Set ORCH_FUZZ_EXAMPLES to fuzz harder (default 25 per operation
and generation mode).
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok

from tests.support.servers import ApiServer

EXAMPLES = int(os.environ.get("ORCH_FUZZ_EXAMPLES", "25"))
MIN_CASES_PER_OPERATION = 20  # of 2 * EXAMPLES; duplicates are not sent twice
FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],  # no shrinking: failures are recorded, not raised
    suppress_health_check=list(HealthCheck),
    database=None,
    print_blob=False,
)
PROPERTY_SETTINGS = settings(
    max_examples=40,
    deadline=None,
    phases=[Phase.explicit, Phase.generate, Phase.shrink],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                           HealthCheck.function_scoped_fixture],
    database=None,
)
ENVELOPE_KEYS = {"message", "type", "param", "code"}


def headers(server: ApiServer) -> dict[str, str]:
    """First tenant, v2: what the newest SDK sends."""
    return {"Authorization": f"Bearer {server.keys[0]}", "OpenAI-Beta": "assistants=v2"}


@dataclass
class FuzzReport:
    """What the fuzz run did, per operation, and every 5xx or transport failure."""

    cases: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.cases.values())

    def summary(self) -> str:
        per_op = "\n".join(f"  {n:5d}  {label}" for label, n in sorted(self.cases.items()))
        codes = ", ".join(f"{code}: {n}" for code, n in sorted(self.statuses.items()))
        return (f"fuzz: {self.total} cases over {len(self.cases)} operations"
                f" (statuses {codes})\n{per_op}")


def seed_ids(server: ApiServer) -> dict[str, str]:
    """Real objects of the first tenant, so fuzzed bodies also reach existing resources."""
    ids: dict[str, str] = {}
    with httpx.Client(base_url=server.base_url, headers=headers(server), timeout=30) as c:
        resp = c.post("/files", files={"file": ("seed.txt", b"seed\n")},
                      data={"purpose": "assistants"})
        if resp.status_code == 200:
            ids["file_id"] = resp.json()["id"]
        body: dict[str, Any] = {"model": "fuzz-model", "name": "fuzz"}
        resp = c.post("/assistants", json=body)
        assert resp.status_code == 200, resp.text
        ids["assistant_id"] = resp.json()["id"]
        if "file_id" in ids:  # v1 attachment, so /assistants/{id}/files/{file_id} exists
            c.post(f"/assistants/{ids['assistant_id']}/files", json={"file_id": ids["file_id"]},
                   headers={"OpenAI-Beta": "assistants=v1"})
        resp = c.post("/threads", json={})
        if resp.status_code == 200:
            ids["thread_id"] = resp.json()["id"]
            resp = c.post(f"/threads/{ids['thread_id']}/messages",
                          json={"role": "user", "content": "seed"})
            if resp.status_code == 200:
                ids["message_id"] = resp.json()["id"]
        resp = c.post("/vector_stores", json={"name": "fuzz"})
        if resp.status_code == 200:
            ids["vector_store_id"] = resp.json()["id"]
            if "file_id" in ids:
                resp = c.post(f"/vector_stores/{ids['vector_store_id']}/file_batches",
                              json={"file_ids": [ids["file_id"]]})
                if resp.status_code == 200:
                    ids["batch_id"] = resp.json()["id"]
        # A run on a thread of its own: it keeps that thread busy, not the one above.
        resp = c.post("/threads/runs", json={"assistant_id": ids["assistant_id"]})
        if resp.status_code == 200:
            ids["run_id"] = resp.json()["id"]
            ids["run_thread_id"] = resp.json()["thread_id"]
    return ids


def operation_strategy(op: schemathesis.APIOperation, mode: GenerationMode,
                       ids: dict[str, str]) -> Any:
    """Cases of one generation mode; half aimed at real objects when the path allows it."""
    path_names = [p.name for p in op.path_parameters]
    pool = dict(ids)
    if "run_id" in path_names and "run_thread_id" in ids:
        pool["thread_id"] = ids["run_thread_id"]
    fixed = {name: pool[name] for name in path_names if name in pool}
    if path_names and len(fixed) == len(path_names):
        return st.one_of(op.as_strategy(mode), op.as_strategy(mode, path_parameters=fixed))
    return op.as_strategy(mode)


def has_inputs(op: schemathesis.APIOperation) -> bool:
    """Anything to fuzz besides the two headers we always set."""
    names = [p.name.lower() for p in op.iter_parameters()]
    return bool(op.body) or any(n not in ("authorization", "openai-beta") for n in names)


def fuzz_operation(op: schemathesis.APIOperation, server: ApiServer, ids: dict[str, str],
                   session: requests.Session, report: FuzzReport) -> None:
    """Send up to EXAMPLES cases per generation mode; record (never raise) server errors."""
    label = op.label
    sent_headers = headers(server)

    def send(case: schemathesis.Case) -> None:
        report.cases[label] += 1
        try:
            resp = case.call(base_url=server.url, session=session, headers=sent_headers,
                             timeout=30)
        except requests.RequestException as exc:
            report.failures.append(f"{label}: transport error {exc!r}\n"
                                   f"  {case.as_curl_command(headers=sent_headers)}")
            return
        report.statuses[resp.status_code] += 1
        try:
            case.validate_response(resp, checks=[not_a_server_error], headers=sent_headers)
        except (Exception, BaseExceptionGroup) as exc:  # schemathesis' FailureGroup
            report.failures.append(
                f"{label}: {resp.status_code} {type(exc).__name__}\n"
                f"  {case.as_curl_command(headers=sent_headers, base_url=server.url)}\n"
                f"  -> {resp.text[:300]}")

    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        if mode is GenerationMode.NEGATIVE and not has_inputs(op):
            continue  # nothing can be made invalid
        run = FUZZ_SETTINGS(given(case=operation_strategy(op, mode, ids))(send))
        try:
            run()
        except Unsatisfiable:
            # Negative cases need something that can be invalid: a plain string path id
            # and the fixed headers cannot be. The positive run covers the operation.
            if mode is GenerationMode.POSITIVE:
                report.failures.append(f"{label}: no positive case could be generated")
        except Exception as exc:
            report.failures.append(f"{label} ({mode.value}): generation error"
                                   f" {type(exc).__name__}: {exc}")


@pytest.fixture()
def fuzz_session() -> Iterator[requests.Session]:
    with requests.Session() as s:
        yield s


@pytest.mark.slow
def test_fuzz_openapi_no_server_errors(server: ApiServer, fuzz_session: requests.Session,
                                       record_property: Any, capsys: pytest.CaptureFixture[str],
                                       request: pytest.FixtureRequest) -> None:
    schema = schemathesis.openapi.from_url(server.url + "/openapi.json")
    loaded = list(schema.get_all_operations())
    broken = [r.err() for r in loaded if not isinstance(r, Ok)]
    assert not broken, f"operations schemathesis cannot load: {broken}"
    operations = [r.ok() for r in loaded if isinstance(r, Ok)]
    # Deletions last, so the seeded objects survive most of the run.
    operations.sort(key=lambda op: op.method.upper() == "DELETE")
    assert len(operations) >= 10, [op.label for op in operations]
    ids = seed_ids(server)
    report = FuzzReport()
    for op in operations:
        fuzz_operation(op, server, ids, fuzz_session, report)

    summary = report.summary()
    record_property("fuzz_cases", report.total)
    with capsys.disabled():  # shown even under -q: how much was fuzzed
        print(f"\n[{request.node.callspec.id}] {summary.splitlines()[0]}")
    assert not report.failures, "\n".join([summary, *report.failures[:40]])
    thin = {op.label: report.cases[op.label] for op in operations
            if has_inputs(op) and report.cases[op.label] < MIN_CASES_PER_OPERATION}
    assert not thin, f"operations barely fuzzed: {thin}\n{summary}"
    assert report.total >= sum(has_inputs(op) for op in operations) * MIN_CASES_PER_OPERATION


# --- hand-written properties of POST /assistants --------------------------------------------

# Half the strings may hold lone UTF-16 surrogates (valid JSON escapes such as "\ud800",
# which Hypothesis leaves out by default): about one character in eight of those is one.
SURROGATE_CHARS = st.one_of(*[st.characters()] * 7, st.characters(categories=["Cs"]))


def text(max_size: int) -> st.SearchStrategy[str]:
    """Any text, lone surrogates included."""
    return st.text(max_size=max_size) | st.text(SURROGATE_CHARS, max_size=max_size)


JSON_SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False,
                                                                     allow_infinity=False) \
    | text(20)
NESTED_JSON = st.recursive(
    JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text(10), inner, max_size=4),
    max_leaves=20,
)
METADATA = st.dictionaries(text(70), text(520), max_size=18)


def has_nul(*values: str | None) -> bool:
    """PostgreSQL text cannot hold U+0000; a 400 for it is acceptable, a 500 is not."""
    return any(v is not None and "\x00" in v for v in values)


def lone_surrogate(*values: str | None) -> str | None:
    """The first value holding a lone UTF-16 surrogate (not storable, not valid UTF-8)."""
    return next((v for v in values if v is not None
                 and any(0xD800 <= ord(c) <= 0xDFFF for c in v)), None)


def create(http: httpx.Client, body: Any) -> tuple[httpx.Response, dict[str, Any]]:
    """POST /assistants: 200 with an assistant, or 400 with OpenAI's error envelope."""
    sent = json.dumps(body)  # escaped: NUL bytes and lone surrogates travel as \u escapes
    resp = http.post("/assistants", content=sent, headers={"Content-Type": "application/json"})
    assert resp.status_code in (200, 400), f"{resp.status_code} for {sent[:800]}: {resp.text[:300]}"
    body = resp.json()
    if resp.status_code == 400:
        assert set(body) == {"error"}, body
        err = body["error"]
        assert set(err) == ENVELOPE_KEYS, err
        assert isinstance(err["message"], str) and err["message"]
        assert err["type"] == "invalid_request_error"
        assert err["param"] is None or isinstance(err["param"], str)
    else:
        assert body["object"] == "assistant" and body["id"].startswith("asst_")
    return resp, dict(body)


@PROPERTY_SETTINGS
@given(metadata=METADATA)
@example(metadata={"k\x00": "v\x00", "é🙂": "\u2028"})
@example(metadata={f"k{i}": "v" * 512 for i in range(16)})
@example(metadata={"k" * 64: ""})
@example(metadata={"k": "\ud800", "\udfff": "v"})
def test_property_random_metadata(http: httpx.Client, metadata: dict[str, str]) -> None:
    resp, body = create(http, {"model": "m", "metadata": metadata})
    if any(lone_surrogate(k, v) for k, v in metadata.items()):
        assert resp.status_code == 400, body
        assert body["error"]["param"].startswith("metadata."), body
        return
    valid = len(metadata) <= 16 and all(len(k) <= 64 and len(v) <= 512
                                        for k, v in metadata.items())
    if not valid:
        assert resp.status_code == 400 and body["error"]["param"] == "metadata", body
    elif resp.status_code == 400:  # only a backend that cannot store NUL may refuse it
        assert has_nul(*metadata, *metadata.values()), body
    else:
        assert body["metadata"] == metadata
        assert http.get(f"/assistants/{body['id']}").json()["metadata"] == metadata


@PROPERTY_SETTINGS
@given(name=text(300), instructions=text(2000), description=st.one_of(st.none(), text(600)),
       model=text(300))
@example(name="a\x00b", instructions="\x00", description="\x00", model="m\x00")  # NUL bytes
@example(name="n" * 256, instructions="", description="d" * 512, model="m" * 256)
@example(name="n" * 257, instructions="", description=None, model="m")
@example(name="🙂\u0301\ud7ff\ufffd", instructions="\r\n\t", description="", model="🙂")
@example(name="ok", instructions="a\udc00b", description="\ud800", model="m")
def test_property_random_strings(http: httpx.Client, name: str, instructions: str,
                                 description: str | None, model: str) -> None:
    fields = {"model": model, "name": name, "instructions": instructions,
              "description": description}
    resp, body = create(http, fields)
    first = lone_surrogate(*fields.values())
    if first is not None:  # refused whatever else is wrong, naming the first such field
        assert resp.status_code == 400, body
        assert body["error"]["param"] == next(k for k, v in fields.items() if v is first)
        return
    valid = (1 <= len(model) <= 256 and len(name) <= 256
             and (description is None or len(description) <= 512))
    if not valid:
        assert resp.status_code == 400, body
    elif resp.status_code == 400:  # only a backend that cannot store NUL may refuse it
        assert has_nul(name, instructions, description, model), body
    else:
        got = http.get(f"/assistants/{body['id']}").json()
        assert (got["name"], got["instructions"], got["description"], got["model"]) == (
            name, instructions, description, model)


@PROPERTY_SETTINGS
@given(parameters=st.one_of(NESTED_JSON,
                            st.dictionaries(st.sampled_from(["type", "properties", "required",
                                                             "items", "enum", "description",
                                                             "additionalProperties", "x"]),
                                            NESTED_JSON, max_size=5)),
       fname=st.one_of(st.just("get_weather"), text(70)))
@example(parameters={"type": "object", "description": "\x00",
                     "properties": {"\x00": {"type": "string"}}}, fname="f")
@example(parameters={"type": "object", "properties": {"a": {"type": "nope"}}}, fname="f")
@example(parameters=[], fname="f")
@example(parameters={"type": "object", "properties": {"x": {"enum": ["\ud800"]}}}, fname="f")
def test_property_random_tool_parameters(http: httpx.Client, parameters: Any,
                                         fname: str) -> None:
    tool = {"type": "function", "function": {"name": fname, "parameters": parameters}}
    resp, body = create(http, {"model": "m", "tools": [tool]})
    if resp.status_code == 200:
        assert body["tools"][0]["function"]["name"] == fname
        assert body["tools"][0]["function"].get("parameters") == parameters
    else:
        assert body["error"]["param"] is not None
        assert body["error"]["param"].startswith("tools[0]"), body


@PROPERTY_SETTINGS
@given(body=st.dictionaries(st.sampled_from(["model", "name", "tools", "metadata",
                                             "temperature", "top_p", "response_format",
                                             "tool_resources", "file_ids", "extra"]),
                            NESTED_JSON, max_size=6))
@example(body={"model": "m", "tool_resources": {"code_interpreter": {"file_ids": ["\x00"]}}})
@example(body={"model": "m", "temperature": 1e308, "top_p": -0.0})
@example(body={"model": "m", "tools": [{"type": "function"}]})
@example(body={"model": ["m"], "name": {"a": 1}})
def test_property_random_body_shapes(http: httpx.Client, body: dict[str, Any]) -> None:
    create(http, body)
