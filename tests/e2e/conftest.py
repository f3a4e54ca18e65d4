"""Fixtures for the inspector: the full pipeline per database backend and a real chromium."""

from __future__ import annotations

import os
from collections.abc import Iterator

import openai
import pytest
from playwright.sync_api import Browser, BrowserContext, Page

from tests.support.browser import chromium, chromium_missing, sign_in
from tests.support.servers import postgres_database, sqlite_database
from tests.support.stack import Stack, stack

VIEWER_ZONE = "America/New_York"


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Headless chromium; skipped only where Debian's chromium is absent (never in CI)."""
    missing = chromium_missing()
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"{missing}; .ci/run installs it")
        pytest.skip(missing)
    with chromium() as b:
        yield b


@pytest.fixture(scope="module")
def site(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Scripted model, API, one worker and beat, on a Redis of their own."""
    workdir = tmp_path_factory.mktemp(f"inspector-{backend}")
    db = postgres_database() if backend == "postgres" else sqlite_database(workdir)
    with db as url, stack(url, workdir) as st:
        yield st


@pytest.fixture()
def sdk(site: Stack) -> openai.OpenAI:
    """The newest SDK, first tenant."""
    return openai.OpenAI(base_url=site.api.base_url, api_key=site.api.keys[0], max_retries=0)


@pytest.fixture()
def other_sdk(site: Stack) -> openai.OpenAI:
    """The newest SDK, second tenant."""
    return openai.OpenAI(base_url=site.api.base_url, api_key=site.api.keys[1], max_retries=0)


@pytest.fixture()
def context(browser: Browser) -> Iterator[BrowserContext]:
    """A fresh browser profile (no cookies) in a US locale and a zone that is not UTC."""
    ctx = browser.new_context(locale="en-US", timezone_id=VIEWER_ZONE,
                              viewport={"width": 1366, "height": 900})
    ctx.set_default_timeout(15_000)
    try:
        yield ctx
    finally:
        ctx.close()


@pytest.fixture()
def page(context: BrowserContext, site: Stack) -> Iterator[Page]:
    """A page signed in with the first tenant's key; fails on any script or console error."""
    p = context.new_page()
    errors: list[str] = []
    p.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    p.on("pageerror", lambda e: errors.append(str(e)))
    sign_in(p, site.api.url, site.api.keys[0])
    yield p
    assert errors == [], "the browser reported errors"
