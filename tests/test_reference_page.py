"""The API reference page (infra/docs_server.py, served by `make dev`) shows
every operation of openapi.yaml, and no other, in a real browser.

Playwright drives Debian's Chromium (/usr/bin/chromium, installed by
`infra/bootstrap.sh --browser`); Playwright's own browsers are never
downloaded. Any request the page makes beyond the docs server is refused and
fails the test: the page must work with no network.
"""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from urllib.parse import urlsplit

import pytest
import yaml
from playwright.sync_api import sync_playwright

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHROMIUM = "/usr/bin/chromium"
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
# As the machine's notes start Chromium headless as root: no sandbox, and no
# background connections, which a closed network refuses.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def docs_url():
    port = free_port()
    server = subprocess.Popen([sys.executable, os.path.join(ROOT, "infra", "docs_server.py"), str(port)],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                urllib.request.urlopen(url, timeout=1).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"docs_server.py did not answer at {url}: {server.stdout.read()}")
                time.sleep(0.1)
        yield url
    finally:
        server.terminate()
        server.wait(10)


def documented_operations():
    with open(os.path.join(ROOT, "openapi.yaml"), encoding="utf-8") as f:
        document = yaml.safe_load(f)
    return {(method.upper(), path) for path, item in document["paths"].items() for method in item if method in METHODS}


def test_reference_page_shows_every_operation(docs_url):
    assert os.access(CHROMIUM, os.X_OK), f"{CHROMIUM} is missing: run infra/bootstrap.sh --browser"
    expected = documented_operations()
    assert expected, "openapi.yaml has no operations"
    docs_host = urlsplit(docs_url).netloc
    outside, errors = [], []

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.on("pageerror", lambda error: errors.append(str(error)))

            def only_the_docs_server(route):
                if urlsplit(route.request.url).netloc == docs_host:
                    route.continue_()
                else:
                    outside.append(route.request.url)
                    route.abort()

            page.route("**/*", only_the_docs_server)
            page.goto(docs_url)
            # Swagger UI renders every operation at once after it has parsed
            # the document; a page that stays blank fails here.
            page.wait_for_selector(".opblock", timeout=30_000)
            page.wait_for_function(f"document.querySelectorAll('.opblock').length >= {len(expected)}",
                                   timeout=30_000, polling=100)
            shown = page.eval_on_selector_all(
                ".opblock",
                """blocks => blocks.map(block => [
                    block.querySelector('.opblock-summary-method')?.textContent.trim(),
                    block.querySelector('.opblock-summary [data-path]')?.getAttribute('data-path'),
                ])""",
            )
            title = page.locator(".information-container .title").inner_text()
        finally:
            browser.close()

    shown_set = {tuple(operation) for operation in shown}
    assert len(shown) == len(shown_set), "an operation is shown twice"
    assert shown_set - expected == set(), "shown but not in openapi.yaml"
    assert expected - shown_set == set(), "in openapi.yaml but not shown"
    assert "Licensing service" in title
    assert outside == [], "the page reached beyond the docs server"
    assert errors == [], "the page raised errors"


def test_openapi_yaml_is_served_as_on_disk(docs_url):
    with open(os.path.join(ROOT, "openapi.yaml"), "rb") as f:
        on_disk = f.read()
    with urllib.request.urlopen(docs_url + "openapi.yaml", timeout=10) as answer:
        assert answer.status == 200
        assert answer.read() == on_disk
