"""A function that dies right after its commit, before it answers (SPEC 0, Idempotency).

Each test runs the function binary once with the `after-commit` failpoint
armed, so the process aborts the moment its transaction commits. The same
request with the same Idempotency-Key then goes to a fresh process: it must
answer what the first attempt would have answered, marked replayed, and the
table must hold exactly one change.
"""

import json
import uuid

from lambda_runtime import http_event, run_once
from test_allocation import Lrm, new_org, products_list
from test_grants import AUTO, MANUAL, customer, license_key_items, new_entitlement, pending_grant, unique_key

CRASH = {"FAILPOINT": "after-commit"}


def crash_then_replay(function, event):
    """The first attempt dies after its commit; a fresh process gets the same request."""
    answer, code = run_once(function, event, CRASH)
    assert answer is None, f"{function} answered although it should have died: {answer}"
    assert code not in (None, 0), f"{function} did not die at the failpoint (exit {code})"
    replay, _ = run_once(function, event)
    assert replay is not None, f"{function} gave no answer on the retry"
    headers = {k.lower(): v for k, v in (replay.get("headers") or {}).items()}
    assert headers.get("idempotent-replayed") == "true", replay
    body = json.loads(replay["body"]) if replay.get("body") else None
    return replay["statusCode"], body


def authorized(api, key):
    return {"authorization": f"Bearer {api.http.headers['Authorization'].split(' ', 1)[1]}", "idempotency-key": key}


def test_fulfil_that_dies_after_commit_replays_one_delivery(business, table, ses_store):
    _, grant = pending_grant(business, MANUAL)
    key, idem = unique_key(), str(uuid.uuid4())
    body = {"key": key}
    event = http_event("POST", "/grants/{grant_id}/license-key", f"/grants/{grant['id']}/license-key",
                       {"grant_id": grant["id"]}, authorized(business, idem), body)

    status, answer = crash_then_replay("fulfil-grant", event)

    assert status == 200
    assert answer["status"] == "Delivered" and answer["license_key"]["key"] == key
    stored = business.get(f"/grants/{grant['id']}").json()
    assert stored["status"] == "Delivered" and stored["license_key"]["id"] == answer["license_key"]["id"]
    assert len(license_key_items(table, key)) == 1
    # Through the API as well: the same key and body is the same answer, and nothing moves.
    again = business.post(f"/grants/{grant['id']}/license-key", content=json.dumps(body),
                          headers={"Idempotency-Key": idem, "Content-Type": "application/json"})
    assert again.status_code == 200 and again.headers.get("idempotent-replayed") == "true"
    assert again.json()["license_key"]["id"] == answer["license_key"]["id"]
    assert len(ses_store(grant["customer_email"])) <= 1


def test_auto_grant_that_dies_after_commit_replays_one_grant_and_key(business, table, ses_store):
    ent = new_entitlement(business, AUTO)
    who = {**customer(), "payment_id": f"pay_{uuid.uuid4().hex[:8]}"}
    event = http_event("POST", "/entitlements/{entitlement_id}/grants", f"/entitlements/{ent['id']}/grants",
                       {"entitlement_id": ent["id"]}, authorized(business, str(uuid.uuid4())), who)

    status, answer = crash_then_replay("issue-grant", event)

    assert status == 201
    assert answer["status"] == "Delivered" and answer["license_key"]["key"]
    grants = business.get(f"/entitlements/{ent['id']}/grants", params={"customer_id": who["customer_id"]}).json()
    assert [g["id"] for g in grants["items"]] == [answer["id"]]
    assert len(license_key_items(table, answer["license_key"]["key"])) == 1
    assert len(ses_store(who["customer_email"])) <= 1


def test_activation_that_dies_after_commit_replays_one_instance(business, anonymous):
    ent = new_entitlement(business, AUTO)
    grant = business.post(f"/entitlements/{ent['id']}/grants", json=customer()).json()
    key = grant["license_key"]["key"]
    body = {"license_key": key, "name": "build-agent"}
    event = http_event("POST", "/licenses/activate", "/licenses/activate", None,
                       {"idempotency-key": str(uuid.uuid4())}, body)

    status, answer = crash_then_replay("activate-license", event)

    assert status == 201 and answer["id"].startswith("lki_")
    lk = business.get(f"/license_keys/{grant['license_key']['id']}").json()
    assert lk["instances_count"] == 1
    instances = business.get("/license_key_instances", params={"license_key_id": lk["id"]}).json()["items"]
    assert [i["id"] for i in instances] == [answer["id"]]
    assert business.get(f"/grants/{grant['id']}").json()["license_key"]["activations_used"] == 1


def test_organization_allocation_that_dies_after_commit_moves_units_once(api_url):
    lrm = Lrm(api_url)
    assert lrm.set_host({"UNATT": 10}).status_code == 200
    org = new_org()
    path = f"/lrm/api/host/{lrm.host_id}/organization/{org}/license"
    event = http_event("PUT", "/lrm/api/host/{hostAccountId}/organization/{organizationId}/license", path,
                       {"hostAccountId": lrm.host_id, "organizationId": org},
                       authorized(lrm.host, str(uuid.uuid4())), {"productQuantities": products_list({"UNATT": 4})})

    status, answer = crash_then_replay("allocate-organization-license", event)

    assert status == 200 and answer["accountId"] == org
    assert lrm.host_products() == {"UNATT": (10, 4, 6)}
    audit = lrm.host.get(f"/lrm/api/account/{org}/audit").json()["items"]
    assert [a["target"] for a in audit] == ["organization"]


def test_seat_assignment_that_dies_after_commit_takes_units_once(api_url):
    lrm = Lrm(api_url)
    assert lrm.set_host({"ATTUNU": 10}).status_code == 200
    org = new_org()
    assert lrm.allocate(org, {"ATTUNU": 5}).status_code == 200
    org_api = lrm.org_key(org)
    users = ["ada", "grace", "linus"]
    event = http_event("PUT", "/lease_/api/account/{accountId}/user-license", f"/lease_/api/account/{org}/user-license",
                       {"accountId": org}, authorized(org_api, str(uuid.uuid4())),
                       {"userIds": users, "userBundleCodes": ["ATTUNU"]})

    status, answer = crash_then_replay("assign-user-licenses", event)

    assert status == 200 and sorted(s["userId"] for s in answer) == users
    assert lrm.org_products(org)["ATTUNU"] == (5, 3, 2)
    audit = org_api.get(f"/lrm/api/account/{org}/audit").json()["items"]
    assert [a["target"] for a in audit].count("users") == 1


def test_a_final_error_is_kept_and_replayed(business):
    idem = str(uuid.uuid4())
    missing = f"entg_{uuid.uuid4().hex[:26].upper()}"
    body = {"key": unique_key()}
    first = business.post(f"/grants/{missing}/license-key", json=body, headers={"Idempotency-Key": idem})
    again = business.post(f"/grants/{missing}/license-key", json=body, headers={"Idempotency-Key": idem})
    assert first.status_code == again.status_code == 404
    assert again.headers.get("idempotent-replayed") == "true" and again.json() == first.json()


def test_public_idempotency_keys_are_scoped_to_the_license_key(business, anonymous):
    ent = new_entitlement(business, AUTO)
    keys = [business.post(f"/entitlements/{ent['id']}/grants", json=customer()).json()["license_key"]["key"]
            for _ in range(2)]
    idem = {"Idempotency-Key": str(uuid.uuid4())}
    answers = [anonymous.post("/licenses/activate", json={"license_key": k, "name": "pc"}, headers=idem) for k in keys]
    assert [a.status_code for a in answers] == [201, 201]
    assert all("idempotent-replayed" not in a.headers for a in answers)
    assert answers[0].json()["license_key_id"] != answers[1].json()["license_key_id"]
    replay = anonymous.post("/licenses/activate", json={"license_key": keys[0], "name": "pc"}, headers=idem)
    assert replay.headers.get("idempotent-replayed") == "true" and replay.json()["id"] == answers[0].json()["id"]


def test_a_key_split_and_an_activation_on_it_that_die_after_commit_count_once(business, table):
    from test_activation_shards import shard_items

    # Two units a shard, so the first activation needs no rebalance (a commit of its own) first.
    ent = new_entitlement(business, {**AUTO, "integration_config": {**AUTO["integration_config"], "activations_limit": 16}})
    grant = business.post(f"/entitlements/{ent['id']}/grants", json=customer()).json()
    lk_id, key = grant["license_key"]["id"], grant["license_key"]["key"]
    split = http_event("PATCH", "/license_keys/{id}", f"/license_keys/{lk_id}", {"id": lk_id},
                       authorized(business, str(uuid.uuid4())), {"activation_shards": 8})

    status, answer = crash_then_replay("update-license-key", split)

    assert status == 200 and answer["activation_shards"] == 8
    shards = shard_items(table, key)
    assert len(shards) == 8 and sum(s["cap"] for s in shards) == ent["integration_config"]["activations_limit"]
    activation = http_event("POST", "/licenses/activate", "/licenses/activate", None,
                            {"idempotency-key": str(uuid.uuid4())}, {"license_key": key, "name": "build-agent"})

    status, instance = crash_then_replay("activate-license", activation)

    assert status == 201
    assert business.get(f"/license_keys/{lk_id}").json()["instances_count"] == 1
    assert sum(s["used"] for s in shard_items(table, key)) == 1
    instances = business.get("/license_key_instances", params={"license_key_id": lk_id}).json()["items"]
    assert [i["id"] for i in instances] == [instance["id"]]


def test_seats_on_a_sharded_pool_that_die_after_commit_take_units_once(api_url, table):
    from test_pool_shards import pool_shards, shard_items

    lrm = Lrm(api_url)
    assert lrm.set_host({"ATTUNU": 20}).status_code == 200
    org = new_org()
    # Three units a shard, so three users need no gathering (a commit of its own) first.
    assert lrm.allocate(org, {"ATTUNU": 12}).status_code == 200
    assert pool_shards(org, "ATTUNU", 4)["shards"] == 4
    org_api = lrm.org_key(org)
    users = ["ada", "grace", "linus"]
    event = http_event("PUT", "/lease_/api/account/{accountId}/user-license", f"/lease_/api/account/{org}/user-license",
                       {"accountId": org}, authorized(org_api, str(uuid.uuid4())),
                       {"userIds": users, "userBundleCodes": ["ATTUNU"]})

    status, answer = crash_then_replay("assign-user-licenses", event)

    assert status == 200 and sorted(s["userId"] for s in answer) == users
    assert lrm.org_products(org)["ATTUNU"] == (12, 3, 9)
    assert sum(s["used"] for s in shard_items(table, org, "ATTUNU")) == 3
