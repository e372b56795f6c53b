"""Allocation inventory (SPEC 2, Inventory; issue 15): a host's organizations, an
organization's tenant services and its seat holders, each walked page by page,
and `consumed` on the organization license read."""

import json
import os
import random

from test_allocation import Lrm, new_org

PAGE_KEYS = {"items", "next_cursor"}


def walk(api, path, page_size, **params):
    """Every page of a list, by next_cursor: [[item, ...], ...]."""
    pages, cursor = [], None
    while True:
        query = {"page_size": page_size, **params, **({"cursor": cursor} if cursor else {})}
        answer = api.get(path, params=query)
        assert answer.status_code == 200, (path, query, answer.text)
        page = answer.json()
        assert set(page) == PAGE_KEYS and len(page["items"]) <= page_size, page
        pages.append(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return pages
        assert len(pages) < 200, "next_cursor never ends"


def walk_numbered(api, path, page_size, **params):
    """Every item of a list by page_number (1, 2, ... until an empty page), as the
    Dodo SDKs' auto-pagers walk: each page after the first starts where the one
    before it ended."""
    items, number = [], 1
    while True:
        answer = api.get(path, params={"page_size": page_size, "page_number": number, **params})
        assert answer.status_code == 200, (path, number, answer.text)
        page = answer.json()["items"]
        if not page:
            return items
        items += page
        number += 1
        assert number < 200, "the pages never end"


def walk_all(api, path, page_size, **params):
    items = [item for page in walk(api, path, page_size, **params) for item in page]
    # A seat holders' page may be short yet not the last: only cursors walk those.
    if not path.endswith("/user-licenses"):
        assert walk_numbered(api, path, page_size, **params) == items, path
    return items


def orgs_path(lrm):
    return f"/lrm/api/host/{lrm.host_id}/organizations"


def seats(api, org, user_ids, codes, external=False):
    answer = api.put(f"/lease_/api/account/{org}/user-license",
                     json={"userIds": list(user_ids), "userBundleCodes": codes, "useExternalLicense": external})
    assert answer.status_code == 200, answer.text


def assert_bad_page_queries_are_422(api, path):
    for query, field in [({"page_size": 0}, "page_size"), ({"page_size": 101}, "page_size"),
                         ({"page_size": "ten"}, "page_size"), ({"cursor": "garbage"}, "cursor")]:
        answer = api.get(path, params=query)
        assert answer.status_code == 422, (path, query, answer.text)
        assert answer.json()["message"].startswith(field), answer.json()["message"]


def test_host_lists_each_organization_once_by_account_id(api_url):
    lrm = Lrm(api_url)
    assert lrm.set_host({"UNATT": 100, "AIG": 50, "ACNU": 100}).status_code == 200
    orgs = sorted(new_org() for _ in range(23))
    order = list(range(23))
    random.Random(15).shuffle(order)  # allocated out of id order
    expected = {}  # accountId: {code: [quantity, consumed]}
    for i in order:
        held = {"UNATT": i % 4 + 1, "AIG": i % 3, "ACNU": 2 + i % 2}
        assert lrm.allocate(orgs[i], held).status_code == 200
        expected[orgs[i]] = {code: [q, 0] for code, q in held.items() if q}
    # A code taken back entirely is left out of the organization's products.
    assert lrm.allocate(orgs[1], {"UNATT": 2, "ACNU": 3}).status_code == 200
    del expected[orgs[1]]["AIG"]
    # Tenant services and seats in two organizations: orgs[0] holds UNATT 1, ACNU 2; orgs[2] UNATT 3, AIG 2, ACNU 2.
    assert lrm.tenant(orgs[0], "t1", {"UNATT": 1}).status_code == 200
    seats(lrm.org_key(orgs[0]), orgs[0], ["ada", "grace"], ["ACNU"])
    assert lrm.tenant(orgs[2], "t1", {"UNATT": 2, "AIG": 2}).status_code == 200
    seats(lrm.org_key(orgs[2]), orgs[2], ["linus"], ["ACNU"])
    for org, consumed in [(orgs[0], {"UNATT": 1, "ACNU": 2}), (orgs[2], {"UNATT": 2, "AIG": 2, "ACNU": 1})]:
        for code, units in consumed.items():
            expected[org][code][1] = units
    # Another host's organization is not this host's.
    stranger = Lrm(api_url)
    stranger.set_host({"UNATT": 5})
    stranger_org = new_org()
    assert stranger.allocate(stranger_org, {"UNATT": 1}).status_code == 200

    pages = walk(lrm.host, orgs_path(lrm), 5)
    assert [len(p) for p in pages] == [5, 5, 5, 5, 3]
    listed = [item for page in pages for item in page]
    assert [item["accountId"] for item in listed] == orgs  # each once, ascending
    for item in listed:
        assert set(item) == {"accountId", "products"}, item
        assert all(set(p) == {"code", "quantity", "consumed", "available"} for p in item["products"]), item
        got = {p["code"]: (p["quantity"], p["consumed"], p["available"]) for p in item["products"]}
        assert got == {code: (q, c, q - c) for code, (q, c) in expected[item["accountId"]].items()}, item
    host = lrm.host_products()
    for code in ("UNATT", "AIG", "ACNU"):
        listed_total = sum(p["quantity"] for item in listed for p in item["products"] if p["code"] == code)
        assert listed_total == host[code][1], code

    assert walk_all(stranger.host, orgs_path(stranger), 5) == [
        {"accountId": stranger_org, "products": [{"code": "UNATT", "quantity": 1, "consumed": 0, "available": 1}]}]
    # A cursor one host's list gave is no key to another host's list.
    cursor = lrm.host.get(orgs_path(lrm), params={"page_size": 5}).json()["next_cursor"]
    foreign = stranger.host.get(orgs_path(stranger), params={"page_size": 5, "cursor": cursor})
    assert foreign.status_code == 422, foreign.text


def test_host_organization_list_edges(api_url):
    lrm = Lrm(api_url)
    # No host license yet, then a license but no organizations: an empty list either way.
    for licensed in (False, True):
        if licensed:
            lrm.set_host({"UNATT": 5})
        answer = lrm.host.get(orgs_path(lrm))
        assert answer.status_code == 200 and answer.json() == {"items": [], "next_cursor": None}, answer.text
    assert_bad_page_queries_are_422(lrm.host, orgs_path(lrm))

    org = new_org()
    lrm.allocate(org, {"UNATT": 1})
    stranger = Lrm(api_url)
    stranger.set_host({"UNATT": 5})
    foreign = stranger.host.get(orgs_path(lrm))
    assert foreign.status_code == 404 and foreign.json()["code"] == "HOST_LICENSE_NOT_FOUND"
    assert lrm.org_key(org).get(orgs_path(lrm)).status_code == 403
    assert [item["accountId"] for item in walk_all(lrm.host, orgs_path(lrm), 100)] == [org]


def test_service_licenses_list_each_tenant_service_as_its_own_read(api_url):
    lrm = Lrm(api_url)
    lrm.set_host({"UNATT": 20, "NONPR": 20, "ACNU": 5})
    org, sibling = new_org(), new_org()
    assert lrm.allocate(org, {"UNATT": 12, "NONPR": 15, "ACNU": 1}).status_code == 200
    assert lrm.allocate(sibling, {"UNATT": 2}).status_code == 200
    made = []
    for i, scope in enumerate(["s05", "s01", "s03", "s00", "s04", "s02"]):  # NONPR 1+2+3+4+5
        for service_type in ("test-manager", "orchestrator"):
            products = {"UNATT": 1, **({"NONPR": i} if service_type == "orchestrator" and i else {})}
            assert lrm.tenant(org, scope, products, service_type=service_type).status_code == 200
            made.append((scope, service_type))
    # Neither a sibling's tenant services nor the organization's user seats are listed.
    assert lrm.tenant(sibling, "s00", {"UNATT": 1}).status_code == 200
    org_api = lrm.org_key(org)
    seats(org_api, org, ["ada"], ["ACNU"])

    path = f"/lrm/api/account/{org}/service-licenses"
    pages = walk(lrm.host, path, 5)
    assert [len(p) for p in pages] == [5, 5, 2]
    listed = [item for page in pages for item in page]
    assert [(t["serviceScopeId"], t["serviceType"]) for t in listed] == sorted(made)
    for item in listed:
        single = lrm.host.get(f"/lrm/api/account/{org}/service-license/{item['serviceScopeId']}/{item['serviceType']}")
        assert item == single.json()
    assert walk_all(org_api, path, 5) == listed
    assert_bad_page_queries_are_422(lrm.host, path)

    stranger = Lrm(api_url)
    stranger.set_host({"UNATT": 5})
    for api in (stranger.host, lrm.org_key(sibling), lrm.org_key(new_org())):
        answer = api.get(path)
        assert answer.status_code == 404 and answer.json()["code"] == "ACCOUNT_LICENSE_NOT_FOUND", answer.text
    unknown = lrm.host.get(f"/lrm/api/account/{new_org()}/service-licenses")
    assert unknown.status_code == 404 and unknown.json()["code"] == "ACCOUNT_LICENSE_NOT_FOUND"
    # The sibling's cursor does not page through this organization.
    lrm.tenant(sibling, "s01", {"UNATT": 1})
    cursor = lrm.host.get(f"/lrm/api/account/{sibling}/service-licenses", params={"page_size": 1}).json()["next_cursor"]
    assert cursor and lrm.host.get(path, params={"cursor": cursor}).status_code == 422


def test_user_licenses_list_exactly_the_seat_holders(api_url):
    lrm = Lrm(api_url)
    lrm.set_host({"ACNU": 30, "AKIT": 30, "IDU": 10, "UNATT": 2})
    org = new_org()
    assert lrm.allocate(org, {"ACNU": 22, "AKIT": 21, "IDU": 6, "UNATT": 1}).status_code == 200
    api = lrm.org_key(org)
    holders = {}  # userId: (codes, useExternalLicense)
    for users, codes, external in [(range(0, 10), ["ACNU"], False), (range(10, 20), ["ACNU", "AKIT"], False),
                                   (range(20, 25), ["AKIT"], True), (range(25, 30), ["AKIT", "IDU"], False)]:
        ids = [f"u{i:02d}" for i in users]
        seats(api, org, ids, codes, external)
        holders.update({u: (codes, external) for u in ids})
    seats(api, org, ["u-none"], [])                   # a seat record holding no code
    seats(api, org, ["u-gone"], ["ACNU"])
    assert api.delete(f"/lease_/api/account/{org}/user-license/u-gone").status_code == 204
    assert api.put(f"/lease_/api/account/{org}/user-license/group/devs", json={"userBundleCodes": ["ACNU"]}).status_code == 200
    assert lrm.tenant(org, "t1", {"UNATT": 1}).status_code == 200

    path = f"/lease_/api/account/{org}/user-licenses"
    listed = walk_all(api, path, 7)
    assert [u["userId"] for u in listed] == sorted(holders)
    for item in listed:
        assert set(item) == {"userId", "userBundleCodes", "useExternalLicense"}, item
        codes, external = holders[item["userId"]]
        assert sorted(item["userBundleCodes"]) == codes and item["useExternalLicense"] is external, item

    for code in ("ACNU", "IDU"):
        matching = walk_all(api, path, 4, userBundleCode=code)
        assert [u["userId"] for u in matching] == sorted(u for u, (codes, _) in holders.items() if code in codes)
    assert walk_all(api, path, 4, userBundleCode="PMD") == []

    assert_bad_page_queries_are_422(api, path)
    bad_code = api.get(path, params={"userBundleCode": "acnu!"})
    assert bad_code.status_code == 422 and bad_code.json()["message"].startswith("userBundleCode"), bad_code.text
    other_org = lrm.org_key(new_org())
    answer = other_org.get(path)
    assert answer.status_code == 404 and answer.json()["code"] == "ACCOUNT_LICENSE_NOT_FOUND", answer.text
    assert lrm.host.get(path).status_code == 403


def test_consumed_on_the_organization_license(api_url):
    lrm = Lrm(api_url)
    lrm.set_host({"UNATT": 20, "NONPR": 10, "ACNU": 10, "AKIT": 5})
    org = new_org()
    assert lrm.allocate(org, {"UNATT": 10, "NONPR": 5, "ACNU": 6, "AKIT": 3}).status_code == 200
    assert lrm.tenant(org, "t1", {"UNATT": 3, "NONPR": 2}).status_code == 200
    assert lrm.tenant(org, "t2", {"UNATT": 4}, service_type="test-manager").status_code == 200
    api = lrm.org_key(org)
    seats(api, org, ["ada", "grace"], ["ACNU", "AKIT"])
    seats(api, org, ["linus"], ["ACNU"])
    group = api.put(f"/lease_/api/account/{org}/user-license/group/devs", json={"userBundleCodes": ["ACNU"]})
    assert group.status_code == 200  # a group rule takes no unit
    license_path = f"/lrm/api/host/{lrm.host_id}/organization/{org}/license"

    def products(answer):
        assert answer.status_code == 200, answer.text
        return {p["code"]: (p["quantity"], p["consumed"], p["allocated"], p["available"]) for p in answer.json()["products"]}

    def listed():
        [item] = [o for o in walk_all(lrm.host, orgs_path(lrm), 100) if o["accountId"] == org]
        return {p["code"]: (p["quantity"], p["consumed"], p["available"]) for p in item["products"]}

    expected = {"UNATT": (10, 7, 7, 3), "NONPR": (5, 2, 2, 3), "ACNU": (6, 3, 3, 3), "AKIT": (3, 2, 2, 1)}
    assert products(lrm.host.get(license_path)) == expected
    assert products(api.get(license_path)) == expected
    assert listed() == {code: (q, c, a) for code, (q, c, _, a) in expected.items()}

    # A release gives the unit back; the allocation's own answer shows consumed too.
    assert api.delete(f"/lease_/api/account/{org}/user-license/linus").status_code == 204
    assert products(lrm.allocate(org, {"UNATT": 9, "NONPR": 2, "ACNU": 6, "AKIT": 2})) == {
        "UNATT": (9, 7, 7, 2), "NONPR": (2, 2, 2, 0), "ACNU": (6, 2, 2, 4), "AKIT": (2, 2, 2, 0)}
    assert listed() == {"UNATT": (9, 7, 2), "NONPR": (2, 2, 0), "ACNU": (6, 2, 4), "AKIT": (2, 2, 0)}


def dynamodb_calls(function, path):
    """The DynamoDB calls of each request `function` answered for `path`, from its log."""
    with open(os.path.join(os.environ["FUNCTION_LOG_DIR"], f"{function}.log")) as log:
        lines = [json.loads(line)["fields"] for line in log if line.startswith("{") and '"message":"request"' in line]
    return [fields["dynamodb_calls"] for fields in lines if fields.get("path") == path]


def test_each_page_is_one_query_even_when_the_filter_matches_little(api_url):
    lrm = Lrm(api_url)
    lrm.set_host({"ACNU": 40, "IDU": 2, "UNATT": 40})
    org = new_org()
    assert lrm.allocate(org, {"ACNU": 40, "IDU": 2, "UNATT": 40}).status_code == 200
    api = lrm.org_key(org)
    seats(api, org, [f"u{i:02d}" for i in range(40)], ["ACNU"])
    seats(api, org, ["u05", "u33"], ["ACNU", "IDU"])
    for i in range(12):
        assert lrm.tenant(org, f"t{i:02d}", {"UNATT": 1}).status_code == 200

    # 40 seats, 2 holding IDU, pages of 4: each page reads at most 5 seats, so
    # the walk takes several pages, most of them empty, each one Query.
    path = f"/lease_/api/account/{org}/user-licenses"
    pages = walk(api, path, 4, userBundleCode="IDU")
    assert [u["userId"] for page in pages for u in page] == ["u05", "u33"]
    assert len(pages) >= 40 // 5, len(pages)
    seat_calls = dynamodb_calls("list-user-licenses", path)
    # Per page: the organization license and one Query (and the API key, when not cached).
    assert len(seat_calls) == len(pages) and max(seat_calls) <= 3, seat_calls

    tenant_pages = walk(lrm.host, f"/lrm/api/account/{org}/service-licenses", 5)
    assert [len(p) for p in tenant_pages] == [5, 5, 2]
    calls = dynamodb_calls("list-service-licenses", f"/lrm/api/account/{org}/service-licenses")
    assert len(calls) == 3 and max(calls) <= 3, calls

    more = [new_org() for _ in range(6)]
    for other in more:
        assert lrm.allocate(other, {"UNATT": 0, "ACNU": 0}).status_code == 200
    assert [len(p) for p in walk(lrm.host, orgs_path(lrm), 3)] == [3, 3, 1]
    calls = dynamodb_calls("list-host-organizations", orgs_path(lrm))
    assert len(calls) == 3 and max(calls) <= 2, calls
    print(f"\ninventory pages: IDU holders over {len(pages)} pages of <= 4 (DynamoDB calls per page {sorted(set(seat_calls))}), "
          f"tenant services 12 over 3 pages, organizations 7 over 3 pages")
