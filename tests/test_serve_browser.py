"""The `edumix serve` web UI in a real browser: headless Debian chromium (selenium, the system
chromedriver) against a real server process on loopback. The pages have no JavaScript; the
browser submits the form, follows the redirects and the meta refresh, and runs the pages
under their Content-Security-Policy, which is what a user gets.

The browser launches the demo run from the form (the default input; MinHash, line dedup and
PII switched off in the edited config, to keep it short) on the session's shared server
(serve_helpers.SharedDemo). While it runs (the server has a slot for runs and one for
trainings), the browser starts a training on the shared demo run from that run's page, so the
two jobs overlap."""

from __future__ import annotations

import re
import time

import pytest
from browser import ARTIFACTS, chromium
from serve_helpers import FINAL, RUN_TIMEOUT, Server, kill_leftover_jobs, shared_demo_for


@pytest.fixture
def shared_demo(request):
    """The session's server with its succeeded demo run (serve_helpers.SharedDemo)."""
    return shared_demo_for(request)


HOSTILE = "<script>alert(1)</script>"
BAD_CONFIG = "dedup:\n  lines:\n    enabled: flase\n"  # a typo: not a boolean
E422 = "Failed to load resource: the server responded with a status of 422 (Unprocessable Entity)"
# The fix, and the cheapest run: without PII scrubbing (its import alone is ~10 s) or MinHash.
GOOD_CONFIG = "dedup:\n  minhash:\n    enabled: false\n  lines:\n    enabled: false\npii:\n  enabled: false\n"


@pytest.fixture
def server(tmp_path):
    (tmp_path / "root").mkdir()
    server = Server(tmp_path / "home", tmp_path / "server.log", "--root", str(tmp_path / "root"))
    yield server
    server.stop()
    kill_leftover_jobs(tmp_path / "home")


def fill(driver, name: str, config: str, inputs: str = "demo") -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    # The list page reloads itself every 5 s (meta refresh); on a busy machine that can come
    # while the fields are typed. window.stop() cancels the pending refresh of this load.
    driver.execute_script("window.stop()")
    form = driver.find_element(By.CSS_SELECTOR, 'form[action="/runs"]')
    for field, value in (("name", name), ("inputs", inputs), ("config_yaml", config)):
        box = form.find_element(By.NAME, field)
        box.clear()
        box.send_keys(value)
    form.find_element(By.CSS_SELECTOR, 'button[type="submit"]').click()
    WebDriverWait(driver, 60).until(ec.staleness_of(form))  # the answer page has replaced the form


def no_alert(driver) -> None:
    from selenium.common.exceptions import NoAlertPresentException

    with pytest.raises(NoAlertPresentException):
        driver.switch_to.alert.text  # noqa: B018 (the property raises when there is none)


def page_errors(driver) -> list[dict]:
    """SEVERE console entries since the last call (a blocked script or style, a failed load)."""
    return [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]


# A model of ~20k parameters (tests/test_serve_train.py's): 6 steps take a few seconds on a CPU.
TINY_TRAINING = """\
model: {dim: 32, n_layers: 2, n_heads: 2, n_kv_heads: 1, max_seq_len: 128, rope_base: 10000.0}
data: {seq_len: 32, batch_size: 4, grad_accum: 1}
optim: {lr: 1.0e-2, min_lr: 1.0e-3, warmup_steps: 2}
steps: 6
eval_every: 3
eval_batches: 1
ckpt_every: 6
log_every: 1
"""


def wait_row_final(driver, job_id: str) -> list:
    """The list page's row of `job_id` once its meta refresh (every 5 s) shows a final status."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    cell = f'//a[@href="/runs/{job_id}"]/ancestor::tr/td'
    WebDriverWait(driver, RUN_TIMEOUT, poll_frequency=1).until(
        lambda d: d.find_elements(By.XPATH, cell)[1].text in FINAL
    )
    return driver.find_elements(By.XPATH, cell)


@pytest.mark.slow
def test_new_run_in_a_browser(shared_demo):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    server, demo_id = shared_demo.server, shared_demo.run_id
    runs_before = {r["id"] for r in server.client.get("/api/runs").json()}
    jobs_before = {p.name for p in (server.home / "jobs").iterdir()}
    started = time.monotonic()
    with chromium() as driver:
        driver.get(server.url + "/")
        assert driver.title == "edumix runs" and HOSTILE not in driver.find_element(By.TAG_NAME, "table").text
        assert driver.find_element(By.NAME, "inputs").get_attribute("value").strip() == "demo"  # the default

        # A config with a typo: the form comes back with the error inline, the values kept, nothing queued.
        fill(driver, HOSTILE, BAD_CONFIG)
        error = driver.find_element(By.CSS_SELECTOR, "p.err").text
        assert "dedup.lines.enabled" in error and "boolean" in error, error
        assert driver.find_element(By.NAME, "config_yaml").get_attribute("value") == BAD_CONFIG
        assert driver.find_element(By.NAME, "name").get_attribute("value") == HOSTILE
        assert driver.find_element(By.NAME, "inputs").get_attribute("value").strip() == "demo"
        assert {r["id"] for r in server.client.get("/api/runs").json()} == runs_before
        assert {p.name for p in (server.home / "jobs").iterdir()} == jobs_before
        assert [e["message"] for e in page_errors(driver)] == [f"{server.url}/runs - {E422}"]

        # Fixed: the browser is redirected to the new run's page.
        fill(driver, HOSTILE, GOOD_CONFIG)  # the demo run, MinHash/line dedup and PII off
        WebDriverWait(driver, 30).until(lambda d: "/runs/" in d.current_url)
        job_id = driver.current_url.rsplit("/", 1)[-1]
        (row,) = [r for r in server.client.get("/api/runs").json() if r["id"] not in runs_before]
        assert row["id"] == job_id and row["name"] == HOSTILE
        assert (server.home / "jobs" / job_id / "config.yaml").read_text() == GOOD_CONFIG

        # While it runs: train a tiny model on the demo run from that run's page.
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        driver.get(f"{server.url}/runs/{demo_id}")
        driver.find_element(By.LINK_TEXT, "train a model on this run").click()
        driver.find_element(By.CSS_SELECTOR, 'form[action="/trainings"] input[name="name"]').send_keys(
            "tiny from the browser"
        )
        editor = driver.find_element(By.NAME, "config_yaml")
        driver.execute_script("arguments[0].value = arguments[1]", editor, TINY_TRAINING)
        driver.find_element(By.CSS_SELECTOR, 'form[action="/trainings"] button[type="submit"]').click()
        WebDriverWait(driver, 30).until(
            lambda d: re.search(r"/trainings/[^/]+$", d.current_url) and "/new" not in d.current_url
        )
        training_id = driver.current_url.rsplit("/", 1)[-1]
        assert server.client.get(f"/api/trainings/{training_id}").json()["run"] == demo_id

        # The list shows the new run, and its meta refresh brings it to succeeded without a reload by us.
        driver.get(server.url + "/")
        link = driver.find_element(By.CSS_SELECTOR, f'a[href="/runs/{job_id}"]')
        assert link.text == HOSTILE  # the name shown as text, not run as markup
        status = driver.find_element(By.XPATH, f'//a[@href="/runs/{job_id}"]/ancestor::tr/td[2]')
        assert status.text in ("queued", "running", "succeeded")
        cells = wait_row_final(driver, job_id)
        assert cells[1].text == "succeeded", server.client.get(f"/api/runs/{job_id}/log").json()["log"][-3000:]
        kept = server.client.get(f"/api/runs/{job_id}").json()["kept"]
        assert kept > 0 and cells[4].text == f"{kept:,}"
        assert driver.find_elements(By.TAG_NAME, "script") == []
        no_alert(driver)

        # The run's page: the escaped name, the facts, the report link.
        driver.find_element(By.CSS_SELECTOR, f'a[href="/runs/{job_id}"]').click()
        heading = driver.find_element(By.TAG_NAME, "h1").text
        assert heading == f"{HOSTILE} succeeded", heading
        assert driver.title == f"run {HOSTILE}"
        assert driver.find_elements(By.TAG_NAME, "script") == []
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in driver.page_source
        no_alert(driver)
        facts = {
            th.text: th.find_element(By.XPATH, "following-sibling::td").text
            for th in driver.find_elements(By.XPATH, "//table[1]//th")
        }
        assert facts["status"] == "succeeded" and facts["inputs"] == "demo" and facts["kept"] == f"{kept:,}"
        assert len(facts["config hash"]) >= 8
        assert "curate" in driver.find_element(By.TAG_NAME, "pre").text  # the log tail
        assert page_errors(driver) == []

        driver.find_element(By.LINK_TEXT, "report").click()
        assert driver.current_url == f"{server.url}/api/runs/{job_id}/report.html"
        assert "edumix mix report" in driver.page_source
        assert driver.find_elements(By.CSS_SELECTOR, "svg.chart"), "the report's charts are drawn"
        no_alert(driver)
        assert page_errors(driver) == []  # nothing in the report was blocked by the CSP

        # The training: its page follows it to the end.
        deadline = time.monotonic() + RUN_TIMEOUT
        while (job := server.client.get(f"/api/trainings/{training_id}").json())["status"] not in FINAL:
            assert time.monotonic() < deadline, job
            time.sleep(1)
        assert job["status"] == "succeeded", server.client.get(f"/api/trainings/{training_id}/log").json()["log"][
            -3000:
        ]
        driver.get(f"{server.url}/runs/{demo_id}")
        assert driver.find_element(By.CSS_SELECTOR, f'a[href="/trainings/{training_id}"]')
        driver.save_screenshot(str(ARTIFACTS / "serve-run-page.png"))
        driver.get(f"{server.url}/trainings/{training_id}")
        assert "succeeded" in driver.find_element(By.TAG_NAME, "h1").text
        assert driver.find_elements(By.CSS_SELECTOR, "svg"), "the loss curve is drawn"
        assert driver.find_elements(By.TAG_NAME, "script") == [] and page_errors(driver) == []
        driver.save_screenshot(str(ARTIFACTS / "serve-training-page.png"))
    print(f"browser test took {time.monotonic() - started:.1f}s")


def test_cross_site_posts_are_refused(server):
    """What a browser sends with a form post from another site (or from a sandboxed or
    no-referrer page) is refused; the pages' own posts (same-origin) and non-browser clients pass."""
    form = {"name": "x", "inputs": "/nowhere.jsonl"}  # refused after the check: nothing is queued
    own = {"Origin": server.url, "Sec-Fetch-Site": "same-origin"}
    for headers in (
        {"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"},
        {"Origin": "http://evil.example"},
        {"Origin": "null"},
        {"Origin": "null", "Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
    ):
        refused = server.client.post("/runs", data=form, headers=headers)
        assert refused.status_code == 403 and "cross-site" in refused.text, headers
    for headers in (own, {"Origin": "null", "Sec-Fetch-Site": "same-origin"}, {}):
        answered = server.client.post("/runs", data=form, headers=headers)
        assert answered.status_code == 403 and "outside the allowed roots" in answered.text, headers
    assert server.client.get("/").headers["referrer-policy"] == "same-origin"
    assert server.client.get("/api/runs").json() == []
