"""`make capacity`: one hot license key's activations per second, unsharded and sharded.

Run by `infra/test.sh capacity`, which puts the functions behind the throttling
mode of infra/dynamodb_proxy.py: each item takes CAPACITY_ITEM_WCU write units
a second (and one second's burst), as DynamoDB takes about 1,000, which
DynamoDB Local never enforces. An activation writes the key's count once in a
transaction (2 units), so one unsharded key completes at most ITEM_WCU / 2
activations a second, however many are offered.

For each mode (the key unsharded, then split over CAPACITY_SHARDS items by
PATCH /license_keys/{id} {"activation_shards": N}; 16 by default, so the shards'
ceiling, 16x one item's, is above the 10x offered even when spread unevenly) it
offers 10x that ceiling, open loop, for CAPACITY_BURSTS bursts of
CAPACITY_SECONDS each. A 503 or 429 is retried after its Retry-After, as an SDK
would, until a final answer; a 500, a connection error or a timeout fails the
bench. After every burst: 201s == the key's instances_count == the instances
listed <= activations_limit. Then, sharded, a sample is deactivated, sharding
is switched off again with the count unchanged, and a second sharded key is
offered four times its limit at once.

The public routes count requests per source address in one item (RATE#<ip>),
which would be a hot item of its own: the requests come from CAPACITY_SOURCES
caller addresses (see Public for how), and the bench checks in the table that
the functions counted them as distinct callers.
"""

import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import time
import uuid

import boto3
import httpx
from boto3.dynamodb.conditions import Attr

ITEM_WCU = float(os.environ.get("CAPACITY_ITEM_WCU", "20"))
CEILING = ITEM_WCU / 2  # activations/s of one unsharded key: 2 units per transactional write
OFFERED = 10 * CEILING
SECONDS = float(os.environ.get("CAPACITY_SECONDS", "6"))
BURSTS = int(os.environ.get("CAPACITY_BURSTS", "2"))
SHARDS = int(os.environ.get("CAPACITY_SHARDS", "16"))
SOURCES = int(os.environ.get("CAPACITY_SOURCES", "64"))
DEACTIVATE = 20
SMALL_LIMIT = 60  # a second key, sharded, offered far more than it allows: the limit holds across shards
TIMEOUT_S = 300  # a request queued behind the hot key waits long; only a hang should time out
# At most this many requests at `cargo lambda watch` at once: each function takes 64 (FUNCTION_CONCURRENCY)
# and its queue holds 100, and a full queue deadlocks it (RequestCache::upsert awaits room holding the lock
# every poll needs). The rest wait in the client, and their latency still runs from their scheduled start.
IN_FLIGHT = 128
LIMIT = int(4 * OFFERED * SECONDS * BURSTS)  # twice what both modes offer: here throughput is measured, not the limit


def mint(principal):
    out = subprocess.run([os.environ["MINT_API_KEY"], principal], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)["key"]


def proxy_stats():
    """The proxy's per-item counts, dumped on SIGUSR1 (infra/dynamodb_proxy.py)."""
    path = os.environ["DYNAMODB_PROXY_STATS"]
    before = os.stat(path).st_mtime_ns
    os.kill(int(open(os.environ["DYNAMODB_PROXY_PID_FILE"]).read()), signal.SIGUSR1)
    while os.stat(path).st_mtime_ns == before:
        time.sleep(0.02)
    return json.load(open(path))


class Public:
    """The public routes as API Gateway calls them: an HTTP API event naming the caller's address.

    `cargo lambda watch` gives every HTTP request it serves the sourceIp
    127.0.0.1 (cargo-lambda-watch's trigger_router.rs), so over HTTP every
    public request would count in one RATE# item: a hot item no deployment has.
    The bench plays API Gateway's part instead and hands the functions the same
    event through the Lambda Invoke API of the same `cargo lambda watch`, each
    from one of SOURCES caller addresses in turn."""

    FUNCTIONS = {"/licenses/activate": "activate-license", "/licenses/deactivate": "deactivate-license"}

    def __init__(self, api_url):
        self.http = httpx.AsyncClient(base_url=api_url, timeout=TIMEOUT_S, limits=httpx.Limits(max_connections=IN_FLIGHT))
        self.turn = 0

    def event(self, path, body):
        self.turn += 1
        now = time.time()
        return {
            "version": "2.0", "routeKey": f"POST {path}", "rawPath": path, "rawQueryString": "",
            "headers": {"content-type": "application/json", "host": "127.0.0.1"},
            "requestContext": {
                "accountId": "123456789012", "apiId": "local", "domainName": "127.0.0.1", "domainPrefix": "local",
                "http": {"method": "POST", "path": path, "protocol": "HTTP/1.1",
                         "sourceIp": f"127.0.1.{self.turn % SOURCES + 1}", "userAgent": "capacity-bench"},
                "requestId": str(uuid.uuid4()), "routeKey": f"POST {path}", "stage": "$default",
                "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)), "timeEpoch": int(now * 1000),
            },
            "isBase64Encoded": False, "body": json.dumps(body),
        }

    async def post(self, path, body, tally):
        """POSTs until a final answer, each 503/429 again after its Retry-After: (status, body) or None if lost."""
        while True:
            tally["attempts"] += 1
            try:
                answer = await self.http.post(f"/2015-03-31/functions/{self.FUNCTIONS[path]}/invocations",
                                              json=self.event(path, body))
                reply = answer.json()
                status, headers = reply["statusCode"], {k.lower(): v for k, v in reply.get("headers", {}).items()}
            except (httpx.HTTPError, ValueError, KeyError, TypeError) as e:
                tally["failures"].append(f"{type(e).__name__}: {e}")
                return None
            if status in (429, 503):
                tally[f"retried_{status}"] += 1
                await asyncio.sleep(float(headers.get("retry-after", "1")))
                continue
            if status >= 500:
                tally["failures"].append(f"{status} {reply.get('body', '')[:200]}")
            return status, json.loads(reply.get("body") or "null")

    async def close(self):
        await self.http.aclose()


async def burst(public, key, tag, seconds=SECONDS):
    """OFFERED activations a second for `seconds`, open loop; latency runs from each one's scheduled start."""
    tally = {"attempts": 0, "retried_503": 0, "retried_429": 0, "failures": [], "created": [], "refused": {},
             "latencies": []}
    count = int(OFFERED * seconds)
    started = time.monotonic()

    async def one(i):
        due = started + i / OFFERED
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        answer = await public.post("/licenses/activate", {"license_key": key, "name": f"{tag}-{i}"}, tally)
        tally["latencies"].append(time.monotonic() - due)
        if answer is None or answer[0] >= 500:
            return
        if answer[0] == 201:
            tally["created"].append(answer[1]["id"])
        else:  # a final refusal (e.g. LICENSE_KEY_LIMIT_REACHED): answered, not lost
            code = answer[1].get("code", answer[0])
            tally["refused"][code] = tally["refused"].get(code, 0) + 1

    await asyncio.gather(*(one(i) for i in range(count)))
    tally["seconds"] = time.monotonic() - started
    tally["offered"] = count
    return tally


def counted(business, key_id):
    """(instances_count, instances listed, the key) as the admin routes see them, every page walked."""
    key = business.get(f"/license_keys/{key_id}").raise_for_status().json()
    listed, cursor = [], None
    while True:
        params = {"license_key_id": key_id, "page_size": 100, **({"cursor": cursor} if cursor else {})}
        page = business.get("/license_key_instances", params=params).raise_for_status().json()
        listed += [i["id"] for i in page["items"]]
        if not (cursor := page.get("next_cursor")):
            return key["instances_count"], listed, key


def check(business, key_id, live, when):
    """The invariant: what the clients were given == what the key counts == what is listed <= the limit."""
    count, listed, key = counted(business, key_id)
    ok = len(live) == count == len(listed) and set(listed) == live and count <= key["activations_limit"]
    print(f"  {when}: clients hold {len(live)}, instances_count {count}, listed {len(listed)}, "
          f"limit {key['activations_limit']}: {'OK' if ok else 'BROKEN'}", flush=True)
    assert ok, f"invariant broken {when}"
    return ok


def set_shards(business, key_id, shards):
    """Splits the key's count over `shards` items (None: one again); what went wrong, if anything."""
    answer = business.patch(f"/license_keys/{key_id}", json={"activation_shards": shards})
    got = answer.json().get("activation_shards") if answer.status_code == 200 else None
    if got != shards:
        return (f"SHARDED MODE UNAVAILABLE: PATCH {{\"activation_shards\": {json.dumps(shards)}}} answered "
                f"{answer.status_code} with activation_shards={got!r} (does this build have it?): {answer.text[:200]}")
    return None


def distinct_callers(table):
    """How many callers the public routes counted (RATE#<caller>#<window>): one per source address seen."""
    items, scan = [], {"FilterExpression": Attr("pk").begins_with("RATE#"), "ProjectionExpression": "pk"}
    while True:
        page = table.scan(**scan)
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            return len({i["pk"].rsplit("#", 1)[0] for i in items})
        scan["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] if ordered else float("nan")


async def run_mode(mode, public, business, key, key_id, live):
    """BURSTS bursts of one mode, the invariant after each; the row of the table."""
    rows, before = [], proxy_stats()["requests"]
    for b in range(BURSTS):
        items_before = proxy_stats()["items"]
        t = await burst(public, key, f"{mode}-{b}")
        live.update(t["created"])
        items_after = proxy_stats()["items"]
        units, hottest = max((after["units"] - items_before.get(item, {"units": 0})["units"], item)
                             for item, after in items_after.items())
        print(f"  burst {b + 1}: {t['offered']} offered in {SECONDS:.0f} s, {len(t['created'])} created, refused "
              f"{t['refused'] or 'none'}, {t['attempts']} attempts ({t['retried_503']} retried after 503, "
              f"{t['retried_429']} after 429), done in {t['seconds']:.1f} s, failures {len(t['failures'])}; "
              f"hottest item {units / t['seconds']:.1f} WCU/s ({hottest.split(' ', 1)[1]})", flush=True)
        if t["failures"]:
            raise AssertionError(f"requests lost in {mode} burst {b + 1}: {t['failures'][:5]}")
        check(business, key_id, live, f"after {mode} burst {b + 1}")
        rows.append(t)
    after = proxy_stats()["requests"]
    latencies = [x for t in rows for x in t["latencies"]]
    created = sum(len(t["created"]) for t in rows)
    return {"mode": mode, "offered": OFFERED, "rate": created / sum(t["seconds"] for t in rows),
            "p50": percentile(latencies, 50), "p99": percentile(latencies, 99),
            "retried": sum(t["retried_503"] + t["retried_429"] for t in rows),
            "throttled": after["throttled"] - before["throttled"], "ok": True}


def table_of(results):
    print(f"\n{'mode':<14}{'offered/s':>10}{'completed/s':>13}{'p50 s':>8}{'p99 s':>8}{'503/429 retries':>17}"
          f"{'throttled writes':>18}  invariant")
    for r in results:
        if "error" in r:
            print(f"{r['mode']:<14}{r['offered']:>10.0f}  {r['error']}")
            continue
        print(f"{r['mode']:<14}{r['offered']:>10.0f}{r['rate']:>13.1f}{r['p50']:>8.2f}{r['p99']:>8.2f}"
              f"{r['retried']:>17}{r['throttled']:>18}  {'OK' if r['ok'] else 'BROKEN'}")


async def main():
    api_url = os.environ["LICENSING_API_URL"]
    table = boto3.resource("dynamodb", region_name=os.environ["AWS_REGION"]).Table(os.environ["TABLE_NAME"])
    tag = uuid.uuid4().hex[:8]
    business = httpx.Client(base_url=api_url, headers={"Authorization": f"Bearer {mint(f'business:bench_{tag}')}"},
                            timeout=60)
    entitlement = business.post("/entitlements", json={
        "name": "Capacity", "integration_type": "license_key",
        "integration_config": {"activations_limit": LIMIT, "fulfillment_mode": "manual"}}).raise_for_status().json()
    key_ids = {name: business.post("/license_keys", json={
        "customer_id": f"cus_capacity_{tag}", "key": f"CAPACITY-{tag}-{name}", "product_id": entitlement["id"],
        "activations_limit": limit}).raise_for_status().json()["id"]
        for name, limit in (("HOT", LIMIT), ("WARM", LIMIT), ("SMALL", SMALL_LIMIT))}
    key, key_id = f"CAPACITY-{tag}-HOT", key_ids["HOT"]
    print(f"{ITEM_WCU:.0f} WCU per item: one unsharded key's ceiling {CEILING:.0f} activations/s, offered "
          f"{OFFERED:.0f}/s (10x) for {BURSTS} x {SECONDS:.0f} s per mode; sharded over {SHARDS}; "
          f"activations_limit {LIMIT}; {SOURCES} source addresses", flush=True)

    public = Public(api_url)
    # Warm every function the bench calls on another key, so bursts measure activations, not start-up.
    warm = {"attempts": 0, "retried_503": 0, "retried_429": 0, "failures": []}
    for i in range(SOURCES):
        answer = await public.post("/licenses/activate", {"license_key": f"CAPACITY-{tag}-WARM", "name": f"w{i}"}, warm)
        assert answer is not None and answer[0] == 201, answer
    await public.post("/licenses/deactivate", {"license_key": f"CAPACITY-{tag}-WARM",
                                               "license_key_instance_id": answer[1]["id"]}, warm)
    callers = distinct_callers(table)
    print(f"  the public routes counted {callers} distinct callers (RATE# items) for {SOURCES} addresses", flush=True)
    assert callers >= SOURCES, "the functions do not see the callers' addresses: one RATE# item would be hot"

    live, results = set(), []
    try:
        print("\nunsharded", flush=True)
        results.append(await run_mode("unsharded", public, business, key, key_id, live))

        print(f"\nsharded over {SHARDS}", flush=True)
        if problem := set_shards(business, key_id, SHARDS):
            results.append({"mode": f"sharded/{SHARDS}", "offered": OFFERED, "error": problem})
            return problem
        check(business, key_id, live, f"after switching to {SHARDS} shards")
        results.append(await run_mode(f"sharded/{SHARDS}", public, business, key, key_id, live))

        # Deactivations while sharded free exactly their slots.
        tally = {"attempts": 0, "retried_503": 0, "retried_429": 0, "failures": []}
        gone = random.Random(0).sample(sorted(live), min(DEACTIVATE, len(live)))
        answers = await asyncio.gather(*(public.post("/licenses/deactivate", {
            "license_key": key, "license_key_instance_id": i}, tally) for i in gone))
        assert all(a is not None and a[0] == 200 for a in answers), answers
        live.difference_update(gone)
        check(business, key_id, live, f"after {len(gone)} deactivations, sharded")

        if problem := set_shards(business, key_id, None):
            return problem
        check(business, key_id, live, "after switching sharding off")

        # A sharded key offered 4x its limit at once: no more than the limit, and every refusal final.
        if problem := set_shards(business, key_ids["SMALL"], SHARDS):
            return problem
        t = await burst(public, f"CAPACITY-{tag}-SMALL", "small", seconds=4 * SMALL_LIMIT / OFFERED)
        assert not t["failures"], f"requests lost at the limit: {t['failures'][:5]}"
        print(f"\nsharded/{SHARDS} key allowing {SMALL_LIMIT}, offered {t['offered']} at {OFFERED:.0f}/s: "
              f"{len(t['created'])} created, refused {t['refused']}", flush=True)
        check(business, key_ids["SMALL"], set(t["created"]), "at the limit, sharded")
    finally:
        await public.close()
        table_of(results)


if __name__ == "__main__":
    try:
        problem = asyncio.run(main())
    except AssertionError as e:
        problem = f"capacity bench failed: {e}"
    if problem:
        sys.exit(f"\n{problem}")
