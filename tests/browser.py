"""A real browser for the UI tests: headless Debian chromium through the system chromedriver
(selenium never downloads a driver); a test using it is skipped, with the reason, when either
is absent (scripts/bootstrap.sh installs both as root)."""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

import pytest

CHROMEDRIVER = "/usr/bin/chromedriver"
# Screenshots the browser tests leave behind for people to look at (CI keeps the folder).
ARTIFACTS = Path(os.environ.get("EDUMIX_TEST_ARTIFACTS", Path(__file__).resolve().parents[1] / "test-artifacts"))


@contextlib.contextmanager
def chromium(width: int = 1366, height: int = 900):
    """A headless Debian chromium through /usr/bin/chromedriver; skips when either is absent."""
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install -e '.[dev]')")
    from selenium.webdriver.chrome.service import Service

    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if not browser or not os.access(CHROMEDRIVER, os.X_OK):
        pytest.skip("chromium and chromedriver are not installed (apt-get install chromium chromium-driver)")
    opts = webdriver.ChromeOptions()
    opts.binary_location = browser
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        f"--window-size={width},{height}",
        "--hide-scrollbars",
    ):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=opts)
    try:
        yield driver
    finally:
        driver.quit()
