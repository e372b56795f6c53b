"""License keys and the public routes through the official Dodo Payments SDK."""

import pytest
from dodopayments import DodoPayments

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
