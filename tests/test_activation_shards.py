"""A license key's activation count split over shard items (docs/CAPACITY.md):
the limit holds under bursts, switching on and off loses no unit, and every
change of the key still reaches activations of a sharded key."""

import concurrent.futures
import hashlib
import uuid

from test_devices import deactivate, leased_entitlement, listed_instances, refused
from test_grants import AUTO, customer, new_entitlement
from test_license_keys import activate, delivered_key


def counter_shards(table, counter):
    """A counter's shard items as stored: cap, used and free units each."""
    found = []
    for index in range(32):
        item = table.get_item(Key={"pk": f"SHARD#{counter}#{index}", "sk": "SHARD"}, ConsistentRead=True).get("Item")
        if item:
            found.append({name: int(item[f"units_{name}"]) for name in ("cap", "used", "free")})
    return found


def shard_items(table, key):
    """The key's shard items."""
    return counter_shards(table, f"LK#{hashlib.sha256(key.encode()).hexdigest()}")


def shard(api, lk_id, count):
    answer = api.patch(f"/license_keys/{lk_id}", json={"activation_shards": count})
    assert answer.status_code == 200, answer.text
    return answer.json()


def burst(anonymous, key, count):
    with concurrent.futures.ThreadPoolExecutor(50) as pool:
        answers = list(pool.map(lambda i: activate(anonymous, key, f"device {i}"), range(count)))
    for answer in answers:
        assert answer.status_code == 201 or refused(answer, 422, "LICENSE_KEY_LIMIT_REACHED"), answer.text
    return [a.json() for a in answers if a.status_code == 201]


def count_of(api, lk_id):
    return api.get(f"/license_keys/{lk_id}").json()["instances_count"]


def test_a_burst_on_a_sharded_key_takes_exactly_its_limit(business, anonymous, table):
    _, grant, key = delivered_key(business, limit=40)
    lk_id = grant["license_key"]["id"]
    on = shard(business, lk_id, 8)
    assert on["activation_shards"] == 8 and on["instances_count"] == 0
    shards = shard_items(table, key)
    assert len(shards) == 8 and sum(s["cap"] for s in shards) == 40

    made = burst(anonymous, key, 120)
    shards = shard_items(table, key)
    print(f"\n120 concurrent activations over 8 shards, limit 40: {len(made)} x 201; shards (cap, used): "
          f"{[(s['cap'], s['used']) for s in shards]}")
    assert len(made) == 40
    assert count_of(business, lk_id) == 40 and len(listed_instances(business, lk_id)) == 40
    assert sum(s["used"] for s in shards) == 40 and sum(s["cap"] for s in shards) == 40
    assert all(s["free"] == s["cap"] - s["used"] >= 0 for s in shards)
    # Every shard started with 5: a shard that gave more than 5 was refilled from another.
    listed = business.get("/license_keys", params={"customer_id": grant["customer_id"]}).json()["items"]
    assert [k["instances_count"] for k in listed] == [40]

    with concurrent.futures.ThreadPoolExecutor(10) as pool:
        gone = list(pool.map(lambda i: deactivate(anonymous, key, i["id"]), made[:10]))
    assert [g.status_code for g in gone] == [200] * 10
    assert count_of(business, lk_id) == 30
    assert sum(s["used"] for s in shard_items(table, key)) == 30

    off = shard(business, lk_id, None)
    assert "activation_shards" not in off and off["instances_count"] == 30
    assert shard_items(table, key) == []
    assert business.get(f"/grants/{grant['id']}").json()["license_key"]["activations_used"] == 30
    assert len(burst(anonymous, key, 15)) == 10
    assert count_of(business, lk_id) == 40


def test_switching_on_and_off_during_a_burst_loses_no_unit(business, anonymous, table):
    _, grant, key = delivered_key(business, limit=60)
    lk_id = grant["license_key"]["id"]
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        activations = pool.submit(burst, anonymous, key, 90)
        switches = [business.patch(f"/license_keys/{lk_id}", json={"activation_shards": n}) for n in (4, None, 8, 3, None, 6)]
        made = activations.result()
    # A switch may lose its race with the burst many times over: then it says so (503), changing nothing.
    assert all(s.status_code in (200, 503) for s in switches), [s.text for s in switches]
    listed = listed_instances(business, lk_id)
    count = count_of(business, lk_id)
    shards = shard_items(table, key)
    print(f"\n90 activations while switching shards {[s.status_code for s in switches]}: {len(made)} x 201, "
          f"count {count}, {len(shards)} shards")
    assert len(made) == 60 == count == len(listed)
    assert sorted(i["id"] for i in made) == sorted(i["id"] for i in listed)
    if shards:
        assert sum(s["used"] for s in shards) == 60 and sum(s["cap"] for s in shards) == 60


def test_a_change_of_the_key_reaches_its_shards(business, anonymous, table):
    ent, grant, key = delivered_key(business, limit=10)
    lk_id = grant["license_key"]["id"]
    shard(business, lk_id, 4)
    assert len(burst(anonymous, key, 6)) == 6

    raised = business.patch(f"/license_keys/{lk_id}", json={"activations_limit": 20})
    assert raised.status_code == 200 and raised.json()["instances_count"] == 6
    assert sum(s["cap"] for s in shard_items(table, key)) == 20
    low = business.patch(f"/license_keys/{lk_id}", json={"activations_limit": 5})
    assert refused(low, 422, "ACTIVATION_LIMIT_LESS_THAN_CURRENT_AMOUNT"), low.text
    lowered = business.patch(f"/license_keys/{lk_id}", json={"activations_limit": 7})
    assert lowered.status_code == 200
    assert sum(s["cap"] for s in shard_items(table, key)) == 7
    assert len(burst(anonymous, key, 5)) == 1

    business.patch(f"/license_keys/{lk_id}", json={"disabled": True})
    assert refused(activate(anonymous, key), 403, "INACTIVE_LICENSE_KEY")
    business.patch(f"/license_keys/{lk_id}", json={"disabled": False, "activations_limit": None})
    assert len(burst(anonymous, key, 5)) == 5
    assert count_of(business, lk_id) == 12

    revoked = business.delete(f"/entitlements/{ent['id']}/grants/{grant['id']}")
    assert revoked.status_code in (200, 204), revoked.text
    assert refused(activate(anonymous, key), 403, "INACTIVE_LICENSE_KEY")
    assert count_of(business, lk_id) == 12


def test_what_cannot_be_sharded_is_refused_and_changes_nothing(business, anonymous, table):
    _, grant, key = delivered_key(business, limit=3)
    lk_id = grant["license_key"]["id"]
    for body in ({"activation_shards": 1}, {"activation_shards": 33}, {"activation_shards": "8"},
                 {"activation_shards": 4, "disabled": True}):
        answer = business.patch(f"/license_keys/{lk_id}", json=body)
        assert answer.status_code == 422, (body, answer.text)
    assert "activation_shards" not in business.get(f"/license_keys/{lk_id}").json()
    assert shard_items(table, key) == []

    ent = leased_entitlement(business, 5)
    leased = business.post(f"/entitlements/{ent['id']}/grants", json={**customer(), "payment_id": f"pay_{uuid.uuid4().hex[:8]}"}).json()
    answer = business.patch(f"/license_keys/{leased['license_key']['id']}", json={"activation_shards": 4})
    assert answer.status_code == 422 and "lease" in answer.text

    # A key with no limit splits too: every shard has room.
    unlimited = new_entitlement(business, {**AUTO, "integration_config": {**AUTO["integration_config"], "activations_limit": None}})
    grant = business.post(f"/entitlements/{unlimited['id']}/grants", json={**customer(), "payment_id": "pay_u"}).json()
    shard(business, grant["license_key"]["id"], 4)
    assert len(burst(anonymous, grant["license_key"]["key"], 30)) == 30
    assert shard(business, grant["license_key"]["id"], None)["instances_count"] == 30


def test_each_instance_of_a_sharded_key_reports_its_events_once_and_in_order(business, anonymous, api_url, receiver):
    from dodopayments import DodoPayments
    from webhook_receiver import wait_for

    client = DodoPayments(bearer_token=business.key, base_url=api_url, max_retries=0)
    hook = receiver.endpoint(client, filter_types=["license_key_instance.created", "license_key_instance.deleted"])
    _, grant, key = delivered_key(business, limit=50)
    shard(business, grant["license_key"]["id"], 8)
    made = burst(anonymous, key, 24)
    with concurrent.futures.ThreadPoolExecutor(12) as pool:
        gone = list(pool.map(lambda i: deactivate(anonymous, key, i["id"]), made[:12]))
    assert [g.status_code for g in gone] == [200] * 12

    wait_for(lambda: len(receiver.deliveries(hook)) >= 36, "24 created and 12 deleted events", timeout=60)
    got = receiver.deliveries(hook)
    assert len(got) == 36 and len({d.id for d in got}) == 36
    by_instance = {}
    for delivery in sorted(got, key=lambda d: d.seq):
        by_instance.setdefault(delivery.data["id"], []).append(delivery.type)
    assert sorted(by_instance) == sorted(i["id"] for i in made)
    for instance in made[:12]:
        assert by_instance[instance["id"]] == ["license_key_instance.created", "license_key_instance.deleted"]
    for instance in made[12:]:
        assert by_instance[instance["id"]] == ["license_key_instance.created"]


def test_every_read_of_a_sharded_key_adds_its_shards_up(business, anonymous):
    ent, grant, key = delivered_key(business, limit=10)
    lk_id = grant["license_key"]["id"]
    shard(business, lk_id, 4)
    made = burst(anonymous, key, 3)
    instance = made[0]["id"]

    assert business.get(f"/license_keys/{lk_id}").json()["instances_count"] == 3
    assert [k["instances_count"] for k in business.get("/license_keys", params={"customer_id": grant["customer_id"]}).json()["items"]] == [3]
    assert business.get(f"/grants/{grant['id']}").json()["license_key"]["activations_used"] == 3
    listed = business.get(f"/entitlements/{ent['id']}/grants").json()["items"]
    assert [g["license_key"]["activations_used"] for g in listed] == [3]
    of_customer = business.get(f"/customers/{grant['customer_id']}/entitlement-grants").json()["items"]
    assert [g["license_key"]["activations_used"] for g in of_customer] == [3]

    valid = anonymous.post("/licenses/validate", json={"license_key": key, "license_key_instance_id": instance}).json()
    assert valid["valid"] and valid["license_key"]["instances_count"] == 3
    beat = anonymous.post("/licenses/heartbeat", json={"license_key": key, "license_key_instance_id": instance})
    assert beat.status_code == 200 and beat.json()["id"] == instance
    offline = anonymous.post("/licenses/checkout", json={"license_key": key, "license_key_instance_id": instance})
    assert offline.status_code == 201, offline.text
    # The grant's copy is the shards' sum again once they are merged.
    shard(business, lk_id, None)
    assert business.get(f"/grants/{grant['id']}").json()["license_key"]["activations_used"] == 3


def test_a_grant_issued_again_shows_its_sharded_count(business, anonymous):
    ent = new_entitlement(business, {**AUTO, "integration_config": {**AUTO["integration_config"], "activations_limit": 10}})
    who = {**customer(), "payment_id": f"pay_{uuid.uuid4().hex[:8]}"}
    grant = business.post(f"/entitlements/{ent['id']}/grants", json=who).json()
    shard(business, grant["license_key"]["id"], 4)
    assert len(burst(anonymous, grant["license_key"]["key"], 2)) == 2

    again = business.post(f"/entitlements/{ent['id']}/grants", json=who)
    assert again.status_code == 200 and again.json()["id"] == grant["id"]
    assert again.json()["license_key"]["activations_used"] == 2
    # Its email went out a moment ago: not again yet, but read as it is.
    resend = business.post(f"/grants/{grant['id']}/resend-email")
    assert resend.status_code == 429 and resend.json()["code"] == "RESEND_TOO_SOON", resend.text
