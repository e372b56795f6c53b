"""Webhooks (SPEC 1.5): the endpoint routes through the Dodo SDK, and what a real
receiver gets.

Against the local stack, where infra/schedule.py runs the deliver-webhooks
function one run after another, these tests show that:
- the SDK's `webhooks` resource works unchanged: create, retrieve, update, the
  auto-pager over list, delete, the secret, the endpoint's own headers (sensitive
  values never shown); another business gets 404 for all of it; bad input is
  refused and creates nothing, private addresses included;
- every change sends its events, each once, in order per grant and per license
  key, in the envelope the SDK's event types describe, signed so that both the
  SDK's `unwrap` and the Standard Webhooks library accept every delivery, and a
  tampered body is refused by both;
- a receiver that is down, or answers 503, gets the same event again (the same
  webhook-id, the same bytes) about 5 s later, and the deliveries route shows
  the failed attempt and the one that succeeded;
- filter_types, disabled and rate_limit are honoured, and the three types
  beyond Dodo's go only to an endpoint whose filter_types names them;
- an event is written in its change's transaction: 50 concurrent fulfils of one
  grant give one delivered event, and a fulfil whose process dies right after
  its commit still gives its event, once.

Each test has a business of its own, so no other test's events reach its
endpoints, and a receiver of its own (tests/webhook_receiver.py, fixture in
conftest.py), which verifies every delivery as it arrives.
"""

import base64
import concurrent.futures
import datetime
import json
import os
import re
import time
import uuid
from collections import Counter

import dodopayments
import pytest
import standardwebhooks
from dodopayments import DodoPayments
from dodopayments.types import (
    CreditAddedWebhookEvent,
    CreditDeductedWebhookEvent,
    CreditBalanceLowWebhookEvent,
    CreditExpiredWebhookEvent,
    CreditOverageResetWebhookEvent,
    CreditRolledOverWebhookEvent,
    CreditRolloverForfeitedWebhookEvent,
    CreditOverageChargedWebhookEvent,
    EntitlementGrantCreatedWebhookEvent,
    EntitlementGrantDeliveredWebhookEvent,
    EntitlementGrantFailedWebhookEvent,
    EntitlementGrantRevokedWebhookEvent,
    LicenseKeyCreatedWebhookEvent,
    WebhookDetails,
)

from lambda_runtime import http_event, run_once
from test_crash_recovery import CRASH, authorized
from test_grants import AUTO, MANUAL, fulfil, issue, new_entitlement, pending_grant, unique_key
from webhook_receiver import verification_errors, wait_for

# Long enough for a duplicate or a straggler that must not come to show up:
# the dispatcher looks for work about once a second.
QUIET_SECONDS = 3.0
# The first retry comes "about 5 s" after the first attempt.
FIRST_RETRY_SECONDS = (3.0, 15.0)

ULID = "[0-9A-HJKMNP-TV-Z]{26}"
WEBHOOK_ID = re.compile(f"^wh_{ULID}$")
EVENT_ID = re.compile(f"^evt_{ULID}$")
EVENT_TYPES = {
    "entitlement_grant.created", "entitlement_grant.delivered", "entitlement_grant.failed",
    "entitlement_grant.revoked", "license_key.created", "license_key.updated",
    "license_key_instance.created", "license_key_instance.deleted",
    "credit.added", "credit.deducted", "credit.overage_charged", "credit.expired", "credit.overage_reset",
    "credit.balance_low", "credit.rolled_over", "credit.rollover_forfeited",
}
# The types Dodo itself has: the SDK's own event model must accept the event as sent.
SDK_EVENT_MODELS = {
    "entitlement_grant.created": EntitlementGrantCreatedWebhookEvent,
    "entitlement_grant.delivered": EntitlementGrantDeliveredWebhookEvent,
    "entitlement_grant.failed": EntitlementGrantFailedWebhookEvent,
    "entitlement_grant.revoked": EntitlementGrantRevokedWebhookEvent,
    "license_key.created": LicenseKeyCreatedWebhookEvent,
    "credit.added": CreditAddedWebhookEvent,
    "credit.deducted": CreditDeductedWebhookEvent,
    "credit.overage_charged": CreditOverageChargedWebhookEvent,
    "credit.expired": CreditExpiredWebhookEvent,
    "credit.overage_reset": CreditOverageResetWebhookEvent,
    "credit.balance_low": CreditBalanceLowWebhookEvent,
    "credit.rolled_over": CreditRolledOverWebhookEvent,
    "credit.rollover_forfeited": CreditRolloverForfeitedWebhookEvent,
}
# Beyond Dodo: sent only to an endpoint whose filter_types names them.
OWN_TYPES = EVENT_TYPES - set(SDK_EVENT_MODELS)
SOMEWHERE = "https://hooks.example.com/dodo"  # for endpoints no event ever reaches


@pytest.fixture
def client(api_url, business):
    return DodoPayments(bearer_token=business.key, base_url=api_url, max_retries=0)


@pytest.fixture
def other_client(api_url, other_business):
    return DodoPayments(bearer_token=other_business.key, base_url=api_url, max_retries=0)


# -- helpers ---------------------------------------------------------------

def parse_time(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


def lower_keys(mapping):
    return {name.lower(): value for name, value in mapping.items()}


def settle():
    """Waits out the time a duplicate or a straggler would need to arrive."""
    time.sleep(QUIET_SECONDS)


def delivery_records(api, webhook_id):
    """Every record of GET /webhooks/{id}/deliveries, all pages."""
    records, iterator = [], None
    while True:
        params = {"limit": 100, **({"iterator": iterator} if iterator else {})}
        answer = api.get(f"/webhooks/{webhook_id}/deliveries", params=params)
        assert answer.status_code == 200, answer.text
        page = answer.json()
        records += page["data"]
        if page["done"]:
            assert page["iterator"] is None, page
            return records
        iterator = page["iterator"]


def record_of(api, webhook_id, event_type, subject_id):
    """The endpoint's one delivery record of this event, or None while there is none."""
    found = [r for r in delivery_records(api, webhook_id)
             if r["event_type"] == event_type and r["subject_id"] == subject_id]
    assert len(found) <= 1, found
    return found[0] if found else None


def delivered_record(api, webhook_id, event_type, subject_id):
    """The record of this event once it says delivered, else None."""
    record = record_of(api, webhook_id, event_type, subject_id)
    return record if record and record["status"] == "delivered" else None


def types_of(deliveries, subject):
    """The event types, in arrival order, of the deliveries about one grant or key."""
    return [d.type for d in deliveries if d.subject == subject]


def check_envelope(delivery, business_id):
    """What a consumer relies on in every delivery: the headers and the envelope."""
    assert EVENT_ID.match(delivery.id), delivery.id
    assert delivery.headers["content-type"].startswith("application/json")
    assert abs(int(delivery.headers["webhook-timestamp"]) - delivery.received_at) < 5
    event = delivery.event
    assert set(event) == {"business_id", "type", "timestamp", "data"}, event
    assert event["business_id"] == business_id
    assert event["type"] in EVENT_TYPES
    when = parse_time(event["timestamp"])
    assert when.tzinfo is not None and abs(time.time() - when.timestamp()) < 600, event["timestamp"]
    if event["type"] in SDK_EVENT_MODELS:
        SDK_EVENT_MODELS[event["type"]].model_validate(event)


def check_failed_then_delivered(record, webhook_id, event_type, subject_id):
    """A delivery record whose first attempt failed and whose last one succeeded."""
    assert (record["webhook_id"], record["event_type"], record["subject_id"]) == (webhook_id, event_type, subject_id)
    assert EVENT_ID.match(record["id"])
    assert record["status"] == "delivered" and record["next_attempt_at"] is None, record
    attempts = sorted(record["attempts"], key=lambda a: parse_time(a["attempted_at"]))
    assert len(attempts) >= 2, record
    assert all(a["status_code"] != 200 for a in attempts[:-1]), record
    assert attempts[-1]["status_code"] == 200 and attempts[-1]["error"] is None, record
    assert all(isinstance(a["duration_ms"], int) and a["duration_ms"] >= 0 for a in attempts), record
    gap = (parse_time(attempts[1]["attempted_at"]) - parse_time(attempts[0]["attempted_at"])).total_seconds()
    low, high = FIRST_RETRY_SECONDS
    assert low <= gap <= high, f"first retry {gap:.1f} s after the first attempt"
    return attempts


# -- the endpoint routes, through the SDK ------------------------------------

def test_create_retrieve_and_update_through_the_sdk(client):
    created = client.webhooks.create(
        url=SOMEWHERE, description="Keys to the CRM", filter_types=["entitlement_grant.delivered", "license_key.created"],
        metadata={"team": "billing"}, rate_limit=10)
    assert isinstance(created, WebhookDetails)
    assert WEBHOOK_ID.match(created.id), created.id
    assert (created.url, created.description, created.metadata, created.disabled, created.filter_types, created.rate_limit) == \
        (SOMEWHERE, "Keys to the CRM", {"team": "billing"}, False, ["entitlement_grant.delivered", "license_key.created"], 10)
    assert abs(time.time() - parse_time(created.created_at).timestamp()) < 60
    assert client.webhooks.retrieve(created.id) == created

    updated = client.webhooks.update(created.id, description="Keys and revocations",
                                     filter_types=["entitlement_grant.revoked"], disabled=True, rate_limit=50)
    assert (updated.id, updated.url, updated.metadata, updated.created_at) == (created.id, SOMEWHERE, {"team": "billing"}, created.created_at)
    assert (updated.description, updated.filter_types, updated.disabled, updated.rate_limit) == \
        ("Keys and revocations", ["entitlement_grant.revoked"], True, 50)
    assert parse_time(updated.updated_at) >= parse_time(created.updated_at)
    assert client.webhooks.retrieve(created.id) == updated

    moved = client.webhooks.update(created.id, url=SOMEWHERE + "/v2", disabled=False)
    assert (moved.url, moved.disabled, moved.description, moved.rate_limit) == (SOMEWHERE + "/v2", False, "Keys and revocations", 50)

    plain = client.webhooks.create(url=SOMEWHERE)
    assert (plain.description, plain.metadata, plain.disabled, plain.filter_types, plain.rate_limit) == ("", {}, False, [], None)

    # Dodo's other event types are accepted in a filter, as an unchanged client may send them.
    payments_too = client.webhooks.create(url=SOMEWHERE, filter_types=["payment.succeeded", "license_key.created"])
    assert payments_too.filter_types == ["payment.succeeded", "license_key.created"]


def test_the_body_idempotency_key_creates_one_endpoint(client):
    first = client.webhooks.create(url=f"{SOMEWHERE}/once", idempotency_key="create-crm-hook")
    again = client.webhooks.with_raw_response.create(url=f"{SOMEWHERE}/once", idempotency_key="create-crm-hook")

    assert again.headers.get("idempotent-replayed") == "true"
    assert again.parse().id == first.id
    assert [w.id for w in client.webhooks.list()] == [first.id]
    with pytest.raises(dodopayments.UnprocessableEntityError):
        client.webhooks.create(url=f"{SOMEWHERE}/other", idempotency_key="create-crm-hook")


def test_the_sdk_auto_pager_lists_every_endpoint_once_newest_first(client):
    made = [client.webhooks.create(url=f"{SOMEWHERE}/{i}").id for i in range(5)]

    assert [w.id for w in client.webhooks.list(limit=2)] == list(reversed(made))

    pages = [client.webhooks.list(limit=2)]
    while pages[-1].has_next_page():
        pages.append(pages[-1].get_next_page())
        assert len(pages) <= 3, "the pager does not stop"
    assert [len(p.data) for p in pages] == [2, 2, 1]
    assert [p.done for p in pages] == [False, False, True]
    assert pages[-1].iterator is None


def test_a_deleted_endpoint_is_gone(client):
    doomed = client.webhooks.create(url=f"{SOMEWHERE}/old")
    kept = client.webhooks.create(url=f"{SOMEWHERE}/new")

    assert client.webhooks.delete(doomed.id) is None
    with pytest.raises(dodopayments.NotFoundError):
        client.webhooks.retrieve(doomed.id)
    with pytest.raises(dodopayments.NotFoundError):
        client.webhooks.retrieve_secret(doomed.id)
    assert [w.id for w in client.webhooks.list()] == [kept.id]


def test_the_secret_is_a_whsec_key_of_its_own(client):
    first = client.webhooks.create(url=f"{SOMEWHERE}/a")
    second = client.webhooks.create(url=f"{SOMEWHERE}/b")

    secret = client.webhooks.retrieve_secret(first.id).secret
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret[len("whsec_"):], validate=True)) >= 24
    assert client.webhooks.retrieve_secret(first.id).secret == secret
    assert client.webhooks.retrieve_secret(second.id).secret != secret


def test_headers_are_updated_or_added_and_sensitive_values_never_shown(client):
    hook = client.webhooks.create(url=SOMEWHERE, headers={"X-Source": "licensing", "X-Old": "gone soon"})
    before = client.webhooks.headers.retrieve(hook.id)
    assert lower_keys(before.headers) == {"x-source": "licensing", "x-old": "gone soon"} and before.sensitive == []

    # Dodo's "update or add": named headers change, others stay; an empty value removes one.
    assert client.webhooks.headers.update(hook.id, headers={
        "X-Team": "billing", "Authorization": "Bearer s3cret-value", "X-Api-Key": "k3y-value",
        "x-source": "crm", "X-Old": ""}) is None

    after = client.webhooks.headers.retrieve(hook.id)
    assert lower_keys(after.headers) == {"x-team": "billing", "x-source": "crm"}
    assert sorted(name.lower() for name in after.sensitive) == ["authorization", "x-api-key"]
    shown = after.to_json()
    assert "s3cret-value" not in shown and "k3y-value" not in shown

    with pytest.raises(dodopayments.UnprocessableEntityError):
        client.webhooks.headers.update(hook.id, headers={"Webhook-Signature": "v1,forged"})
    assert lower_keys(client.webhooks.headers.retrieve(hook.id).headers) == {"x-team": "billing", "x-source": "crm"}


def test_another_business_gets_404_for_everything_about_the_endpoint(client, other_client, other_business):
    hook = client.webhooks.create(url=SOMEWHERE, description="mine", headers={"X-Team": "billing"})
    attempts = {
        "retrieve": lambda: other_client.webhooks.retrieve(hook.id),
        "update": lambda: other_client.webhooks.update(hook.id, description="theirs now", disabled=True),
        "delete": lambda: other_client.webhooks.delete(hook.id),
        "secret": lambda: other_client.webhooks.retrieve_secret(hook.id),
        "headers": lambda: other_client.webhooks.headers.retrieve(hook.id),
        "headers update": lambda: other_client.webhooks.headers.update(hook.id, headers={"X-Team": "theirs"}),
    }
    not_refused = []
    for name, attempt in attempts.items():
        try:
            attempt()
            not_refused.append(name)
        except dodopayments.NotFoundError:
            pass
    assert not_refused == []
    assert other_business.get(f"/webhooks/{hook.id}/deliveries").status_code == 404
    assert list(other_client.webhooks.list()) == []

    assert client.webhooks.retrieve(hook.id) == hook
    assert lower_keys(client.webhooks.headers.retrieve(hook.id).headers) == {"x-team": "billing"}


@pytest.mark.parametrize("body, field", [
    ({"url": "ftp://x"}, "url"),
    ({"url": SOMEWHERE, "filter_types": ["license_key.exploded"]}, "filter_types"),
    ({"url": SOMEWHERE, "rate_limit": 0}, "rate_limit"),
    ({"url": SOMEWHERE, "headers": {"webhook-id": "evt_mine"}}, "headers"),
])
def test_bad_input_is_422_and_creates_nothing(client, body, field):
    with pytest.raises(dodopayments.UnprocessableEntityError) as refused:
        client.webhooks.create(**body)
    assert refused.value.body["code"] == "VALIDATION_ERROR"
    assert field in refused.value.body["message"], refused.value.body
    assert list(client.webhooks.list()) == []


@pytest.mark.parametrize("url", [
    "http://10.0.0.1/",
    "http://169.254.169.254/latest/meta-data/",
    "http://0.0.0.0/",
    "http://[fe80::1]/",
    "http://[::ffff:10.0.0.1]/",
    # Other spellings of private addresses, as URL parsers and inet_aton read
    # them; refused even on the test stack, which allows loopback.
    "http://0251.0376.0251.0376/",  # 169.254.169.254 in octal
    "http://2852039166/",  # 169.254.169.254 as one number
    "http://0xa9.0xfe.0xa9.0xfe/",
    "http://169.254.43518/",
    "http://0/",  # 0.0.0.0
    "http://10.1/",  # 10.0.0.1
    "http://0x0a000001/",
    "http://10.0.0.1./",
    "http://[64:ff9b:1::a9fe:a9fe]/",  # local-use NAT64
    "http://[64:ff9b::a9fe:a9fe]/",  # NAT64
    "http://[::ffff:0:a9fe:a9fe]/",  # IPv4-translated
    "http://[fec0::1]/",  # site-local
    "http://[fd00::1]/",  # unique local
])
def test_a_private_address_is_refused(client, url):
    assert_url_refused(client, url, "WEBHOOK_URL_NOT_ALLOWED")


def assert_url_refused(client, url, code):
    """Refused at create (nothing made) and at update (the URL kept)."""
    with pytest.raises(dodopayments.UnprocessableEntityError) as refused:
        client.webhooks.create(url=url)
    assert refused.value.body["code"] == code
    assert list(client.webhooks.list()) == []

    hook = client.webhooks.create(url=SOMEWHERE)
    with pytest.raises(dodopayments.UnprocessableEntityError) as refused:
        client.webhooks.update(hook.id, url=url)
    assert refused.value.body["code"] == code
    assert client.webhooks.retrieve(hook.id).url == SOMEWHERE
    return refused.value.body


@pytest.mark.parametrize("url", [
    "http://user:pass@hooks.example.com/dodo",
    "http://user@hooks.example.com/dodo",
    "http://169.254.169.254\\@hooks.example.com/",  # one parser's host is another's user name
    "https://hooks.example.com\\dodo",
])
def test_credentials_or_a_backslash_in_the_url_are_refused(client, url):
    body = assert_url_refused(client, url, "VALIDATION_ERROR")
    assert "url" in body["message"], body


@pytest.mark.parametrize("url", [
    "http://2130706433:9/",
    "http://0x7f.1:9/",
    "http://127.1:9/",
    "http://0177.0.0.1:9/",
    "http://[::ffff:127.0.0.1]:9/",
])
def test_loopback_in_another_spelling_is_treated_as_127_0_0_1(business, url):
    """Loopback is allowed only where the service runs with WEBHOOK_ALLOW_LOOPBACK
    (the test stack does, for its receivers); whichever it is, every spelling
    of 127.0.0.1 gets what 127.0.0.1 gets."""
    def outcome(url):
        answer = business.post("/webhooks", json={"url": url})
        if answer.status_code == 201:
            assert business.delete(f"/webhooks/{answer.json()['id']}").status_code == 204
            return 201, None
        return answer.status_code, answer.json()["code"]

    assert outcome(url) == outcome("http://127.0.0.1:9/")


# -- what a receiver gets --------------------------------------------------

def test_each_change_sends_its_events_once_and_in_order(business, anonymous, client, receiver):
    hook = receiver.endpoint(client, filter_types=sorted(EVENT_TYPES),
                             headers={"X-Team": "billing", "Authorization": "Bearer receiver-token"})

    ent, grant = pending_grant(business, MANUAL)  # entitlement_grant.created
    key = unique_key()
    delivered = fulfil(business, grant["id"], key=key)  # entitlement_grant.delivered, license_key.created
    assert delivered.status_code == 200, delivered.text
    key_id = delivered.json()["license_key"]["id"]
    patched = business.patch(f"/license_keys/{key_id}", json={"activations_limit": 5})  # license_key.updated
    assert patched.status_code == 200, patched.text
    activated = anonymous.post("/licenses/activate", json={"license_key": key, "name": "laptop"})  # license_key_instance.created
    assert activated.status_code == 201, activated.text
    instance = business.get(f"/license_key_instances/{activated.json()['id']}").json()
    gone = anonymous.post("/licenses/deactivate",  # license_key_instance.deleted
                          json={"license_key": key, "license_key_instance_id": instance["id"]})
    assert gone.status_code == 200, gone.text
    revoked = business.delete(f"/entitlements/{ent['id']}/grants/{grant['id']}")  # entitlement_grant.revoked, license_key.updated
    assert revoked.status_code == 200, revoked.text

    wait_for(lambda: len(receiver.deliveries(hook)) >= 8, "the 8 events of the grant's life")
    settle()
    got = receiver.deliveries(hook)
    assert types_of(got, grant["id"]) == ["entitlement_grant.created", "entitlement_grant.delivered", "entitlement_grant.revoked"]
    assert types_of(got, key_id) == ["license_key.created", "license_key.updated", "license_key_instance.created",
                                     "license_key_instance.deleted", "license_key.updated"]
    assert len(got) == 8, [d.type for d in got]
    assert len({d.id for d in got}) == 8
    for delivery in got:
        check_envelope(delivery, business.business_id)
        assert delivery.answered == 200
        assert delivery.headers["x-team"] == "billing"
        assert delivery.headers["authorization"] == "Bearer receiver-token"
    assert receiver.failures == []

    on_grant = [d.data for d in got if d.subject == grant["id"]]
    assert [g["id"] for g in on_grant] == [grant["id"]] * 3
    assert [g["status"] for g in on_grant] == ["Pending", "Delivered", "Revoked"]
    assert on_grant[1]["license_key"]["key"] == key
    assert on_grant[2] == business.get(f"/grants/{grant['id']}").json()

    on_key = [d.data for d in got if d.subject == key_id]
    assert [k["id"] for k in on_key] == [key_id, key_id, instance["id"], instance["id"], key_id]
    assert on_key[0]["key"] == key and on_key[0]["status"] == "active" and on_key[0]["grant_id"] == grant["id"]
    assert on_key[1]["activations_limit"] == 5
    assert on_key[2] == instance
    assert on_key[3]["license_key_id"] == key_id
    assert on_key[4]["status"] == "disabled"
    assert on_key[4] == business.get(f"/license_keys/{key_id}").json()


def test_an_auto_grant_sends_created_delivered_and_license_key_created(business, client, receiver):
    hook = receiver.endpoint(client)
    ent = new_entitlement(business, AUTO)
    answer = issue(business, ent["id"])
    assert answer.status_code == 201, answer.text
    grant = answer.json()
    key_id = grant["license_key"]["id"]

    wait_for(lambda: len(receiver.deliveries(hook)) >= 3, "the auto grant's 3 events")
    settle()
    got = receiver.deliveries(hook)
    assert types_of(got, grant["id"]) == ["entitlement_grant.created", "entitlement_grant.delivered"]
    assert types_of(got, key_id) == ["license_key.created"]
    assert len(got) == 3 and len({d.id for d in got}) == 3
    for delivery in got:
        check_envelope(delivery, business.business_id)
    created, delivered, key_created = (next(d.data for d in got if d.type == t) for t in
                                       ("entitlement_grant.created", "entitlement_grant.delivered", "license_key.created"))
    assert created["id"] == delivered["id"] == grant["id"]
    assert delivered["status"] == "Delivered" and delivered["license_key"]["key"] == grant["license_key"]["key"]
    assert (key_created["id"], key_created["key"], key_created["source"]) == (key_id, grant["license_key"]["key"], "auto")


def test_importing_a_key_sends_license_key_created(business, client, receiver):
    hook = receiver.endpoint(client)
    ent = new_entitlement(business, MANUAL)
    imported = business.post("/license_keys", json={"customer_id": "cus_imp", "key": unique_key(), "product_id": ent["id"]})
    assert imported.status_code == 201, imported.text

    [delivery] = wait_for(lambda: receiver.deliveries(hook), "the import's event")
    settle()
    assert receiver.deliveries(hook) == [delivery]
    check_envelope(delivery, business.business_id)
    assert delivery.type == "license_key.created"
    assert delivery.data == imported.json()


def test_a_key_email_that_fails_for_good_sends_entitlement_grant_failed(business, client, receiver, ses_outage, invoke):
    hook = receiver.endpoint(client)
    _, grant = pending_grant(business, MANUAL)
    done = fulfil(business, grant["id"], key=unique_key())
    assert done.status_code == 200 and done.json()["email_delivery"]["status"] == "queued", done.text  # SES is down
    # As test_grants.py does: with SES still down, the retries run out and the grant turns Failed.
    for _ in range(10):
        if business.get(f"/grants/{grant['id']}").json()["status"] == "Failed":
            break
        invoke("email-retry", {"ignore_backoff": True})
    failed = business.get(f"/grants/{grant['id']}").json()
    assert failed["status"] == "Failed" and failed["error_code"] == "EMAIL_DELIVERY_FAILED", failed

    wait_for(lambda: "entitlement_grant.failed" in types_of(receiver.deliveries(hook), grant["id"]),
             "entitlement_grant.failed")
    settle()
    got = receiver.deliveries(hook)
    assert types_of(got, grant["id"]) == ["entitlement_grant.created", "entitlement_grant.delivered", "entitlement_grant.failed"]
    [event] = [d for d in got if d.type == "entitlement_grant.failed"]
    check_envelope(event, business.business_id)
    assert event.data == failed


def test_a_receiver_that_was_down_gets_the_same_event_once_it_is_back(business, client, receiver):
    hook = receiver.endpoint(client)
    receiver.stop()
    _, grant = pending_grant(business, MANUAL)

    def first_attempt_made():
        record = record_of(business, hook.id, "entitlement_grant.created", grant["id"])
        return record if record and record["attempts"] else None

    while_down = wait_for(first_attempt_made, "a first attempt, to a receiver that is down", interval=0.25)
    [refused] = while_down["attempts"]
    assert refused["status_code"] is None and refused["error"], while_down
    assert while_down["status"] == "pending" and while_down["next_attempt_at"] is not None, while_down
    receiver.start()

    [arrived] = wait_for(lambda: receiver.deliveries(hook), "the retry, once the receiver is back")
    record = wait_for(lambda: delivered_record(business, hook.id, "entitlement_grant.created", grant["id"]),
                      "the record to say delivered", interval=0.25)
    settle()
    assert receiver.deliveries(hook) == [arrived]
    assert arrived.id == record["id"] == while_down["id"]
    check_envelope(arrived, business.business_id)
    assert arrived.type == "entitlement_grant.created" and arrived.data["id"] == grant["id"]
    attempts = check_failed_then_delivered(record, hook.id, "entitlement_grant.created", grant["id"])
    assert attempts[0]["status_code"] is None and attempts[0]["error"]


def test_a_receiver_that_answers_503_gets_the_same_event_again(business, client, receiver):
    hook = receiver.endpoint(client)
    receiver.answer_next(503)
    _, grant = pending_grant(business, MANUAL)

    wait_for(lambda: receiver.accepted(hook), "the retry after the 503")
    record = wait_for(lambda: delivered_record(business, hook.id, "entitlement_grant.created", grant["id"]),
                      "the record to say delivered", interval=0.25)
    settle()
    first, second = receiver.deliveries(hook)
    assert (first.answered, second.answered) == (503, 200)
    assert first.id == second.id == record["id"]
    assert first.body == second.body  # byte for byte the same on every attempt
    low, high = FIRST_RETRY_SECONDS
    assert low <= second.received_at - first.received_at <= high
    check_envelope(second, business.business_id)
    attempts = check_failed_then_delivered(record, hook.id, "entitlement_grant.created", grant["id"])
    assert attempts[0]["status_code"] == 503


def test_filter_types_and_disabled_endpoints_are_honoured(business, client, receiver):
    everything = receiver.endpoint(client)
    keys_only = receiver.endpoint(client, filter_types=["license_key.created"])
    disabled = receiver.endpoint(client, disabled=True)

    ent = new_entitlement(business, AUTO)
    grant = issue(business, ent["id"]).json()  # entitlement_grant.created, .delivered, license_key.created
    key_id = grant["license_key"]["id"]
    assert business.patch(f"/license_keys/{key_id}", json={"activations_limit": 7}).status_code == 200  # license_key.updated

    wait_for(lambda: len(receiver.deliveries(everything)) >= 3, "the 3 events at the endpoint without a filter")
    wait_for(lambda: receiver.deliveries(keys_only), "license_key.created at the filtered endpoint")
    settle()
    assert sorted(d.type for d in receiver.deliveries(everything)) == [
        "entitlement_grant.created", "entitlement_grant.delivered", "license_key.created"]
    assert [(d.type, d.data["id"]) for d in receiver.deliveries(keys_only)] == [("license_key.created", key_id)]
    assert receiver.deliveries(disabled) == []
    assert [r["event_type"] for r in delivery_records(business, keys_only.id)] == ["license_key.created"]
    assert delivery_records(business, disabled.id) == []

    # Enabled again, it gets what happens from then on, and nothing from before.
    client.webhooks.update(disabled.id, disabled=False)
    later = issue(business, new_entitlement(business, MANUAL)["id"]).json()
    wait_for(lambda: receiver.deliveries(disabled), "an event at the endpoint enabled again")
    settle()
    assert [(d.type, d.data["id"]) for d in receiver.deliveries(disabled)] == [("entitlement_grant.created", later["id"])]
    assert receiver.failures == []


def test_types_beyond_dodo_go_only_to_an_endpoint_that_names_them(business, anonymous, client, receiver):
    unfiltered = receiver.endpoint(client)
    emptied = receiver.endpoint(client, filter_types=["license_key.created"])
    client.webhooks.update(emptied.id, filter_types=[])  # an empty filter is no filter
    ours = receiver.endpoint(client, filter_types=sorted(OWN_TYPES))
    updates_only = receiver.endpoint(client, filter_types=["license_key.updated"])

    ent = new_entitlement(business, AUTO)
    grant = issue(business, ent["id"]).json()  # entitlement_grant.created, .delivered, license_key.created
    key, key_id = grant["license_key"]["key"], grant["license_key"]["id"]
    assert business.patch(f"/license_keys/{key_id}", json={"activations_limit": 3}).status_code == 200  # license_key.updated
    activated = anonymous.post("/licenses/activate", json={"license_key": key, "name": "laptop"})  # license_key_instance.created
    assert activated.status_code == 201, activated.text
    gone = anonymous.post("/licenses/deactivate",  # license_key_instance.deleted
                          json={"license_key": key, "license_key_instance_id": activated.json()["id"]})
    assert gone.status_code == 200, gone.text

    wait_for(lambda: len(receiver.deliveries(ours)) >= 3, "the 3 events beyond Dodo at the endpoint naming them")
    wait_for(lambda: len(receiver.deliveries(unfiltered)) >= 3, "Dodo's 3 events at the endpoint without a filter")
    wait_for(lambda: len(receiver.deliveries(emptied)) >= 3, "Dodo's 3 events at the endpoint with an empty filter")
    wait_for(lambda: receiver.deliveries(updates_only), "license_key.updated at the endpoint naming it")
    settle()
    dodo_types = ["entitlement_grant.created", "entitlement_grant.delivered", "license_key.created"]
    for endpoint in (unfiltered, emptied):
        got = receiver.deliveries(endpoint)
        assert sorted(d.type for d in got) == dodo_types
        assert sorted(r["event_type"] for r in delivery_records(business, endpoint.id)) == dodo_types
        for delivery in got:  # the SDK's unwrap reads each as the event it is
            event = client.webhooks.unwrap(delivery.body.decode(), headers=delivery.headers, key=endpoint.secret)
            assert isinstance(event, SDK_EVENT_MODELS[delivery.type]), (delivery.type, type(event))
    assert types_of(receiver.deliveries(ours), key_id) == [
        "license_key.updated", "license_key_instance.created", "license_key_instance.deleted"]
    assert [(d.type, d.data["id"]) for d in receiver.deliveries(updates_only)] == [("license_key.updated", key_id)]
    for endpoint in (ours, updates_only):
        for delivery in receiver.deliveries(endpoint):
            check_envelope(delivery, business.business_id)
    assert receiver.failures == []


def test_fifty_concurrent_fulfils_send_one_delivered_event(business, client, receiver):
    hook = receiver.endpoint(client)
    _, grant = pending_grant(business, MANUAL)
    keys = [unique_key() for _ in range(50)]
    with concurrent.futures.ThreadPoolExecutor(50) as pool:
        answers = list(pool.map(lambda k: fulfil(business, grant["id"], key=k), keys))
    statuses = [a.status_code for a in answers]
    assert statuses.count(200) == 1, statuses
    winner = next(a.json() for a in answers if a.status_code == 200)
    key_id = winner["license_key"]["id"]

    wait_for(lambda: len(receiver.deliveries(hook)) >= 3, "created, delivered and license_key.created")
    settle()
    got = receiver.deliveries(hook)
    assert types_of(got, grant["id"]) == ["entitlement_grant.created", "entitlement_grant.delivered"]
    assert types_of(got, key_id) == ["license_key.created"]
    assert len(got) == 3, [d.type for d in got]
    [key_created] = [d for d in got if d.type == "license_key.created"]
    assert key_created.data["key"] == winner["license_key"]["key"]


def test_a_tampered_delivery_fails_verification_with_both_libraries(business, client, receiver):
    hook = receiver.endpoint(client)
    pending_grant(business, MANUAL)
    [delivery] = wait_for(lambda: receiver.deliveries(hook), "a delivery")
    assert verification_errors(delivery.body, delivery.headers, hook.secret) == []

    body = bytearray(delivery.body)
    middle = next(i for i in range(len(body) // 2, len(body)) if body[i] < 0x80)
    body[middle] ^= 0x01  # still ASCII, so still text; one byte different
    tampered = bytes(body)
    other_secret = "whsec_" + base64.b64encode(os.urandom(32)).decode()
    other_id = {**delivery.headers, "webhook-id": f"evt_{uuid.uuid4().hex[:26].upper()}"}

    for payload, headers, secret in ((tampered, delivery.headers, hook.secret),
                                     (delivery.body, delivery.headers, other_secret),
                                     (delivery.body, other_id, hook.secret)):
        with pytest.raises(standardwebhooks.WebhookVerificationError):
            client.webhooks.unwrap(payload.decode(), headers=headers, key=secret)
        with pytest.raises(standardwebhooks.WebhookVerificationError):
            standardwebhooks.Webhook(secret).verify(payload, headers)


def test_rate_limit_spreads_the_deliveries(business, client, receiver):
    hook = receiver.endpoint(client, rate_limit=2)
    ent = new_entitlement(business, MANUAL)
    with concurrent.futures.ThreadPoolExecutor(8) as pool:  # 8 grants, so 8 events of 8 subjects at once
        answers = list(pool.map(lambda _: issue(business, ent["id"]), range(8)))
    assert [a.status_code for a in answers] == [201] * 8

    wait_for(lambda: len(receiver.deliveries(hook)) >= 8, "all 8 events", timeout=30)
    settle()
    got = receiver.deliveries(hook)
    assert sorted(d.data["id"] for d in got) == sorted(a.json()["id"] for a in answers)
    # Counted by the second each attempt was sent in (its signed timestamp), not by
    # arrival, which can carry one second's sends into the next.
    per_second = Counter(int(d.headers["webhook-timestamp"]) for d in got)
    seconds = sorted(per_second)
    assert all(per_second[s] <= 2 for s in seconds), sorted(per_second.items())
    assert seconds[-1] - seconds[0] >= 2, sorted(per_second.items())  # unlimited, all 8 would go in one second


def test_a_fulfil_that_dies_after_its_commit_still_sends_its_event_once(business, client, receiver):
    hook = receiver.endpoint(client)
    _, grant = pending_grant(business, MANUAL)
    key = unique_key()
    event = http_event("POST", "/grants/{grant_id}/license-key", f"/grants/{grant['id']}/license-key",
                       {"grant_id": grant["id"]}, authorized(business, str(uuid.uuid4())), {"key": key})

    answer, code = run_once("fulfil-grant", event, CRASH)
    assert answer is None and code not in (None, 0), f"fulfil-grant did not die at the failpoint: {answer}, exit {code}"
    # No process got past its commit, yet the event is there: it was in the transaction.
    wait_for(lambda: "entitlement_grant.delivered" in types_of(receiver.deliveries(hook), grant["id"]),
             "entitlement_grant.delivered of the fulfil that died")

    replay, _ = run_once("fulfil-grant", event)  # the client's retry, with the same Idempotency-Key
    assert replay is not None and replay["statusCode"] == 200, replay
    assert lower_keys(replay.get("headers") or {}).get("idempotent-replayed") == "true", replay
    settle()
    got = receiver.deliveries(hook)
    key_id = json.loads(replay["body"])["license_key"]["id"]
    assert types_of(got, grant["id"]) == ["entitlement_grant.created", "entitlement_grant.delivered"]
    assert types_of(got, key_id) == ["license_key.created"]
    assert len(got) == 3, [d.type for d in got]
    [delivered] = [d for d in got if d.type == "entitlement_grant.delivered"]
    assert delivered.data["status"] == "Delivered" and delivered.data["license_key"]["key"] == key
