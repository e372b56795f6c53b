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


def mint_key(principal):
    """A new API key for `principal` (e.g. `business:bus_x`), minted by the project's own tool."""
    out = subprocess.run([_env("MINT_API_KEY"), principal], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)["key"]


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
    return api


@pytest.fixture
def host_api(api_url):
    return Api(api_url, mint_key(f"host:{uuid.uuid4()}"))


@pytest.fixture
def anonymous(api_url):
    return Api(api_url)
