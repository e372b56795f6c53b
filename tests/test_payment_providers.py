"""The seller's connection to Dodo: `PUT /payment-providers/dodo` stores the
secret Dodo signs its webhooks with and answers where Dodo is to send them."""

import base64
import datetime
import os
import time
import uuid

import pytest

PATH = "/payment-providers/dodo"
DAY_S = 24 * 60 * 60


def new_secret(size=24):
    return "whsec_" + base64.b64encode(os.urandom(size)).decode()


def stored(table, business_id):
    key = {"pk": f"BIZ#{business_id}", "sk": "PROVIDER#dodo"}
    return table.get_item(Key=key, ConsistentRead=True).get("Item")


def connect(api, secret, **kwargs):
    answer = api.put(PATH, json={"webhook_secret": secret}, **kwargs)
    assert answer.status_code == 200, answer.text
    return answer


def test_put_answers_the_connection_and_never_the_secret(business, table):
    secret = new_secret(32)
    before = time.time()
    answer = connect(business, secret)
    body = answer.json()
    assert set(body) == {"provider", "webhook_url", "secret_set", "updated_at"}
    assert body["provider"] == "dodo" and body["secret_set"] is True
    # The inbound route of this service, on the host the request came to.
    assert body["webhook_url"].startswith("https://")
    assert body["webhook_url"].endswith(f"/inbound/dodo/{business.business_id}")
    updated = datetime.datetime.fromisoformat(body["updated_at"]).timestamp()
    assert before - 1 <= updated <= time.time() + 1
    assert secret not in answer.text and secret.removeprefix("whsec_") not in answer.text

    item = stored(table, business.business_id)
    assert item["webhook_secret"] == secret
    assert item.get("previous_secret") is None and item.get("previous_until") is None
    assert item["version"] == 1 and item["updated_at"] == body["updated_at"]


def test_a_new_secret_keeps_the_old_one_for_a_day(business, table):
    first, second, third = new_secret(), new_secret(48), new_secret(64)
    connect(business, first)
    before = time.time()
    answer = connect(business, second)
    assert first not in answer.text and second not in answer.text
    item = stored(table, business.business_id)
    assert (item["webhook_secret"], item["previous_secret"], item["version"]) == (second, first, 2)
    until = datetime.datetime.fromisoformat(item["previous_until"]).timestamp()
    assert before + DAY_S - 1 <= until <= time.time() + DAY_S + 1

    # The same secret again is not its own previous; a third keeps only the latest.
    connect(business, second)
    assert stored(table, business.business_id)["previous_secret"] == first
    connect(business, third)
    item = stored(table, business.business_id)
    assert (item["webhook_secret"], item["previous_secret"], item["version"]) == (third, second, 4)


@pytest.mark.parametrize(
    "body",
    [
        {"webhook_secret": "whsec_" + base64.b64encode(b"x" * 23).decode()},
        {"webhook_secret": "whsec_" + base64.b64encode(b"x" * 65).decode()},
        {"webhook_secret": base64.b64encode(b"x" * 32).decode()},
        {"webhook_secret": "whsec_" + base64.urlsafe_b64encode(b"\xff" * 32).decode()},
        {"webhook_secret": "whsec_" + base64.b64encode(b"x" * 32).decode().rstrip("=")},
        {"webhook_secret": ""},
        {"webhook_secret": 42},
        {"webhook_secret": None},
        {},
    ],
)
def test_a_bad_secret_is_422_by_name_and_stores_nothing(business, table, body):
    answer = business.put(PATH, json=body)
    assert answer.status_code == 422, answer.text
    assert answer.json()["code"] == "VALIDATION_ERROR"
    assert answer.json()["message"].startswith("webhook_secret")
    if isinstance(body.get("webhook_secret"), str) and body["webhook_secret"]:
        assert body["webhook_secret"] not in answer.text
    assert stored(table, business.business_id) is None


def test_a_bad_secret_leaves_the_connection_as_it_was(business, table):
    secret = new_secret()
    connect(business, secret)
    assert business.put(PATH, json={"webhook_secret": "whsec_short"}).status_code == 422
    item = stored(table, business.business_id)
    assert (item["webhook_secret"], item["version"]) == (secret, 1)


def test_each_business_has_its_own_connection(business, other_business, table):
    mine, theirs = new_secret(), new_secret()
    my_url = connect(business, mine).json()["webhook_url"]
    their_url = connect(other_business, theirs).json()["webhook_url"]
    assert my_url != their_url
    assert their_url.endswith(f"/inbound/dodo/{other_business.business_id}")
    assert stored(table, business.business_id)["webhook_secret"] == mine
    item = stored(table, other_business.business_id)
    assert (item["webhook_secret"], item.get("previous_secret")) == (theirs, None)


def test_a_replayed_put_writes_once(business, table):
    headers = {"Idempotency-Key": str(uuid.uuid4())}
    secret = new_secret()
    first = connect(business, secret, headers=headers)
    again = connect(business, secret, headers=headers)
    assert again.json() == first.json()
    assert again.headers.get("idempotent-replayed") == "true"
    assert stored(table, business.business_id)["version"] == 1
    # The same key with another secret is another request.
    reused = business.put(PATH, json={"webhook_secret": new_secret()}, headers=headers)
    assert reused.status_code == 422, reused.text
    assert reused.json()["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert stored(table, business.business_id)["webhook_secret"] == secret


def test_only_a_business_key_may_connect(host_api, anonymous, table):
    answer = host_api.put(PATH, json={"webhook_secret": new_secret()})
    assert answer.status_code == 403
    assert answer.json()["code"] == "FORBIDDEN"
    assert anonymous.put(PATH, json={"webhook_secret": new_secret()}).status_code == 401


def test_the_secret_is_in_no_log(business):
    secrets = [new_secret(), new_secret()]
    for secret in secrets:
        connect(business, secret)
    business.put(PATH, json={"webhook_secret": secrets[0] + "!"})  # refused, and not logged either
    log = os.path.join(os.environ["FUNCTION_LOG_DIR"], "update-payment-provider.log")
    with open(log, encoding="utf-8", errors="replace") as f:
        text = f.read()
    assert "PUT" in text
    for secret in secrets:
        assert secret.removeprefix("whsec_") not in text
