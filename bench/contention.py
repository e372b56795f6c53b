"""Contention: 100 allocations at once on one pool, and 100 activations at once
on one key, beside DynamoDB's own rate.

One organization holds POOL units of one code; 100 different users ask for a
seat of it at the same moment (PUT user-license, one user each). Exactly POOL
may win; the rest must be 409 ALLOCATION_EXCEEDS_ACCOUNT_LICENSE, none lost to
contention, and the pool read back from the table must hold exactly the seats
that exist. Then one license key allows POOL activations and 100 devices
activate it at once: exactly POOL get an instance, the rest 422, and the key
counts exactly the instances that exist. Beside them, in the same run,
bench/floor's hot-item-rates measures DynamoDB Local's own rates on one item:
conditional updates (the yardstick), and the two calls an assignment makes (a
BatchGetItem, a TransactWriteItems).
"""

import collections
import concurrent.futures
import json
import os
import re
import subprocess
import threading
import time
import uuid

import boto3
import httpx

REQUESTS = 100
POOL = 60
CODE = "BENCH"


def allocation_run(api_url, mint, table):
    host_id, org_id = f"bench-host-{uuid.uuid4().hex[:8]}", f"bench-org-{uuid.uuid4().hex[:8]}"
    host = httpx.Client(base_url=api_url, headers={"Authorization": f"Bearer {mint(f'host:{host_id}')}"}, timeout=60)
    org = {"Authorization": f"Bearer {mint(f'organization:{org_id}')}"}
    product = [{"code": CODE, "quantity": POOL}]
    assert host.put(f"/lrm/api/host/{host_id}/license", json={"products": product}).status_code == 200
    answer = host.put(f"/lrm/api/host/{host_id}/organization/{org_id}/license", json={"productQuantities": product})
    assert answer.status_code == 200, answer.text
    # Warm the function (and its key cache) so the burst measures allocation, not start-up.
    warm = httpx.put(f"{api_url}/lease_/api/account/{org_id}/user-license", headers=org,
                     json={"userIds": ["warm-up"], "userBundleCodes": []}, timeout=60)
    assert warm.status_code == 200, warm.text

    # Timed from the moment all clients are ready to the last answer.
    released = []
    barrier = threading.Barrier(REQUESTS, action=lambda: released.append(time.perf_counter()))

    def seat(i):
        with httpx.Client(base_url=api_url, headers=org, timeout=60) as client:
            barrier.wait()
            answer = client.put(f"/lease_/api/account/{org_id}/user-license",
                                json={"userIds": [f"user-{i:03}"], "userBundleCodes": [CODE]})
            return answer, time.perf_counter()

    with concurrent.futures.ThreadPoolExecutor(REQUESTS) as pool:
        outcomes = list(pool.map(seat, range(REQUESTS)))
    answers = [answer for answer, _ in outcomes]
    seconds = max(done for _, done in outcomes) - released[0]

    statuses = collections.Counter(a.status_code for a in answers)
    codes = collections.Counter(a.json().get("code") for a in answers if a.status_code != 200)
    items = table.query(KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": f"ORG#{org_id}"},
                        ConsistentRead=True)["Items"]
    [license_] = [i for i in items if i["sk"] == "LICENSE"]
    seats = sum(1 for i in items if i["sk"].startswith("USER#") and CODE in i.get("user_bundle_codes", []))
    pool = license_["products"][CODE]
    return {
        "seconds": seconds,
        "statuses": dict(statuses),
        "codes": dict(codes),
        "granted": statuses[200],
        "seats": seats,
        "allocated": int(pool["allocated"]),
        "quantity": int(pool["quantity"]),
    }


def activation_run(api_url, mint):
    tag = uuid.uuid4().hex[:8]
    business = httpx.Client(base_url=api_url, headers={"Authorization": f"Bearer {mint(f'business:bench_{tag}')}"},
                            timeout=60)
    entitlement = business.post("/entitlements", json={
        "name": "Bench contention", "integration_type": "license_key",
        "integration_config": {"activations_limit": POOL, "fulfillment_mode": "manual"}})
    assert entitlement.status_code == 201, entitlement.text

    def imported(key):
        answer = business.post("/license_keys", json={"customer_id": f"cus_bench_{tag}", "key": key,
                                                      "product_id": entitlement.json()["id"], "activations_limit": POOL})
        assert answer.status_code == 201, answer.text
        return answer.json()["id"]

    key, key_id = f"BENCH-{tag}-HOT", imported(f"BENCH-{tag}-HOT")
    imported(f"BENCH-{tag}-WARM")
    # Warm the function on another key, so the burst measures activation, not start-up.
    warm = httpx.post(f"{api_url}/licenses/activate", json={"license_key": f"BENCH-{tag}-WARM", "name": "warm-up"}, timeout=60)
    assert warm.status_code == 201, warm.text

    released = []
    barrier = threading.Barrier(REQUESTS, action=lambda: released.append(time.perf_counter()))

    def activate(i):
        with httpx.Client(base_url=api_url, timeout=60) as client:
            barrier.wait()
            answer = client.post("/licenses/activate", json={"license_key": key, "name": f"device-{i:03}"})
            return answer, time.perf_counter()

    with concurrent.futures.ThreadPoolExecutor(REQUESTS) as pool:
        outcomes = list(pool.map(activate, range(REQUESTS)))
    answers = [answer for answer, _ in outcomes]
    statuses = collections.Counter(a.status_code for a in answers)
    after = business.get(f"/license_keys/{key_id}").json()
    instances = business.get("/license_key_instances", params={"license_key_id": key_id, "page_size": 100}).json()["items"]
    return {
        "seconds": max(done for _, done in outcomes) - released[0],
        "statuses": dict(statuses),
        "granted": statuses[201],
        "instances": len(instances),
        "counted": after["instances_count"],
    }


def retries_logged(log, offset):
    """The writes tried again, from the request lines logged after `offset` bytes of the log."""
    with open(log, "rb") as lines:
        lines.seek(offset)
        return sum(int(n) for n in re.findall(rb'"retries":(\d+)', lines.read()))


def hot_item_rates(bin_dir):
    out = subprocess.run([os.path.join(bin_dir, "hot-item-rates")], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def run(api_url, mint, bin_dir, log_dir):
    table = boto3.resource("dynamodb", region_name=os.environ["AWS_REGION"]).Table(os.environ["TABLE_NAME"])
    raw = hot_item_rates(bin_dir)
    log = os.path.join(log_dir, "assign-user-licenses.log")
    offset = os.path.getsize(log)
    burst = allocation_run(api_url, mint, table)
    burst["retries"] = retries_logged(log, offset)
    requests_per_second = REQUESTS / burst["seconds"]
    over = burst["allocated"] > burst["quantity"] or burst["allocated"] != burst["seats"]
    # An assignment is one BatchGetItem then one TransactWriteItems on the hot item.
    ceiling = 1 / (1 / raw["batch_get"] + 1 / raw["transaction"])
    print(f"DynamoDB Local on one item, {raw['calls']} calls from {raw['writers']} concurrent writers: "
          f"conditional updates {raw['update']:.0f}/s, 2-item transactions {raw['transaction']:.0f}/s, "
          f"2-item consistent BatchGetItem {raw['batch_get']:.0f}/s; one of each in turn: {ceiling:.0f}/s")
    print(f"{REQUESTS} concurrent seat allocations on one pool of {POOL}: {burst['seconds'] * 1000:.0f} ms, "
          f"{requests_per_second:.0f} requests/s = {requests_per_second / raw['update']:.2f}x the conditional-update "
          f"rate (target >= 0.5), {requests_per_second / ceiling:.2f}x the read-then-transact rate")
    print(f"  answers {burst['statuses']}, refusals {burst['codes']}, writes retried after losing a race {burst['retries']}")
    print(f"  afterwards: {burst['seats']} seats, pool allocated {burst['allocated']} of {burst['quantity']}: "
          + ("OVER-ALLOCATED" if over else "no over-allocation"))
    if over or burst["granted"] != POOL:
        raise AssertionError(f"contention run broke the invariant: {burst}")

    log = os.path.join(log_dir, "activate-license.log")
    offset = os.path.getsize(log)
    devices = activation_run(api_url, mint)
    devices["retries"] = retries_logged(log, offset)
    activations_per_second = REQUESTS / devices["seconds"]
    over = devices["counted"] > POOL or devices["counted"] != devices["instances"]
    print(f"{REQUESTS} concurrent activations of one key allowing {POOL}: {devices['seconds'] * 1000:.0f} ms, "
          f"{activations_per_second:.0f} requests/s = {activations_per_second / raw['update']:.2f}x the "
          f"conditional-update rate (target >= 0.5)")
    print(f"  answers {devices['statuses']}, writes retried after losing a race {devices['retries']}")
    print(f"  afterwards: {devices['instances']} instances, the key counts {devices['counted']}: "
          + ("OVER-ACTIVATED" if over else "no over-activation"))
    if over or devices["granted"] != POOL:
        raise AssertionError(f"activation run broke the invariant: {devices}")
    return {"dynamodb_rates": raw, "requests_per_second": requests_per_second, **burst,
            "activations_per_second": activations_per_second, "activations": devices}
