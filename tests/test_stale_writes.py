"""Every write that depends on what was read is conditioned on it (SPEC 0, Writes).

Each test holds a function's transaction after its reads (the
`pause-before-commit` failpoint), changes what it read through the API in the
meantime, and checks the held write did not commit the stale decision.
"""

import collections
import concurrent.futures
import json
import threading
import time
import uuid

from lambda_runtime import http_event, run_once
from test_allocation import Lrm, new_org, products_list
from test_grants import AUTO, MANUAL, customer, new_entitlement, pending_grant, unique_key

HOLD = {"FAILPOINT": "pause-before-commit"}


def held(function, event, meanwhile):
    """Runs `function` with its commit held, and `meanwhile` while it waits."""
    result = {}
    worker = threading.Thread(target=lambda: result.update(answer=run_once(function, event, HOLD)[0]))
    worker.start()
    time.sleep(0.8)
    meanwhile()
    worker.join(60)
    answer = result["answer"]
    assert answer is not None, f"{function} gave no answer"
    return answer["statusCode"], json.loads(answer["body"]) if answer.get("body") else None


def bearer(api):
    return {"authorization": api.http.headers["Authorization"]}


def test_an_auto_grant_held_while_the_entitlement_turns_manual_is_issued_pending(business):
    ent = new_entitlement(business, AUTO)
    event = http_event("POST", "/entitlements/{entitlement_id}/grants", f"/entitlements/{ent['id']}/grants",
                       {"entitlement_id": ent["id"]}, bearer(business), customer())
    manual = {"integration_config": {**AUTO["integration_config"], "fulfillment_mode": "manual"}}

    status, grant = held("issue-grant", event, lambda: business.patch(f"/entitlements/{ent['id']}", json=manual))

    assert status == 201, grant
    assert grant["status"] == "Pending" and grant["license_key"] is None


def test_a_grant_held_while_its_entitlement_is_deleted_is_refused(business):
    ent = new_entitlement(business, MANUAL)
    event = http_event("POST", "/entitlements/{entitlement_id}/grants", f"/entitlements/{ent['id']}/grants",
                       {"entitlement_id": ent["id"]}, bearer(business), customer())

    status, body = held("issue-grant", event, lambda: business.delete(f"/entitlements/{ent['id']}"))

    assert status == 409 and body["code"] == "ENTITLEMENT_INACTIVE", body


def test_a_fulfilment_held_while_the_entitlement_turns_auto_is_refused(business):
    ent, grant = pending_grant(business, MANUAL)
    event = http_event("POST", "/grants/{grant_id}/license-key", f"/grants/{grant['id']}/license-key",
                       {"grant_id": grant["id"]}, bearer(business), {"key": unique_key()})
    auto = {"integration_config": {**MANUAL["integration_config"], "fulfillment_mode": "auto"}}

    status, body = held("fulfil-grant", event, lambda: business.patch(f"/entitlements/{ent['id']}", json=auto))

    assert status == 409 and body["code"] == "NOT_MANUAL_FULFILLMENT", body
    assert business.get(f"/grants/{grant['id']}").json()["status"] == "Pending"


def test_a_key_patch_held_while_its_grant_is_revoked_leaves_the_grant_showing_a_disabled_key(business):
    ent = new_entitlement(business, AUTO)
    grant = business.post(f"/entitlements/{ent['id']}/grants", json=customer()).json()
    key_id = grant["license_key"]["id"]
    event = http_event("PATCH", "/license_keys/{id}", f"/license_keys/{key_id}", {"id": key_id}, bearer(business),
                       {"disabled": False, "activations_limit": 7})
    revoke = lambda: business.delete(f"/entitlements/{ent['id']}/grants/{grant['id']}")  # noqa: E731

    status, key = held("update-license-key", event, revoke)

    assert status == 200 and key["status"] == "disabled", key
    after = business.get(f"/grants/{grant['id']}").json()
    assert after["status"] == "Revoked"
    assert after["license_key"]["status"] == "disabled" and after["license_key"]["activations_limit"] == 7
    assert business.get(f"/license_keys/{key_id}").json()["status"] == "disabled"


def test_racing_organization_replacements_end_as_one_of_them_answered(api_url):
    lrm = Lrm(api_url)
    assert lrm.set_host({"UNATT": 100, "AIG": 100}).status_code == 200
    org = new_org()
    assert lrm.allocate(org, {"UNATT": 3, "AIG": 3}).status_code == 200
    # Each request changes one code and keeps the other as read, so without a
    # guard on the unchanged code two could commit and leave a mix.
    bodies = [{"UNATT": 3 + i, "AIG": 3} if i % 2 else {"UNATT": 3, "AIG": 3 + i} for i in range(1, 21)]

    def put(quantities):
        return quantities, lrm.allocate(org, quantities)

    with concurrent.futures.ThreadPoolExecutor(20) as pool:
        results = list(pool.map(put, bodies))
    answered = []
    for quantities, answer in results:
        assert answer.status_code in (200, 503), answer.text
        if answer.status_code == 200:
            answered.append({p["code"]: p["quantity"] for p in answer.json()["products"]})
    final = {code: q for code, (q, _, _) in lrm.org_products(org).items()}
    assert final in answered, (final, answered)
    # And the host gave out exactly what the organization holds.
    assert {code: allocated for code, (_, allocated, _) in lrm.host_products().items()} == final
