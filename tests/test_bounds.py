"""Input outside the documented bounds is a clear 4xx and changes nothing (SPEC 0, Bounds)."""

import uuid

import pytest

from test_allocation import Lrm, new_org, products_list
from test_grants import MANUAL, new_entitlement, pending_grant

LONG = "x" * 1100


@pytest.mark.parametrize("path", [
    f"/grants/entg_{LONG}",
    f"/entitlements/{LONG}",
    f"/entitlements/{LONG}/grants",
    f"/license_keys/{LONG}",
    f"/license_key_instances/{LONG}",
    f"/customers/{LONG}/entitlement-grants",
    f"/appsmarket/v2/customerLicense/{LONG}/cus_1",
])
def test_overlong_path_ids_are_not_found(business, path):
    answer = business.get(path)
    assert answer.status_code == 404, (path, answer.status_code, answer.text)
    if path.startswith("/appsmarket/"):  # the license status family answers in Google's form (SPEC 0, Errors)
        error = answer.json()["error"]
        assert (error["code"], error["status"]) == (404, "NOT_FOUND"), (path, answer.text)
    else:
        assert answer.json()["code"] == "NOT_FOUND", (path, answer.text)


def test_overlong_ids_in_allocation_paths_are_not_found(api_url):
    # SPEC 0, Bounds: an id in the path outside its bound is a 404, as an id of no resource of the caller's.
    lrm = Lrm(api_url)
    for path in (f"/lrm/api/host/{LONG}/license", f"/lrm/api/account/{LONG}/audit",
                 f"/lrm/api/account/{LONG}/service-license/s/orchestrator"):
        answer = lrm.host.get(path)
        assert answer.status_code == 404, (path, answer.status_code, answer.text)
        assert answer.json()["code"].endswith("NOT_FOUND"), (path, answer.text)


@pytest.mark.parametrize("query", [
    {"license_key_id": LONG}, {"grant_id": LONG}, {"cursor": LONG}, {"cursor": "%%%"}, {"page_number": "100000"},
])
def test_overlong_or_absurd_query_values_are_422(business, query):
    answer = business.get("/license_key_instances", params=query)
    assert answer.status_code == 422, (query, answer.status_code, answer.text)
    assert answer.json()["code"] == "VALIDATION_ERROR"


def test_public_instance_id_is_bounded(anonymous):
    answer = anonymous.post("/licenses/validate", json={"license_key": "K" * 20, "license_key_instance_id": LONG})
    assert answer.status_code == 422, answer.text
    assert answer.json()["code"] == "VALIDATION_ERROR"
    assert answer.json()["message"].startswith("license_key_instance_id"), answer.text


def test_an_absurd_duration_is_refused_and_no_grant_panics(business):
    for interval, count in (("Day", 200_000_000_000_000), ("Year", 1000), ("Month", 10_000), ("Week", 10_000)):
        config = {**MANUAL["integration_config"], "duration_count": count, "duration_interval": interval}
        answer = business.post("/entitlements", json={**MANUAL, "integration_config": config})
        assert answer.status_code == 422, (interval, count, answer.text)
        assert answer.json()["code"] == "VALIDATION_ERROR"
        assert "duration_count" in answer.json()["message"]
    # The longest allowed duration still delivers.
    config = {**MANUAL["integration_config"], "duration_count": 100, "duration_interval": "Year",
              "fulfillment_mode": "auto"}
    ent = new_entitlement(business, {**MANUAL, "integration_config": config})
    grant = business.post(f"/entitlements/{ent['id']}/grants",
                          json={"customer_id": "c1", "customer_email": "c1@example.com"})
    assert grant.status_code == 201, grant.text
    assert grant.json()["license_key"]["expires_at"].startswith("21")


def test_the_most_codes_a_license_may_hold_fit_one_transaction(api_url):
    codes = [f"C{i:02d}" for i in range(32)]
    lrm = Lrm(api_url)
    assert lrm.set_host({c: 100 for c in codes}).status_code == 200
    org = new_org()
    assert lrm.allocate(org, {c: 10 for c in codes}).status_code == 200
    assert lrm.set_host({c: 50 for c in codes}).status_code == 200
    assert lrm.tenant(org, "t1", {c: 5 for c in codes}).status_code == 200
    assert lrm.allocate(org, {c: 9 for c in codes}).status_code == 200
    too_many = lrm.set_host({f"D{i:02d}": 1 for i in range(33)})
    assert too_many.status_code == 422, too_many.text
    assert too_many.json()["code"] == "VALIDATION_ERROR"
    assert too_many.json()["message"].startswith("products"), too_many.text
    assert lrm.host_products() == {c: (50, 9, 41) for c in codes}  # nothing changed
