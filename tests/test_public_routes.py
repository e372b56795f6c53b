"""The public license routes against one caller and against guessing (README: public routes)."""

import time
import uuid

from lambda_runtime import http_event, run_once
from test_grants import AUTO, MANUAL, customer, fulfil, new_entitlement, pending_grant


def test_weak_supplied_keys_are_refused_and_nothing_is_stored(business):
    _, grant = pending_grant(business, MANUAL)
    for weak in ("K", "ACME-0001", "AAAAAAAAAAAAAAAAAAAAAAAA", "abcabcabcabcabcabc"):
        answer = fulfil(business, grant["id"], key=weak)
        assert answer.status_code == 422 and answer.json()["message"].startswith("key:"), (weak, answer.text)
    assert business.get(f"/grants/{grant['id']}").json()["status"] == "Pending"
    ent = new_entitlement(business, MANUAL)
    imported = business.post("/license_keys", json={"customer_id": "c1", "key": "SHORT-1", "product_id": ent["id"]})
    assert imported.status_code == 422 and imported.json()["message"].startswith("key:")
    assert business.get("/license_keys", params={"customer_id": "c1"}).json()["items"] == []


def validate_from(address, key, limit):
    event = http_event("POST", "/licenses/validate", "/licenses/validate", None, {}, {"license_key": key})
    event["requestContext"]["http"]["sourceIp"] = address
    answer, _ = run_once("validate-license", event, {"PUBLIC_RATE_LIMIT": str(limit)})
    return answer


def test_one_address_is_limited_and_others_are_not(business):
    ent = new_entitlement(business, AUTO)
    key = business.post(f"/entitlements/{ent['id']}/grants", json=customer()).json()["license_key"]["key"]
    # Documentation addresses (RFC 5737): only strings in an event, no traffic goes there.
    busy, other = f"203.0.113.{uuid.uuid4().int % 250 + 1}", "198.51.100.7"
    while time.time() % 10 > 5:  # all within one 10 s window
        time.sleep(0.2)
    answers = [validate_from(busy, key, 4) for _ in range(5)]
    assert [a["statusCode"] for a in answers] == [200, 200, 200, 200, 429], answers
    headers = {k.lower(): v for k, v in answers[-1]["headers"].items()}
    assert 1 <= int(headers["retry-after"]) <= 10
    assert '"RATE_LIMITED"' in answers[-1]["body"]
    assert validate_from(other, key, 4)["statusCode"] == 200
