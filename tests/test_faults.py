"""DynamoDB out of reach while requests run (SPEC 0, Final and retryable answers).

The functions reach DynamoDB Local through a proxy (`infra/dynamodb_proxy.py`)
that this test cuts for a few seconds in the middle of a burst of writes and
reads, then restores. Every answer must be a success, a final 4xx or a
retryable 503 with Retry-After, none a 500 and none later than the function
timeout; afterwards every write is whole or absent, and retrying each 503 with
its Idempotency-Key ends in exactly one change per key.
"""

import concurrent.futures
import os
import signal
import threading
import time
import uuid

import pytest

from test_grants import AUTO, customer, new_entitlement

FUNCTION_TIMEOUT_S = 10


def proxy_pid():
    with open(os.environ["DYNAMODB_PROXY_PID_FILE"]) as f:
        return int(f.read())


@pytest.mark.parametrize("shards", [None, 8], ids=["one key item", "8 shards"])
def test_dynamodb_unreachable_mid_burst(business, anonymous, shards):
    ent = new_entitlement(business, {**AUTO, "integration_config": {**AUTO["integration_config"], "activations_limit": None}})
    grant = business.post(f"/entitlements/{ent['id']}/grants", json=customer()).json()
    key = grant["license_key"]["key"]
    if shards:
        split = business.patch(f"/license_keys/{grant['license_key']['id']}", json={"activation_shards": shards})
        assert split.status_code == 200 and split.json()["activation_shards"] == shards
    keys = [str(uuid.uuid4()) for _ in range(80)]

    def activate(idem):
        started = time.monotonic()
        answer = anonymous.post("/licenses/activate", json={"license_key": key, "name": "pc"},
                                headers={"Idempotency-Key": idem})
        return idem, answer, time.monotonic() - started

    def validate(_):
        started = time.monotonic()
        answer = anonymous.post("/licenses/validate", json={"license_key": key})
        return None, answer, time.monotonic() - started

    def cut_for_a_while():
        time.sleep(0.4)
        os.kill(proxy_pid(), signal.SIGUSR1)
        time.sleep(3)
        os.kill(proxy_pid(), signal.SIGUSR2)

    cutter = threading.Thread(target=cut_for_a_while)
    cut_at = time.monotonic()
    cutter.start()
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        jobs = [pool.submit(activate, k) for k in keys] + [pool.submit(validate, i) for i in range(40)]
        for job in jobs:
            time.sleep(0.05)
        results = [job.result() for job in jobs]
    cutter.join()

    statuses = sorted({answer.status_code for _, answer, _ in results})
    assert set(statuses) <= {200, 201, 503}, [(a.status_code, a.text) for _, a, _ in results if a.status_code not in (200, 201, 503)]
    unavailable = [a for _, a, _ in results if a.status_code == 503]
    assert unavailable, "the cut came too late to matter"
    assert all(a.headers.get("retry-after") and a.json()["code"] == "SERVICE_UNAVAILABLE" for a in unavailable)
    assert max(elapsed for _, _, elapsed in results) < FUNCTION_TIMEOUT_S

    # Claims a cut left running lapse after 15 s; then every key converges.
    time.sleep(max(0.0, cut_at + 16 - time.monotonic()))
    created = {idem: a.json()["id"] for idem, a, _ in results if idem and a.status_code == 201}
    for idem in keys:
        for _ in range(20):
            if idem in created:
                break
            _, answer, _ = activate(idem)
            if answer.status_code == 201:
                created[idem] = answer.json()["id"]
            else:
                assert answer.status_code in (409, 503), answer.text
                time.sleep(1)
    assert set(created) == set(keys)
    # Exactly one instance per key, and the counts agree.
    instances = []
    cursor = None
    while True:
        page = business.get("/license_key_instances", params={"license_key_id": grant["license_key"]["id"],
                                                             "page_size": 100, **({"cursor": cursor} if cursor else {})}).json()
        instances += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(instances) == sorted(created.values())
    assert business.get(f"/license_keys/{grant['license_key']['id']}").json()["instances_count"] == len(keys)
    assert business.get(f"/grants/{grant['id']}").json()["license_key"]["activations_used"] == len(keys)
