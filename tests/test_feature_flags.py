"""Feature flags (SPEC §1.7): a grant Delivered at once with its feature, one per
customer whatever confers it, kept while any payment or subscription does.

The seller's question "does this customer have feature X" is asked as the SDK
asks it: `customers.list_entitlement_grants(integration_type="feature_flag",
status="Delivered")`.
"""

import concurrent.futures
import uuid

import dodopayments
import pytest
from dodopayments import DodoPayments
from dodopayments.types import integration_config_response as configs

from test_provider_events import buyer, envelope, inbound, payment_data, product, refund_data, subscription_data, at  # noqa: F401
from test_webhooks import check_envelope, settle, types_of

EXPORT = {"feature_id": "export", "feature_type": "boolean"}


@pytest.fixture
def client(api_url, business):
    return DodoPayments(bearer_token=business.key, base_url=api_url, max_retries=0)


def flag(client, config=EXPORT):
    return client.entitlements.create(name="Export", integration_type="feature_flag", integration_config=config)


def features_of(client, customer_id):
    """What the seller sees: the customer's Delivered feature flags, through the SDK's auto-pager."""
    grants = client.customers.list_entitlement_grants(customer_id, integration_type="feature_flag", status="Delivered")
    return [(g.id, g.feature.feature_id) for g in grants]


def issue(business, entitlement_id, customer, **cause):
    body = {"customer_id": customer["customer_id"], "customer_email": customer["email"], **cause}
    return business.post(f"/entitlements/{entitlement_id}/grants", json=body)


def test_the_sdk_creates_a_flag_and_reads_its_config_as_a_feature_flag(client):
    ent = flag(client)
    assert ent.integration_type == "feature_flag"
    assert isinstance(ent.integration_config, configs.FeatureFlagConfig), type(ent.integration_config)
    assert ent.integration_config.feature_id == "export"
    again = client.entitlements.retrieve(ent.id)
    assert again.integration_config.to_dict() == EXPORT


@pytest.mark.parametrize("config, field", [
    ({"feature_type": "boolean"}, "feature_id"),
    ({"feature_id": "", "feature_type": "boolean"}, "integration_config.feature_id"),
    ({"feature_id": "x" * 256, "feature_type": "boolean"}, "integration_config.feature_id"),
    ({"feature_id": "export", "feature_type": "percentage"}, "integration_config.feature_type"),
    ({"feature_id": "export"}, "feature_type"),
])
def test_a_bad_flag_config_is_422_naming_the_field_and_creates_nothing(business, config, field):
    before = business.get("/entitlements", params={"integration_type": "feature_flag"}).json()["items"]
    answer = business.post("/entitlements", json={"name": "F", "integration_type": "feature_flag",
                                                 "integration_config": config})
    assert answer.status_code == 422, answer.text
    assert field in answer.json()["message"], answer.text
    assert business.get("/entitlements", params={"integration_type": "feature_flag"}).json()["items"] == before


def test_an_issued_flag_is_delivered_at_once_and_issuing_again_returns_it(business, client):
    ent, customer = flag(client), buyer()
    first = issue(business, ent.id, customer, payment_id="pay_a")
    assert first.status_code == 201, first.text
    grant = first.json()
    assert grant["status"] == "Delivered" and grant["delivered_at"]
    assert grant["feature"] == EXPORT
    assert grant["license_key"] is None and grant["digital_product_delivery"] is None
    assert "conferred_by" not in grant
    # Another payment, another subscription, or none: the customer holds one flag.
    for cause in ({"payment_id": "pay_b"}, {"subscription_id": "sub_c"}, {}):
        again = issue(business, ent.id, customer, **cause)
        assert again.status_code == 200, again.text
        assert again.json()["id"] == grant["id"]
    assert features_of(client, customer["customer_id"]) == [(grant["id"], "export")]
    sdk_grant = client.entitlements.grants.list(ent.id).items[0]
    assert isinstance(sdk_grant.feature, dodopayments.types.Feature) and sdk_grant.feature.feature_type == "boolean"


def test_the_flag_stays_while_any_subscription_or_payment_confers_it(business, client, inbound):
    ent = flag(client)
    pid, customer = product(business, ent.id), buyer()
    inbound.deliver(envelope("subscription.active", subscription_data("sub_1", pid, customer)))
    inbound.deliver(envelope("subscription.active", subscription_data("sub_2", pid, customer)))
    inbound.deliver(envelope("payment.succeeded", payment_data("pay_1", customer, [pid])))
    [(grant_id, _)] = features_of(client, customer["customer_id"])

    # One subscription cancelled, the payment refunded: the other subscription still confers it.
    inbound.deliver(envelope("subscription.cancelled", subscription_data("sub_1", pid, customer, "cancelled")))
    inbound.deliver(envelope("refund.succeeded", refund_data("pay_1", customer)))
    assert features_of(client, customer["customer_id"]) == [(grant_id, "export")]

    # The last one paused: revoked, with its reason.
    inbound.deliver(envelope("subscription.paused", subscription_data("sub_2", pid, customer, "paused")))
    assert features_of(client, customer["customer_id"]) == []
    revoked = business.get(f"/grants/{grant_id}").json()
    assert (revoked["status"], revoked["revocation_reason"]) == ("Revoked", "subscription_paused")

    # Unpaused: the same grant, Delivered again; a new subscription keeps it too.
    inbound.deliver(envelope("subscription.unpaused", subscription_data("sub_2", pid, customer), when=at(1)))
    inbound.deliver(envelope("subscription.active", subscription_data("sub_3", pid, customer)))
    restored = business.get(f"/grants/{grant_id}").json()
    assert (restored["status"], restored["revoked_at"], restored["revocation_reason"]) == ("Delivered", None, None)
    inbound.deliver(envelope("subscription.expired", subscription_data("sub_2", pid, customer, "expired"), when=at(2)))
    assert features_of(client, customer["customer_id"]) == [(grant_id, "export")]


def test_a_flag_revoked_by_hand_is_not_restored_but_a_new_cause_grants_it_anew(business, client, inbound):
    ent = flag(client)
    pid, customer = product(business, ent.id), buyer()
    inbound.deliver(envelope("subscription.active", subscription_data("sub_h", pid, customer)))
    [(grant_id, _)] = features_of(client, customer["customer_id"])
    assert business.delete(f"/entitlements/{ent.id}/grants/{grant_id}").status_code == 200
    # The same subscription's later event does not bring it back.
    inbound.deliver(envelope("subscription.active", subscription_data("sub_h", pid, customer), when=at(1)))
    assert features_of(client, customer["customer_id"]) == []
    assert business.get(f"/grants/{grant_id}").json()["revocation_reason"] == "manual"

    # New purchases, at once: one new grant, which all of them return.
    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(lambda i: issue(business, ent.id, customer, payment_id=f"pay_new_{i}"), range(6)))
    assert sorted(a.status_code for a in answers) == [200] * 5 + [201], [a.text for a in answers]
    [new_id] = {a.json()["id"] for a in answers}
    assert new_id != grant_id
    assert features_of(client, customer["customer_id"]) == [(new_id, "export")]
    assert business.get(f"/grants/{grant_id}").json()["status"] == "Revoked"


def test_an_api_issued_flag_is_not_taken_away_by_a_subscriptions_end(business, client, inbound):
    ent = flag(client)
    pid, customer = product(business, ent.id), buyer()
    inbound.deliver(envelope("subscription.active", subscription_data("sub_api", pid, customer)))
    granted = issue(business, ent.id, customer)
    assert granted.status_code == 200, granted.text
    inbound.deliver(envelope("subscription.cancelled", subscription_data("sub_api", pid, customer, "cancelled")))
    assert features_of(client, customer["customer_id"]) == [(granted.json()["id"], "export")]


def test_many_subscriptions_at_once_give_one_flag_which_lasts_until_the_last_ends(business, client, inbound):
    ent = flag(client)
    pid, customer = product(business, ent.id), buyer()
    subs = [f"sub_{uuid.uuid4().hex[:8]}" for _ in range(12)]
    with concurrent.futures.ThreadPoolExecutor(12) as pool:
        answers = list(pool.map(
            lambda s: inbound.post(envelope("subscription.active", subscription_data(s, pid, customer))), subs))
    assert [a.status_code for a in answers] == [204] * 12, [a.text for a in answers]
    grants = business.get(f"/customers/{customer['customer_id']}/entitlement-grants").json()["items"]
    assert len(grants) == 1, "one flag per customer, however many subscriptions confer it at once"
    grant_id = grants[0]["id"]

    # All but one end at once: it stays.
    ending = [envelope("subscription.cancelled", subscription_data(s, pid, customer, "cancelled"), when=at(1))
              for s in subs[1:]]
    with concurrent.futures.ThreadPoolExecutor(11) as pool:
        answers = list(pool.map(inbound.post, ending))
    assert [a.status_code for a in answers] == [204] * 11, [a.text for a in answers]
    assert features_of(client, customer["customer_id"]) == [(grant_id, "export")]
    inbound.deliver(envelope("subscription.cancelled", subscription_data(subs[0], pid, customer, "cancelled"),
                             when=at(1)))
    assert business.get(f"/grants/{grant_id}").json()["status"] == "Revoked"


def test_a_flag_sends_created_delivered_and_revoked(business, client, receiver):
    hook = receiver.endpoint(client)
    ent, customer = flag(client), buyer()
    grant = issue(business, ent.id, customer).json()
    assert business.delete(f"/entitlements/{ent.id}/grants/{grant['id']}").status_code == 200
    settle()
    got = receiver.deliveries(hook)
    assert types_of(got, grant["id"]) == [
        "entitlement_grant.created", "entitlement_grant.delivered", "entitlement_grant.revoked"]
    on_grant = [d for d in got if d.subject == grant["id"]]
    for delivery in on_grant:
        check_envelope(delivery, business.business_id)
    assert on_grant[1].data["feature"] == EXPORT
