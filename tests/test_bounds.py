"""Input outside the documented bounds is a clear 4xx and changes nothing (SPEC 0, Bounds)."""

import http.client
import json
import urllib.parse
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
    {"license_key_id": LONG}, {"grant_id": LONG}, {"cursor": LONG}, {"cursor": "%%%"}, {"page_number": "1e5"},
    {"page_number": "-3"},
])
def test_overlong_or_absurd_query_values_are_422(business, query):
    answer = business.get("/license_key_instances", params=query)
    assert answer.status_code == 422, (query, answer.status_code, answer.text)
    assert answer.json()["code"] == "VALIDATION_ERROR"


def test_a_page_number_past_any_list_is_an_empty_page(business):
    # The SDKs' pagers ask for page after page: page_number has no upper bound.
    for number in ["100000", "18446744073709551616"]:
        answer = business.get("/license_key_instances", params={"page_number": number})
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"items": [], "next_cursor": None}


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


def raw(api_url, method, path, key, body=None):
    """A request whose path goes out byte for byte: httpx would fold `.` and `..` away."""
    url = urllib.parse.urlsplit(api_url)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    data = None if body is None else json.dumps(body)
    headers = {"Authorization": f"Bearer {key.http.headers['Authorization'][7:]}", "Content-Type": "application/json"}
    connection.request(method, url.path + path, body=data, headers=headers)
    answer = connection.getresponse()
    return answer.status, answer.read().decode()


@pytest.mark.parametrize("dots", [".", ".."])
def test_dot_segments_name_no_organization_group_or_account(api_url, dots):
    lrm = Lrm(api_url)
    assert lrm.set_host({"ACNU": 5}).status_code == 200
    products = {"productQuantities": products_list({"ACNU": 1})}
    status, text = raw(api_url, "PUT", f"/lrm/api/host/{lrm.host_id}/organization/{dots}/license", lrm.host, products)
    assert status == 404, (status, text)
    assert lrm.host_products()["ACNU"] == (5, 0, 5)
    status, text = raw(api_url, "GET", f"/lrm/api/account/{dots}/audit", lrm.host)
    assert status == 404, (status, text)
    org = new_org()
    assert lrm.allocate(org, {"ACNU": 2}).status_code == 200
    api = lrm.org_key(org)
    group = f"/lease_/api/account/{org}/user-license/group/{dots}"
    status, text = raw(api_url, "PUT", group, api, {"userBundleCodes": ["ACNU"]})
    assert status == 404, (status, text)
    status, text = raw(api_url, "GET", group, api)
    assert status == 404, (status, text)


WIDE = "\U0001F600" * 255  # 255 characters, 1,020 bytes


def test_wide_ids_in_paths_are_not_found(business, api_url):
    for path in (f"/grants/{WIDE}", f"/license_keys/{WIDE}", f"/entitlements/{WIDE}"):
        answer = business.get(path)
        assert answer.status_code == 404, (path, answer.status_code, answer.text)
    lrm = Lrm(api_url)
    org = new_org()
    lrm.set_host({"ACNU": 5})
    lrm.allocate(org, {"ACNU": 1})
    api = lrm.org_key(org)
    for path in (f"/lease_/api/account/{org}/user-license/group/{WIDE}", f"/lease_/api/account/{org}/user-license/{WIDE}",
                 f"/lrm/api/account/{org}/service-license/{WIDE}/orchestrator"):
        answer = api.get(path)
        assert answer.status_code == 404, (path, answer.status_code, answer.text)


@pytest.mark.parametrize("product_id", ["x" * 1021, "\U0001F600" * 256, "ent_" + "x" * 300])
def test_an_overlong_product_id_is_422(business, product_id):
    answer = business.post("/license_keys", json={"customer_id": "c1", "key": f"KEY-{uuid.uuid4().hex}",
                                                  "product_id": product_id})
    assert answer.status_code == 422, answer.text
    assert answer.json()["code"] == "VALIDATION_ERROR"
    assert answer.json()["message"].startswith("product_id"), answer.text
    assert business.get("/license_keys", params={"customer_id": "c1", "source": "import"}).status_code == 200


def test_an_overlong_subscription_plan_is_422(api_url):
    lrm = Lrm(api_url)
    assert lrm.set_host({"ACNU": 5}, subscriptionPlan="ENTERPRISE").status_code == 200
    for plan in ("P" * 60_000, "PLAN\r\nX", ""):
        answer = lrm.set_host({"ACNU": 9}, subscriptionPlan=plan)
        assert answer.status_code == 422, (plan[:20], answer.text)
        assert "subscriptionPlan" in answer.text
    shown = lrm.host.get(f"/lrm/api/host/{lrm.host_id}/license").json()
    assert shown["subscriptionPlan"] == "ENTERPRISE" and shown["products"][0]["quantity"] == 5


def test_a_tenant_name_with_control_characters_is_422(api_url):
    lrm = Lrm(api_url)
    org = new_org()
    lrm.set_host({"ACNU": 5})
    lrm.allocate(org, {"ACNU": 2})
    answer = lrm.host.put(f"/lrm/api/account/{org}/service-license/s1/orchestrator",
                          json={"tenantName": "a\nb", "products": products_list({"ACNU": 1})})
    assert answer.status_code == 422, answer.text
    assert "tenantName" in answer.json()["message"]


@pytest.mark.parametrize("name", ["Pro\r\nBcc: someone@example.com", "Pro\tlicense", "Pro\x00", "Pro\u0085"])
def test_names_with_control_characters_are_422_and_change_nothing(business, name):
    answer = business.post("/entitlements", json={**MANUAL, "name": name})
    assert answer.status_code == 422, answer.text
    assert answer.json()["message"].startswith("name"), answer.text
    ent = new_entitlement(business)
    answer = business.patch(f"/entitlements/{ent['id']}", json={"name": name})
    assert answer.status_code == 422, answer.text
    assert business.get(f"/entitlements/{ent['id']}").json()["name"] == MANUAL["name"]


def test_descriptions_take_line_breaks_but_no_other_control_characters(business):
    ent = new_entitlement(business, {**MANUAL, "description": "line one\r\nline two\n\tindented"})
    assert ent["description"] == "line one\r\nline two\n\tindented"
    answer = business.patch(f"/entitlements/{ent['id']}", json={"description": "bell\x07"})
    assert answer.status_code == 422, answer.text
    assert answer.json()["message"].startswith("description"), answer.text
    config = {**MANUAL["integration_config"], "activation_message": "Welcome\x1b[31m"}
    answer = business.post("/entitlements", json={**MANUAL, "integration_config": config})
    assert answer.status_code == 422, answer.text


def test_customer_and_instance_names_with_control_characters_are_422(business):
    ent = new_entitlement(business)
    answer = business.post(f"/entitlements/{ent['id']}/grants",
                           json={"customer_id": "c1", "customer_email": "c1@example.com", "customer_name": "Ada\r\nX"})
    assert answer.status_code == 422, answer.text
    assert answer.json()["message"].startswith("customer_name"), answer.text


def test_an_expiry_before_1970_is_a_time_not_a_format_error(business):
    ent = new_entitlement(business)
    answer = business.post("/license_keys", json={"customer_id": "c1", "key": f"KEY-{uuid.uuid4().hex}",
                                                  "product_id": ent["id"], "expires_at": "1969-12-31T23:59:59Z"})
    assert answer.status_code == 201, answer.text
    assert answer.json()["expires_at"] == "1969-12-31T23:59:59.000Z"
    assert answer.json()["status"] == "expired"
    patched = business.patch(f"/license_keys/{answer.json()['id']}", json={"expires_at": "0001-01-01T00:00:00Z"})
    assert patched.status_code == 200, patched.text
    assert patched.json()["expires_at"] == "0001-01-01T00:00:00.000Z"
    _, grant = pending_grant(business)
    answer = business.post(f"/grants/{grant['id']}/license-key",
                           json={"key": f"KEY-{uuid.uuid4().hex}", "expires_at": "1969-12-31T23:59:59Z"})
    assert answer.status_code == 422, answer.text
    assert answer.json()["message"] == "expires_at: must be in the future", answer.text
