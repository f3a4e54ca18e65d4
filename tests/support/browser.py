"""Debian's chromium driven by Playwright (its bundled driver; never `playwright install`)."""

from __future__ import annotations

import contextlib
import os
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path

from playwright.sync_api import Browser, Page, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def chromium_missing() -> str | None:
    """Why browser tests cannot run here, or None when they can."""
    if CHROMIUM.exists():
        return None
    return f"Debian's chromium is not installed at {CHROMIUM} (apt-get install -y chromium)"


@contextlib.contextmanager
def chromium() -> Iterator[Browser]:
    """A headless chromium for the whole session."""
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS,
                                     env={**os.environ, "TZ": "UTC"})
        try:
            yield browser
        finally:
            browser.close()


def sign_in(page: Page, base_url: str, key: str) -> None:
    """Use the inspector's sign-in form."""
    page.goto(base_url + "/inspector/login")
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(base_url + "/inspector")


def png_rows(rows: list[list[tuple[int, int, int]]]) -> bytes:
    """An RGB PNG of the given pixel rows, made from scratch (zlib + CRCs)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", len(rows[0]), len(rows), 8, 2, 0, 0, 0)
    raw = b"".join(b"\x00" + b"".join(bytes(px) for px in row) for row in rows)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def png(width: int, height: int, rgb: tuple[int, int, int] = (40, 110, 200)) -> bytes:
    """A solid-colour PNG."""
    return png_rows([[rgb] * width for _ in range(height)])
