"""The key email: resend limits, leases and a missing entitlement (SPEC 1.2, The key email)."""

import concurrent.futures
import time

from test_grants import MANUAL, fulfil, pending_grant, unique_key


def grant_item(table, business, grant_id):
    return table.get_item(Key={"pk": f"BIZ#{business.business_id}", "sk": f"GRANT#{grant_id}"},
                          ConsistentRead=True)["Item"]


def test_concurrent_resends_send_one_email_and_then_wait(business, table, ses_store):
    _, grant = pending_grant(business, MANUAL)
    assert fulfil(business, grant["id"], key=unique_key()).json()["email_delivery"]["status"] == "sent"
    # As the retry function leaves an email SES refused for good.
    table.update_item(Key={"pk": f"BIZ#{business.business_id}", "sk": f"GRANT#{grant['id']}"},
                      UpdateExpression="SET email_delivery.#s = :failed, #g = :gfailed, updated_at = :now",
                      ExpressionAttributeNames={"#s": "status", "#g": "status"},
                      ExpressionAttributeValues={":failed": "failed", ":gfailed": "Failed", ":now": "2026-01-01T00:00:00.000Z"})
    before = len(ses_store(grant["customer_email"]))

    with concurrent.futures.ThreadPoolExecutor(10) as pool:
        answers = list(pool.map(lambda _: business.post(f"/grants/{grant['id']}/resend-email"), range(10)))

    assert {a.status_code for a in answers} <= {202, 429}, [a.text for a in answers]
    assert len(ses_store(grant["customer_email"])) == before + 1
    again = business.post(f"/grants/{grant['id']}/resend-email")
    assert again.status_code == 429 and again.json()["code"] == "RESEND_TOO_SOON"
    assert 1 <= int(again.headers["retry-after"]) <= 60
    assert len(ses_store(grant["customer_email"])) == before + 1


def queued_grant(business, ses_outage):
    _, grant = pending_grant(business, MANUAL)
    answer = fulfil(business, grant["id"], key=unique_key())
    assert answer.json()["email_delivery"]["status"] == "queued", answer.text
    ses_outage()  # SES is back; the email waits for the retry function
    return grant


def test_a_held_email_is_left_to_the_run_that_holds_it(business, table, ses_store, ses_outage, invoke):
    grant = queued_grant(business, ses_outage)
    key = {"pk": f"BIZ#{business.business_id}", "sk": f"GRANT#{grant['id']}"}
    held_until = int(time.time() * 1000) + 60_000
    table.update_item(Key=key, UpdateExpression="SET lease_until_ms = :t", ExpressionAttributeValues={":t": held_until})

    invoke("email-retry", {"ignore_backoff": True})
    assert ses_store(grant["customer_email"]) == []
    assert grant_item(table, business, grant["id"])["email_delivery"]["attempts"] == 1

    table.update_item(Key=key, UpdateExpression="REMOVE lease_until_ms")
    invoke("email-retry", {"ignore_backoff": True})
    assert len(ses_store(grant["customer_email"])) == 1
    assert business.get(f"/grants/{grant['id']}").json()["email_delivery"]["status"] == "sent"


def test_an_email_whose_entitlement_is_gone_fails_once_and_is_left(business, table, ses_store, ses_outage, invoke):
    grant = queued_grant(business, ses_outage)
    table.delete_item(Key={"pk": f"BIZ#{business.business_id}", "sk": f"ENT#{grant['entitlement_id']}"})

    invoke("email-retry", {"ignore_backoff": True})
    failed = business.get(f"/grants/{grant['id']}").json()
    assert failed["status"] == "Failed" and "entitlement" in failed["error_message"]
    attempts = failed["email_delivery"]["attempts"]
    invoke("email-retry", {"ignore_backoff": True})
    assert business.get(f"/grants/{grant['id']}").json()["email_delivery"]["attempts"] == attempts
    assert ses_store(grant["customer_email"]) == []
