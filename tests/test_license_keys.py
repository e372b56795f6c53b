"""License keys (SPEC 1.3) and the public activate / validate / deactivate routes (1.4)."""

import concurrent.futures
import time
import uuid

import pytest

from test_grants import MANUAL, customer, fulfil, new_entitlement, unique_key


def delivered_key(api, limit=3):
    ent = new_entitlement(api, {**MANUAL, "integration_config": {**MANUAL["integration_config"], "activations_limit": limit}})
    grant = api.post(f"/entitlements/{ent['id']}/grants", json=customer()).json()
    key = unique_key()
    done = fulfil(api, grant["id"], key=key)
    assert done.status_code == 200, done.text
    return ent, done.json(), key


def activate(anonymous, key, name="laptop"):
    return anonymous.post("/licenses/activate", json={"license_key": key, "name": name})


def validate(anonymous, key, instance=None):
    """The verdict of a validation; tests/test_devices.py checks the rest of the answer."""
    body = {"license_key": key, **({"license_key_instance_id": instance} if instance else {})}
    answer = anonymous.post("/licenses/validate", json=body)
    assert answer.status_code == 200, answer.text
    return {name: answer.json()[name] for name in ("valid", "code")}


def test_activate_validate_deactivate(business, anonymous):
    ent, grant, key = delivered_key(business)
    answer = activate(anonymous, key, "Ada's laptop")
    assert answer.status_code == 201, answer.text
    instance = answer.json()
    assert instance["id"].startswith("lki_")
    assert instance["name"] == "Ada's laptop"
    assert instance["license_key_id"] == grant["license_key"]["id"]
    assert instance["business_id"] == business.business_id
    assert instance["customer"] == {"customer_id": grant["customer_id"], "email": grant["customer_email"], "name": "Ada Buyer",
                                    "metadata": None, "phone_number": None}
    assert instance["product"] == {"product_id": ent["id"], "name": ent["name"]}

    assert validate(anonymous, key) == {"valid": True, "code": "VALID"}
    assert validate(anonymous, key, instance["id"]) == {"valid": True, "code": "VALID"}
    lk = business.get(f"/license_keys/{grant['license_key']['id']}").json()
    assert lk["instances_count"] == 1
    assert business.get(f"/grants/{grant['id']}").json()["license_key"]["activations_used"] == 1

    gone = anonymous.post("/licenses/deactivate", json={"license_key": key, "license_key_instance_id": instance["id"]})
    assert gone.status_code == 200
    assert validate(anonymous, key, instance["id"]) == {"valid": False, "code": "INSTANCE_NOT_FOUND"}
    assert business.get(f"/license_keys/{lk['id']}").json()["instances_count"] == 0
    assert business.get(f"/grants/{grant['id']}").json()["license_key"]["activations_used"] == 0
    listed = business.get("/license_key_instances", params={"license_key_id": lk["id"]}).json()["items"]
    assert listed == []
    again = anonymous.post("/licenses/deactivate", json={"license_key": key, "license_key_instance_id": instance["id"]})
    assert again.status_code == 404


def test_limit_holds_and_deactivation_frees_a_slot(business, anonymous):
    _, grant, key = delivered_key(business, limit=2)
    first = activate(anonymous, key).json()
    assert activate(anonymous, key).status_code == 201
    full = activate(anonymous, key)
    assert full.status_code == 422 and full.json()["code"] == "LICENSE_KEY_LIMIT_REACHED"
    anonymous.post("/licenses/deactivate", json={"license_key": key, "license_key_instance_id": first["id"]})
    assert activate(anonymous, key).status_code == 201
    assert business.get(f"/grants/{grant['id']}").json()["license_key"]["activations_used"] == 2


def test_hundred_concurrent_activations_with_limit_five(business, anonymous):
    _, grant, key = delivered_key(business, limit=5)
    with concurrent.futures.ThreadPoolExecutor(100) as pool:
        answers = list(pool.map(lambda i: activate(anonymous, key, f"machine-{i}"), range(100)))
    statuses = [a.status_code for a in answers]
    print(f"\n100 concurrent activations, limit 5: {statuses.count(201)} x 201, {statuses.count(422)} x 422, "
          f"other {sorted(set(statuses) - {201, 422})}")
    assert statuses.count(201) == 5, statuses
    assert statuses.count(422) == 95, statuses
    assert all(a.json()["code"] == "LICENSE_KEY_LIMIT_REACHED" for a in answers if a.status_code == 422)
    lk = business.get(f"/license_keys/{grant['license_key']['id']}").json()
    assert lk["instances_count"] == 5
    assert business.get(f"/grants/{grant['id']}").json()["license_key"]["activations_used"] == 5
    instances = business.get("/license_key_instances", params={"license_key_id": lk["id"], "page_size": 100}).json()
    assert len(instances["items"]) == 5
    by_grant = business.get("/license_key_instances", params={"grant_id": grant["id"], "page_size": 100}).json()
    assert {i["id"] for i in by_grant["items"]} == {i["id"] for i in instances["items"]}


def test_revoked_grant_key_is_inactive(business, anonymous):
    ent, grant, key = delivered_key(business)
    business.delete(f"/entitlements/{ent['id']}/grants/{grant['id']}")
    answer = activate(anonymous, key)
    assert answer.status_code == 403 and answer.json()["code"] == "INACTIVE_LICENSE_KEY"
    assert validate(anonymous, key) == {"valid": False, "code": "DISABLED"}
    lk = business.get(f"/license_keys/{grant['license_key']['id']}").json()
    assert lk["status"] == "disabled"
    # Re-enabling by patch does not bring back a revoked grant's key.
    business.patch(f"/license_keys/{lk['id']}", json={"disabled": False})
    assert validate(anonymous, key)["code"] == "DISABLED"


def test_disabled_and_expired_keys(business, anonymous):
    _, grant, key = delivered_key(business)
    lk_id = grant["license_key"]["id"]
    disabled = business.patch(f"/license_keys/{lk_id}", json={"disabled": True})
    assert disabled.status_code == 200 and disabled.json()["status"] == "disabled"
    assert activate(anonymous, key).status_code == 403
    assert validate(anonymous, key)["code"] == "DISABLED"
    assert business.get(f"/grants/{grant['id']}").json()["license_key"]["status"] == "disabled"

    expired = business.patch(f"/license_keys/{lk_id}", json={"disabled": False, "expires_at": "2020-01-01T00:00:00Z"})
    # The answer is the key as stored, the same as reading it back.
    assert expired.json() == business.get(f"/license_keys/{lk_id}").json()
    assert expired.json()["status"] == "expired" and expired.json()["expires_at"].startswith("2020-01-01T00:00:00")
    answer = activate(anonymous, key)
    assert answer.status_code == 403 and answer.json()["code"] == "INACTIVE_LICENSE_KEY"
    assert validate(anonymous, key) == {"valid": False, "code": "EXPIRED"}
    assert business.get(f"/license_keys/{lk_id}").json()["status"] == "expired"
    assert business.get(f"/grants/{grant['id']}").json()["license_key"]["status"] == "expired"

    business.patch(f"/license_keys/{lk_id}", json={"expires_at": None})
    assert activate(anonymous, key).status_code == 201


def test_limit_cannot_go_below_live_activations(business, anonymous):
    _, grant, key = delivered_key(business, limit=3)
    activate(anonymous, key)
    activate(anonymous, key)
    lk_id = grant["license_key"]["id"]
    answer = business.patch(f"/license_keys/{lk_id}", json={"activations_limit": 1})
    assert answer.status_code == 422 and answer.json()["code"] == "ACTIVATION_LIMIT_LESS_THAN_CURRENT_AMOUNT"
    assert business.get(f"/license_keys/{lk_id}").json()["activations_limit"] == 3
    ok = business.patch(f"/license_keys/{lk_id}", json={"activations_limit": 2})
    assert ok.status_code == 200 and ok.json()["activations_limit"] == 2
    assert business.get(f"/grants/{grant['id']}").json()["license_key"]["activations_limit"] == 2
    unlimited = business.patch(f"/license_keys/{lk_id}", json={"activations_limit": None})
    assert unlimited.json()["activations_limit"] is None


def test_unknown_key_and_bad_bodies(anonymous):
    missing = activate(anonymous, f"NOPE-{uuid.uuid4().hex}")
    assert missing.status_code == 404 and missing.json()["code"] == "LICENSE_KEY_NOT_FOUND"
    assert validate(anonymous, f"NOPE-{uuid.uuid4().hex}") == {"valid": False, "code": "NOT_FOUND"}
    for route, body, status in [
        ("/licenses/activate", b"{", 400),
        ("/licenses/activate", b'{"license_key": "K"}', 422),
        ("/licenses/activate", b'{"license_key": 5, "name": "x"}', 422),
        ("/licenses/activate", b'{"license_key": "", "name": "x"}', 422),
        ("/licenses/validate", b"[]", 422),
        ("/licenses/validate", b'{"license_key": null}', 422),
        ("/licenses/deactivate", b'{"license_key": "K"}', 422),
        ("/licenses/deactivate", b"nonsense", 400),
    ]:
        answer = anonymous.post(route, content=body, headers={"content-type": "application/json"})
        assert answer.status_code == status, (route, body, answer.text)
    foreign = anonymous.post("/licenses/deactivate", json={"license_key": "K", "license_key_instance_id": "lki_x"})
    assert foreign.status_code == 404


def test_instance_of_another_key_is_not_found(business, anonymous):
    _, _, key_a = delivered_key(business)
    _, _, key_b = delivered_key(business)
    instance = activate(anonymous, key_a).json()
    answer = anonymous.post("/licenses/deactivate", json={"license_key": key_b, "license_key_instance_id": instance["id"]})
    assert answer.status_code == 404
    assert validate(anonymous, key_b, instance["id"])["code"] == "INSTANCE_NOT_FOUND"
    assert validate(anonymous, key_a, instance["id"])["code"] == "VALID"


def test_admin_routes_and_other_business(business, other_business, anonymous):
    ent, grant, key = delivered_key(business)
    lk_id = grant["license_key"]["id"]
    lk = business.get(f"/license_keys/{lk_id}").json()
    assert lk["key"] == key and lk["source"] == "manual" and lk["status"] == "active"
    assert lk["product_id"] == ent["id"] and lk["customer_id"] == grant["customer_id"]
    assert other_business.get(f"/license_keys/{lk_id}").status_code == 404
    assert other_business.patch(f"/license_keys/{lk_id}", json={"disabled": True}).status_code == 404
    assert business.get(f"/license_keys/{lk_id}").json()["status"] == "active"

    instance = activate(anonymous, key).json()
    assert business.get(f"/license_key_instances/{instance['id']}").json()["name"] == "laptop"
    renamed = business.patch(f"/license_key_instances/{instance['id']}", json={"name": "desktop"})
    assert renamed.status_code == 200 and renamed.json()["name"] == "desktop"
    assert other_business.get(f"/license_key_instances/{instance['id']}").status_code == 404
    assert other_business.patch(f"/license_key_instances/{instance['id']}", json={"name": "x"}).status_code == 404
    assert business.patch(f"/license_key_instances/{instance['id']}", json={"name": ""}).status_code == 422
    assert other_business.get("/license_key_instances", params={"license_key_id": lk_id}).json()["items"] == []

    listed = business.get("/license_keys", params={"customer_id": grant["customer_id"]}).json()["items"]
    assert [k["id"] for k in listed] == [lk_id]
    assert other_business.get("/license_keys").json()["items"] == []


def test_import_and_status_filter(business, other_business, anonymous):
    ent = new_entitlement(business)
    key = unique_key()
    imported = business.post("/license_keys", json={"customer_id": "cus_imp", "key": key, "product_id": ent["id"], "activations_limit": 1})
    assert imported.status_code == 201, imported.text
    body = imported.json()
    assert body["source"] == "import" and body["status"] == "active" and body["instances_count"] == 0
    assert activate(anonymous, key).status_code == 201
    dup = other_business.post("/license_keys", json={"customer_id": "c", "key": key, "product_id": new_entitlement(other_business)["id"]})
    assert dup.status_code == 409 and dup.json()["code"] == "LICENSE_KEY_ALREADY_EXISTS"
    assert business.post("/license_keys", json={"customer_id": "c", "key": unique_key(), "product_id": "ent_nope"}).status_code == 404

    expired_key = unique_key()
    business.post("/license_keys", json={"customer_id": "cus_imp", "key": expired_key, "product_id": ent["id"], "expires_at": "2021-01-01T00:00:00Z"})
    disabled = business.post("/license_keys", json={"customer_id": "cus_imp", "key": unique_key(), "product_id": ent["id"]}).json()
    business.patch(f"/license_keys/{disabled['id']}", json={"disabled": True})
    by_status = {s: [k["id"] for k in business.get("/license_keys", params={"status": s, "customer_id": "cus_imp"}).json()["items"]]
                 for s in ("active", "expired", "disabled")}
    assert by_status["active"] == [body["id"]]
    assert len(by_status["expired"]) == 1 and by_status["disabled"] == [disabled["id"]]
    assert business.get("/license_keys", params={"status": "lost"}).status_code == 422


# Refusals of a key another business holds, per business per minute, before
# the answer is 429 (App::admit_key_conflict, KEY_CONFLICT_LIMIT).
KEY_CONFLICT_LIMIT = 20


def throttled_probes(business, probe):
    """Probes until a 429, and returns it with the 409s before it. A window
    ends at each minute, so a run that straddles one may see 2 x the limit."""
    conflicts = []
    for _ in range(2 * KEY_CONFLICT_LIMIT + 1):
        answer = probe()
        if answer.status_code == 429:
            return answer, conflicts
        assert answer.status_code == 409 and answer.json()["code"] == "LICENSE_KEY_ALREADY_EXISTS", answer.text
        conflicts.append(answer)
    raise AssertionError(f"{len(conflicts)} probes of another business's key, none throttled")


def test_probing_for_other_businesses_keys_is_throttled(business, other_business, api_url):
    theirs = unique_key()
    ent_theirs = new_entitlement(other_business)
    imported = other_business.post("/license_keys", json={"customer_id": "cus_theirs", "key": theirs, "product_id": ent_theirs["id"]})
    assert imported.status_code == 201, imported.text
    ent = new_entitlement(business)

    def import_theirs():
        return business.post("/license_keys", json={"customer_id": "cus_probe", "key": theirs, "product_id": ent["id"]})

    # Its own key refused again is no probe: a seller re-running an import is never held back.
    own = unique_key()
    assert business.post("/license_keys", json={"customer_id": "cus_own", "key": own, "product_id": ent["id"]}).status_code == 201
    for _ in range(KEY_CONFLICT_LIMIT + 5):
        again = business.post("/license_keys", json={"customer_id": "cus_own", "key": own, "product_id": ent["id"]})
        assert again.status_code == 409, again.text

    while True:
        throttled, conflicts = throttled_probes(business, import_theirs)
        assert len(conflicts) <= 2 * KEY_CONFLICT_LIMIT
        retry_after = int(throttled.headers["Retry-After"])
        if retry_after >= 5:
            break
        # Too close to the window's end for what follows: take the next one.
        time.sleep(retry_after + 0.5)
    assert 1 <= retry_after <= 60
    assert throttled.json()["code"] == "RATE_LIMITED"
    assert throttled.headers.get("x-should-retry") != "false"  # a retryable answer

    # While held back, every supplied key gets 429, free or held: the answer
    # tells nothing, and nothing is created.
    free = unique_key()
    for answer in (
        import_theirs(),
        business.post("/license_keys", json={"customer_id": "cus_probe", "key": free, "product_id": ent["id"]}),
        fulfil(business, business.post(f"/entitlements/{ent['id']}/grants", json=customer()).json()["id"], key=theirs),
        fulfil(business, business.post(f"/entitlements/{ent['id']}/grants", json=customer()).json()["id"], key=free),
    ):
        assert answer.status_code == 429 and answer.json()["code"] == "RATE_LIMITED", answer.text
        assert 1 <= int(answer.headers["Retry-After"]) <= retry_after
    assert business.get("/license_keys", params={"customer_id": "cus_probe"}).json()["items"] == []

    # Another business is not held back.
    mine = unique_key()
    created = other_business.post("/license_keys", json={"customer_id": "cus_theirs", "key": mine, "product_id": ent_theirs["id"]})
    assert created.status_code == 201, created.text
    dup = other_business.post("/license_keys", json={"customer_id": "cus_theirs", "key": mine, "product_id": ent_theirs["id"]})
    assert dup.status_code == 409 and dup.json()["code"] == "LICENSE_KEY_ALREADY_EXISTS"
