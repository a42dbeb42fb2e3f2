"""Real-browser tests of the web client: Debian's headless Chromium driven by selenium through
Debian's chromedriver (no driver download), against a real stack (Redis, Celery workers,
gunicorn, SQLite) started by tests/support/stack.py."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support.stack import running_stack

CHROMIUM = os.environ.get("CHROMIUM_BINARY", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")
#: set (scripts/screenshots.py does) to keep the screenshots of a run, e.g. docs/screenshots
SCREENSHOTS_ENV = "WEB_CLIENT_SCREENSHOTS"


def pytest_configure(config):
    config.addinivalue_line("markers", "browser: drives the web client in headless Chromium")


@pytest.fixture(scope="session")
def browser_stack(tmp_path_factory):
    """A running system for the browser tests (the same layout as the end-to-end stack)."""
    with running_stack(tmp_path_factory.mktemp("browser-stack")) as running:
        yield running


@pytest.fixture
def driver(tmp_path):
    """A fresh headless Chromium (empty profile, so an empty sessionStorage) per test."""
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        pytest.fail(f"{CHROMIUM} and {CHROMEDRIVER} are needed: apt-get install chromium "
                    "chromium-driver (make system-deps does)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--window-size=1280,1000", "--lang=en-US", "--no-first-run",
                     "--disable-extensions", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--disable-default-apps",
                     f"--user-data-dir={tmp_path / 'chromium-profile'}"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # A Service with an explicit path: selenium never runs Selenium Manager (no download).
    service = Service(CHROMEDRIVER, log_output=str(tmp_path / "chromedriver.log"))
    browser = webdriver.Chrome(service=service, options=options)
    browser.set_page_load_timeout(60)
    try:
        yield browser
    finally:
        browser.quit()


@pytest.fixture
def screenshots(tmp_path):
    """save(name): a PNG of the current page into $WEB_CLIENT_SCREENSHOTS (or a temp folder)."""
    target = Path(os.environ.get(SCREENSHOTS_ENV) or tmp_path / "screenshots")
    target.mkdir(parents=True, exist_ok=True)

    def save(driver, name: str, full_page: bool = True) -> Path:
        path = target / f"{name}.png"
        if not full_page:
            driver.save_screenshot(str(path))
            return path
        # Whole page: grow the window to the document's height for the shot, then restore.
        size = driver.get_window_size()
        height = driver.execute_script("return document.documentElement.scrollHeight")
        driver.set_window_size(size["width"], min(max(height + 140, 600), 4000))
        try:
            driver.save_screenshot(str(path))
        finally:
            driver.set_window_size(size["width"], size["height"])
        return path

    return save
