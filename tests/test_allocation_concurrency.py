"""Many allocation changes at once over one host: afterwards every pool holds
no more than it has, and every parent's counters equal the sum of its children."""

import concurrent.futures
import collections
import os
import random
import re

from test_allocation import Lrm, new_org
from test_allocation_inventory import walk_all

CODES = ["UNATT", "NONPR", "ACNU"]


def test_invariant_holds_under_mixed_concurrent_operations(api_url, table):
    lrm = Lrm(api_url)
    assert lrm.set_host({"UNATT": 40, "NONPR": 40, "ACNU": 40}).status_code == 200
    orgs = [new_org() for _ in range(3)]
    tenants = [(org, f"t{i}") for org in orgs for i in range(2)]
    users = [f"user{i}" for i in range(30)]
    org_apis = {org: lrm.org_key(org) for org in orgs}
    for org in orgs:
        assert lrm.allocate(org, {c: 8 for c in CODES}).status_code == 200

    rng = random.Random(7)

    def operation(i):
        kind = rng.choice(["host", "org", "org", "tenant", "tenant", "users", "users", "release"])
        org = rng.choice(orgs)
        if kind == "host":
            return kind, lrm.set_host({c: rng.randint(20, 50) for c in CODES})
        if kind == "org":
            return kind, lrm.allocate(org, {c: rng.randint(0, 20) for c in CODES})
        if kind == "tenant":
            org, scope = rng.choice(tenants)
            return kind, lrm.tenant(org, scope, {c: rng.randint(0, 6) for c in rng.sample(CODES, 2)})
        api = org_apis[org]
        if kind == "users":
            chosen = rng.sample(users, rng.randint(1, 6))
            codes = rng.sample(CODES, rng.randint(0, 2))
            return kind, api.put(f"/lease_/api/account/{org}/user-license", json={"userIds": chosen, "userBundleCodes": codes})
        return kind, api.delete(f"/lease_/api/account/{org}/user-license/{rng.choice(users)}")

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        results = list(pool.map(operation, range(520)))

    by_status = collections.Counter(answer.status_code for _, answer in results)
    codes = collections.Counter(answer.json().get("code") for _, answer in results if answer.status_code == 409)
    assert set(by_status) <= {200, 204, 404, 409}, by_status
    assert by_status[200] > 100, by_status
    assert by_status[503] == 0, codes  # no change gave up on its retries

    # Sum every item straight from the table.
    def items(pk):
        return table.query(KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": pk}, ConsistentRead=True)["Items"]

    [host] = items(f"HOST#{lrm.host_id}")
    checks = 0
    org_totals = collections.Counter()
    for org in orgs:
        rows = items(f"ORG#{org}")
        [license_] = [r for r in rows if r["sk"] == "LICENSE"]
        taken = collections.Counter()
        for row in rows:
            if row["sk"].startswith("SVC#"):
                taken.update({c: int(q) for c, q in row["products"].items()})
            if row["sk"].startswith("USER#"):
                taken.update({c: 1 for c in row["user_bundle_codes"]})
        for code, pool in license_["products"].items():
            assert int(pool["allocated"]) == taken[code], (org, code)
            assert int(pool["allocated"]) <= int(pool["quantity"]), (org, code)
            org_totals[code] += int(pool["quantity"])
            checks += 2
        audit = lrm.host.get(f"/lrm/api/account/{org}/audit", params={"page_size": 100}).json()["items"]
        last_org_change = next(r for r in audit if r["target"] == "organization")
        assert last_org_change["after"] == {c: int(p["quantity"]) for c, p in license_["products"].items() if int(p["quantity"]) > 0}
        checks += 1
    for code, pool in host["products"].items():
        assert int(pool["allocated"]) == org_totals[code], code
        assert int(pool["allocated"]) <= int(pool["quantity"]), code
        checks += 2

    # The same sums as a user reads them through the inventory routes.
    inventory = 0
    listed = {o["accountId"]: {p["code"]: p for p in o["products"]}
              for o in walk_all(lrm.host, f"/lrm/api/host/{lrm.host_id}/organizations", 2)}
    assert sorted(listed) == sorted(orgs)
    host_now = lrm.host_products()
    for code in CODES:
        assert sum(listed[org].get(code, {}).get("quantity", 0) for org in orgs) == host_now.get(code, (0, 0, 0))[1], code
        inventory += 1
    for org in orgs:
        taken = collections.Counter()
        for tenant in walk_all(lrm.host, f"/lrm/api/account/{org}/service-licenses", 7):
            taken.update({p["code"]: p["quantity"] for p in tenant["license"]["products"]})
        for seat in walk_all(org_apis[org], f"/lease_/api/account/{org}/user-licenses", 7):
            taken.update({c: 1 for c in seat["userBundleCodes"]})
        read = lrm.host.get(f"/lrm/api/host/{lrm.host_id}/organization/{org}/license").json()
        read = {p["code"]: p for p in read["products"]}
        for code in CODES:
            assert listed[org].get(code, {}).get("consumed", 0) == taken[code], (org, code)
            assert read.get(code, {}).get("consumed", 0) == taken[code], (org, code)
            inventory += 2

    retried = 0
    log_dir = os.environ["FUNCTION_LOG_DIR"]
    for name in os.listdir(log_dir):
        for match in re.finditer(r'"conflicts_retried":(\d+)', open(os.path.join(log_dir, name)).read()):
            retried += int(match.group(1))
    print(f"\nallocation concurrency: {len(results)} operations from 16 workers; statuses {dict(by_status)}; "
          f"409 codes {dict(codes)}; conflicts retried (whole run) {retried}; invariant checks {checks}; "
          f"inventory checks {inventory}")
