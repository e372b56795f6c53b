"""An organization's pool of one code split over shard items by the
`pool-shards` tool (docs/CAPACITY.md): a burst of seat assignments takes
exactly its quantity, tenants and new quantities go through the shards, and
switching on and off during a burst loses no unit."""

import collections
import concurrent.futures
import json
import os
import subprocess

from test_activation_shards import counter_shards
from test_allocation import Lrm, new_org


def pool_shards(account, code, shards):
    """Runs the operator's tool against the suite's table; its JSON, or its exit code and message."""
    tool = os.path.join(os.environ["FUNCTION_BIN_DIR"], "pool-shards")
    done = subprocess.run([tool, account, code, str(shards)], capture_output=True, text=True, timeout=60)
    return json.loads(done.stdout) if done.returncode == 0 else (done.returncode, (done.stderr.strip().splitlines() or [""])[-1])


def shard_items(table, account, code):
    """The pool's shard items."""
    return counter_shards(table, f"POOL#{account}#{code}")


def seats_holding(table, account, code):
    rows = table.query(KeyConditionExpression="pk = :pk AND begins_with(sk, :user)",
                       ExpressionAttributeValues={":pk": f"ORG#{account}", ":user": "USER#"}, ConsistentRead=True)["Items"]
    return sum(code in row["user_bundle_codes"] for row in rows)


def assign_each(org_api, org, users, code="ACNU"):
    def assign(user):
        return org_api.put(f"/lease_/api/account/{org}/user-license", json={"userIds": [user], "userBundleCodes": [code]})

    with concurrent.futures.ThreadPoolExecutor(40) as pool:
        answers = list(pool.map(assign, users))
    statuses = collections.Counter(a.status_code for a in answers)
    refusals = {a.json()["code"] for a in answers if a.status_code == 409}
    assert set(statuses) <= {200, 409} and refusals <= {"ALLOCATION_EXCEEDS_ACCOUNT_LICENSE"}, (statuses, refusals)
    return [u for u, a in zip(users, answers) if a.status_code == 200]


def test_a_burst_of_seats_on_a_sharded_pool_takes_exactly_its_quantity(api_url, table):
    lrm = Lrm(api_url)
    assert lrm.set_host({"ACNU": 100}).status_code == 200
    org = new_org()
    assert lrm.allocate(org, {"ACNU": 40}).status_code == 200
    org_api = lrm.org_key(org)
    assert pool_shards(org, "ACNU", 8) == {"accountId": org, "code": "ACNU", "quantity": 40, "allocated": 0, "shards": 8}
    assert sum(s["cap"] for s in shard_items(table, org, "ACNU")) == 40

    seated = assign_each(org_api, org, [f"user{i}" for i in range(120)])
    shards = shard_items(table, org, "ACNU")
    print(f"\n120 concurrent seat assignments over 8 shards, quantity 40: {len(seated)} x 200; "
          f"shards (cap, used): {[(s['cap'], s['used']) for s in shards]}")
    assert len(seated) == 40 == seats_holding(table, org, "ACNU")
    assert lrm.org_products(org)["ACNU"] == (40, 40, 0)
    listed = lrm.host.get(f"/lrm/api/host/{lrm.host_id}/organizations").json()["items"]
    assert [(o["accountId"], o["products"]) for o in listed] == [(org, [{"code": "ACNU", "quantity": 40, "consumed": 40, "available": 0}])]
    assert sum(s["used"] for s in shards) == 40 and all(s["free"] == s["cap"] - s["used"] >= 0 for s in shards)

    with concurrent.futures.ThreadPoolExecutor(10) as pool:
        gone = list(pool.map(lambda u: org_api.delete(f"/lease_/api/account/{org}/user-license/{u}"), seated[:10]))
    assert [g.status_code for g in gone] == [204] * 10
    assert lrm.org_products(org)["ACNU"] == (40, 30, 10)

    # Eight users at once need eight units on one shard: they are gathered into one first.
    eight = org_api.put(f"/lease_/api/account/{org}/user-license",
                        json={"userIds": [f"new{i}" for i in range(8)], "userBundleCodes": ["ACNU"]})
    assert eight.status_code == 200, eight.text
    tenant = lrm.tenant(org, "t1", {"ACNU": 2})
    assert tenant.status_code == 200, tenant.text
    assert lrm.tenant(org, "t2", {"ACNU": 1}).status_code == 409
    assert lrm.org_products(org)["ACNU"] == (40, 40, 0)

    # The host moves the quantity: the caps follow, never below what is used.
    assert lrm.allocate(org, {"ACNU": 45}).status_code == 200
    assert sum(s["cap"] for s in shard_items(table, org, "ACNU")) == 45
    below = lrm.allocate(org, {"ACNU": 39})
    assert below.status_code == 409 and below.json()["code"] == "ALLOCATION_BELOW_CONSUMED"
    assert lrm.host_products()["ACNU"] == (100, 45, 55)

    off = pool_shards(org, "ACNU", "off")
    assert off["shards"] is None and (off["quantity"], off["allocated"]) == (45, 40)
    assert shard_items(table, org, "ACNU") == []
    [license_] = [r for r in table.query(KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": f"ORG#{org}"},
                                         ConsistentRead=True)["Items"] if r["sk"] == "LICENSE"]
    assert int(license_["products"]["ACNU"]["allocated"]) == 40
    assert len(assign_each(org_api, org, [f"late{i}" for i in range(8)])) == 5


def test_switching_a_pool_during_a_burst_loses_no_unit(api_url, table):
    lrm = Lrm(api_url)
    assert lrm.set_host({"ACNU": 100}).status_code == 200
    org = new_org()
    assert lrm.allocate(org, {"ACNU": 60}).status_code == 200
    org_api = lrm.org_key(org)
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        burst = pool.submit(assign_each, org_api, org, [f"user{i}" for i in range(90)])
        switches = [pool_shards(org, "ACNU", n) for n in (4, "off", 8, 3, "off", 6)]
        seated = burst.result()
    # A switch may lose its race with the burst every time: it says so and changes nothing.
    assert all(isinstance(s, dict) or s[1].startswith("SERVICE_UNAVAILABLE") for s in switches), switches
    print(f"\n90 seat assignments while switching shards: {len(seated)} x 200, switches "
          f"{[s.get('shards') if isinstance(s, dict) else 'retry' for s in switches]}")
    assert len(seated) == 60 == seats_holding(table, org, "ACNU")
    assert lrm.org_products(org)["ACNU"] == (60, 60, 0)


def test_what_the_tool_refuses_changes_nothing(api_url, table):
    lrm = Lrm(api_url)
    assert lrm.set_host({"ACNU": 10}).status_code == 200
    org = new_org()
    assert lrm.allocate(org, {"ACNU": 5}).status_code == 200
    for shards in ("1", "33", "many"):
        code, message = pool_shards(org, "ACNU", shards)
        assert code in (1, 2) and message, (shards, message)
    assert pool_shards(org, "UNATT", 4)[1].startswith("PRODUCT_NOT_FOUND")
    assert pool_shards(new_org(), "ACNU", 4)[1].startswith("ACCOUNT_LICENSE_NOT_FOUND")
    assert shard_items(table, org, "ACNU") == [] and shard_items(table, org, "UNATT") == []
    assert lrm.org_products(org)["ACNU"] == (5, 0, 5)


def test_an_organizations_pools_hold_at_most_32_shards_and_an_emptied_pool_merges(api_url, table):
    lrm = Lrm(api_url)
    assert lrm.set_host({"ACNU": 10, "UNATT": 10}).status_code == 200
    org = new_org()
    assert lrm.allocate(org, {"ACNU": 5, "UNATT": 5}).status_code == 200
    assert pool_shards(org, "ACNU", 20)["shards"] == 20
    code, message = pool_shards(org, "UNATT", 16)
    assert code == 1 and message.startswith("VALIDATION_ERROR") and "32" in message, message
    assert shard_items(table, org, "UNATT") == []
    assert pool_shards(org, "UNATT", 12)["shards"] == 12
    # One change of both quantities moves all 32 shards' caps in one transaction.
    assert lrm.allocate(org, {"ACNU": 7, "UNATT": 6}).status_code == 200
    assert sum(s["cap"] for s in shard_items(table, org, "ACNU")) == 7
    assert sum(s["cap"] for s in shard_items(table, org, "UNATT")) == 6
    # The host takes ACNU away altogether: its shards can still be merged.
    assert lrm.allocate(org, {"UNATT": 6}).status_code == 200
    assert pool_shards(org, "ACNU", "off")["shards"] is None
    assert shard_items(table, org, "ACNU") == []
