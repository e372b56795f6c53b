"""License allocation (SPEC 2; seeds 001 and 002) against the local stack."""

import uuid

import pytest

from conftest import Api, mint_key

SEED_HOST = "feb0dd79-85b6-483b-b297-0e49a1aa5b7d"


class Lrm:
    """One host with its own key, and keys for organizations under it."""

    def __init__(self, api_url, host_id=None):
        self.url = api_url
        self.host_id = host_id or str(uuid.uuid4())
        self.host = Api(api_url, mint_key(f"host:{self.host_id}"))

    def org_key(self, org_id):
        return Api(self.url, mint_key(f"organization:{org_id}"))

    def set_host(self, products, **extra):
        return self.host.put(f"/lrm/api/host/{self.host_id}/license", json={"products": products_list(products), **extra})

    def allocate(self, org_id, products, method="PUT", **headers):
        return self.host.request(method, f"/lrm/api/host/{self.host_id}/organization/{org_id}/license",
                                 json={"productQuantities": products_list(products)}, headers=headers)

    def tenant(self, org_id, scope, products, service_type="orchestrator", key="products"):
        return self.host.put(f"/lrm/api/account/{org_id}/service-license/{scope}/{service_type}",
                             json={"tenantName": scope, key: products_list(products)})

    def host_products(self):
        answer = self.host.get(f"/lrm/api/host/{self.host_id}/license")
        assert answer.status_code == 200, answer.text
        return {p["code"]: (p["quantity"], p["allocated"], p["available"]) for p in answer.json()["products"]}

    def org_products(self, org_id):
        answer = self.host.get(f"/lrm/api/host/{self.host_id}/organization/{org_id}/license")
        assert answer.status_code == 200, answer.text
        return {p["code"]: (p["quantity"], p["allocated"], p["available"]) for p in answer.json()["products"]}


def products_list(products):
    return [{"code": c, "quantity": q} for c, q in products.items()]


def new_org():
    return f"org-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def lrm(api_url):
    return Lrm(api_url)


def test_seed_examples_verbatim(api_url):
    seed = Lrm(api_url, SEED_HOST)
    assert seed.set_host({"UNATT": 20, "AIG": 5, "TAUNATT": 10, "NONPR": 10, "TIE": 5, "ACNU": 50}).status_code == 200

    # Seed 001's curl, as written (POST and its body).
    answer = seed.host.post(
        f"/lrm/api/host/{SEED_HOST}/organization/y-y-y-delilah/license",
        content=b'{\n"productQuantities":\n[\n{ "code": "UNATT", "quantity": 2 },\n{ "code": "AIG", "quantity": 1 },\n{ "code": "TAUNATT", "quantity": 3 }\n]\n}',
        headers={"Content-Type": "application/json"},
    )
    assert answer.status_code == 200, answer.text
    org = answer.json()
    for field in ("accountId", "bundleCode", "endDate", "gracePeriod", "licenseCode", "licenseStatus", "products",
                  "templates", "startDate", "subscriptionCode", "subscriptionPlan", "payload", "type", "parentLicenseCode"):
        assert field in org, field
    assert org["accountId"] == "y-y-y-delilah"
    assert {p["code"]: p["quantity"] for p in org["products"]} == {"UNATT": 2, "AIG": 1, "TAUNATT": 3}
    assert all({"code", "quantity", "type", "features"} <= set(p) for p in org["products"])
    host = seed.host.get(f"/lrm/api/host/{SEED_HOST}/license").json()
    assert org["parentLicenseCode"] == host["licenseCode"]

    # Seed 002's example (its body says productQuantities) while the organization holds too little.
    tenant_body = {"productQuantities": [{"code": "UNATT", "quantity": 5}, {"code": "NONPR", "quantity": 4}, {"code": "TIE", "quantity": 2}]}
    path = "/lrm/api/account/y-y-y-delilah/service-license/y1968/orchestrator"
    refused = seed.host.put(path, json=tenant_body)
    assert refused.status_code == 409 and refused.json()["code"] == "ALLOCATION_EXCEEDS_ACCOUNT_LICENSE"
    assert seed.host.get(path).status_code == 404

    assert seed.allocate("y-y-y-delilah", {"UNATT": 5, "AIG": 1, "TAUNATT": 3, "NONPR": 4, "TIE": 2}).status_code == 200
    granted = seed.host.put(path, json=tenant_body)
    assert granted.status_code == 200, granted.text
    tenant = granted.json()
    assert tenant["accountId"] == "y-y-y-delilah" and tenant["serviceScopeId"] == "y1968"
    assert tenant["serviceType"] == "orchestrator" and tenant["userLicensingEnabled"] is True
    assert tenant["accountLicenseCode"] == org["licenseCode"]
    for field in ("licenseCode", "bundleCode", "subscriptionCode", "licenseStatus", "startDate", "endDate",
                  "gracePeriod", "products", "templates", "payload", "boonLicenseCode"):
        assert field in tenant["license"], field
    assert {p["code"]: p["quantity"] for p in tenant["license"]["products"]} == {"UNATT": 5, "NONPR": 4, "TIE": 2}
    assert seed.host.get(path).json() == tenant
    assert seed.org_products("y-y-y-delilah")["UNATT"] == (5, 5, 0)


def test_host_license_and_replace_semantics(lrm):
    answer = lrm.set_host({"UNATT": 10, "AIG": 2}, startDate=1700000000, endDate=4102444800, subscriptionPlan="ENTERPRISE")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["hostAccountId"] == lrm.host_id and body["licenseStatus"] == "ACTIVE"
    assert body["endDate"] == 4102444800
    org = new_org()
    assert lrm.allocate(org, {"UNATT": 4, "AIG": 2}).status_code == 200
    assert lrm.host_products() == {"UNATT": (10, 4, 6), "AIG": (2, 2, 0)}
    # AIG left out: it becomes 0 and goes back to the host.
    assert lrm.allocate(org, {"UNATT": 6}).status_code == 200
    assert lrm.host_products() == {"UNATT": (10, 6, 4), "AIG": (2, 0, 2)}
    assert lrm.org_products(org) == {"UNATT": (6, 0, 6)}


def test_limits_are_409_and_change_nothing(lrm, table):
    lrm.set_host({"UNATT": 5, "ACNU": 2})
    org = new_org()
    assert lrm.allocate(org, {"UNATT": 3, "ACNU": 2}).status_code == 200

    over = lrm.allocate(new_org(), {"UNATT": 3})
    assert over.status_code == 409 and over.json()["code"] == "ALLOCATION_EXCEEDS_HOST_LICENSE"
    lowered = lrm.set_host({"UNATT": 2, "ACNU": 2})
    assert lowered.status_code == 409 and lowered.json()["code"] == "HOST_LICENSE_BELOW_ALLOCATED"
    assert lrm.host_products() == {"UNATT": (5, 3, 2), "ACNU": (2, 2, 0)}

    assert lrm.tenant(org, "t1", {"UNATT": 2}).status_code == 200
    tenant_over = lrm.tenant(org, "t2", {"UNATT": 2})
    assert tenant_over.status_code == 409 and tenant_over.json()["code"] == "ALLOCATION_EXCEEDS_ACCOUNT_LICENSE"
    org_api = lrm.org_key(org)
    assert org_api.put(f"/lease_/api/account/{org}/user-license", json={"userIds": ["u1"], "userBundleCodes": ["ACNU"]}).status_code == 200

    below = lrm.allocate(org, {"UNATT": 1, "ACNU": 2})
    assert below.status_code == 409 and below.json()["code"] == "ALLOCATION_BELOW_CONSUMED"
    below_users = lrm.allocate(org, {"UNATT": 3})
    assert below_users.status_code == 409 and below_users.json()["code"] == "ALLOCATION_BELOW_CONSUMED"
    assert lrm.org_products(org) == {"UNATT": (3, 2, 1), "ACNU": (2, 1, 1)}

    too_many = org_api.put(f"/lease_/api/account/{org}/user-license", json={"userIds": ["u2", "u3"], "userBundleCodes": ["ACNU"]})
    assert too_many.status_code == 409 and too_many.json()["code"] == "ALLOCATION_EXCEEDS_ACCOUNT_LICENSE"
    for user in ("u2", "u3"):
        assert org_api.get(f"/lease_/api/account/{org}/user-license/{user}").status_code == 404
    assert lrm.org_products(org)["ACNU"] == (2, 1, 1)
    assert lrm.host_products() == {"UNATT": (5, 3, 2), "ACNU": (2, 2, 0)}


def test_not_found_answers(lrm, api_url):
    org = new_org()
    no_host = lrm.allocate(org, {"UNATT": 1})
    assert no_host.status_code == 404 and no_host.json()["code"] == "HOST_LICENSE_NOT_FOUND"
    other_host = lrm.host.put(f"/lrm/api/host/{uuid.uuid4()}/license", json={"products": []})
    assert other_host.status_code == 404
    assert lrm.host.get(f"/lrm/api/host/{lrm.host_id}/license").status_code == 404
    missing = lrm.tenant(org, "t1", {"UNATT": 1})
    assert missing.status_code == 404 and missing.json()["code"] == "ACCOUNT_LICENSE_NOT_FOUND"
    org_api = lrm.org_key(org)
    assert org_api.put(f"/lease_/api/account/{org}/user-license", json={"userIds": ["u"], "userBundleCodes": []}).status_code == 404

    lrm.set_host({"UNATT": 5})
    assert lrm.allocate(org, {"UNATT": 1}).status_code == 200
    stranger = Lrm(api_url)
    stranger.set_host({"UNATT": 5})
    assert stranger.allocate(org, {"UNATT": 1}).status_code == 404
    assert stranger.tenant(org, "t1", {"UNATT": 1}).status_code == 404
    assert stranger.host.get(f"/lrm/api/host/{stranger.host_id}/organization/{org}/license").status_code == 404
    other_org = lrm.org_key(new_org())
    assert other_org.get(f"/lease_/api/account/{org}/user-license/u").status_code == 404
    assert lrm.org_products(org) == {"UNATT": (1, 0, 1)}


def test_principal_rules(lrm, business):
    lrm.set_host({"UNATT": 5})
    org = new_org()
    lrm.allocate(org, {"UNATT": 1})
    org_api = lrm.org_key(org)
    assert org_api.put(f"/lrm/api/host/{lrm.host_id}/license", json={"products": []}).status_code == 403
    assert org_api.put(f"/lrm/api/account/{org}/service-license/s/orchestrator", json={"products": []}).status_code == 403
    assert lrm.host.put(f"/lease_/api/account/{org}/user-license", json={"userIds": ["u"], "userBundleCodes": []}).status_code == 403
    assert business.get(f"/lrm/api/host/{lrm.host_id}/license").status_code == 403
    own = org_api.get(f"/lrm/api/host/{lrm.host_id}/organization/{org}/license")
    assert own.status_code == 200 and own.json()["products"][0]["available"] == 1


def test_validation(lrm):
    lrm.set_host({"UNATT": 5})
    org = new_org()
    for body, field in [
        ({"productQuantities": [{"code": "unatt", "quantity": 1}]}, "productQuantities[0].code"),
        ({"productQuantities": [{"code": "UNATT", "quantity": -1}]}, "productQuantities[0].quantity"),
        ({"productQuantities": [{"code": "UNATT", "quantity": 1}, {"code": "UNATT", "quantity": 2}]}, "productQuantities[1].code"),
        ({"productQuantities": [{"code": "UNATT", "quantity": "1"}]}, "productQuantities[0].quantity"),
        ({}, "productQuantities"),
    ]:
        answer = lrm.host.put(f"/lrm/api/host/{lrm.host_id}/organization/{org}/license", json=body)
        assert answer.status_code == 422, (body, answer.text)
        assert answer.json()["message"].startswith(field), answer.json()["message"]
    lrm.allocate(org, {"UNATT": 1})
    bad_type = lrm.tenant(org, "y1968", {"UNATT": 1}, service_type="Orchestrator")
    assert bad_type.status_code == 422 and bad_type.json()["message"].startswith("serviceType")
    org_api = lrm.org_key(org)
    too_many = org_api.put(f"/lease_/api/account/{org}/user-license", json={"userIds": [f"u{i}" for i in range(51)], "userBundleCodes": []})
    assert too_many.status_code == 422
    twice = org_api.put(f"/lease_/api/account/{org}/user-license", json={"userIds": ["a", "a"], "userBundleCodes": []})
    assert twice.status_code == 422
    assert lrm.host_products() == {"UNATT": (5, 1, 4)}


def test_users_and_groups(lrm):
    lrm.set_host({"ACNU": 10, "AKIT": 3})
    org = new_org()
    lrm.allocate(org, {"ACNU": 4, "AKIT": 1})
    api = lrm.org_key(org)
    base = f"/lease_/api/account/{org}/user-license"
    assigned = api.put(base, json={"userIds": ["ada", "grace"], "userBundleCodes": ["ACNU"], "useExternalLicense": False})
    assert assigned.status_code == 200
    assert assigned.json() == [
        {"userId": "ada", "organizationId": org, "useExternalLicense": False, "userBundleCodes": ["ACNU"]},
        {"userId": "grace", "organizationId": org, "useExternalLicense": False, "userBundleCodes": ["ACNU"]},
    ]
    assert lrm.org_products(org)["ACNU"] == (4, 2, 2)
    # Exactly these codes: ada moves from ACNU to AKIT.
    api.put(base, json={"userIds": ["ada"], "userBundleCodes": ["AKIT"]})
    assert lrm.org_products(org) == {"ACNU": (4, 1, 3), "AKIT": (1, 1, 0)}
    assert api.get(f"{base}/ada").json()["userBundleCodes"] == ["AKIT"]
    assert api.delete(f"{base}/ada").status_code == 204
    assert api.get(f"{base}/ada").status_code == 404
    assert api.delete(f"{base}/ada").status_code == 404
    assert lrm.org_products(org) == {"ACNU": (4, 1, 3), "AKIT": (1, 0, 1)}

    group = api.put(f"{base}/group/devs", json={"userBundleCodes": ["ACNU", "AKIT"], "useExternalLicense": True})
    assert group.status_code == 200
    assert group.json() == {"groupId": "devs", "organizationId": org, "useExternalLicense": True, "userBundleCodes": ["ACNU", "AKIT"]}
    assert api.get(f"{base}/group/devs").json() == group.json()
    assert lrm.org_products(org) == {"ACNU": (4, 1, 3), "AKIT": (1, 0, 1)}
    missing = api.put(f"{base}/group/ops", json={"userBundleCodes": ["IDU"]})
    assert missing.status_code == 409 and missing.json()["code"] == "ALLOCATION_EXCEEDS_ACCOUNT_LICENSE"
    assert api.get(f"{base}/group/ops").status_code == 404


def test_idempotent_allocation_replays_and_moves_nothing(lrm):
    lrm.set_host({"UNATT": 10})
    org = new_org()
    key = str(uuid.uuid4())
    first = lrm.allocate(org, {"UNATT": 4}, **{"Idempotency-Key": key})
    # Someone else changes the allocation; the replay must not move units back.
    lrm.allocate(org, {"UNATT": 2})
    again = lrm.allocate(org, {"UNATT": 4}, **{"Idempotency-Key": key})
    assert again.status_code == first.status_code == 200
    assert again.json() == first.json()
    assert again.headers.get("idempotent-replayed") == "true"
    assert lrm.host_products() == {"UNATT": (10, 2, 8)}


def test_audit_records_every_change(lrm):
    lrm.set_host({"UNATT": 10})
    org = new_org()
    lrm.allocate(org, {"UNATT": 3})
    lrm.tenant(org, "t1", {"UNATT": 2})
    audit = lrm.host.get(f"/lrm/api/account/{org}/audit").json()
    assert [r["target"] for r in audit["items"]] == ["tenant:t1/orchestrator", "organization"]
    assert audit["items"][0]["before"] == {} and audit["items"][0]["after"] == {"UNATT": 2}
    assert audit["items"][1]["actor"] == f"host:{lrm.host_id}"
    assert lrm.org_key(org).get(f"/lrm/api/account/{org}/audit").status_code == 200
    host_audit = lrm.host.get(f"/lrm/api/account/{lrm.host_id}/audit").json()["items"]
    assert host_audit[0]["target"] == "host" and host_audit[0]["after"] == {"UNATT": 10}
    assert lrm.org_key(new_org()).get(f"/lrm/api/account/{org}/audit").status_code == 404


def test_audit_records_the_route_as_called(lrm):
    """A POST alias is recorded as POST, beside the PUT it stands for."""
    lrm.set_host({"UNATT": 10})
    org = new_org()
    assert lrm.allocate(org, {"UNATT": 3}, method="POST").status_code == 200
    assert lrm.allocate(org, {"UNATT": 4}).status_code == 200
    tenant = lrm.host.post(f"/lrm/api/account/{org}/service-license/t1/orchestrator",
                           json={"tenantName": "t1", "products": products_list({"UNATT": 1})})
    assert tenant.status_code == 200, tenant.text
    org_route = "/lrm/api/host/{hostAccountId}/organization/{organizationId}/license"
    tenant_route = "/lrm/api/account/{accountId}/service-license/{serviceScopeId}/{serviceType}"
    audit = lrm.host.get(f"/lrm/api/account/{org}/audit").json()["items"]
    assert [r["route"] for r in audit] == [f"POST {tenant_route}", f"PUT {org_route}", f"POST {org_route}"]
    host_audit = lrm.host.get(f"/lrm/api/account/{lrm.host_id}/audit").json()["items"]
    assert host_audit[0]["route"] == "PUT /lrm/api/host/{hostAccountId}/license"
