"""Chunking windows and the parsers' verdicts on real bytes (pure functions)."""

from __future__ import annotations

import itertools

import pytest

from orchestrator.retrieval.chunking import chunk_text, count_tokens
from orchestrator.retrieval.parsing import ParseError, parse
from tests.support import documents as docs


@pytest.mark.parametrize(("size", "overlap"), [(100, 0), (100, 50), (800, 400), (4096, 10)])
def test_windows_respect_size_and_overlap(size: int, overlap: int) -> None:
    text = docs.filler(5000, 5)
    chunks = chunk_text(text, size, overlap)
    spans, pos = [], 0
    for c in chunks:
        assert c.tokens <= size and c.tokens == count_tokens(c.text)
        start = text.index(c.text, pos)
        spans.append((start, start + len(c.text)))
        pos = start + 1
    assert spans[0][0] == 0 and spans[-1][1] == len(text)  # every word is in some chunk
    for (_, end), (start, _) in itertools.pairwise(spans):
        shared = count_tokens(text[start:end]) if start < end else 0
        assert shared <= overlap
        assert shared > overlap - 3 if overlap else start >= end  # as much overlap as fits


def test_a_word_longer_than_a_chunk_still_gets_one() -> None:
    chunks = chunk_text("x" * 5000 + " tail", 100, 0)
    assert [c.text[:1] for c in chunks] == ["x", "t"]


@pytest.mark.parametrize(("name", "data", "code"), [
    ("empty.txt", b"", "invalid_file"),
    ("blank.md", b" \n\t ", "invalid_file"),
    ("bad.pdf", b"%PDF-1.7 nonsense", "invalid_file"),
    ("bad.pptx", b"PK\x03\x04junk", "invalid_file"),
    ("bad.json", b"{nope", "invalid_file"),
    ("latin1.txt", "caf\xe9".encode("latin-1"), "invalid_file"),
    ("image.png", b"\x89PNG\r\n", "unsupported_file"),
    ("noext", b"text", "unsupported_file"),
])
def test_unparseable_files(name: str, data: bytes, code: str) -> None:
    with pytest.raises(ParseError) as err:
        parse(name, data)
    assert err.value.code == code and err.value.message


def test_real_documents_parse() -> None:
    assert "pier nineteen" in parse("m.docx", docs.docx(["Meet at pier nineteen."]))
    assert "Brio" in parse("d.pptx", docs.pptx(["Mascot Brio"]))
    pdf = parse("r.pdf", docs.pdf(["first page", "second page holds saffron"]))
    assert "saffron" in pdf and "first page" in pdf
    html = parse("p.html", docs.html("cobalt dome"))
    assert "cobalt dome" in html and "scriptneedle" not in html and "color" not in html
    assert "item: gizmotron; price: 31" in parse("c.csv", docs.csv([["item", "price"],
                                                                  ["gizmotron", "31"]]))
    assert '"a": 1' in parse("j.json", b'{"a":1}')
    assert "def f" in parse("x.py", b"def f():\n    return 1\n")
