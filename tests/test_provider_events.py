"""Grants that follow Dodo's payments and subscriptions (SPEC §1.6).

Each event is built from the Dodo SDK's own models (validated by them, so the
payload is one the SDK would read) and signed with `standardwebhooks` exactly
as Dodo signs its deliveries, then posted to `POST /inbound/dodo/{business}`.
"""

import base64
import concurrent.futures
import datetime
import json
import os
import secrets
import signal
import time
import uuid

import dodopayments.types as dodo
import pytest
import standardwebhooks

from lambda_runtime import http_event, run_once
from test_grants import AUTO, MANUAL, new_entitlement

SUBSCRIPTION_KEY = {**AUTO, "integration_config": {"activations_limit": 2, "fulfillment_mode": "auto"}}


def new_secret():
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def connect(api, secret=None):
    secret = secret or new_secret()
    answer = api.put("/payment-providers/dodo", json={"webhook_secret": secret})
    assert answer.status_code == 200, answer.text
    return secret


def product(api, *entitlement_ids):
    product_id = f"pdt_{uuid.uuid4().hex[:16]}"
    body = {"entitlements": [{"entitlement_id": e} for e in entitlement_ids]}
    assert api.patch(f"/products/{product_id}", json=body).status_code == 200
    return product_id


def buyer():
    cid = f"cus_{uuid.uuid4().hex[:12]}"
    return {"customer_id": cid, "email": f"{cid}@example.com", "name": "Ada Buyer"}


BILLING = {"city": "Berlin", "country": "DE", "state": "BE", "street": "1 Main St", "zipcode": "10115"}


def at(seconds=0):
    return (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=seconds)).isoformat()


def payment_data(payment_id, customer, products, subscription_id=None):
    data = {
        "billing": BILLING, "brand_id": "bus_dodo", "business_id": "bus_dodo", "created_at": at(), "currency": "USD",
        "customer": customer, "digital_products_delivered": False, "disputes": [], "includes_usage": False,
        "is_multi_subscription": False, "is_update_payment_method": False, "metadata": {}, "payment_id": payment_id,
        "payment_provider": "dodo", "refunds": [], "retry_attempt": 0, "service_periods": [], "settlement_amount": 1000,
        "settlement_currency": "USD", "subscription_ids": [subscription_id] if subscription_id else [],
        "total_amount": 1000, "status": "succeeded", "subscription_id": subscription_id,
        "product_cart": None if subscription_id else [{"product_id": p, "quantity": 1} for p in products],
    }
    return dodo.Payment.model_validate(data)


def subscription_data(subscription_id, product_id, customer, status="active"):
    data = {
        "addons": [], "billing": BILLING, "brand_id": "bus_dodo", "cancel_at_next_billing_date": False, "created_at": at(),
        "credit_entitlement_cart": [], "currency": "USD", "customer": customer, "has_payment_method": True, "metadata": {},
        "meter_credit_entitlement_cart": [], "meters": [], "next_billing_date": at(30 * 86400),
        "on_demand": False, "payment_frequency_count": 1, "payment_frequency_interval": "Month",
        "previous_billing_date": at(), "product_id": product_id, "quantity": 1, "recurring_pre_tax_amount": 1000,
        "status": status, "subscription_id": subscription_id, "subscription_period_count": 12,
        "subscription_period_interval": "Month", "tax_inclusive": False, "trial_period_days": 0,
    }
    return dodo.Subscription.model_validate(data)


def refund_data(payment_id, customer):
    data = {"brand_id": "bus_dodo", "business_id": "bus_dodo", "created_at": at(), "customer": customer,
            "is_partial": False, "metadata": {}, "payment_id": payment_id, "refund_id": f"ref_{uuid.uuid4().hex[:8]}",
            "status": "succeeded"}
    return dodo.Refund.model_validate(data)


EVENT_MODELS = {
    "payment.succeeded": dodo.PaymentSucceededWebhookEvent,
    "refund.succeeded": dodo.RefundSucceededWebhookEvent,
    "subscription.active": dodo.SubscriptionActiveWebhookEvent,
    "subscription.unpaused": dodo.SubscriptionUnpausedWebhookEvent,
    "subscription.on_hold": dodo.SubscriptionOnHoldWebhookEvent,
    "subscription.paused": dodo.SubscriptionPausedWebhookEvent,
    "subscription.cancelled": dodo.SubscriptionCancelledWebhookEvent,
    "subscription.expired": dodo.SubscriptionExpiredWebhookEvent,
    "subscription.plan_changed": dodo.SubscriptionPlanChangedWebhookEvent,
    "subscription.renewed": dodo.SubscriptionRenewedWebhookEvent,
}


def envelope(kind, data, when=None):
    """The event as the SDK models it, serialized as Dodo sends it."""
    event = EVENT_MODELS[kind].model_validate(
        {"business_id": "bus_dodo", "type": kind, "timestamp": when or at(), "data": data.model_dump(mode="json")})
    return event.model_dump_json()


class Inbound:
    """Posts deliveries to one business's inbound URL, signed as Dodo signs them."""

    def __init__(self, anonymous, business_id, secret):
        self.http, self.business_id, self.secret = anonymous, business_id, secret

    def headers(self, body, webhook_id=None, secret=None, sent=None):
        webhook_id = webhook_id or f"msg_{uuid.uuid4().hex}"
        sent = sent or datetime.datetime.now(datetime.timezone.utc)
        signature = standardwebhooks.Webhook(secret or self.secret).sign(webhook_id, sent, body)
        return {"webhook-id": webhook_id, "webhook-timestamp": str(int(sent.timestamp())),
                "webhook-signature": signature, "content-type": "application/json"}

    def post(self, body, headers=None, **signing):
        headers = headers or self.headers(body, **signing)
        return self.http.post(f"/inbound/dodo/{self.business_id}", content=body, headers=headers)

    def deliver(self, body, **signing):
        answer = self.post(body, **signing)
        assert answer.status_code == 204, answer.text
        return answer


@pytest.fixture
def inbound(business, anonymous):
    return Inbound(anonymous, business.business_id, connect(business))


def grants_of(api, customer, **filters):
    answer = api.get(f"/customers/{customer['customer_id']}/entitlement-grants", params=filters)
    assert answer.status_code == 200, answer.text
    return answer.json()["items"]


def test_a_one_time_payment_grants_each_entitlement_of_each_product_once(business, inbound, ses_store):
    auto, manual, shared = (new_entitlement(business, body)["id"] for body in (SUBSCRIPTION_KEY, MANUAL, MANUAL))
    first, second = product(business, auto, shared), product(business, manual, shared)
    customer = buyer()
    inbound.deliver(envelope("payment.succeeded", payment_data("pay_1", customer, [first, second])))

    grants = grants_of(business, customer)
    assert sorted(g["entitlement_id"] for g in grants) == sorted([auto, manual, shared])
    assert {g["payment_id"] for g in grants} == {"pay_1"}
    assert {g["customer_email"] for g in grants} == {customer["email"]}
    [delivered] = [g for g in grants if g["entitlement_id"] == auto]
    assert delivered["status"] == "Delivered" and delivered["license_key"]["key"]
    assert len(ses_store(customer["email"])) == 1, "the auto key is emailed as for a grant issued by API"


def test_copies_of_an_event_take_effect_once_at_once_or_a_day_later(business, inbound):
    ent = new_entitlement(business, SUBSCRIPTION_KEY)["id"]
    pid, customer = product(business, ent), buyer()
    body = envelope("payment.succeeded", payment_data("pay_dup", customer, [pid]))
    webhook_id = f"msg_{uuid.uuid4().hex}"
    with concurrent.futures.ThreadPoolExecutor(5) as pool:
        answers = list(pool.map(lambda _: inbound.post(body, webhook_id=webhook_id), range(5)))
    assert [a.status_code for a in answers] == [204] * 5, [a.text for a in answers]
    [grant] = grants_of(business, customer)
    # Retried later (a new attempt: a new webhook-timestamp, the same webhook-id), and as a new delivery id.
    inbound.deliver(body, webhook_id=webhook_id)
    inbound.deliver(body)
    assert [g["id"] for g in grants_of(business, customer)] == [grant["id"]]


def test_a_refund_revokes_that_payments_grants_and_disables_their_keys(business, inbound, anonymous):
    ent = new_entitlement(business, SUBSCRIPTION_KEY)["id"]
    pid, customer = product(business, ent), buyer()
    inbound.deliver(envelope("payment.succeeded", payment_data("pay_r", customer, [pid])))
    other = buyer()
    inbound.deliver(envelope("payment.succeeded", payment_data("pay_kept", other, [pid])))
    [grant] = grants_of(business, customer)
    key = grant["license_key"]["key"]
    assert anonymous.post("/licenses/validate", json={"license_key": key}).json()["valid"] is True

    inbound.deliver(envelope("refund.succeeded", refund_data("pay_r", customer)))
    [revoked] = grants_of(business, customer)
    assert (revoked["id"], revoked["status"], revoked["revocation_reason"]) == (grant["id"], "Revoked", "refund")
    assert anonymous.post("/licenses/validate", json={"license_key": key}).json()["valid"] is False
    assert [g["status"] for g in grants_of(business, other)] == ["Delivered"]


def test_a_refund_that_arrives_first_leaves_its_late_payment_granting_nothing(business, inbound):
    pid, customer = product(business, new_entitlement(business, MANUAL)["id"]), buyer()
    inbound.deliver(envelope("refund.succeeded", refund_data("pay_early", customer)))
    inbound.deliver(envelope("payment.succeeded", payment_data("pay_early", customer, [pid])))
    assert grants_of(business, customer) == []


def test_a_subscriptions_grants_follow_it_and_come_back_with_the_same_key(business, inbound, anonymous):
    ent = new_entitlement(business, SUBSCRIPTION_KEY)["id"]
    pid, customer, sub = product(business, ent), buyer(), f"sub_{uuid.uuid4().hex[:10]}"
    inbound.deliver(envelope("subscription.active", subscription_data(sub, pid, customer), at(-50)))
    [grant] = grants_of(business, customer)
    assert (grant["subscription_id"], grant["status"]) == (sub, "Delivered")
    assert grant["license_key"]["expires_at"] is None, "valid while the subscription is"
    key = grant["license_key"]["key"]
    assert anonymous.post("/licenses/activate", json={"license_key": key, "name": "laptop"}).status_code == 201

    for step, (kind, reason) in enumerate([("subscription.on_hold", "subscription_on_hold"),
                                           ("subscription.paused", "subscription_paused"),
                                           ("subscription.cancelled", "subscription_cancelled"),
                                           ("subscription.expired", "subscription_expired")]):
        inbound.deliver(envelope(kind, subscription_data(sub, pid, customer, "cancelled"), at(-40 + step * 2)))
        [revoked] = grants_of(business, customer)
        assert (revoked["status"], revoked["revocation_reason"]) == ("Revoked", reason), kind
        assert anonymous.post("/licenses/validate", json={"license_key": key}).json()["valid"] is False
        back = "subscription.unpaused" if kind == "subscription.paused" else "subscription.active"
        inbound.deliver(envelope(back, subscription_data(sub, pid, customer), at(-39 + step * 2)))
        [restored] = grants_of(business, customer)
        assert (restored["id"], restored["status"], restored["revocation_reason"]) == (grant["id"], "Delivered", None)
        assert restored["license_key"]["key"] == key, "a restore never rotates the customer's key"

    assert anonymous.post("/licenses/activate", json={"license_key": key, "name": "desktop"}).status_code == 201
    assert anonymous.post("/licenses/validate", json={"license_key": key}).json()["valid"] is True
    # A renewal changes no grant; nor does a subscription's own payment.
    inbound.deliver(envelope("subscription.renewed", subscription_data(sub, pid, customer), at(-5)))
    inbound.deliver(envelope("payment.succeeded", payment_data("pay_sub", customer, [pid], subscription_id=sub)))
    assert [(g["id"], g["status"]) for g in grants_of(business, customer)] == [(grant["id"], "Delivered")]


def test_an_older_event_arriving_late_changes_nothing(business, inbound):
    pid, customer, sub = product(business, new_entitlement(business, SUBSCRIPTION_KEY)["id"]), buyer(), "sub_late"
    inbound.deliver(envelope("subscription.active", subscription_data(sub, pid, customer), at(-30)))
    inbound.deliver(envelope("subscription.cancelled", subscription_data(sub, pid, customer, "cancelled"), at(-10)))
    inbound.deliver(envelope("subscription.active", subscription_data(sub, pid, customer), at(-20)))
    [grant] = grants_of(business, customer)
    assert (grant["status"], grant["revocation_reason"]) == ("Revoked", "subscription_cancelled")


def test_a_grant_revoked_by_hand_is_never_restored_by_an_event(business, inbound):
    ent = new_entitlement(business, SUBSCRIPTION_KEY)["id"]
    pid, customer, sub = product(business, ent), buyer(), "sub_manual"
    inbound.deliver(envelope("subscription.active", subscription_data(sub, pid, customer), at(-30)))
    [grant] = grants_of(business, customer)
    assert business.delete(f"/entitlements/{ent}/grants/{grant['id']}").status_code == 200
    inbound.deliver(envelope("subscription.active", subscription_data(sub, pid, customer), at(-20)))
    [still] = grants_of(business, customer)
    assert (still["status"], still["revocation_reason"]) == ("Revoked", "manual")


def test_a_plan_change_revokes_what_the_new_plan_lacks_and_grants_what_it_adds(business, inbound):
    kept, dropped, added = (new_entitlement(business, SUBSCRIPTION_KEY)["id"] for _ in range(3))
    basic, pro = product(business, kept, dropped), product(business, kept, added)
    customer, sub = buyer(), "sub_plan"
    inbound.deliver(envelope("subscription.active", subscription_data(sub, basic, customer), at(-30)))
    before = {g["entitlement_id"]: g for g in grants_of(business, customer)}
    inbound.deliver(envelope("subscription.plan_changed", subscription_data(sub, pro, customer), at(-20)))
    after = {g["entitlement_id"]: g for g in grants_of(business, customer)}
    assert set(after) == {kept, dropped, added}
    assert (after[dropped]["status"], after[dropped]["revocation_reason"]) == ("Revoked", "plan_changed")
    assert after[kept]["id"] == before[kept]["id"] and after[kept]["status"] == "Delivered"
    assert after[added]["status"] == "Delivered" and after[added]["subscription_id"] == sub


def test_deliveries_that_do_not_verify_are_401_and_change_nothing(business, inbound, anonymous, table):
    pid = product(business, new_entitlement(business, MANUAL)["id"])
    customer = buyer()
    body = envelope("payment.succeeded", payment_data("pay_x", customer, [pid]))
    stale = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=6)
    future = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=6)
    good = inbound.headers(body)
    cases = {
        "wrong secret": inbound.headers(body, secret=new_secret()),
        "stale timestamp": inbound.headers(body, sent=stale),
        "future timestamp": inbound.headers(body, sent=future),
        "bad signature": {**good, "webhook-signature": "v1," + base64.b64encode(b"x" * 32).decode()},
        "no signature": {k: v for k, v in good.items() if k != "webhook-signature"},
        "no id": {k: v for k, v in good.items() if k != "webhook-id"},
    }
    for case, headers in cases.items():
        answer = inbound.post(body, headers=headers)
        assert answer.status_code == 401, (case, answer.text)
        assert answer.json()["code"] == "UNAUTHORIZED"
    tampered = inbound.post(body.replace("pay_x", "pay_y"), headers=good)
    assert tampered.status_code == 401
    # Several signatures: any one that matches verifies.
    several = {**good, "webhook-signature": "v1,bm90IGl0 " + good["webhook-signature"]}
    assert grants_of(business, customer) == []
    assert inbound.post(body, headers=several).status_code == 204
    assert len(grants_of(business, customer)) == 1


def test_a_business_without_a_secret_and_another_businesss_secret_are_refused(business, other_business, anonymous):
    pid = product(business, new_entitlement(business, MANUAL)["id"])
    customer = buyer()
    body = envelope("payment.succeeded", payment_data("pay_o", customer, [pid]))
    unconnected = Inbound(anonymous, business.business_id, new_secret())
    assert unconnected.post(body).status_code == 401
    theirs = Inbound(anonymous, business.business_id, connect(other_business))
    connect(business)
    assert theirs.post(body).status_code == 401
    assert grants_of(business, customer) == []


def test_a_rotated_secret_verifies_for_a_day_then_not(business, anonymous, table):
    old = connect(business)
    new = connect(business)
    pid = product(business, new_entitlement(business, MANUAL)["id"])
    with_old, with_new = Inbound(anonymous, business.business_id, old), Inbound(anonymous, business.business_id, new)
    with_old.deliver(envelope("payment.succeeded", payment_data("pay_old", buyer(), [pid])))
    with_new.deliver(envelope("payment.succeeded", payment_data("pay_new", buyer(), [pid])))
    # A day later: the old one is rotated away.
    key = {"pk": f"BIZ#{business.business_id}", "sk": "PROVIDER#dodo"}
    item = table.get_item(Key=key, ConsistentRead=True)["Item"]
    until = [name for name in item if "until" in name]
    assert until, item.keys()
    past = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=1)).isoformat()
    table.update_item(Key=key, UpdateExpression="SET #u = :past", ExpressionAttributeNames={"#u": until[0]},
                      ExpressionAttributeValues={":past": past if isinstance(item[until[0]], str) else int(time.time()) - 1})
    customer = buyer()
    assert with_old.post(envelope("payment.succeeded", payment_data("pay_late", customer, [pid]))).status_code == 401
    assert grants_of(business, customer) == []


def test_another_businesss_products_are_untouched(business, other_business, anonymous, inbound):
    mine = new_entitlement(business, MANUAL)["id"]
    theirs = new_entitlement(other_business, MANUAL)["id"]
    shared_id = f"pdt_{uuid.uuid4().hex[:12]}"
    for api, ent in ((business, mine), (other_business, theirs)):
        assert api.patch(f"/products/{shared_id}", json={"entitlements": [{"entitlement_id": ent}]}).status_code == 200
    customer = buyer()
    inbound.deliver(envelope("payment.succeeded", payment_data("pay_iso", customer, [shared_id])))
    assert [g["entitlement_id"] for g in grants_of(business, customer)] == [mine]
    assert grants_of(other_business, customer) == []


def test_events_of_no_interest_and_bad_payloads(business, inbound):
    assert inbound.post(json.dumps({"business_id": "b", "type": "dispute.opened", "timestamp": at(), "data": {}})).status_code == 204
    bad = inbound.post(json.dumps({"business_id": "b", "type": "refund.succeeded", "timestamp": at(), "data": {}}))
    assert bad.status_code == 422 and "refund.succeeded" in bad.json()["message"]
    assert inbound.post("not json").status_code == 422


def proxy_pid():
    with open(os.environ["DYNAMODB_PROXY_PID_FILE"]) as f:
        return int(f.read())


def test_dynamodb_cut_is_503_and_the_providers_retry_completes_it_once(business, inbound):
    ents = [new_entitlement(business, SUBSCRIPTION_KEY)["id"] for _ in range(3)]
    pid, customer = product(business, *ents), buyer()
    body = envelope("payment.succeeded", payment_data("pay_cut", customer, [pid]))
    webhook_id = f"msg_{uuid.uuid4().hex}"
    os.kill(proxy_pid(), signal.SIGUSR1)
    try:
        cut = inbound.post(body, webhook_id=webhook_id)
    finally:
        os.kill(proxy_pid(), signal.SIGUSR2)
    assert cut.status_code == 503 and cut.headers.get("retry-after"), cut.text
    inbound.deliver(body, webhook_id=webhook_id)
    assert sorted(g["entitlement_id"] for g in grants_of(business, customer)) == sorted(ents)


def test_a_crash_after_the_first_commit_is_completed_once_by_the_retry(business, inbound):
    ents = [new_entitlement(business, SUBSCRIPTION_KEY)["id"] for _ in range(3)]
    pid, customer = product(business, *ents), buyer()
    body = envelope("payment.succeeded", payment_data("pay_crash", customer, [pid]))
    headers = inbound.headers(body)
    path = f"/inbound/dodo/{business.business_id}"
    event = http_event("POST", "/inbound/dodo/{business_id}", path, {"business_id": business.business_id}, headers)
    event["body"] = body  # the bytes that were signed
    answer, code = run_once("receive-dodo-event", event, {"FAILPOINT": "after-commit"})
    assert answer is None and code not in (None, 0), (answer, code)
    assert len(grants_of(business, customer)) == 1, "the first grant committed before the crash"
    inbound.deliver(body, headers=headers)
    grants = grants_of(business, customer)
    assert sorted(g["entitlement_id"] for g in grants) == sorted(ents)


def test_each_change_an_event_makes_sends_its_webhook_events_once(api_url, business, inbound, receiver):
    from dodopayments import DodoPayments
    from test_webhooks import EVENT_TYPES, settle, types_of, wait_for

    client = DodoPayments(bearer_token=business.key, base_url=api_url, max_retries=0)
    hook = receiver.endpoint(client, filter_types=sorted(EVENT_TYPES))
    pid, customer, sub = product(business, new_entitlement(business, SUBSCRIPTION_KEY)["id"]), buyer(), "sub_hooks"
    inbound.deliver(envelope("subscription.active", subscription_data(sub, pid, customer), at(-30)))
    cancelled = envelope("subscription.cancelled", subscription_data(sub, pid, customer, "cancelled"), at(-20))
    cancelled_id = f"msg_{uuid.uuid4().hex}"
    inbound.deliver(cancelled, webhook_id=cancelled_id)
    inbound.deliver(cancelled, webhook_id=cancelled_id)  # a copy: no second revocation
    inbound.deliver(cancelled)  # the same event as a new delivery: the grant is Revoked already
    inbound.deliver(envelope("subscription.active", subscription_data(sub, pid, customer), at(-10)))
    [grant] = grants_of(business, customer)
    key_id = grant["license_key"]["id"]

    wait_for(lambda: len(receiver.deliveries(hook)) >= 7, "the 7 events of the subscription's grant")
    settle()
    got = receiver.deliveries(hook)
    assert types_of(got, grant["id"]) == ["entitlement_grant.created", "entitlement_grant.delivered",
                                          "entitlement_grant.revoked", "entitlement_grant.delivered"]
    assert types_of(got, key_id) == ["license_key.created", "license_key.updated", "license_key.updated"]
    on_key = [d.data for d in got if d.subject == key_id]
    assert [k["status"] for k in on_key] == ["active", "disabled", "active"]
    assert len(got) == 7, [d.type for d in got]


def test_a_grant_issued_by_api_for_the_same_payment_is_the_events_and_its_refund_revokes_it(business, inbound):
    ent = new_entitlement(business, MANUAL)["id"]
    pid, customer = product(business, ent), buyer()
    by_api = business.post(f"/entitlements/{ent}/grants", json={
        "customer_id": customer["customer_id"], "customer_email": customer["email"], "payment_id": "pay_api"})
    assert by_api.status_code == 201, by_api.text
    inbound.deliver(envelope("payment.succeeded", payment_data("pay_api", customer, [pid])))
    assert [g["id"] for g in grants_of(business, customer)] == [by_api.json()["id"]]
    inbound.deliver(envelope("refund.succeeded", refund_data("pay_api", customer)))
    [grant] = grants_of(business, customer)
    assert (grant["id"], grant["status"], grant["revocation_reason"]) == (by_api.json()["id"], "Revoked", "refund")


@pytest.mark.parametrize("newest", ["subscription.active", "subscription.cancelled"])
def test_a_subscriptions_events_arriving_at_once_in_any_order_leave_the_newests_state(business, inbound, newest):
    import random

    pid = product(business, new_entitlement(business, SUBSCRIPTION_KEY)["id"])
    older = [k for k in ("subscription.active", "subscription.cancelled", "subscription.on_hold") if k != newest]
    runs = []
    for i in range(8):
        customer, sub = buyer(), f"sub_race_{i}_{uuid.uuid4().hex[:6]}"
        kinds = [*older, newest]  # in the order they happened
        bodies = [envelope(kind, subscription_data(sub, pid, customer, "active" if kind.endswith("active") else "on_hold"),
                           at(-40 + 10 * n)) for n, kind in enumerate(kinds)]
        random.shuffle(bodies)
        runs.append((customer, bodies))
    deliveries = [body for _, bodies in runs for body in bodies for _ in range(2)]  # and each twice
    random.shuffle(deliveries)
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(inbound.post, deliveries))
    assert [a.status_code for a in answers] == [204] * len(deliveries), [a.text for a in answers if a.status_code != 204]
    for customer, _ in runs:
        grants = grants_of(business, customer)
        if newest == "subscription.active":
            # The first event to land may have been a revocation with nothing to revoke yet.
            assert [g["status"] for g in grants] == ["Delivered"], grants
        else:
            # Granted by the older active event only if it landed before the cancellation; revoked in any case
            # (by whichever revocation reached it first: a Revoked grant is not revoked again).
            assert len(grants) <= 1, grants
            assert all(g["status"] == "Revoked" for g in grants), grants
