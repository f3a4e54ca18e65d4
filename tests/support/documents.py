"""Real documents for retrieval tests, made on the fly: PDF (fpdf2), docx, pptx, HTML, CSV."""

from __future__ import annotations

import io
import random

WORDS = ["river", "stone", "market", "window", "garden", "lantern", "harbor", "meadow", "copper",
         "valley", "orchard", "bridge", "candle", "signal", "thunder", "canvas", "saddle",
         "compass", "ribbon", "marble"]


def filler(words: int, seed: int) -> str:
    """Plausible, needle-free prose: sentences of random common words."""
    rng = random.Random(seed)
    out, sentence = [], []
    for _ in range(words):
        sentence.append(rng.choice(WORDS))
        if len(sentence) >= rng.randint(8, 14):
            out.append(" ".join(sentence).capitalize() + ".")
            sentence = []
    return " ".join(out)


def long_text(needle: str, words: int = 60_000, seed: int = 1) -> bytes:
    """A long text (about 400 KB) with one needle sentence in the middle."""
    half = words // 2
    return f"{filler(half, seed)}\n\n{needle}\n\n{filler(half, seed + 1)}\n".encode()


def pdf(pages: list[str]) -> bytes:
    """A multi-page PDF, one text per page."""
    from fpdf import FPDF

    doc = FPDF()
    doc.set_font("Helvetica", size=11)
    for text in pages:
        doc.add_page()
        doc.multi_cell(0, 6, text)
    return bytes(doc.output())


def docx(paragraphs: list[str], table: list[list[str]] | None = None) -> bytes:
    """A Word document with paragraphs and an optional table."""
    import docx as python_docx

    doc = python_docx.Document()
    for text in paragraphs:
        doc.add_paragraph(text)
    if table:
        grid = doc.add_table(rows=len(table), cols=len(table[0]))
        for r, row in enumerate(table):
            for c, value in enumerate(row):
                grid.cell(r, c).text = value
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def pptx(slides: list[str]) -> bytes:
    """A PowerPoint deck, one text box per slide."""
    from pptx import Presentation
    from pptx.util import Inches

    deck = Presentation()
    for text in slides:
        slide = deck.slides.add_slide(deck.slide_layouts[6])
        slide.shapes.add_textbox(Inches(1), Inches(1), Inches(8), Inches(4)).text_frame.text = text
    buf = io.BytesIO()
    deck.save(buf)
    return buf.getvalue()


def html(body: str) -> bytes:
    """An HTML page with a script and style that must not be indexed."""
    return (f"<html><head><title>Page</title><style>.x {{color: red}}</style>"
            f"<script>var hidden = 'scriptneedle';</script></head><body><h1>Notes</h1>"
            f"<p>{body}</p></body></html>").encode()


def csv(rows: list[list[str]]) -> bytes:
    """A CSV file."""
    return "\n".join(",".join(r) for r in rows).encode() + b"\n"
