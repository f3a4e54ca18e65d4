"""The streamed code of a code_interpreter call, decoded from its JSON argument fragments."""

from __future__ import annotations

import json

import pytest

from orchestrator.engine.partial_json import StringField

CODE = 'print("héllo\\tworld")\nx = {"a": [1, 2]}  # 😀 \\u0041 \u2028 end\\'


def decode(fragments: list[str]) -> str:
    field = StringField("code")
    return "".join(field.feed(f) for f in fragments)


@pytest.mark.parametrize("arguments", [
    json.dumps({"code": CODE}),  # \" \\ \n \t \uXXXX escapes and a surrogate pair
    json.dumps({"code": CODE}, ensure_ascii=False),
    json.dumps({"language": "python", "code": CODE, "extra": [1, {"code": "no"}]}),
    ' \n {"code" : ' + json.dumps(CODE) + " }",
])
def test_every_fragmentation_decodes_the_code_exactly(arguments: str) -> None:
    assert decode(list(arguments)) == CODE  # one character at a time
    for cut in range(len(arguments) + 1):  # and every split into two
        assert decode([arguments[:cut], arguments[cut:]]) == CODE, cut


def test_an_escape_split_across_fragments_comes_out_whole() -> None:
    field = StringField("code")
    arguments = json.dumps({"code": "a\u00e9\U0001F600b"})  # é and a surrogate pair escaped
    assert "\\ud83d\\ude00" in arguments
    pieces = [field.feed(c) for c in arguments]
    assert [p for p in pieces if p] == ["a", "\u00e9", "\U0001F600", "b"]


def test_arguments_that_are_not_json_are_the_code_itself() -> None:
    assert decode(["print(", "1)\n"]) == "print(1)\n"
