"""License keys and the public routes through the official Dodo Payments SDK."""

import datetime
import uuid

import pytest
from dodopayments import DodoPayments

from test_grants import AUTO, MANUAL, customer, fulfil, new_entitlement, unique_key
from test_license_keys import delivered_key


@pytest.fixture
def client(api_url, business):
    return DodoPayments(bearer_token=business.key, base_url=api_url, max_retries=0)


def test_sdk_license_routes(client, business):
    ent, grant, key = delivered_key(business, limit=2)

    activated = client.licenses.activate(license_key=key, name="build-agent")
    assert activated.id.startswith("lki_")
    assert activated.name == "build-agent"
    assert activated.product.product_id == ent["id"]
    assert activated.customer.customer_id == grant["customer_id"]
    # The SDK's CustomerLimitedDetails: metadata and phone_number are answered, null as unknown.
    assert {"metadata", "phone_number"} <= activated.customer.model_fields_set
    assert (activated.customer.metadata, activated.customer.phone_number) == (None, None)
    assert (activated.customer.email, activated.customer.name) == (grant["customer_email"], grant["customer_name"])

    assert client.licenses.validate(license_key=key).valid is True
    assert client.licenses.validate(license_key=key, license_key_instance_id=activated.id).valid is True

    instances = list(client.license_key_instances.list(license_key_id=grant["license_key"]["id"]))
    assert [i.id for i in instances] == [activated.id]
    assert instances[0].license_key_id == grant["license_key"]["id"]

    keys = list(client.license_keys.list(customer_id=grant["customer_id"]))
    assert [k.key for k in keys] == [key]
    assert keys[0].instances_count == 1 and keys[0].status == "active"

    updated = client.license_keys.update(grant["license_key"]["id"], activations_limit=5)
    assert updated.activations_limit == 5
    assert updated.instances_count == 1

    assert client.licenses.deactivate(license_key=key, license_key_instance_id=activated.id) is None
    assert client.licenses.validate(license_key=key, license_key_instance_id=activated.id).valid is False
    assert client.license_keys.retrieve(grant["license_key"]["id"]).instances_count == 0


def _when(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _import(api, customer_id, product_id):
    answer = api.post("/license_keys", json={"customer_id": customer_id, "key": unique_key(), "product_id": product_id})
    assert answer.status_code == 201, answer.text
    return answer.json()


def _auto_key(api, ent, who):
    answer = api.post(f"/entitlements/{ent['id']}/grants", json={**who, "payment_id": f"pay_{uuid.uuid4().hex[:10]}"})
    assert answer.status_code == 201, answer.text
    return answer.json()["license_key"]["id"]


def test_sdk_lists_license_keys_by_product_and_source(client, business, other_business, api_url):
    product_a = new_entitlement(business, {**AUTO, "name": "Product A"})
    product_b = new_entitlement(business, {**MANUAL, "name": "Product B"})
    who = customer()
    auto_1 = _auto_key(business, product_a, who)
    auto_2 = _auto_key(business, product_a, who)
    pending = business.post(f"/entitlements/{product_b['id']}/grants", json={**who, "payment_id": "pay_b"}).json()
    fulfilled = fulfil(business, pending["id"], key=unique_key())
    assert fulfilled.status_code == 200, fulfilled.text
    manual = fulfilled.json()["license_key"]["id"]
    imported = _import(business, who["customer_id"], product_a["id"])["id"]

    def ids(**filters):
        return [k.id for k in client.license_keys.list(page_size=100, **filters)]

    assert ids(product_id=product_a["id"]) == [imported, auto_2, auto_1]
    assert ids(product_id=product_b["id"]) == [manual]
    assert all(k.product_id == product_b["id"] for k in client.license_keys.list(product_id=product_b["id"]))
    assert ids(source="import") == [imported]
    assert ids(source="auto") == [auto_2, auto_1]
    assert ids(source="manual") == [manual]
    assert [k.source for k in client.license_keys.list(source="auto")] == ["auto", "auto"]
    assert ids(product_id=product_a["id"], source="manual") == []
    assert ids(product_id=product_a["id"], source="auto", customer_id=who["customer_id"]) == [auto_2, auto_1]
    assert ids(product_id=product_a["id"], customer_id=customer()["customer_id"]) == []
    assert ids(product_id=product_b["id"], status="active", source="manual") == [manual]
    assert ids(product_id="ent_doesnotexist") == []

    theirs = DodoPayments(bearer_token=other_business.key, base_url=api_url, max_retries=0)
    assert [k.id for k in theirs.license_keys.list(product_id=product_a["id"])] == []

    for params in [{"source": "stolen"}, {"created_at_gte": "yesterday"},
                   {"created_at_lte": "2026-13-01T00:00:00Z"}]:
        answer = business.get("/license_keys", params=params)
        assert answer.status_code == 422, (params, answer.text)
        assert answer.json()["code"] == "VALIDATION_ERROR"


def test_sdk_lists_license_keys_created_in_a_window(client, business):
    ent = new_entitlement(business)
    x, y = customer()["customer_id"], customer()["customer_id"]
    first = _import(business, x, ent["id"])
    theirs = _import(business, y, ent["id"])
    middle = _import(business, x, ent["id"])
    last = _import(business, x, ent["id"])
    c1, cy, c2, c3 = (_when(k["created_at"]) for k in (first, theirs, middle, last))
    assert c1 < cy < c2 < c3, "the keys must be created at distinct moments"

    def ids(**filters):
        return [k.id for k in client.license_keys.list(page_size=100, **filters)]

    # Inclusive at both ends, compared as instants; the SDK sends datetimes in ISO 8601.
    assert ids(created_at_gte=c2, created_at_lte=c2) == [middle["id"]]
    assert ids(created_at_gte=c2, created_at_lte=c2, customer_id=x) == [middle["id"]]
    assert ids(created_at_gte=c2, created_at_lte=c2, customer_id=y) == []
    assert ids(created_at_gte=cy, customer_id=x) == [last["id"], middle["id"]]
    assert ids(created_at_lte=cy, customer_id=x) == [first["id"]]
    assert ids(created_at_gte=c1, created_at_lte=c3) == [last["id"], middle["id"], theirs["id"], first["id"]]
    assert ids(created_at_gte=c1, created_at_lte=c3, customer_id=y) == [theirs["id"]]
    assert ids(created_at_lte=first["created_at"], customer_id=x) == [first["id"]]
    in_paris = c2.astimezone(datetime.timezone(datetime.timedelta(hours=2))).isoformat()
    assert ids(created_at_gte=in_paris, customer_id=x) == [last["id"], middle["id"]]
    after = c3 + datetime.timedelta(milliseconds=1)
    assert ids(created_at_gte=after) == []
    assert ids(created_at_gte=c1, created_at_lte=c3, status="active", source="import", customer_id=x) == [
        last["id"], middle["id"], first["id"]]


def test_sdk_lists_what_a_customer_is_entitled_to(client, business, other_business, api_url):
    who, someone_else = customer(), customer()
    seats = new_entitlement(business, {**AUTO, "name": "Pro seats", "description": "Seats for the Pro plan"})
    studio = new_entitlement(business, {**MANUAL, "name": "Studio", "description": "Studio, fulfilled by hand"})
    legacy = new_entitlement(business, {**AUTO, "name": "Legacy", "description": "The old plan"})

    def grant(ent, person):
        answer = business.post(f"/entitlements/{ent['id']}/grants",
                               json={**person, "payment_id": f"pay_{uuid.uuid4().hex[:10]}"})
        assert answer.status_code == 201, answer.text
        return answer.json()

    delivered = grant(seats, who)
    pending = grant(studio, who)
    revoked = grant(legacy, who)
    assert (delivered["status"], pending["status"]) == ("Delivered", "Pending")
    gone = business.delete(f"/entitlements/{legacy['id']}/grants/{revoked['id']}")
    assert gone.status_code == 200 and gone.json()["status"] == "Revoked"
    elsewhere = grant(seats, someone_else)

    listed = client.customers.list_entitlements(who["customer_id"])
    assert [i.grant_id for i in listed.items] == [pending["id"], delivered["id"]]  # newest first, no revoked
    newest, oldest = listed.items
    assert (newest.entitlement_id, newest.entitlement_name, newest.entitlement_description) == (
        studio["id"], "Studio", "Studio, fulfilled by hand")
    assert (newest.integration_type, newest.status) == ("license_key", "pending")
    assert newest.delivered_at is None and newest.revoked_at is None
    assert newest.created_at == _when(pending["created_at"])
    assert (oldest.entitlement_id, oldest.entitlement_name, oldest.entitlement_description) == (
        seats["id"], "Pro seats", "Seats for the Pro plan")
    assert (oldest.integration_type, oldest.status) == ("license_key", "delivered")
    assert oldest.delivered_at == _when(delivered["delivered_at"]) and oldest.revoked_at is None
    assert oldest.updated_at >= oldest.created_at

    raw = business.get(f"/customers/{who['customer_id']}/entitlements").json()["items"]
    assert [i["status"] for i in raw] == ["pending", "delivered"]

    assert [i.grant_id for i in client.customers.list_entitlements(someone_else["customer_id"]).items] == [elsewhere["id"]]
    assert client.customers.list_entitlements(customer()["customer_id"]).items == []
    theirs = DodoPayments(bearer_token=other_business.key, base_url=api_url, max_retries=0)
    assert theirs.customers.list_entitlements(who["customer_id"]).items == []
