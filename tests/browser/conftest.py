"""Browser tests: Debian's Chromium (``/usr/bin/chromium``) driven by Playwright; no browser download."""

from __future__ import annotations

import os

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]


@pytest.fixture(scope="session")
def chromium():
    """One headless Chromium for the session (Playwright's sync API)."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail("Debian's chromium is missing: 'make test' installs it (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(chromium):
    context = chromium.new_context(viewport={"width": 1920, "height": 1080})
    pg = context.new_page()
    try:
        yield pg
    finally:
        context.close()
