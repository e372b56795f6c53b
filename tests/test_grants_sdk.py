"""Grants driven by the official Dodo Payments SDK, asserting on its parsed models."""

import uuid

import pytest
from dodopayments import DodoPayments

from test_grants import MANUAL, customer, new_entitlement


@pytest.fixture
def client(api_url, business):
    return DodoPayments(bearer_token=business.key, base_url=api_url, max_retries=0)


def test_sdk_lists_fulfils_and_revokes(client, business, ses_store):
    ent = client.entitlements.create(**MANUAL)
    who = customer()
    issued = [
        business.post(f"/entitlements/{ent.id}/grants", json={**who, "payment_id": f"pay_{i}"}).json()["id"]
        for i in range(12)
    ]

    listed = [g.id for g in client.entitlements.grants.list(ent.id, page_size=5)]
    assert listed == list(reversed(issued))
    pending = client.entitlements.grants.list(ent.id, status="Pending", customer_id=who["customer_id"], page_size=100)
    assert len(pending.items) == 12 and all(g.status == "Pending" for g in pending.items)

    key = f"SDK-{uuid.uuid4().hex}"
    grant = client.entitlements.grants.fulfill_license_key(issued[0], key=key, activations_limit=2)
    assert grant.status == "Delivered"
    assert grant.delivered_at is not None
    assert grant.license_key.key == key
    assert grant.license_key.activations_limit == 2
    assert grant.license_key.activations_used == 0
    assert grant.license_key.status == "active"
    assert grant.license_key.expires_at is not None
    assert grant.customer_id == who["customer_id"]
    assert len(ses_store(who["customer_email"])) == 1

    revoked = client.entitlements.grants.revoke(issued[0], id=ent.id)
    assert revoked.status == "Revoked"
    assert revoked.revoked_at is not None
    assert revoked.revocation_reason == "manual"
    assert revoked.license_key.status == "disabled"

    by_customer = [g.id for g in client.customers.list_entitlement_grants(who["customer_id"], page_size=5)]
    assert by_customer == list(reversed(issued))


def test_sdk_sees_conflicts_as_errors_without_retrying(client, business):
    import dodopayments

    ent = new_entitlement(business)
    grant = business.post(f"/entitlements/{ent['id']}/grants", json=customer()).json()
    client.entitlements.grants.fulfill_license_key(grant["id"], key=f"K-{uuid.uuid4().hex}")
    retrying = client.with_options(max_retries=2)
    with pytest.raises(dodopayments.ConflictError) as error:
        retrying.entitlements.grants.fulfill_license_key(grant["id"], key=f"K-{uuid.uuid4().hex}")
    assert error.value.body["code"] == "GRANT_NOT_PENDING"
