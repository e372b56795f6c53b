"""The official Dodo Payments SDK drives the entitlement routes unchanged."""

import dodopayments
import pytest
from dodopayments import DodoPayments


@pytest.fixture
def client(api_url, business):
    return DodoPayments(bearer_token=business.key, base_url=api_url, max_retries=0)


def test_sdk_create_retrieve_update_delete(client):
    created = client.entitlements.create(
        name="Team plan",
        integration_type="license_key",
        integration_config={"activations_limit": 5, "fulfillment_mode": "manual"},
        description="For teams",
        metadata={"plan": "team"},
    )
    assert created.id.startswith("ent_")
    assert created.integration_type == "license_key"
    assert created.integration_config.activations_limit == 5
    assert created.integration_config.fulfillment_mode == "manual"
    assert created.is_active is True
    assert created.created_at.tzinfo is not None

    fetched = client.entitlements.retrieve(created.id)
    assert fetched.name == "Team plan"
    assert fetched.metadata == {"plan": "team"}

    updated = client.entitlements.update(created.id, name="Team plan v2", metadata={"plan": "team", "v": 2})
    assert updated.name == "Team plan v2"
    assert updated.metadata == {"plan": "team", "v": 2}
    assert updated.updated_at >= created.updated_at

    assert client.entitlements.delete(created.id) is None
    with pytest.raises(dodopayments.NotFoundError):
        client.entitlements.retrieve(created.id)


def test_sdk_auto_pager_walks_every_page_and_stops(client):
    made = [
        client.entitlements.create(name=f"Plan {i}", integration_type="github", integration_config={"target_id": "org/repo", "permission": "pull"}).id
        for i in range(12)
    ]
    seen = [e.id for e in client.entitlements.list(page_size=5)]
    assert seen == list(reversed(made))

    first_page = client.entitlements.list(page_size=5)
    assert len(first_page.items) == 5
    assert first_page.has_next_page()


def test_sdk_errors_are_typed(client):
    with pytest.raises(dodopayments.UnprocessableEntityError) as error:
        client.entitlements.create(name="", integration_type="license_key", integration_config={})
    assert error.value.body["code"] == "VALIDATION_ERROR"
    with pytest.raises(dodopayments.NotFoundError):
        client.entitlements.update("ent_01HF0000000000000000000000", name="x")
