"""Entitlements (SPEC 1.1) end to end, over HTTP, against the local stack."""

import concurrent.futures
import uuid

import pytest

LICENSE = {
    "name": "Pro license",
    "integration_type": "license_key",
    "integration_config": {"activations_limit": 3, "duration_count": 1, "duration_interval": "Year"},
    "description": "Desktop app",
    "metadata": {"tier": "pro", "seats": 3, "beta": True},
}


def create(api, body=LICENSE, **headers):
    return api.post("/entitlements", json=body, headers=headers)


def stored_entitlements(table, business_id):
    """Every entitlement item of a business, read straight from the table."""
    items = table.query(
        KeyConditionExpression="pk = :pk AND begins_with(sk, :ent)",
        ExpressionAttributeValues={":pk": f"BIZ#{business_id}", ":ent": "ENT#"},
    )["Items"]
    return items


def test_create_get_list_update_delete(business):
    created = create(business)
    assert created.status_code == 201, created.text
    ent = created.json()
    assert ent["id"].startswith("ent_")
    assert ent["business_id"] == business.business_id
    assert ent["is_active"] is True
    assert ent["integration_config"] == {
        "activations_limit": 3,
        "duration_count": 1,
        "duration_interval": "Year",
        "activation_message": None,
        "fulfillment_mode": "auto",
    }
    assert ent["metadata"] == LICENSE["metadata"]
    assert ent["created_at"].endswith("Z") and ent["created_at"] == ent["updated_at"]

    fetched = business.get(f"/entitlements/{ent['id']}")
    assert fetched.status_code == 200
    assert fetched.json() == ent

    listed = business.get("/entitlements").json()
    assert [e["id"] for e in listed["items"]] == [ent["id"]]
    assert listed["next_cursor"] is None

    patched = business.patch(f"/entitlements/{ent['id']}", json={"name": "Pro 2", "description": None})
    assert patched.status_code == 200, patched.text
    assert patched.json()["name"] == "Pro 2"
    assert patched.json()["description"] is None
    assert patched.json()["integration_config"] == ent["integration_config"]
    assert patched.json()["updated_at"] >= ent["updated_at"]
    assert business.get(f"/entitlements/{ent['id']}").json()["name"] == "Pro 2"

    deleted = business.delete(f"/entitlements/{ent['id']}")
    assert deleted.status_code == 204
    assert deleted.content == b""


def test_soft_delete_keeps_the_item_but_hides_it(business, table):
    ent = create(business).json()
    assert business.delete(f"/entitlements/{ent['id']}").status_code == 204

    assert business.get(f"/entitlements/{ent['id']}").status_code == 404
    assert business.get("/entitlements").json()["items"] == []
    assert business.patch(f"/entitlements/{ent['id']}", json={"name": "x"}).status_code == 404
    assert business.delete(f"/entitlements/{ent['id']}").status_code == 404

    [item] = stored_entitlements(table, business.business_id)
    assert item["is_active"] is False
    assert item["name"] == LICENSE["name"]


def test_integration_type_cannot_change(business):
    ent = create(business).json()
    answer = business.patch(f"/entitlements/{ent['id']}", json={"integration_type": "discord"})
    assert answer.status_code == 422
    assert answer.json()["code"] == "VALIDATION_ERROR"
    assert "integration_type" in answer.json()["message"]
    assert business.get(f"/entitlements/{ent['id']}").json()["integration_type"] == "license_key"
    same = business.patch(f"/entitlements/{ent['id']}", json={"integration_type": "license_key", "name": "n"})
    assert same.status_code == 200


def test_patch_config_is_validated_against_the_type(business):
    ent = create(business).json()
    bad = business.patch(f"/entitlements/{ent['id']}", json={"integration_config": {"activations_limit": 0}})
    assert bad.status_code == 422
    assert "integration_config.activations_limit" in bad.json()["message"]
    good = business.patch(f"/entitlements/{ent['id']}", json={"integration_config": {"fulfillment_mode": "manual"}})
    assert good.json()["integration_config"]["fulfillment_mode"] == "manual"
    assert good.json()["integration_config"]["activations_limit"] is None


@pytest.mark.parametrize(
    "body, field",
    [
        ({"integration_type": "license_key", "integration_config": {}}, "name"),
        ({"name": "", "integration_type": "license_key", "integration_config": {}}, "name"),
        ({"name": "x" * 256, "integration_type": "license_key", "integration_config": {}}, "name"),
        ({"name": 7, "integration_type": "license_key", "integration_config": {}}, "name"),
        ({"name": "a", "integration_type": "fax", "integration_config": {}}, "integration_type"),
        ({"name": "a", "integration_config": {}}, "integration_type"),
        ({"name": "a", "integration_type": "github"}, "integration_config"),
        ({"name": "a", "integration_type": "github", "integration_config": []}, "integration_config"),
        ({"name": "a", "integration_type": "license_key", "integration_config": {"activations_limit": -1}}, "integration_config.activations_limit"),
        ({"name": "a", "integration_type": "license_key", "integration_config": {"activations_limit": "3"}}, "integration_config.activations_limit"),
        ({"name": "a", "integration_type": "license_key", "integration_config": {"duration_count": 2}}, "integration_config.duration_count"),
        ({"name": "a", "integration_type": "license_key", "integration_config": {"duration_count": 2, "duration_interval": "Decade"}}, "integration_config.duration_interval"),
        ({"name": "a", "integration_type": "license_key", "integration_config": {"fulfillment_mode": "by_hand"}}, "integration_config.fulfillment_mode"),
        ({"name": "a", "integration_type": "license_key", "integration_config": {"activation_message": "m" * 2501}}, "integration_config.activation_message"),
        ({"name": "a", "integration_type": "github", "integration_config": {}, "description": "d" * 2501}, "description"),
        ({"name": "a", "integration_type": "github", "integration_config": {}, "metadata": {"k": {"nested": 1}}}, "metadata.k"),
        ({"name": "a", "integration_type": "github", "integration_config": {}, "metadata": "tags"}, "metadata"),
    ],
)
def test_validation_errors_name_the_field_and_change_nothing(business, table, body, field):
    answer = create(business, body)
    assert answer.status_code == 422, answer.text
    assert answer.json()["code"] == "VALIDATION_ERROR"
    assert answer.json()["message"].startswith(field), answer.json()["message"]
    assert stored_entitlements(table, business.business_id) == []


def test_unknown_fields_are_ignored(business):
    answer = create(business, {**LICENSE, "colour": "blue"})
    assert answer.status_code == 201
    assert "colour" not in answer.json()


def test_malformed_json_is_400(business, table):
    answer = business.post("/entitlements", content=b'{"name": "x",', headers={"content-type": "application/json"})
    assert answer.status_code == 400
    assert answer.json()["code"] == "INVALID_JSON"
    assert stored_entitlements(table, business.business_id) == []


def test_oversized_body_is_413(business, table):
    body = {**LICENSE, "description": "x" * (65 * 1024)}
    answer = create(business, body)
    assert answer.status_code == 413
    assert answer.json()["code"] == "PAYLOAD_TOO_LARGE"
    assert stored_entitlements(table, business.business_id) == []


@pytest.mark.parametrize(
    "query, field",
    [("page_size=0", "page_size"), ("page_size=101", "page_size"), ("page_number=-1", "page_number"),
     ("integration_type=fax", "integration_type"), ("cursor=garbage", "cursor")],
)
def test_bad_list_parameters_are_422(business, query, field):
    answer = business.get(f"/entitlements?{query}")
    assert answer.status_code == 422
    assert answer.json()["message"].startswith(field)


def test_another_business_sees_404(business, other_business):
    ent = create(business).json()
    for answer in (
        other_business.get(f"/entitlements/{ent['id']}"),
        other_business.patch(f"/entitlements/{ent['id']}", json={"name": "stolen"}),
        other_business.delete(f"/entitlements/{ent['id']}"),
    ):
        assert answer.status_code == 404
        assert answer.json()["code"] == "NOT_FOUND"
    assert other_business.get("/entitlements").json()["items"] == []
    assert business.get(f"/entitlements/{ent['id']}").json()["name"] == LICENSE["name"]


def test_missing_or_unknown_key_is_401(anonymous, api_url):
    assert anonymous.get("/entitlements").status_code == 401
    assert anonymous.post("/entitlements", json=LICENSE).status_code == 401
    answer = anonymous.get("/entitlements", headers={"Authorization": "Bearer lsk_not_a_real_key"})
    assert answer.status_code == 401
    assert answer.json()["code"] == "UNAUTHORIZED"
    assert anonymous.get("/entitlements", headers={"Authorization": "Basic abc"}).status_code == 401


def test_host_key_on_a_business_route_is_403(host_api):
    for answer in (host_api.get("/entitlements"), host_api.post("/entitlements", json=LICENSE)):
        assert answer.status_code == 403
        assert answer.json()["code"] == "FORBIDDEN"


def test_idempotent_replay_creates_once(business, table):
    key = str(uuid.uuid4())
    first = create(business, **{"Idempotency-Key": key})
    again = create(business, **{"Idempotency-Key": key})
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers.get("idempotent-replayed") == "true"
    assert "idempotent-replayed" not in first.headers
    assert len(stored_entitlements(table, business.business_id)) == 1

    reused = create(business, {**LICENSE, "name": "Other"}, **{"Idempotency-Key": key})
    assert reused.status_code == 422
    assert reused.json()["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert len(stored_entitlements(table, business.business_id)) == 1


def test_idempotency_keys_are_scoped_to_the_principal(business, other_business, table):
    key = str(uuid.uuid4())
    assert create(business, **{"Idempotency-Key": key}).status_code == 201
    second = create(other_business, **{"Idempotency-Key": key})
    assert second.status_code == 201
    assert "idempotent-replayed" not in second.headers
    assert len(stored_entitlements(table, other_business.business_id)) == 1


def test_idempotent_replay_of_an_error_is_the_same_error(business):
    key = str(uuid.uuid4())
    bad = {"name": "", "integration_type": "github", "integration_config": {}}
    first = create(business, bad, **{"Idempotency-Key": key})
    again = create(business, bad, **{"Idempotency-Key": key})
    assert first.status_code == again.status_code == 422
    assert again.json() == first.json()
    assert again.headers.get("idempotent-replayed") == "true"


def test_bad_idempotency_key_is_422(business, table):
    answer = create(business, **{"Idempotency-Key": "k" * 256})
    assert answer.status_code == 422
    assert "Idempotency-Key" in answer.json()["message"]
    assert stored_entitlements(table, business.business_id) == []


def test_concurrent_requests_with_one_key_create_one_entitlement(business, table):
    key = str(uuid.uuid4())
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(lambda _: create(business, **{"Idempotency-Key": key}), range(16)))
    statuses = sorted(a.status_code for a in answers)
    assert set(statuses) <= {201, 409}, statuses
    created_ids = {a.json()["id"] for a in answers if a.status_code == 201}
    assert len(created_ids) == 1
    assert all(a.json()["code"] == "IDEMPOTENCY_KEY_IN_USE" for a in answers if a.status_code == 409)
    assert len(stored_entitlements(table, business.business_id)) == 1


def test_pages_cover_everything_once_newest_first(business):
    made = [create(business, {**LICENSE, "name": f"E{i}"}).json()["id"] for i in range(23)]
    newest_first = list(reversed(made))

    # By cursor.
    seen, cursor = [], None
    while True:
        query = {"page_size": 5, **({"cursor": cursor} if cursor else {})}
        page = business.get("/entitlements", params=query).json()
        assert len(page["items"]) <= 5
        seen += [e["id"] for e in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == newest_first

    # By page number, as the Dodo SDK asks: first page, then 2, 3, ... until an empty page.
    seen, number = business.get("/entitlements", params={"page_size": 5}).json()["items"], 2
    seen = [e["id"] for e in seen]
    while True:
        items = business.get("/entitlements", params={"page_size": 5, "page_number": number}).json()["items"]
        if not items:
            break
        seen += [e["id"] for e in items]
        number += 1
    assert seen == newest_first
    assert business.get("/entitlements", params={"page_size": 5, "page_number": 99}).json() == {"items": [], "next_cursor": None}


def test_filter_by_integration_type(business):
    license_id = create(business).json()["id"]
    discord = create(business, {"name": "Chat", "integration_type": "discord", "integration_config": {"guild_id": "42"}}).json()
    assert discord["integration_config"] == {"guild_id": "42"}
    only_discord = business.get("/entitlements", params={"integration_type": "discord"}).json()["items"]
    assert [e["id"] for e in only_discord] == [discord["id"]]
    only_license = business.get("/entitlements", params={"integration_type": "license_key"}).json()["items"]
    assert [e["id"] for e in only_license] == [license_id]
