"""Fixtures shared by the integration tests.

The tests talk to the real local stack that `make test` starts: the functions
served by `cargo lambda watch`, DynamoDB Local and the SES emulator. Where the
stack is found comes from the environment `infra/test.sh` exports.
"""

import json
import os
import subprocess
import uuid

import boto3
import httpx
import pytest

from webhook_receiver import TALLY, Receiver

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _env(name):
    value = os.environ.get(name)
    if not value:
        pytest.exit(f"{name} is not set: run the tests with `make test`", returncode=2)
    return value


@pytest.fixture(scope="session")
def api_url():
    return _env("LICENSING_API_URL").rstrip("/")


@pytest.fixture(scope="session")
def table():
    resource = boto3.resource(
        "dynamodb",
        endpoint_url=_env("AWS_ENDPOINT_URL_DYNAMODB"),
        region_name=os.environ.get("AWS_REGION", "us-east-1"),
    )
    return resource.Table(_env("TABLE_NAME"))


# Every API key minted in this run, so a test can look for them in the function logs.
MINTED_SECRETS = []


def mint_key(principal):
    """A new API key for `principal` (e.g. `business:bus_x`), minted by the project's own tool."""
    out = subprocess.run([_env("MINT_API_KEY"), principal], check=True, capture_output=True, text=True)
    secret = json.loads(out.stdout)["key"]
    MINTED_SECRETS.append(secret)
    return secret


class Api:
    """A thin HTTP client bound to one API key."""

    def __init__(self, base, key=None):
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self.http = httpx.Client(base_url=base, headers=headers, timeout=30)

    def __getattr__(self, name):
        return getattr(self.http, name)


@pytest.fixture
def business(api_url):
    """A fresh business of its own, so lists hold only what the test made."""
    business_id = f"bus_{uuid.uuid4().hex[:16]}"
    api = Api(api_url, mint_key(f"business:{business_id}"))
    api.business_id = business_id
    api.key = api.http.headers["Authorization"].split(" ", 1)[1]
    return api


@pytest.fixture
def other_business(api_url):
    business_id = f"bus_{uuid.uuid4().hex[:16]}"
    api = Api(api_url, mint_key(f"business:{business_id}"))
    api.business_id = business_id
    api.key = api.http.headers["Authorization"].split(" ", 1)[1]
    return api


@pytest.fixture
def host_api(api_url):
    return Api(api_url, mint_key(f"host:{uuid.uuid4()}"))


@pytest.fixture
def anonymous(api_url):
    return Api(api_url)


@pytest.fixture(scope="session")
def ses_store():
    """The emails the SES emulator received, optionally only those to one address."""
    url = _env("SES_STORE_URL")

    def emails(to=None):
        found = httpx.get(url, timeout=10).json()["emails"]
        return [e for e in found if to is None or to in e["destination"]["to"]]

    return emails


@pytest.fixture(scope="session")
def invoke(api_url):
    """Invokes a non-HTTP function (e.g. email-retry) through the local Lambda invoke API."""

    def call(function, payload):
        answer = httpx.post(f"{api_url}/2015-03-31/functions/{function}/invocations", json=payload, timeout=120)
        answer.raise_for_status()
        return answer.json()

    return call


@pytest.fixture
def ses_outage():
    """Stops the SES emulator (by the pid the stack recorded) and returns a function that starts it again."""
    script = os.path.join(ROOT, "infra", "stack.sh")
    subprocess.run([script, "ses-stop"], check=True, capture_output=True)
    started = []

    def restore():
        if not started:
            subprocess.run([script, "ses-start"], check=True, capture_output=True)
            started.append(True)

    yield restore
    restore()


@pytest.fixture
def receiver():
    """A webhook receiver on 127.0.0.1 (tests/webhook_receiver.py), stopped after the test.

    Fails the test's teardown if any delivery it received did not verify."""
    running = Receiver()
    running.start()
    yield running
    running.stop()
    assert running.failures == [], f"deliveries that did not verify: {running.failures}"


def pytest_terminal_summary(terminalreporter):
    if TALLY["deliveries"]:
        terminalreporter.write_line(
            "webhook receivers: {deliveries} deliveries, {accepted} answered 2xx, {duplicates} duplicates "
            "(an event taken twice by one endpoint), {unverified} that did not verify".format(**TALLY))
