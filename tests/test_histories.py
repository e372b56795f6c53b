"""Every answer a client got is one the service could have given (docs/VERIFICATION.md).

Sixteen clients call one object's routes at once while the nemesis cuts
DynamoDB, kills function processes right after their commits and throttles
their writes; the recorded history is checked for linearizability against the
object's sequential model (infra/verify). One history per object here, short;
`make verify` runs many, long (VERIFY_CALLS, VERIFY_ROUNDS). The known-bad run
first shows the checker catches a deliberate bug: counts read from a
process's own copy up to 2 s old.
"""

import os
import random
import tempfile

import pytest

from histories import History, Nemesis, answered, check, perform, record, summary
from test_allocation import Lrm, new_org
from test_credit_shards import credit_shards
from test_grants import AUTO, customer, new_entitlement
from test_pool_shards import pool_shards

CALLS = int(os.environ.get("VERIFY_CALLS", "12"))
ROUNDS = int(os.environ.get("VERIFY_ROUNDS", "1"))


def seeds():
    """VERIFY_SEED repeats one run; otherwise ROUNDS fresh seeds."""
    if os.environ.get("VERIFY_SEED"):
        return [int(os.environ["VERIFY_SEED"])]
    return [random.SystemRandom().randrange(1, 2**31) for _ in range(ROUNDS)]


def histories_dir():
    """VERIFY_DIR, or `histories` in the stack's directory: each history as JSON, and summary.txt."""
    default = os.path.join(os.path.dirname(os.environ["FUNCTION_LOG_DIR"]), "histories") \
        if os.environ.get("FUNCTION_LOG_DIR") else tempfile.mkdtemp(prefix="histories-")
    directory = os.environ.get("VERIFY_DIR") or default
    os.makedirs(directory, exist_ok=True)
    return directory


@pytest.fixture(scope="module")
def work_dir():
    return histories_dir()


def report(line):
    print(line)
    with open(os.path.join(histories_dir(), "summary.txt"), "a") as f:
        f.write(line + "\n")


def calls(step, quota):
    """A client's loop: `quota` calls, then it stops."""
    def run(client, history):
        for _ in range(quota):
            step(client, history)
    return run


# A license key: activate (with a fingerprint or without), deactivate, validate, count, set the limit.


class KeyUnderTest:
    def __init__(self, business, limit, shards=None):
        ent = new_entitlement(business, {**AUTO, "integration_config": {**AUTO["integration_config"], "activations_limit": limit}})
        grant = business.post(f"/entitlements/{ent['id']}/grants", json=customer()).json()
        self.key, self.id = grant["license_key"]["key"], grant["license_key"]["id"]
        self.auth = {"Authorization": f"Bearer {business.key}"}
        self.limits = list(range(max(2, limit - 2), limit + 3))
        if shards:
            split = business.patch(f"/license_keys/{self.id}", json={"activation_shards": shards})
            assert split.status_code == 200 and split.json()["activation_shards"] == shards, split.text
        self.known = []
        self.fingerprints = [f"device-{n}" for n in range(5)]

    def step(self, client, history):
        rng = client.rng
        roll = rng.random()
        known = list(self.known)
        if roll < 0.35 or not known:
            fingerprint = rng.choice(self.fingerprints) if rng.random() < 0.6 else None
            body = {"license_key": self.key, "name": f"client-{client.number}"}
            if fingerprint:
                body["fingerprint"] = fingerprint
            ret = perform(client, history, {"f": "activate", "fingerprint": fingerprint},
                          ("POST", "/licenses/activate", {"json": body}), self.activated, write=True)
            if ret and ret.get("r") == "activated":
                self.known.append(ret["instance"])
        elif roll < 0.55:
            instance = rng.choice(known)
            perform(client, history, {"f": "deactivate", "instance": instance},
                    ("POST", "/licenses/deactivate", {"json": {"license_key": self.key, "license_key_instance_id": instance}}),
                    self.deactivated, write=True)
        elif roll < 0.75:
            instance = rng.choice(known)
            perform(client, history, {"f": "validate", "instance": instance},
                    ("POST", "/licenses/validate", {"json": {"license_key": self.key, "license_key_instance_id": instance}}),
                    self.validated, write=False)
        elif roll < 0.95:
            perform(client, history, {"f": "count"}, ("GET", f"/license_keys/{self.id}", {"headers": self.auth}),
                    self.counted, write=False)
        else:
            limit = rng.choice(self.limits)
            perform(client, history, {"f": "set_limit", "limit": limit},
                    ("PATCH", f"/license_keys/{self.id}", {"json": {"activations_limit": limit}, "headers": self.auth}),
                    self.limit_set, write=True)

    @staticmethod
    def activated(answer):
        def instance(body):
            return {"r": "activated", "instance": body["id"]}
        return answered("activate", answer, {
            200: instance, 201: instance, (422, "LICENSE_KEY_LIMIT_REACHED"): {"r": "limit_reached"}})

    @staticmethod
    def deactivated(answer):
        return answered("deactivate", answer, {
            200: {"r": "deactivated"}, (404, "LICENSE_KEY_INSTANCE_NOT_FOUND"): {"r": "not_found"}})

    @staticmethod
    def validated(answer):
        return answered("validate", answer, {
            200: lambda body: {"r": "valid", "valid": body["valid"], "count": body["license_key"]["instances_count"]}})

    @staticmethod
    def counted(answer):
        return answered("count", answer, {200: lambda body: {"r": "count", "count": body["instances_count"]}})

    @staticmethod
    def limit_set(answer):
        return answered("set limit", answer, {
            200: {"r": "limit_set"},
            (422, "ACTIVATION_LIMIT_LESS_THAN_CURRENT_AMOUNT"): {"r": "limit_below_used"}})


KEY_FUNCTIONS = ["activate-license", "deactivate-license", "update-license-key"]


def run_key(api_url, business, work_dir, seed, shards, failpoint=None, functions=KEY_FUNCTIONS, limit=None):
    """A key's history with the nemesis on, or, with `failpoint`, only `functions` so armed beside the stack's own."""
    limit = limit or (10 if shards else 4)
    obj = KeyUnderTest(business, limit, shards)
    history = History("key", {"limit": limit}, seed)
    nemesis = Nemesis(seed, work_dir, cuts=not failpoint, functions=functions, failpoint=failpoint)
    record(history, api_url, calls(obj.step, CALLS), nemesis)
    return history, nemesis


@pytest.mark.parametrize("shards", [None, 8], ids=["one key item", "8 shards"])
def test_license_key_histories_are_linearizable_under_faults(api_url, business, work_dir, shards):
    for seed in seeds():
        history, nemesis = run_key(api_url, business, work_dir, seed, shards)
        ok, printed = check(history, work_dir)
        report(summary(history, nemesis, ok) + (f" (key split over {shards})" if shards else ""))
        assert not history.unexpected, history.unexpected
        assert ok, printed


def test_a_count_read_stale_is_caught(api_url, business, work_dir):
    """The known-bad run: get-license-key processes that answer a key's count
    from their own read up to 2 s old, beside the stack's own."""
    seed = int(os.environ.get("VERIFY_SEED") or random.SystemRandom().randrange(1, 2**31))
    # A key of 12 is seldom full, so its count keeps moving and a stale one shows.
    history, nemesis = run_key(api_url, business, work_dir, seed, None, failpoint="stale-count",
                               functions=["get-license-key"] * 3, limit=12)
    ok, printed = check(history, work_dir)
    report(summary(history, nemesis, ok) + " (known-bad: stale-count)")
    assert not ok, "the checker missed the stale counts"
    # The stale counts are among the answers it cannot give; the first answer it
    # cannot explain may come later (an activation no count read so far allows).
    assert "the first answer no order explains" in printed, printed
    answers = printed.split("cannot all be given", 1)[1].split("with the", 1)[0]
    assert "Count ->" in answers, printed


# An organization's pool of one product: assign a user's seat, release it, read what is consumed,
# and the host reallocating the organization's quantity.

CODE = "ACNU"


class PoolUnderTest:
    def __init__(self, api_url, quantity, shards=None):
        self.lrm = Lrm(api_url)
        assert self.lrm.set_host({CODE: 1000}).status_code == 200
        self.org = new_org()
        assert self.lrm.allocate(self.org, {CODE: quantity}).status_code == 200
        if shards:
            split = pool_shards(self.org, CODE, shards)
            assert isinstance(split, dict) and split["shards"] == shards, split
        self.host_auth = {"Authorization": self.lrm.host.http.headers["Authorization"]}
        self.org_auth = {"Authorization": self.lrm.org_key(self.org).http.headers["Authorization"]}
        self.users = [f"user-{n}" for n in range(quantity + 6)]
        self.quantities = list(range(max(1, quantity - 3), quantity + 4))

    def step(self, client, history):
        rng = client.rng
        roll = rng.random()
        user = rng.choice(self.users)
        org_license = f"/lrm/api/host/{self.lrm.host_id}/organization/{self.org}/license"
        if roll < 0.4:
            perform(client, history, {"f": "assign", "user": user},
                    ("PUT", f"/lease_/api/account/{self.org}/user-license",
                     {"json": {"userIds": [user], "userBundleCodes": [CODE]}, "headers": self.org_auth}),
                    self.assigned, write=True)
        elif roll < 0.7:
            perform(client, history, {"f": "release", "user": user},
                    ("DELETE", f"/lease_/api/account/{self.org}/user-license/{user}", {"headers": self.org_auth}),
                    self.released, write=True)
        elif roll < 0.92:
            perform(client, history, {"f": "used"}, ("GET", org_license, {"headers": self.host_auth}), self.used, write=False)
        else:
            quantity = rng.choice(self.quantities)
            perform(client, history, {"f": "set_quantity", "quantity": quantity},
                    ("PUT", org_license, {"json": {"productQuantities": [{"code": CODE, "quantity": quantity}]},
                                          "headers": self.host_auth}),
                    self.quantity_set, write=True)

    @staticmethod
    def assigned(answer):
        return answered("assign", answer, {
            200: {"r": "assigned"}, (409, "ALLOCATION_EXCEEDS_ACCOUNT_LICENSE"): {"r": "exceeded"}})

    @staticmethod
    def released(answer):
        return answered("release", answer, {204: {"r": "released"}, 404: {"r": "not_held"}})

    @staticmethod
    def used(answer):
        return answered("used", answer, {
            200: lambda body: {"r": "used", "used": next(p["consumed"] for p in body["products"] if p["code"] == CODE)}})

    @staticmethod
    def quantity_set(answer):
        return answered("set quantity", answer, {
            200: {"r": "quantity_set"}, (409, "ALLOCATION_BELOW_CONSUMED"): {"r": "below_consumed"}})


POOL_FUNCTIONS = ["assign-user-licenses", "release-user-license", "allocate-organization-license"]


@pytest.mark.parametrize("shards", [None, 4], ids=["one pool item", "4 shards"])
def test_pool_histories_are_linearizable_under_faults(api_url, work_dir, shards):
    for seed in seeds():
        quantity = 8 if shards else 4
        obj = PoolUnderTest(api_url, quantity, shards)
        history = History("pool", {"quantity": quantity}, seed)
        nemesis = Nemesis(seed, work_dir, functions=POOL_FUNCTIONS)
        record(history, api_url, calls(obj.step, CALLS), nemesis)
        ok, printed = check(history, work_dir)
        report(summary(history, nemesis, ok) + (f" (pool split over {shards})" if shards else ""))
        assert not history.unexpected, history.unexpected
        assert ok, printed


# A customer's balance of one meter: credit, debit (into overage up to its limit), read.

OVERAGE_LIMIT = 10


class BalanceUnderTest:
    def __init__(self, business, opening, shards=None):
        self.auth = {"Authorization": f"Bearer {business.key}"}
        created = business.post("/credit-entitlements", json={
            "name": "API calls", "unit": "calls", "precision": 0, "rollover_enabled": False,
            "overage_enabled": True, "overage_limit": OVERAGE_LIMIT, "currency": "USD", "price_per_unit": "0.01"})
        assert created.status_code == 201, created.text
        self.cde = created.json()["id"]
        self.customer = customer()["customer_id"]
        self.path = f"/credit-entitlements/{self.cde}/balances/{self.customer}"
        first = business.post(f"{self.path}/ledger-entries", json={"amount": str(opening), "entry_type": "credit"})
        assert first.status_code == 201, first.text
        if shards:
            split = credit_shards(business.business_id, self.cde, self.customer, shards)
            assert isinstance(split, dict) and split["shards"] == shards, split
        # A shard's debit answers the balance as its shard knows it: not a promise about the whole.
        self.promised_after = not shards

    def step(self, client, history):
        rng = client.rng
        roll = rng.random()
        if roll < 0.75:
            kind = "credit" if roll < 0.15 else "debit"
            amount = rng.randint(1, 5) if kind == "credit" else rng.randint(1, 6)
            perform(client, history, {"f": kind, "amount": amount},
                    ("POST", f"{self.path}/ledger-entries",
                     {"json": {"amount": str(amount), "entry_type": kind}, "headers": self.auth}),
                    self.changed, write=True)
        else:
            perform(client, history, {"f": "read"}, ("GET", self.path, {"headers": self.auth}), self.read, write=False)

    def changed(self, answer):
        def entry(body):
            after = int(body["balance_after"]) if self.promised_after else None
            return {"r": "credited" if body["entry_type"] == "credit" else "debited", "after": after}
        return answered("ledger entry", answer, {
            201: entry,
            (400, "INSUFFICIENT_CREDITS"): {"r": "insufficient"},
            (400, "OVERAGE_LIMIT_REACHED"): {"r": "overage_limit_reached"}})

    @staticmethod
    def read(answer):
        return answered("read", answer, {
            200: lambda body: {"r": "balance", "balance": int(body["balance"]), "overage": int(body["overage"])}})


BALANCE_FUNCTIONS = ["create-credit-ledger-entry"]


@pytest.mark.parametrize("shards", [None, 4], ids=["one balance item", "4 shards"])
def test_balance_histories_are_linearizable_under_faults(api_url, business, work_dir, shards):
    for seed in seeds():
        opening = 40
        obj = BalanceUnderTest(business, opening, shards)
        history = History("balance", {"balance": opening, "overage_limit": OVERAGE_LIMIT}, seed)
        nemesis = Nemesis(seed, work_dir, functions=BALANCE_FUNCTIONS)
        record(history, api_url, calls(obj.step, CALLS), nemesis)
        ok, printed = check(history, work_dir)
        report(summary(history, nemesis, ok) + (f" (balance split over {shards})" if shards else ""))
        assert not history.unexpected, history.unexpected
        assert ok, printed
