"""Lists (SPEC 0): the official SDKs' auto-pagers walk any list to its end.

The Dodo SDKs page with `page_number` only (1, 2, 3, ... until an empty page);
they cannot send a cursor. So `page_number` has no upper bound, and page n of a
walk starts where page n-1 ended (a bookmark), costing what page 1 costs: the
function's log line of each page says how many DynamoDB calls and read units it
took, and page 100 is compared with page 1 here.
"""

import base64
import json
import os
from concurrent.futures import ThreadPoolExecutor

from dodopayments import DodoPayments

from test_allocation import Lrm, new_org
from test_grants import issue, new_entitlement, unique_key
from test_license_keys import activate, delivered_key

LIST_SIZE = 1_050  # page 105 of the SDK's default 10 is the last full one


def _log_lines(function):
    return os.path.join(os.environ["FUNCTION_LOG_DIR"], f"{function}.log")


def _request_lines(function, since):
    """The `request` log lines a function wrote after byte offset `since`."""
    with open(_log_lines(function), "rb") as log:
        log.seek(since)
        lines = [json.loads(line) for line in log.read().decode().splitlines() if line.startswith("{")]
    return [line["fields"] for line in lines if line.get("fields", {}).get("message") == "request"]


def test_the_python_auto_pager_walks_1050_license_keys_to_the_end_and_page_100_costs_what_page_1_costs(
        api_url, business, capsys):
    product = new_entitlement(business)["id"]

    def import_key(i):
        answer = business.post("/license_keys", json={
            "customer_id": f"cus_pager_{i % 7}", "key": unique_key(), "product_id": product})
        assert answer.status_code == 201, answer.text
        return answer.json()["id"]

    with ThreadPoolExecutor(16) as pool:
        created = list(pool.map(import_key, range(LIST_SIZE)))

    # The list's own order, walked by cursor at the largest page size.
    by_cursor, cursor = [], None
    while True:
        page = business.get("/license_keys", params={"page_size": 100, **({"cursor": cursor} if cursor else {})}).json()
        by_cursor += [key["id"] for key in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(by_cursor) == sorted(created)

    client = DodoPayments(bearer_token=business.key, base_url=api_url, max_retries=0)
    since = os.path.getsize(_log_lines("list-license-keys"))
    walked = [key.id for key in client.license_keys.list()]
    assert len(walked) == LIST_SIZE
    assert len(set(walked)) == LIST_SIZE, "an item came twice"
    assert walked == by_cursor, "the auto-pager's order is the list's order"

    pages = _request_lines("list-license-keys", since)
    assert len(pages) == LIST_SIZE // 10 + 1, "105 full pages, then the empty one that stops the pager"
    assert all(page["status"] == 200 for page in pages)
    first, hundredth = pages[0], pages[99]
    with capsys.disabled():  # the figures belong in the suite's output
        print(f"\nGET /license_keys, page_size 10 (SDK default), {LIST_SIZE} keys:"
              f"\n  page 1:   {first['dynamodb_calls']} DynamoDB calls, {first['dynamodb_read_units']} read units, "
              f"{first['dynamodb_write_units']} write units"
              f"\n  page 100: {hundredth['dynamodb_calls']} DynamoDB calls, {hundredth['dynamodb_read_units']} read units, "
              f"{hundredth['dynamodb_write_units']} write units")
    # Page 100 reads its own items, not the 990 before it: at most the bookmark's
    # one small read (0.5 units) more than page 1, and the write of its own end.
    assert hundredth["dynamodb_calls"] <= first["dynamodb_calls"] + 2
    assert hundredth["dynamodb_read_units"] <= first["dynamodb_read_units"] + 0.5
    assert hundredth["dynamodb_write_units"] <= 1
    # So does every page from 3 on (page 2 reads page 1 again: page 1 remembers nothing).
    assert max(page["dynamodb_read_units"] for page in pages[2:]) <= first["dynamodb_read_units"] + 0.5
    assert first["dynamodb_write_units"] == 0


def test_a_page_asked_out_of_order_is_the_same_page(business):
    for _ in range(25):
        new_entitlement(business)
    walk = [business.get("/entitlements", params={"page_size": 4, "page_number": n}).json()["items"] for n in range(1, 8)]
    assert [len(page) for page in walk] == [4, 4, 4, 4, 4, 4, 1]
    # Cold, far and repeated asks answer what the walk answered.
    for number in [6, 3, 7, 1, 5, 5]:
        again = business.get("/entitlements", params={"page_size": 4, "page_number": number}).json()
        assert again["items"] == walk[number - 1], number
    far = business.get("/entitlements", params={"page_size": 4, "page_number": 10**30})
    assert far.status_code == 200 and far.json() == {"items": [], "next_cursor": None}


def _forged(keys):
    return base64.urlsafe_b64encode(json.dumps(keys).encode()).decode().rstrip("=")


def test_a_cursor_forged_with_an_empty_key_value_is_a_422(business, api_url):
    """A cursor is opaque but only base64 of JSON: one forged in the caller's own
    partition with an empty key value must be refused, not sent to DynamoDB."""
    business_id = business.business_id
    entitlements = f"BIZ#{business_id}#ENT"
    lrm = Lrm(api_url)
    assert lrm.set_host({"UNATT": 2}).status_code == 200
    org = new_org()
    assert lrm.allocate(org, {"UNATT": 1}).status_code == 200
    audit = f"AUDIT#ORG#{org}"
    cases = [
        (business, "/entitlements", {"gsi1pk": entitlements, "gsi1sk": "", "pk": "ENT#x", "sk": "ENT"}),
        (business, "/entitlements", {"gsi1pk": entitlements, "gsi1sk": "2026", "pk": "", "sk": ""}),
        (business, "/license_keys", {"gsi1pk": f"BIZ#{business_id}#LK", "gsi1sk": "", "pk": "", "sk": ""}),
        (lrm.host, f"/lrm/api/account/{org}/audit", {"pk": audit, "sk": ""}),
        (lrm.host, f"/lrm/api/account/{org}/audit", {"pk": "", "sk": "AUDIT#1"}),
    ]
    for api, path, keys in cases:
        answer = api.get(path, params={"cursor": _forged(keys)})
        assert answer.status_code == 422, (path, keys, answer.status_code, answer.text)
        assert answer.json()["message"].startswith("cursor"), answer.text


def _by_cursor(api, path, **params):
    items, cursor = [], None
    while True:
        answer = api.get(path, params={"page_size": 1, **params, **({"cursor": cursor} if cursor else {})})
        assert answer.status_code == 200, (path, answer.text)
        items += answer.json()["items"]
        cursor = answer.json()["next_cursor"]
        if cursor is None:
            return items


def _by_number(api, path, **params):
    items, number = [], 1
    while True:
        answer = api.get(path, params={"page_size": 1, "page_number": number, **params})
        assert answer.status_code == 200, (path, answer.text)
        if not answer.json()["items"]:
            return items
        items += answer.json()["items"]
        number += 1


def test_every_list_walks_by_page_number_as_by_cursor(api_url, business, anonymous):
    """Pages of one item, so each walk goes past its first bookmarked page."""
    ent, grant, key = delivered_key(business, limit=4)
    for i in range(3):
        assert activate(anonymous, key, f"device {i}").status_code == 201
    for _ in range(2):
        assert issue(business, ent["id"]).status_code == 201  # the entitlement's grants: 3
        other = new_entitlement(business)["id"]
        who = {k: grant[k] for k in ("customer_id", "customer_email")}
        assert issue(business, other, **who).status_code == 201  # the customer's grants: 3
    lrm = Lrm(api_url)
    assert lrm.set_host({"UNATT": 9}).status_code == 200
    org = new_org()
    for quantity in (1, 2, 3):
        assert lrm.allocate(org, {"UNATT": quantity}).status_code == 200
    for _ in range(2):
        assert lrm.allocate(new_org(), {"UNATT": 1}).status_code == 200
    for scope in ("t1", "t2", "t3"):
        assert lrm.tenant(org, scope, {"UNATT": 1}).status_code == 200
    meter_body = {"name": "API calls", "unit": "calls", "precision": 0, "overage_enabled": False,
                  "rollover_enabled": False}
    meters = [business.post("/credit-entitlements", json=meter_body).json()["id"] for _ in range(3)]
    for customer in ("cus_list_a", "cus_list_b", "cus_list_c"):
        credited = business.post(f"/credit-entitlements/{meters[0]}/balances/{customer}/ledger-entries",
                                 json={"amount": "5", "entry_type": "credit"})
        assert credited.status_code == 201, credited.text
    for _ in range(2):
        business.post(f"/credit-entitlements/{meters[0]}/balances/cus_list_a/ledger-entries",
                      json={"amount": "1", "entry_type": "credit"})
    lists = [
        (business, f"/entitlements/{ent['id']}/grants", {}, 3),
        (business, f"/customers/{grant['customer_id']}/entitlement-grants", {}, 3),
        (business, "/license_key_instances", {"license_key_id": grant["license_key"]["id"]}, 3),
        (lrm.host, f"/lrm/api/account/{org}/audit", {}, 3),
        (lrm.host, f"/lrm/api/host/{lrm.host_id}/organizations", {}, 3),
        (lrm.host, f"/lrm/api/account/{org}/service-licenses", {}, 3),
        (business, "/credit-entitlements", {}, 3),
        (business, f"/credit-entitlements/{meters[0]}/balances", {}, 3),
        (business, f"/credit-entitlements/{meters[0]}/balances/cus_list_a/grants", {}, 3),
        (business, f"/credit-entitlements/{meters[0]}/balances/cus_list_a/ledger", {}, 3),
    ]
    for api, path, params, at_least in lists:
        walked = _by_cursor(api, path, **params)
        assert len(walked) >= at_least, (path, walked)
        assert _by_number(api, path, **params) == walked, path
