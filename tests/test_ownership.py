"""Another host's or organization's allocation data is not there (SPEC 2, Ownership)."""

import uuid

from test_allocation import Lrm, new_org, products_list


def two_hosts(api_url):
    a, b = Lrm(api_url), Lrm(api_url)
    for lrm in (a, b):
        assert lrm.set_host({"UNATT": 10, "ACNU": 10}).status_code == 200
    org_a, org_b = new_org(), new_org()
    assert a.allocate(org_a, {"UNATT": 3, "ACNU": 3}).status_code == 200
    assert b.allocate(org_b, {"UNATT": 3, "ACNU": 3}).status_code == 200
    assert a.tenant(org_a, "t1", {"UNATT": 1}).status_code == 200
    return a, b, org_a, org_b


def test_a_host_id_cannot_become_an_organization(api_url):
    a, b, _, _ = two_hosts(api_url)
    for host in (a, b):
        answer = b.allocate(host.host_id, {"UNATT": 1})
        assert answer.status_code == 422, answer.text
        assert "organizationId" in answer.json()["message"]
    # Nothing moved, and A's audit log stays A's alone.
    assert b.host_products() == {"ACNU": (10, 3, 7), "UNATT": (10, 3, 7)}
    assert b.host.get(f"/lrm/api/account/{a.host_id}/audit").status_code == 404
    own = a.host.get(f"/lrm/api/account/{a.host_id}/audit").json()["items"]
    assert {r["target"] for r in own} == {"host"}


def test_every_route_keeps_another_hosts_organizations_out(api_url):
    a, b, org_a, _ = two_hosts(api_url)
    base = f"/lrm/api/account/{org_a}"
    lease = f"/lease_/api/account/{org_a}/user-license"
    reads = [
        f"/lrm/api/host/{b.host_id}/organization/{org_a}/license",
        f"/lrm/api/host/{a.host_id}/organization/{org_a}/license",
        f"{base}/service-license/t1/orchestrator",
        f"{base}/audit",
    ]
    for path in reads:
        assert b.host.get(path).status_code == 404, path
    writes = [
        ("PUT", f"/lrm/api/host/{b.host_id}/organization/{org_a}/license", {"productQuantities": products_list({"UNATT": 1})}),
        ("PUT", f"/lrm/api/host/{a.host_id}/organization/{org_a}/license", {"productQuantities": products_list({"UNATT": 1})}),
        ("PUT", f"{base}/service-license/t2/orchestrator", {"products": products_list({"UNATT": 1})}),
    ]
    for method, path, body in writes:
        assert b.host.request(method, path, json=body).status_code == 404, path
    # Another organization's key: none of org A's seats, groups or audit.
    stranger = b.org_key(new_org())
    assert stranger.put(lease, json={"userIds": ["u1"], "userBundleCodes": ["ACNU"]}).status_code == 404
    assert stranger.put(f"{lease}/group/g1", json={"userBundleCodes": ["ACNU"]}).status_code == 404
    assert stranger.get(f"{lease}/u1").status_code == 404
    assert stranger.delete(f"{lease}/u1").status_code == 404
    assert stranger.get(f"{base}/audit").status_code == 404
    # A's own view is unchanged: 3 units with 1 given to its tenant.
    assert a.org_products(org_a)["UNATT"] == (3, 1, 2)
    assert a.host_products()["UNATT"] == (10, 3, 7)
