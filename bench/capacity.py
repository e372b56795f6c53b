"""`make capacity`: one hot license key's activations per second, one hot
organization pool's seat assignments per second and one hot credit balance's
debits per second, each unsharded and sharded.

Run by `infra/test.sh capacity`, which puts the functions behind the throttling
mode of infra/dynamodb_proxy.py: each item takes CAPACITY_ITEM_WCU write units
a second (and one second's burst), as DynamoDB takes about 1,000, which
DynamoDB Local never enforces. An activation writes the key's count once in a
transaction (2 units), and a seat assignment the organization's license item
(UiPath LRM, one product code), and a debit the customer's balance item, so one
unsharded key, pool or balance completes at most ITEM_WCU / 2 a second, however
many are offered.

Each resource (class Key, class Pool, class Balance) goes through the same steps (run_scenario):

- unsharded, then split over CAPACITY_SHARDS items (16 by default, so the
  shards' ceiling, 16x one item's, is above the 10x offered even when spread
  unevenly): the key by PATCH /license_keys/{id} {"activation_shards": N}, the
  pool's ACNU by the operator tool `pool-shards <org> ACNU N`, the balance by
  `credit-shards <business> <credit entitlement> <customer> N`;
- in each mode, 10x that ceiling offered, open loop, for CAPACITY_BURSTS bursts
  of CAPACITY_SECONDS each (activations of the key; one-user seat assignments
  of new users on the pool). A 503 or 429 is retried after its Retry-After, as
  an SDK would, until a final answer; a 500, a connection error or a timeout
  fails the bench;
- after every burst the invariant: what the clients were given == what the
  resource counts == what is stored <= its limit (key: 201s == instances_count
  == the instances listed <= activations_limit; pool: 200s == the
  organization's allocated ACNU == seats in the table holding ACNU <= its
  quantity; balance: the debits the clients hold == the ledger's debits less
  the credits given back == what the balance lost, every ledger entry starting
  where the one before it ended, never below zero);
- then, sharded, a sample is given back (deactivations; seat releases; credits of 1), the
  sharding is switched off again with the count unchanged, and a second small
  resource, sharded, is offered four times its limit at once and must take
  exactly its limit.

Each prints a row per mode in one table (`resource` key, pool or balance).

The public routes count requests per source address in one item (RATE#<ip>),
which would be a hot item of its own: activations come from CAPACITY_SOURCES
caller addresses (see Public for how), and the bench checks in the table that
the functions counted them as distinct callers. The LRM routes authenticate by
API key and write no per-caller item, so the pool is called over plain HTTP.
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
from boto3.dynamodb.conditions import Attr, Key as KeyIs

ITEM_WCU = float(os.environ.get("CAPACITY_ITEM_WCU", "20"))
CEILING = ITEM_WCU / 2  # writes/s of one unsharded key or pool: 2 units per transactional write
OFFERED = 10 * CEILING
SECONDS = float(os.environ.get("CAPACITY_SECONDS", "6"))
BURSTS = int(os.environ.get("CAPACITY_BURSTS", "2"))
SHARDS = int(os.environ.get("CAPACITY_SHARDS", "16"))
SOURCES = int(os.environ.get("CAPACITY_SOURCES", "64"))
GIVE_BACK = 20  # deactivations or seat releases while sharded
SMALL_LIMIT = 60  # a second key or pool, sharded, offered far more than it allows: the limit holds across shards
TIMEOUT_S = 300  # a request queued behind the hot item waits long; only a hang should time out
# At most this many requests at `cargo lambda watch` at once: each function takes 64 (FUNCTION_CONCURRENCY)
# and its queue holds 100, and a full queue deadlocks it (RequestCache::upsert awaits room holding the lock
# every poll needs). The rest wait in the client, and their latency still runs from their scheduled start.
IN_FLIGHT = 128
LIMIT = int(4 * OFFERED * SECONDS * BURSTS)  # twice what both modes offer: here throughput is measured, not the limit
CODE = "ACNU"  # the pool's product code


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


# --- requests, bursts, figures: shared by both scenarios ----------------------


def new_tally():
    return {"attempts": 0, "retried_503": 0, "retried_429": 0, "failures": [], "made": [], "refused": {},
            "latencies": []}


async def final_answer(send, tally):
    """Sends until a final answer, each 503/429 again after its Retry-After: (status, body), or None if lost.
    `send()` makes one attempt: (status, {lower-case header: value}, body text)."""
    while True:
        tally["attempts"] += 1
        try:
            status, headers, text = await send()
            body = json.loads(text) if text else None
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as e:
            tally["failures"].append(f"{type(e).__name__}: {e}")
            return None
        if status in (429, 503):
            tally[f"retried_{status}"] += 1
            await asyncio.sleep(float(headers.get("retry-after", "1")))
            continue
        if status >= 500:
            tally["failures"].append(f"{status} {(text or '')[:200]}")
        return status, body


async def burst(scenario, tag, seconds=SECONDS):
    """OFFERED takes a second for `seconds`, open loop; latency runs from each one's scheduled start."""
    tally = new_tally()
    count = int(OFFERED * seconds)
    started = time.monotonic()

    async def one(i):
        due = started + i / OFFERED
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        name = f"{tag}-{i}"
        answer = await scenario.take(name, tally)
        tally["latencies"].append(time.monotonic() - due)
        if answer is None or answer[0] >= 500:
            return
        if answer[0] == scenario.MADE:
            tally["made"].append(scenario.made(name, answer[1]))
        else:  # a final refusal (e.g. the limit reached): answered, not lost
            code = (answer[1] or {}).get("code", answer[0])
            tally["refused"][code] = tally["refused"].get(code, 0) + 1

    await asyncio.gather(*(one(i) for i in range(count)))
    tally["seconds"] = time.monotonic() - started
    tally["offered"] = count
    return tally


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] if ordered else float("nan")


# --- the two resources --------------------------------------------------------


class Public:
    """The public routes as API Gateway calls them: an HTTP API event naming the caller's address.

    `cargo lambda watch` gives every HTTP request it serves the sourceIp
    127.0.0.1 (cargo-lambda-watch's trigger_router.rs), so over HTTP every
    public request would count in one RATE# item: a hot item no deployment has.
    The bench plays API Gateway's part instead and hands the functions the same
    event through the Lambda Invoke API of the same `cargo lambda watch`, each
    from one of SOURCES caller addresses in turn."""

    FUNCTIONS = {"/licenses/activate": "activate-license", "/licenses/deactivate": "deactivate-license"}

    def __init__(self, http):
        self.http = http
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
        async def send():
            answer = await self.http.post(f"/2015-03-31/functions/{self.FUNCTIONS[path]}/invocations",
                                          json=self.event(path, body))
            reply = answer.json()
            return (reply["statusCode"], {k.lower(): v for k, v in reply.get("headers", {}).items()},
                    reply.get("body"))

        return await final_answer(send, tally)


def over_http(http, method, path, token, body=None):
    """One attempt at an authenticated route, as `final_answer` sends it."""
    async def send():
        answer = await http.request(method, path, json=body, headers={"Authorization": f"Bearer {token}"})
        return answer.status_code, answer.headers, answer.text
    return send


class Key:
    """One license key: take = an activation (201), give back = a deactivation (200)."""

    resource, MADE, GIVEN_BACK = "key", 201, 200

    def __init__(self, public, business, key, key_id):
        self.public, self.business, self.key, self.key_id = public, business, key, key_id
        self.live = set()  # the instance ids the clients were given

    async def take(self, name, tally):
        return await self.public.post("/licenses/activate", {"license_key": self.key, "name": name}, tally)

    @staticmethod
    def made(name, body):
        return body["id"]

    async def give_back(self, instance_id, tally):
        return await self.public.post("/licenses/deactivate", {
            "license_key": self.key, "license_key_instance_id": instance_id}, tally)

    def check(self, live, when):
        """What the clients were given == what the key counts == what is listed <= the limit."""
        key = self.business.get(f"/license_keys/{self.key_id}").raise_for_status().json()
        listed, cursor = [], None
        while True:
            params = {"license_key_id": self.key_id, "page_size": 100, **({"cursor": cursor} if cursor else {})}
            page = self.business.get("/license_key_instances", params=params).raise_for_status().json()
            listed += [i["id"] for i in page["items"]]
            if not (cursor := page.get("next_cursor")):
                break
        count, limit = key["instances_count"], key["activations_limit"]
        ok = len(live) == count == len(listed) and set(listed) == live and count <= limit
        report(f"{when}: clients hold {len(live)}, instances_count {count}, listed {len(listed)}, limit {limit}", ok)

    def shard(self, shards):
        """Splits the key's count over `shards` items (None: one again); what went wrong, if anything."""
        answer = self.business.patch(f"/license_keys/{self.key_id}", json={"activation_shards": shards})
        got = answer.json().get("activation_shards") if answer.status_code == 200 else None
        if got != shards:
            return (f"SHARDED MODE UNAVAILABLE: PATCH {{\"activation_shards\": {json.dumps(shards)}}} answered "
                    f"{answer.status_code} with activation_shards={got!r} (does this build have it?): {answer.text[:200]}")
        return None


class Pool:
    """One organization's pool of ACNU: take = a one-user seat assignment (200), give back = its release (204)."""

    resource, MADE, GIVEN_BACK = "pool", 200, 204

    def __init__(self, http, host, host_id, org, token, table):
        self.http, self.host, self.host_id, self.org, self.token, self.table = http, host, host_id, org, token, table
        self.live = set()  # the users the clients seated

    async def take(self, user, tally):
        body = {"userIds": [user], "userBundleCodes": [CODE]}
        return await final_answer(over_http(self.http, "PUT", f"/lease_/api/account/{self.org}/user-license",
                                            self.token, body), tally)

    @staticmethod
    def made(user, body):
        return user

    async def give_back(self, user, tally):
        return await final_answer(over_http(self.http, "DELETE", f"/lease_/api/account/{self.org}/user-license/{user}",
                                            self.token), tally)

    def counts(self):
        """(quantity, allocated) of the pool as the host reads it (a sharded pool's shards added up)."""
        answer = self.host.get(f"/lrm/api/host/{self.host_id}/organization/{self.org}/license").raise_for_status()
        [product] = [p for p in answer.json()["products"] if p["code"] == CODE]
        return product["quantity"], product["allocated"]

    def seats(self):
        """The users whose seat in the table holds the code (strongly consistent, every page)."""
        users, query = set(), {"KeyConditionExpression": KeyIs("pk").eq(f"ORG#{self.org}") & KeyIs("sk").begins_with("USER#"),
                               "ConsistentRead": True}
        while True:
            page = self.table.query(**query)
            users |= {row["user_id"] for row in page["Items"] if CODE in row["user_bundle_codes"]}
            if "LastEvaluatedKey" not in page:
                return users
            query["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def check(self, live, when):
        """What the clients were given == what the pool counts allocated == seats holding the code <= quantity."""
        (quantity, allocated), seats = self.counts(), self.seats()
        ok = len(live) == allocated == len(seats) and seats == live and allocated <= quantity
        report(f"{when}: clients hold {len(live)}, allocated {allocated}, seats holding {CODE} {len(seats)}, "
               f"quantity {quantity}", ok)

    def shard(self, shards):
        """Splits the pool over `shards` items (None: one again) with the operator's tool, which must leave
        allocated as it was; what went wrong, if anything."""
        _, before = self.counts()
        printed, problem = operator_tool("pool-shards", [self.org, CODE], shards)
        if problem:
            return problem
        assert printed["allocated"] == before, f"pool-shards moved allocated from {before} to {printed['allocated']}"
        return None


class Balance:
    """One customer's credit balance: take = a debit of 1 (201), give back = a credit of 1 (201)."""

    resource, MADE, GIVEN_BACK = "balance", 201, 201

    def __init__(self, http, business, token, business_id, cde_id, customer, initial):
        self.http, self.business, self.token = http, business, token
        self.business_id, self.cde_id, self.customer, self.initial = business_id, cde_id, customer, initial
        self.path = f"/credit-entitlements/{cde_id}/balances/{customer}"
        self.live = set()  # the debit entries the clients were given, less those given back

    async def take(self, name, tally):
        body = {"amount": "1", "entry_type": "debit", "reason": name}
        return await final_answer(over_http(self.http, "POST", f"{self.path}/ledger-entries", self.token, body), tally)

    @staticmethod
    def made(name, body):
        return body["id"]

    async def give_back(self, entry_id, tally):
        body = {"amount": "1", "entry_type": "credit", "reason": f"back {entry_id}"}
        return await final_answer(over_http(self.http, "POST", f"{self.path}/ledger-entries", self.token, body), tally)

    def ledger(self):
        entries, cursor = [], None
        while True:
            params = {"page_size": 100, **({"cursor": cursor} if cursor else {})}
            page = self.business.get(f"{self.path}/ledger", params=params).raise_for_status().json()
            entries += page["items"]
            if not (cursor := page.get("next_cursor")):
                return entries

    def check(self, live, when):
        """The debits the clients hold == the ledger's debits less the credits given back == what the balance
        lost; every entry starts where the one before it ended; never below zero, never into overage."""
        balance = self.business.get(self.path).raise_for_status().json()
        entries = self.ledger()
        debits = {e["id"] for e in entries if e["transaction_type"] == "credit_deducted"}
        backs = sum(e["transaction_type"] == "credit_added" for e in entries) - 1
        chained = all(a["balance_after"] == b["balance_before"] for a, b in zip(entries, entries[1:])) and all(
            int(e["balance_after"]) - int(e["balance_before"]) == (1 if e["is_credit"] else -1) * int(e["amount"])
            for e in entries)
        held = int(balance["balance"])
        ok = (live <= debits and len(debits) - backs == len(live) == self.initial - held and chained
              and entries[-1]["balance_after"] == balance["balance"] and held >= 0 and balance["overage"] == "0")
        report(f"{when}: clients hold {len(live)} debits, ledger {len(debits)} debits - {backs} given back, "
               f"balance {held} of {self.initial}, {len(entries)} entries chained {chained}", ok)

    def shard(self, shards):
        """Splits the balance over `shards` items (None: one again) with the operator's tool, which must leave
        the balance as it was; what went wrong, if anything."""
        before = self.business.get(self.path).raise_for_status().json()["balance"]
        printed, problem = operator_tool("credit-shards", [self.business_id, self.cde_id, self.customer], shards)
        if problem:
            return problem
        assert printed["balance"] == before, f"credit-shards moved the balance from {before} to {printed['balance']}"
        return None


def operator_tool(name, args, shards):
    """Runs an operator's shard tool (pool-shards, credit-shards) with `shards` (None: off): what it printed,
    and what went wrong, if anything."""
    tool = os.path.join(os.environ["FUNCTION_BIN_DIR"], name)
    done = subprocess.run([tool, *args, str(shards or "off")], capture_output=True, text=True, timeout=60)
    printed = json.loads(done.stdout) if done.returncode == 0 else None
    if printed is None or printed["shards"] != shards:
        return None, (f"SHARDED MODE UNAVAILABLE: {name} {' '.join(args)} {shards or 'off'} exited "
                      f"{done.returncode}: {(done.stdout + done.stderr).strip()[-300:]}")
    print(f"  {name} {shards or 'off'}: {done.stdout.strip()}", flush=True)
    return printed, None


def report(line, ok):
    print(f"  {line}: {'OK' if ok else 'BROKEN'}", flush=True)
    assert ok, f"invariant broken {line.split(':')[0]}"


# --- the steps both go through ------------------------------------------------


async def run_mode(scenario, mode):
    """BURSTS bursts of one mode, the invariant after each; the row of the table."""
    rows, before = [], proxy_stats()["requests"]
    for b in range(BURSTS):
        items_before = proxy_stats()["items"]
        t = await burst(scenario, f"{mode.replace('/', '')}-{b}")
        scenario.live.update(t["made"])
        items_after = proxy_stats()["items"]
        units, hottest = max((after["units"] - items_before.get(item, {"units": 0})["units"], item)
                             for item, after in items_after.items())
        print(f"  burst {b + 1}: {t['offered']} offered in {SECONDS:.0f} s, {len(t['made'])} x {scenario.MADE}, "
              f"refused {t['refused'] or 'none'}, {t['attempts']} attempts ({t['retried_503']} retried after 503, "
              f"{t['retried_429']} after 429), done in {t['seconds']:.1f} s, failures {len(t['failures'])}; "
              f"hottest item {units / t['seconds']:.1f} WCU/s ({hottest.split(' ', 1)[1]})", flush=True)
        if t["failures"]:
            raise AssertionError(f"requests lost in {scenario.resource} {mode} burst {b + 1}: {t['failures'][:5]}")
        scenario.check(scenario.live, f"after {mode} burst {b + 1}")
        rows.append(t)
    after = proxy_stats()["requests"]
    latencies = [x for t in rows for x in t["latencies"]]
    made = sum(len(t["made"]) for t in rows)
    return {"resource": scenario.resource, "mode": mode, "offered": OFFERED,
            "rate": made / sum(t["seconds"] for t in rows),
            "p50": percentile(latencies, 50), "p99": percentile(latencies, 99),
            "retried": sum(t["retried_503"] + t["retried_429"] for t in rows),
            "throttled": after["throttled"] - before["throttled"], "ok": True}


async def run_scenario(hot, small, results):
    """Unsharded, sharded, a sample given back, sharding off, the small one at its limit; rows into `results`.
    What stopped it short, if anything."""
    print(f"\n{hot.resource} unsharded", flush=True)
    results.append(await run_mode(hot, "unsharded"))

    print(f"\n{hot.resource} sharded over {SHARDS}", flush=True)
    if problem := hot.shard(SHARDS):
        results.append({"resource": hot.resource, "mode": f"sharded/{SHARDS}", "offered": OFFERED, "error": problem})
        return problem
    hot.check(hot.live, f"after switching to {SHARDS} shards")
    results.append(await run_mode(hot, f"sharded/{SHARDS}"))

    # What is given back while sharded frees exactly its units.
    tally = new_tally()
    gone = random.Random(0).sample(sorted(hot.live), min(GIVE_BACK, len(hot.live)))
    answers = await asyncio.gather(*(hot.give_back(name, tally) for name in gone))
    assert all(a is not None and a[0] == hot.GIVEN_BACK for a in answers), answers
    hot.live.difference_update(gone)
    hot.check(hot.live, f"after {len(gone)} given back, sharded")

    if problem := hot.shard(None):
        return problem
    hot.check(hot.live, "after switching sharding off")

    # A sharded one offered 4x its limit at once: no more than the limit, and every refusal final.
    if problem := small.shard(SHARDS):
        return problem
    t = await burst(small, "small", seconds=4 * SMALL_LIMIT / OFFERED)
    assert not t["failures"], f"requests lost at the limit: {t['failures'][:5]}"
    print(f"\nsharded/{SHARDS} {small.resource} allowing {SMALL_LIMIT}, offered {t['offered']} at {OFFERED:.0f}/s: "
          f"{len(t['made'])} x {small.MADE}, refused {t['refused']}", flush=True)
    small.check(set(t["made"]), "at the limit, sharded")
    assert len(t["made"]) == SMALL_LIMIT, f"the small {small.resource} took {len(t['made'])} of {SMALL_LIMIT}"
    return None


def table_of(results):
    print(f"\n{'resource':<10}{'mode':<14}{'offered/s':>10}{'completed/s':>13}{'p50 s':>8}{'p99 s':>8}"
          f"{'503/429 retries':>17}{'throttled writes':>18}  invariant")
    for r in results:
        if "error" in r:
            print(f"{r['resource']:<10}{r['mode']:<14}{r['offered']:>10.0f}  {r['error']}")
            continue
        print(f"{r['resource']:<10}{r['mode']:<14}{r['offered']:>10.0f}{r['rate']:>13.1f}{r['p50']:>8.2f}"
              f"{r['p99']:>8.2f}{r['retried']:>17}{r['throttled']:>18}  {'OK' if r['ok'] else 'BROKEN'}")


def distinct_callers(table):
    """How many callers the public routes counted (RATE#<caller>#<window>): one per source address seen."""
    items, scan = [], {"FilterExpression": Attr("pk").begins_with("RATE#"), "ProjectionExpression": "pk"}
    while True:
        page = table.scan(**scan)
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            return len({i["pk"].rsplit("#", 1)[0] for i in items})
        scan["ExclusiveStartKey"] = page["LastEvaluatedKey"]


async def keys(http, api_url, table, tag):
    """The hot and the small key, the functions warmed on a third (from every source address)."""
    business = httpx.Client(base_url=api_url, headers={"Authorization": f"Bearer {mint(f'business:bench_{tag}')}"},
                            timeout=60)
    entitlement = business.post("/entitlements", json={
        "name": "Capacity", "integration_type": "license_key",
        "integration_config": {"activations_limit": LIMIT, "fulfillment_mode": "manual"}}).raise_for_status().json()
    key_ids = {name: business.post("/license_keys", json={
        "customer_id": f"cus_capacity_{tag}", "key": f"CAPACITY-{tag}-{name}", "product_id": entitlement["id"],
        "activations_limit": limit}).raise_for_status().json()["id"]
        for name, limit in (("HOT", LIMIT), ("WARM", LIMIT), ("SMALL", SMALL_LIMIT))}
    public = Public(http)
    hot, warm, small = (Key(public, business, f"CAPACITY-{tag}-{name}", key_ids[name]) for name in ("HOT", "WARM", "SMALL"))
    # Warm every function the bench calls, so bursts measure activations, not start-up.
    tally = new_tally()
    for i in range(SOURCES):
        answer = await warm.take(f"w{i}", tally)
        assert answer is not None and answer[0] == 201, answer
    await warm.give_back(answer[1]["id"], tally)
    callers = distinct_callers(table)
    print(f"  the public routes counted {callers} distinct callers (RATE# items) for {SOURCES} addresses", flush=True)
    assert callers >= SOURCES, "the functions do not see the callers' addresses: one RATE# item would be hot"
    return hot, small


async def pools(http, api_url, table, tag):
    """One host, the hot and the small organization's pool of ACNU, the functions warmed on a third."""
    host_id = str(uuid.uuid4())
    host = httpx.Client(base_url=api_url, headers={"Authorization": f"Bearer {mint(f'host:{host_id}')}"}, timeout=60)
    warm_quantity = 4
    host.put(f"/lrm/api/host/{host_id}/license", json={
        "products": [{"code": CODE, "quantity": LIMIT + SMALL_LIMIT + warm_quantity}]}).raise_for_status()
    made = {}
    for name, quantity in (("hot", LIMIT), ("warm", warm_quantity), ("small", SMALL_LIMIT)):
        org = f"capacity-{tag}-{name}"
        host.put(f"/lrm/api/host/{host_id}/organization/{org}/license",
                 json={"productQuantities": [{"code": CODE, "quantity": quantity}]}).raise_for_status()
        made[name] = Pool(http, host, host_id, org, mint(f"organization:{org}"), table)
    hot, warm, small = made["hot"], made["warm"], made["small"]
    tally = new_tally()
    for i in range(warm_quantity):
        answer = await warm.take(f"w{i}", tally)
        assert answer is not None and answer[0] == 200, answer
    answer = await warm.give_back("w0", tally)
    assert answer is not None and answer[0] == 204, answer
    warm.check({f"w{i}" for i in range(1, warm_quantity)}, "warm-up pool")
    return hot, small


async def balances(http, api_url, tag):
    """The hot and the small balance of one credit entitlement, the functions warmed on a third."""
    business_id = f"bench_{tag}_credits"
    token = mint(f"business:{business_id}")
    business = httpx.Client(base_url=api_url, headers={"Authorization": f"Bearer {token}"}, timeout=60)
    cde = business.post("/credit-entitlements", json={
        "name": "Capacity", "unit": "calls", "precision": 0, "overage_enabled": False,
        "rollover_enabled": False}).raise_for_status().json()["id"]
    made = {}
    for name, initial in (("hot", LIMIT), ("warm", 10), ("small", SMALL_LIMIT)):
        customer = f"cus_capacity_{tag}_{name}"
        business.post(f"/credit-entitlements/{cde}/balances/{customer}/ledger-entries",
                      json={"amount": str(initial), "entry_type": "credit"}).raise_for_status()
        made[name] = Balance(http, business, token, business_id, cde, customer, initial)
    warm, tally = made["warm"], new_tally()
    for i in range(4):
        answer = await warm.take(f"w{i}", tally)
        assert answer is not None and answer[0] == 201, answer
        warm.live.add(answer[1]["id"])
    warm.check(warm.live, "warm-up balance")
    return made["hot"], made["small"]


async def main():
    started = time.monotonic()
    api_url = os.environ["LICENSING_API_URL"]
    table = boto3.resource("dynamodb", region_name=os.environ["AWS_REGION"]).Table(os.environ["TABLE_NAME"])
    tag = uuid.uuid4().hex[:8]
    print(f"{ITEM_WCU:.0f} WCU per item: one unsharded key's, pool's or balance's ceiling {CEILING:.0f} a second, offered "
          f"{OFFERED:.0f}/s (10x) for {BURSTS} x {SECONDS:.0f} s per mode; sharded over {SHARDS}; "
          f"activations_limit, pool quantity and balance {LIMIT}; {SOURCES} source addresses", flush=True)
    http = httpx.AsyncClient(base_url=api_url, timeout=TIMEOUT_S, limits=httpx.Limits(max_connections=IN_FLIGHT))
    results, problems = [], []
    try:
        key_hot, key_small = await keys(http, api_url, table, tag)
        pool_hot, pool_small = await pools(http, api_url, table, tag)
        balance_hot, balance_small = await balances(http, api_url, tag)
        for hot, small in ((key_hot, key_small), (pool_hot, pool_small), (balance_hot, balance_small)):
            if problem := await run_scenario(hot, small, results):
                problems.append(problem)
    finally:
        await http.aclose()
        table_of(results)
        print(f"\n{time.monotonic() - started:.0f} s in all", flush=True)
    return "\n".join(problems)


if __name__ == "__main__":
    try:
        problem = asyncio.run(main())
    except AssertionError as e:
        problem = f"capacity bench failed: {e}"
    if problem:
        sys.exit(f"\n{problem}")
