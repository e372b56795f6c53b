"""Grants and license-key fulfilment (SPEC 1.2) against the local stack."""

import concurrent.futures
import datetime
import uuid

import pytest

MANUAL = {
    "name": "Pro license",
    "integration_type": "license_key",
    "integration_config": {
        "activations_limit": 3,
        "duration_count": 1,
        "duration_interval": "Year",
        "activation_message": "Open Settings > License and paste the key.",
        "fulfillment_mode": "manual",
    },
}
AUTO = {**MANUAL, "name": "Auto license", "integration_config": {**MANUAL["integration_config"], "fulfillment_mode": "auto"}}


def ok(answer, status=200):
    """The answer's body, once its status is the one expected."""
    assert answer.status_code == status, (status, answer.status_code, answer.text)
    return answer.json()


def new_entitlement(api, body=MANUAL):
    answer = api.post("/entitlements", json=body)
    assert answer.status_code == 201, answer.text
    return answer.json()


def customer():
    cid = f"cus_{uuid.uuid4().hex[:12]}"
    return {"customer_id": cid, "customer_email": f"{cid}@example.com", "customer_name": "Ada Buyer"}


def issue(api, entitlement_id, **extra):
    return api.post(f"/entitlements/{entitlement_id}/grants", json={**customer(), **extra})


def pending_grant(api, body=MANUAL):
    ent = new_entitlement(api, body)
    answer = issue(api, ent["id"], payment_id=f"pay_{uuid.uuid4().hex[:8]}")
    assert answer.status_code == 201, answer.text
    return ent, answer.json()


def fulfil(api, grant_id, **body):
    return api.post(f"/grants/{grant_id}/license-key", json=body)


def unique_key():
    return f"KEY-{uuid.uuid4().hex.upper()}"


def license_key_items(table, key):
    import hashlib

    digest = hashlib.sha256(key.encode()).hexdigest()
    return table.query(KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": f"LK#{digest}"})["Items"]


def test_issue_manual_grant_is_pending_without_key(business):
    ent, grant = pending_grant(business)
    assert grant["id"].startswith("entg_")
    assert grant["status"] == "Pending"
    assert grant["license_key"] is None
    assert grant["entitlement_id"] == ent["id"]
    assert grant["business_id"] == grant["brand_id"] == business.business_id
    assert grant["integration_type"] == "license_key"
    for field in ("delivered_at", "revoked_at", "revocation_reason", "error_code", "error_message",
                  "digital_product_delivery", "oauth_url", "oauth_expires_at", "feature", "email_delivery"):
        assert grant[field] is None, field
    assert ok(business.get(f"/grants/{grant['id']}")) == grant


def test_fulfil_delivers_stores_and_emails_the_key(business, table, ses_store):
    ent, grant = pending_grant(business)
    key = unique_key()
    answer = fulfil(business, grant["id"], key=key)
    assert answer.status_code == 200, answer.text
    done = answer.json()
    assert done["status"] == "Delivered"
    assert done["delivered_at"] is not None
    assert done["license_key"]["key"] == key
    assert done["license_key"]["activations_used"] == 0
    assert done["license_key"]["activations_limit"] == 3
    assert done["license_key"]["status"] == "active"
    expires = datetime.datetime.fromisoformat(done["license_key"]["expires_at"].replace("Z", "+00:00"))
    assert 360 < (expires - datetime.datetime.now(datetime.timezone.utc)).days <= 366
    assert done["email_delivery"]["status"] == "sent"
    assert done["email_delivery"]["attempts"] == 1
    assert done["email_delivery"]["message_id"]
    assert ok(business.get(f"/grants/{grant['id']}")) == done

    [record] = license_key_items(table, key)
    assert record["id"] == done["license_key"]["id"]
    assert record["instances_count"] == 0 and record["disabled"] is False
    assert record["grant_id"] == grant["id"] and record["source"] == "manual"

    [email] = ses_store(grant["customer_email"])
    assert email["from"] == "licenses@example.com"
    assert email["destination"]["to"] == [grant["customer_email"]]
    assert ent["name"] in email["subject"]
    for part in (email["body"]["text"], email["body"]["html"]):
        assert key in part
        assert "Activations allowed: 3" in part
        assert done["license_key"]["expires_at"] in part
    assert "paste the key" in email["body"]["text"]


def test_fulfil_with_explicit_limit_and_expiry(business):
    _, grant = pending_grant(business)
    expires = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=30)).replace(microsecond=0)
    answer = fulfil(business, grant["id"], key=unique_key(), activations_limit=7, expires_at=expires.isoformat())
    assert answer.status_code == 200, answer.text
    assert answer.json()["license_key"]["activations_limit"] == 7
    assert answer.json()["license_key"]["expires_at"] == expires.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def test_fulfil_table_unknown_grant_and_other_business(business, other_business):
    _, grant = pending_grant(business)
    assert ok(fulfil(business, "entg_01HF0000000000000000000000", key=unique_key()), 404)["code"] == "NOT_FOUND"
    answer = fulfil(other_business, grant["id"], key=unique_key())
    assert answer.status_code == 404 and answer.json()["code"] == "NOT_FOUND"
    assert ok(business.get(f"/grants/{grant['id']}"))["status"] == "Pending"


def test_fulfil_table_not_license_key(business):
    ent = new_entitlement(business, {"name": "Chat", "integration_type": "discord", "integration_config": {"guild_id": "1"}})
    grant = ok(issue(business, ent["id"]), 201)
    assert grant["status"] == "Pending"
    answer = fulfil(business, grant["id"], key=unique_key())
    assert answer.status_code == 409 and answer.json()["code"] == "GRANT_NOT_LICENSE_KEY"


def test_fulfil_table_not_manual(business):
    ent, grant = pending_grant(business)
    ok(business.patch(f"/entitlements/{ent['id']}", json={"integration_config": {"fulfillment_mode": "auto"}}))
    answer = fulfil(business, grant["id"], key=unique_key())
    assert answer.status_code == 409 and answer.json()["code"] == "NOT_MANUAL_FULFILLMENT"


def test_fulfil_table_not_pending(business):
    ent, grant = pending_grant(business)
    assert business.delete(f"/entitlements/{ent['id']}/grants/{grant['id']}").status_code == 200
    answer = fulfil(business, grant["id"], key=unique_key())
    assert answer.status_code == 409 and answer.json()["code"] == "GRANT_NOT_PENDING"
    assert answer.headers["x-should-retry"] == "false"


def test_fulfil_table_key_already_attached(business, table):
    _, grant = pending_grant(business)
    # No route leaves a Pending grant with a key; write one to reach this row of the table.
    table.update_item(
        Key={"pk": f"BIZ#{business.business_id}", "sk": f"GRANT#{grant['id']}"},
        UpdateExpression="SET license_key = :k",
        ExpressionAttributeValues={":k": {"id": "lk_x", "key": "OLD", "activations_used": 0, "activations_limit": None, "expires_at": None, "status": "active"}},
    )
    answer = fulfil(business, grant["id"], key=unique_key())
    assert answer.status_code == 409 and answer.json()["code"] == "LICENSE_KEY_ALREADY_ATTACHED"


def test_fulfil_table_key_of_another_business_in_use(business, other_business, table):
    key = unique_key()
    _, theirs = pending_grant(other_business)
    assert fulfil(other_business, theirs["id"], key=key).status_code == 200
    _, mine = pending_grant(business)
    answer = fulfil(business, mine["id"], key=key)
    assert answer.status_code == 409 and answer.json()["code"] == "LICENSE_KEY_ALREADY_EXISTS"
    assert ok(business.get(f"/grants/{mine['id']}"))["status"] == "Pending"
    [record] = license_key_items(table, key)
    assert record["business_id"] == other_business.business_id


@pytest.mark.parametrize(
    "body, field",
    [
        ({"key": "K", "expires_at": "2020-01-01T00:00:00Z"}, "expires_at"),
        ({"key": "K", "expires_at": "tomorrow"}, "expires_at"),
        ({"key": "K", "activations_limit": 0}, "activations_limit"),
        ({"key": "K", "activations_limit": "two"}, "activations_limit"),
        ({"key": ""}, "key"),
        ({"key": "x" * 256}, "key"),
        ({"key": "line\nbreak"}, "key"),
        ({}, "key"),
    ],
)
def test_fulfil_table_validation(business, table, body, field):
    _, grant = pending_grant(business)
    body = {**body, "key": body["key"] + uuid.uuid4().hex} if body.get("key") == "K" else body
    answer = fulfil(business, grant["id"], **body)
    assert answer.status_code == 422, answer.text
    assert answer.json()["code"] == "VALIDATION_ERROR"
    assert answer.json()["message"].startswith(field)
    assert ok(business.get(f"/grants/{grant['id']}"))["status"] == "Pending"
    if body.get("key"):
        assert license_key_items(table, body["key"]) == []


def test_fulfil_malformed_json_is_400(business):
    _, grant = pending_grant(business)
    answer = business.post(f"/grants/{grant['id']}/license-key", content=b"{key:", headers={"content-type": "application/json"})
    assert answer.status_code == 400, answer.text
    assert answer.json()["code"] == "INVALID_JSON"
    assert ok(business.get(f"/grants/{grant['id']}"))["status"] == "Pending"


def test_fifty_concurrent_fulfils_one_wins(business, table, ses_store):
    _, grant = pending_grant(business)
    keys = [unique_key() for _ in range(50)]
    with concurrent.futures.ThreadPoolExecutor(50) as pool:
        answers = list(pool.map(lambda k: fulfil(business, grant["id"], key=k), keys))
    statuses = [a.status_code for a in answers]
    print(f"\nconcurrent fulfils: {statuses.count(200)} x 200, {statuses.count(409)} x 409, codes "
          f"{sorted({a.json()['code'] for a in answers if a.status_code == 409})}")
    assert statuses.count(200) == 1, statuses
    assert statuses.count(409) == 49, statuses
    winner = next(a.json() for a in answers if a.status_code == 200)
    records = [k for k in keys if license_key_items(table, k)]
    assert records == [winner["license_key"]["key"]]
    assert len(ses_store(grant["customer_email"])) == 1
    assert ok(business.get(f"/grants/{grant['id']}"))["license_key"]["key"] == winner["license_key"]["key"]


def test_ses_outage_leaves_email_queued_until_the_retry_function_sends_it(business, ses_store, ses_outage, invoke):
    _, grant = pending_grant(business)
    key = unique_key()
    answer = fulfil(business, grant["id"], key=key)
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "Delivered"
    assert answer.json()["email_delivery"]["status"] == "queued"
    assert answer.json()["email_delivery"]["last_error"]

    ses_outage()  # the emulator is back
    assert ses_store(grant["customer_email"]) == []
    invoke("email-retry", {"ignore_backoff": True})
    invoke("email-retry", {"ignore_backoff": True})

    [email] = ses_store(grant["customer_email"])
    assert key in email["body"]["text"]
    after = ok(business.get(f"/grants/{grant['id']}"))
    assert after["email_delivery"]["status"] == "sent"
    assert after["email_delivery"]["attempts"] == 2
    assert after["status"] == "Delivered"


def test_scheduled_run_respects_backoff(business, ses_store, ses_outage, invoke):
    _, grant = pending_grant(business)
    assert ok(fulfil(business, grant["id"], key=unique_key()))["email_delivery"]["status"] == "queued"
    ses_outage()
    invoke("email-retry", {})  # an ordinary scheduled run: the next attempt is a minute away
    assert ses_store(grant["customer_email"]) == []
    assert ok(business.get(f"/grants/{grant['id']}"))["email_delivery"]["attempts"] == 1


def test_delivery_that_keeps_failing_ends_failed_with_key_attached(business, ses_outage, invoke, ses_store):
    _, grant = pending_grant(business)
    key = unique_key()
    assert fulfil(business, grant["id"], key=key).status_code == 200
    for _ in range(7):
        invoke("email-retry", {"ignore_backoff": True})
    failed = ok(business.get(f"/grants/{grant['id']}"))
    assert failed["status"] == "Failed"
    assert failed["error_code"] == "EMAIL_DELIVERY_FAILED"
    assert failed["error_message"]
    assert failed["email_delivery"]["status"] == "failed"
    assert failed["email_delivery"]["attempts"] == 8
    assert failed["license_key"]["key"] == key

    ses_outage()
    invoke("email-retry", {"ignore_backoff": True})
    assert ses_store(grant["customer_email"]) == []

    resent = business.post(f"/grants/{grant['id']}/resend-email")
    assert resent.status_code == 202, resent.text
    assert resent.json()["status"] == "Delivered"
    assert resent.json()["email_delivery"]["status"] == "sent"
    assert resent.json()["error_code"] is None
    assert len(ses_store(grant["customer_email"])) == 1


def test_resend_of_a_pending_grant_is_409(business):
    _, grant = pending_grant(business)
    answer = business.post(f"/grants/{grant['id']}/resend-email")
    assert answer.status_code == 409 and answer.json()["code"] == "GRANT_NOT_DELIVERED"


def test_auto_mode_generates_delivers_and_is_idempotent_per_payment(business, table, ses_store):
    ent = new_entitlement(business, AUTO)
    who = customer()
    first = business.post(f"/entitlements/{ent['id']}/grants", json={**who, "payment_id": "pay_1"})
    assert first.status_code == 201, first.text
    grant = first.json()
    assert grant["status"] == "Delivered"
    key = grant["license_key"]["key"]
    assert len(key.replace("-", "")) == 32
    assert grant["email_delivery"]["status"] == "sent"
    [record] = license_key_items(table, key)
    assert record["source"] == "auto"
    [email] = ses_store(who["customer_email"])
    assert key in email["body"]["html"]

    again = business.post(f"/entitlements/{ent['id']}/grants", json={**who, "payment_id": "pay_1"})
    assert again.status_code == 200, again.text
    assert again.json()["id"] == grant["id"]
    assert len(ses_store(who["customer_email"])) == 1

    other_payment = business.post(f"/entitlements/{ent['id']}/grants", json={**who, "payment_id": "pay_2"})
    assert other_payment.status_code == 201
    assert other_payment.json()["id"] != grant["id"]


def test_concurrent_issues_for_one_payment_make_one_grant(business):
    ent = new_entitlement(business, AUTO)
    who = customer()
    with concurrent.futures.ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(
            lambda _: business.post(f"/entitlements/{ent['id']}/grants", json={**who, "subscription_id": "sub_9"}),
            range(20)))
    assert sorted({a.status_code for a in answers}) in ([200, 201], [201])
    assert len({a.json()["id"] for a in answers}) == 1
    assert [a.status_code for a in answers].count(201) == 1


def test_grant_validation_and_inactive_entitlement(business, table):
    ent = new_entitlement(business)
    bad = business.post(f"/entitlements/{ent['id']}/grants", json={"customer_id": "c", "customer_email": "nope"})
    assert bad.status_code == 422 and bad.json()["message"].startswith("customer_email")
    missing = business.post(f"/entitlements/{ent['id']}/grants", json={"customer_email": "a@b.co"})
    assert missing.status_code == 422 and missing.json()["message"].startswith("customer_id")
    assert ok(business.get(f"/entitlements/{ent['id']}/grants"))["items"] == []
    assert business.delete(f"/entitlements/{ent['id']}").status_code == 204
    answer = issue(business, ent["id"])
    assert answer.status_code == 409 and answer.json()["code"] == "ENTITLEMENT_INACTIVE"
    assert ok(issue(business, "ent_01HF0000000000000000000000"), 404)["code"] == "NOT_FOUND"


def test_revoke_is_idempotent_and_disables_the_key(business, table):
    ent, grant = pending_grant(business)
    key = unique_key()
    ok(fulfil(business, grant["id"], key=key))
    revoked = business.request("DELETE", f"/entitlements/{ent['id']}/grants/{grant['id']}", json={"reason": "refunded"})
    assert revoked.status_code == 200, revoked.text
    body = revoked.json()
    assert body["status"] == "Revoked"
    assert body["revocation_reason"] == "refunded"
    assert body["revoked_at"] is not None
    assert body["license_key"]["status"] == "disabled"
    [record] = license_key_items(table, key)
    assert record["grant_revoked"] is True

    again = business.delete(f"/entitlements/{ent['id']}/grants/{grant['id']}")
    assert again.status_code == 200, again.text
    assert again.json() == body
    missing = business.delete(f"/entitlements/{ent['id']}/grants/entg_01HF0000000000000000000000")
    assert ok(missing, 404)["code"] == "NOT_FOUND"


def test_revoke_default_reason(business):
    ent, grant = pending_grant(business)
    answer = business.delete(f"/entitlements/{ent['id']}/grants/{grant['id']}")
    assert ok(answer)["revocation_reason"] == "manual"


def test_lists_filter_and_page(business, other_business):
    ent = new_entitlement(business)
    who = customer()
    made = []
    for i in range(7):
        issued = business.post(f"/entitlements/{ent['id']}/grants", json={**who, "payment_id": f"p{i}"})
        made.append(ok(issued, 201)["id"])
    other = ok(issue(business, ent["id"]), 201)
    ok(fulfil(business, made[0], key=unique_key()))

    everything = ok(business.get(f"/entitlements/{ent['id']}/grants", params={"page_size": 100}))["items"]
    assert [g["id"] for g in everything] == [other["id"]] + list(reversed(made))
    seen, cursor = [], None
    while True:
        params = {"customer_id": who["customer_id"], "page_size": 3, **({"cursor": cursor} if cursor else {})}
        page = ok(business.get(f"/entitlements/{ent['id']}/grants", params=params))
        seen += [g["id"] for g in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == list(reversed(made))
    delivered = ok(business.get(f"/entitlements/{ent['id']}/grants", params={"status": "delivered"}))["items"]
    assert [g["id"] for g in delivered] == [made[0]]

    by_customer = ok(business.get(f"/customers/{who['customer_id']}/entitlement-grants", params={"status": "Pending"}))
    assert [g["id"] for g in by_customer["items"]] == list(reversed(made[1:]))
    typed = business.get(f"/customers/{who['customer_id']}/entitlement-grants", params={"integration_type": "discord"})
    assert ok(typed)["items"] == []
    lost = business.get(f"/customers/{who['customer_id']}/entitlement-grants", params={"status": "Lost"})
    assert ok(lost, 422)["code"] == "VALIDATION_ERROR"
    assert lost.json()["message"].startswith("status"), lost.text

    assert ok(other_business.get(f"/entitlements/{ent['id']}/grants"), 404)["code"] == "NOT_FOUND"
    assert ok(other_business.get(f"/customers/{who['customer_id']}/entitlement-grants"))["items"] == []
    assert ok(other_business.get(f"/grants/{made[0]}"), 404)["code"] == "NOT_FOUND"
