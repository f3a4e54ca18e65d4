"""One string field of a JSON object, decoded as the object's text arrives in fragments."""

from __future__ import annotations

import jiter


class StringField:
    """Feed fragments of `{"<key>": "<string>", ...}`; each feed returns the newly decoded text.

    jiter's partial mode parses the text so far and drops an incomplete escape at its end
    (`\\`, `\\u00`, a lone high surrogate), so an escape split across fragments is emitted
    once it is whole. Text that does not start with `{` is not JSON: it is passed on as it is
    (the recorded call treats such arguments as the value itself).
    """

    def __init__(self, key: str) -> None:
        self.key = key
        self.buffer = ""
        self.sent = ""
        self.raw: bool | None = None  # unknown until the first non-blank character

    def feed(self, fragment: str) -> str:
        """Take the next fragment; the decoded characters it completed ("" if none)."""
        self.buffer += fragment
        if self.raw is None:
            head = self.buffer.lstrip()
            if not head:
                return ""
            self.raw = not head.startswith("{")
        value = self.buffer if self.raw else self._decoded()
        if value is None or not value.startswith(self.sent):
            return ""
        new, self.sent = value[len(self.sent):], value
        return new

    def _decoded(self) -> str | None:
        try:
            parsed = jiter.from_json(self.buffer.encode(), partial_mode="trailing-strings")
        except ValueError:
            return None  # not (yet) valid JSON: wait; the completed step has the real value
        value = parsed.get(self.key) if isinstance(parsed, dict) else None
        return value if isinstance(value, str) else None
