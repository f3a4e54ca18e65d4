"""Turn an uploaded file's bytes into plain text, or say why not (OpenAI's error codes)."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Callable
from pathlib import PurePosixPath

TEXT_EXTENSIONS = frozenset({
    ".txt", ".md", ".markdown", ".rst", ".tex", ".log", ".py", ".js", ".ts", ".tsx", ".jsx",
    ".java", ".c", ".h", ".cc", ".cpp", ".hpp", ".cs", ".go", ".rs", ".rb", ".php", ".sh",
    ".css", ".scss", ".sql", ".swift", ".kt", ".scala", ".lua", ".pl", ".r", ".yaml", ".yml",
    ".toml", ".ini", ".xml",
})


class ParseError(Exception):
    """The file cannot be indexed; `code` is unsupported_file or invalid_file."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _decode(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    if b"\x00" in data:
        raise ParseError("invalid_file", "The file looks binary, not text.")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ParseError("invalid_file", "The file is not valid UTF-8 text.") from None


def _pdf(data: bytes) -> str:
    from pypdf import PdfReader  # deferred: pypdf (~0.15 s) for PDF files only
    from pypdf.errors import PdfReadError  # deferred: with PdfReader above

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise ParseError("invalid_file", "The PDF is encrypted.")
        return "\n\n".join(page.extract_text() or "" for page in reader.pages)
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise ParseError("invalid_file", f"The PDF could not be read: {exc}") from None


def _docx(data: bytes) -> str:
    import docx  # deferred: python-docx + lxml (~0.1 s) for .docx files only

    try:
        doc = docx.Document(io.BytesIO(data))
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise ParseError("invalid_file", f"The .docx file could not be read: {exc}") from None
    parts = [p.text for p in doc.paragraphs]
    for table in doc.tables:
        for row in table.rows:
            parts.append(" | ".join(cell.text for cell in row.cells))
    return "\n".join(parts)


def _pptx(data: bytes) -> str:
    from pptx import Presentation  # deferred: python-pptx (~0.3 s) for .pptx files only

    try:
        deck = Presentation(io.BytesIO(data))
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise ParseError("invalid_file", f"The .pptx file could not be read: {exc}") from None
    slides = []
    for number, slide in enumerate(deck.slides, 1):
        texts = [shape.text_frame.text for shape in slide.shapes if shape.has_text_frame]
        slides.append(f"Slide {number}\n" + "\n".join(texts))
    return "\n\n".join(slides)


def _html(data: bytes) -> str:
    from bs4 import BeautifulSoup  # deferred: beautifulsoup4 (~0.15 s) for HTML files only

    soup = BeautifulSoup(_decode(data), "html.parser")
    for tag in soup(["script", "style", "noscript"]):
        tag.decompose()
    return soup.get_text("\n", strip=True)


def _json(data: bytes) -> str:
    try:
        value = json.loads(_decode(data))
    except json.JSONDecodeError as exc:
        raise ParseError("invalid_file", f"The JSON file is not valid JSON: {exc}") from None
    return json.dumps(value, indent=1, ensure_ascii=False)


def _csv(data: bytes) -> str:
    rows = list(csv.reader(io.StringIO(_decode(data))))
    if not rows:
        return ""
    header, lines = rows[0], []
    for row in rows[1:]:
        cells = [f"{h}: {v}" if h else v for h, v in zip(header, row, strict=False)]
        lines.append("; ".join(cells))
    return "\n".join([", ".join(header), *lines])


PARSERS: dict[str, Callable[[bytes], str]] = {
    ".pdf": _pdf, ".docx": _docx, ".pptx": _pptx, ".html": _html, ".htm": _html,
    ".json": _json, ".csv": _csv,
}


def parse(filename: str, data: bytes) -> str:
    """The file's text (NUL-free), or ParseError; empty results are an invalid_file."""
    if not data:
        raise ParseError("invalid_file", "The file is empty (0 bytes).")
    ext = PurePosixPath(filename.lower()).suffix
    if ext in PARSERS:
        text = PARSERS[ext](data)
    elif ext in TEXT_EXTENSIONS:
        text = _decode(data)
    else:
        shown = ext or "(none)"
        raise ParseError("unsupported_file",
                         f"Files with extension {shown} are not supported for retrieval.")
    text = text.replace("\x00", "")
    if not text.strip():
        raise ParseError("invalid_file", "No text could be extracted from the file.")
    return text
