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


def png(width: int, height: int, rgb: tuple[int, int, int] = (40, 110, 200)) -> bytes:
    """A solid-colour PNG made from scratch (zlib + CRCs)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    row = b"\x00" + bytes(rgb) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(row * height)) + chunk(b"IEND", b""))
