"""The customer portal's session and JSON routes (SPEC 1.9), through Dodo's
Python SDK where it has the call, and as Dodo's portal front end calls the
rest (`Authorization: Bearer <the link's token>`), or as a browser does (the
session cookie). tests/test_portal_browser.py drives the page in Chromium."""

import hashlib
import json
import os
import re
import subprocess
import time
import uuid

import dodopayments
import httpx
import pytest
from dodopayments import DodoPayments

from conftest import MINTED_SECRETS, Api
from test_digital_files import DIGITAL, upload
from test_grants import AUTO, new_entitlement

METER = {"precision": 0, "overage_enabled": False, "rollover_enabled": False}
TOKEN = re.compile(r"[A-Za-z0-9_-]{32,}")


@pytest.fixture
def sdk(api_url, business):
    return DodoPayments(bearer_token=business.key, base_url=api_url, max_retries=0)


def ok(answer, status=200):
    assert answer.status_code == status, answer.text
    return answer.json() if answer.content else None


def keyed_customer(api, limit=2):
    """A new customer with a delivered grant of a new auto-fulfilled key entitlement."""
    config = {**AUTO["integration_config"], "activations_limit": limit}
    entitlement = new_entitlement(api, {**AUTO, "name": f"Studio {uuid.uuid4().hex[:6]}", "integration_config": config})
    customer_id = f"cus_{uuid.uuid4().hex[:12]}"
    grant = ok(api.post(f"/entitlements/{entitlement['id']}/grants",
                        json={"customer_id": customer_id, "customer_email": f"{customer_id}@example.com",
                              "customer_name": "Ada", "payment_id": f"pay_{uuid.uuid4().hex[:10]}"}), 201)
    assert grant["status"] == "Delivered", grant
    return customer_id, grant


def activate(anonymous, key, name):
    return ok(anonymous.post("/licenses/activate", json={"license_key": key, "name": name}), 201)["id"]


def session_token(api, customer_id, **params):
    link = ok(api.post(f"/customers/{customer_id}/customer-portal/session", params=params))["link"]
    token = link.rsplit("/", 1)[1]
    MINTED_SECRETS.append(token)
    return link, token


def portal(api_url, token):
    return httpx.Client(base_url=api_url, headers={"Authorization": f"Bearer {token}"}, timeout=30)


def opened_cookie(api_url, token):
    """The cookie opening the link sets, as a browser would keep it."""
    answer = httpx.get(f"{api_url}/customer-portal/session/{token}", timeout=30)
    assert answer.status_code == 303, answer.text
    cookie = answer.cookies["portal_session"]
    MINTED_SECRETS.append(cookie)
    return answer, cookie


def test_the_sdk_makes_a_link_that_opens_the_portal_and_emails_it(api_url, business, sdk, ses_store):
    customer_id, grant = keyed_customer(business)
    session = sdk.customers.customer_portal.create(customer_id, return_url="https://shop.example/account",
                                                   send_email=True)
    assert isinstance(session, dodopayments.types.CustomerPortalSession)
    prefix = f"{api_url}/customer-portal/session/"
    assert session.link.startswith(prefix), session.link
    token = session.link[len(prefix):]
    MINTED_SECRETS.append(token)
    assert TOKEN.fullmatch(token) and "?" not in session.link
    # Only its digest is kept, and the session dies with its TTL a day from now.
    email = f"{customer_id}@example.com"
    found = [e for e in ses_store(email) if session.link in e["body"]["text"]]
    assert len(found) == 1, [e["subject"] for e in ses_store(email)]
    assert session.link in found[0]["body"]["text"].splitlines()

    # Dodo's portal front end: the token as Bearer.
    customer = portal(api_url, token)
    [item] = ok(customer.get("/customer-portal/entitlements"))["items"]
    assert item["id"] == grant["id"] and item["status"] == "Delivered"
    assert item["license_key"]["key"] == grant["license_key"]["key"]
    assert item["action_type"] == "none" and item["requires_action"] is False
    assert item["entitlement"]["integration_type"] == "license_key"
    assert ok(customer.get("/customer-portal/business"))["business_id"] == business.business_id
    assert ok(customer.get("/customer-portal/profile")) == {"customer_id": customer_id, "name": "Ada", "email": email}


def test_a_link_is_stored_as_a_digest_that_expires(api_url, business, table):
    customer_id, _ = keyed_customer(business)
    _, token = session_token(business, customer_id)
    item = table.get_item(Key={"pk": f"PORTAL#{hashlib.sha256(token.encode()).hexdigest()}", "sk": "SESSION"})["Item"]
    assert token not in str(item)
    assert abs(int(item["purge_at"]) - (time.time() + 24 * 3600)) < 120
    # A day later (the item's expiry moved back): 401 everywhere, though TTL has not deleted it yet.
    table.update_item(Key={"pk": item["pk"], "sk": "SESSION"}, UpdateExpression="SET expires_at_s = :past",
                      ExpressionAttributeValues={":past": int(time.time()) - 1})
    answer = portal(api_url, token).get("/customer-portal/entitlements")
    assert answer.status_code == 401 and answer.json()["code"] == "UNAUTHORIZED"
    page = httpx.get(f"{api_url}/customer-portal/session/{token}")
    assert page.status_code == 401 and "expired" in page.text and "set-cookie" not in page.headers


def test_bad_requests_for_a_link_are_refused_and_make_nothing(business, other_business, table):
    customer_id, _ = keyed_customer(business)
    path = f"/customers/{customer_id}/customer-portal/session"
    for return_url in ["/account", "javascript:alert(1)", "ftp://x.example/", "https://user:pw@x.example/", "https://"]:
        answer = business.post(path, params={"return_url": return_url})
        assert answer.status_code == 422 and "return_url" in answer.json()["message"], (return_url, answer.text)
    assert business.post(path, params={"send_email": "maybe"}).status_code == 422
    assert ok(business.post(f"/customers/cus_{uuid.uuid4().hex}/customer-portal/session"), 404)
    # Another business's customer is no customer of the caller's.
    assert other_business.post(path).status_code == 404
    assert not table.scan(FilterExpression="begins_with(pk, :p) AND customer_id = :c",
                          ExpressionAttributeValues={":p": "PORTAL#", ":c": customer_id})["Items"]


def test_only_a_live_portal_session_opens_a_portal_route(api_url, business, anonymous):
    customer_id, grant = keyed_customer(business)
    _, token = session_token(business, customer_id)
    routes = ["/customer-portal/entitlements", "/customer-portal/business", "/customer-portal/credit-entitlements",
              f"/customer-portal/license-key-instances?grant_id={grant['id']}"]
    for path in routes:
        assert portal(api_url, token).get(path).status_code == 200, path
        for bearer in [None, "cps_" + "A" * 43, business.key, token + "x"]:
            headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
            answer = httpx.get(api_url + path, headers=headers)
            assert answer.status_code == 401 and answer.json()["code"] == "UNAUTHORIZED", (path, bearer, answer.text)
    # The portal's token opens no other route.
    assert portal(api_url, token).get(f"/grants/{grant['id']}").status_code == 401
    assert portal(api_url, token).get(f"/customers/{customer_id}/entitlements").status_code == 401


def test_a_customer_sees_and_frees_only_their_own(api_url, business, anonymous):
    a, grant_a = keyed_customer(business)
    b, grant_b = keyed_customer(business)
    laptop = activate(anonymous, grant_a["license_key"]["key"], "laptop")
    _, token_b = session_token(business, b)
    as_b = portal(api_url, token_b)
    assert [g["id"] for g in ok(as_b.get("/customer-portal/entitlements"))["items"]] == [grant_b["id"]]
    for path in [f"/customer-portal/license-key-instances?grant_id={grant_a['id']}",
                 f"/customer-portal/entitlements/{grant_a['id']}/download"]:
        answer = as_b.get(path)
        assert answer.status_code == 404 and answer.json()["code"] == "NOT_FOUND", (path, answer.text)
    assert as_b.post(f"/customer-portal/license-key-instances/{laptop}/deactivate").status_code == 404
    instances = ok(business.get("/license_key_instances", params={"license_key_id": grant_a["license_key"]["id"]}))
    assert [i["id"] for i in instances["items"]] == [laptop]


@pytest.mark.parametrize("shards", [None, 4])
def test_freeing_a_device_frees_its_slot(api_url, business, anonymous, shards):
    customer_id, grant = keyed_customer(business, limit=2)
    key = grant["license_key"]["key"]
    if shards:
        ok(business.patch(f"/license_keys/{grant['license_key']['id']}", json={"activation_shards": shards}))
    first, second = activate(anonymous, key, "laptop"), activate(anonymous, key, "desktop")
    full = anonymous.post("/licenses/activate", json={"license_key": key, "name": "tablet"})
    assert full.status_code == 422
    _, token = session_token(business, customer_id)
    customer = portal(api_url, token)
    [shown] = ok(customer.get("/customer-portal/entitlements"))["items"]
    assert (shown["license_key"]["activations_used"], shown["license_key"]["activations_limit"]) == (2, 2)
    listed = ok(customer.get("/customer-portal/license-key-instances", params={"grant_id": grant["id"], "page_size": 100}))
    assert sorted(i["name"] for i in listed["items"]) == ["desktop", "laptop"]
    assert set(listed["items"][0]) == {"id", "business_id", "name", "license_key_id", "created_at"}
    assert ok(customer.post(f"/customer-portal/license-key-instances/{first}/deactivate")) == {}
    # Freed once is gone: again is 404, and the slot is open to a new device.
    assert customer.post(f"/customer-portal/license-key-instances/{first}/deactivate").status_code == 404
    assert ok(customer.get("/customer-portal/entitlements"))["items"][0]["license_key"]["activations_used"] == 1
    activate(anonymous, key, "tablet")
    names = sorted(i["name"] for i in ok(customer.get("/customer-portal/license-key-instances",
                                                      params={"grant_id": grant["id"]}))["items"])
    assert names == ["desktop", "tablet"]
    assert second


def test_the_link_becomes_a_cookie_and_the_cookie_writes_only_from_the_portals_origin(api_url, business, anonymous):
    customer_id, grant = keyed_customer(business)
    laptop = activate(anonymous, grant["license_key"]["key"], "laptop")
    link, token = session_token(business, customer_id, return_url="https://shop.example/account?a=1&b=2")
    opened, cookie = opened_cookie(api_url, token)
    assert opened.headers["location"] == f"{api_url}/customer-portal"
    set_cookie = opened.headers["set-cookie"]
    assert "HttpOnly" in set_cookie and "SameSite=Lax" in set_cookie and "Path=/customer-portal" in set_cookie
    assert "Secure" not in set_cookie  # plain HTTP on the local stack; API Gateway's HTTPS adds it
    assert cookie != token and token not in set_cookie

    page = httpx.get(f"{api_url}/customer-portal", cookies={"portal_session": cookie})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "default-src 'none'" in csp
    assert grant["license_key"]["key"] in page.text and "laptop" in page.text
    assert re.search(r'class="return" href="https:(&#x2f;|/){2}shop\.example(&#x2f;|/)account\?a=1(&amp;|&#38;)b=2"', page.text)
    no_session = httpx.get(f"{api_url}/customer-portal")
    assert no_session.status_code == 401 and "expired" in no_session.text
    assert no_session.headers["content-type"].startswith("text/html")

    free = f"{api_url}/customer-portal/license-key-instances/{laptop}/deactivate"
    form = {"content-type": "application/x-www-form-urlencoded"}
    for refused in [{"origin": "https://evil.example"}, {}, {"sec-fetch-site": "cross-site"}]:
        answer = httpx.post(free, cookies={"portal_session": cookie}, headers={**form, **refused}, content=b"")
        assert answer.status_code == 403 and answer.json()["code"] == "FORBIDDEN", (refused, answer.text)
    assert len(ok(business.get("/license_key_instances", params={"license_key_id": grant["license_key"]["id"]}))["items"]) == 1
    freed = httpx.post(free, cookies={"portal_session": cookie}, headers={**form, "origin": api_url}, content=b"")
    assert freed.status_code == 303 and freed.headers["location"] == f"{api_url}/customer-portal?notice=freed"
    assert ok(business.get("/license_key_instances", params={"license_key_id": grant["license_key"]["id"]}))["items"] == []
    after = httpx.get(f"{api_url}/customer-portal?notice=freed", cookies={"portal_session": cookie})
    assert "The device was freed" in after.text and "laptop" not in after.text


def test_downloads_and_credits_through_the_portal(api_url, business):
    entitlement = new_entitlement(business, DIGITAL)
    data = os.urandom(10_000)
    file_id = ok(upload(business, entitlement["id"], data))["file_id"]
    customer_id = f"cus_{uuid.uuid4().hex[:12]}"
    grant = ok(business.post(f"/entitlements/{entitlement['id']}/grants",
                             json={"customer_id": customer_id, "customer_email": f"{customer_id}@example.com"}), 201)
    meter = ok(business.post("/credit-entitlements", json={**METER, "name": "API calls", "unit": "calls"}), 201)
    balance = f"/credit-entitlements/{meter['id']}/balances/{customer_id}/ledger-entries"
    ok(business.post(balance, json={"amount": "100", "entry_type": "credit"}), 201)
    ok(business.post(balance, json={"amount": "30", "entry_type": "debit", "reason": "nightly sync"}), 201)
    ok(business.post(balance, json={"amount": "5", "entry_type": "credit"}), 201)
    _, token = session_token(business, customer_id)
    customer = portal(api_url, token)

    download = ok(customer.get(f"/customer-portal/entitlements/{grant['id']}/download"))
    assert download["instructions"] == "Unzip and run setup." and download["external_link"] == "https://example.com/docs"
    [file] = download["files"]
    assert httpx.get(file["download_url"]).content == data
    redirect = customer.get(f"/customer-portal/entitlements/{grant['id']}/download", params={"file_id": file_id})
    assert redirect.status_code == 303 and httpx.get(redirect.headers["location"]).content == data
    assert customer.get(f"/customer-portal/entitlements/{grant['id']}/download",
                        params={"file_id": "file_none"}).status_code == 404

    [held] = ok(customer.get("/customer-portal/credit-entitlements"))["items"]
    assert (held["credit_entitlement_id"], held["balance"], held["unit"]) == (meter["id"], "75", "calls")
    whole = ok(customer.get(f"/customer-portal/credit-entitlements/{meter['id']}/ledger"))["items"]
    assert sorted((e["is_credit"], e["amount"]) for e in whole) == [(False, "30"), (True, "100"), (True, "5")]
    # Dodo's portal pages by page_number from 0.
    pages = [ok(customer.get(f"/customer-portal/credit-entitlements/{meter['id']}/ledger",
                             params={"page_size": 1, "page_number": number}))["items"] for number in (0, 1, 2, 3)]
    assert [len(p) for p in pages] == [1, 1, 1, 0] and pages[0] + pages[1] + pages[2] == whole

    # The page: the file's link leads to a fresh URL on each click, the balance and its ledger.
    [shown] = ok(customer.get("/customer-portal/entitlements"))["items"]
    assert [f["file_id"] for f in shown["digital_product_delivery"]["files"]] == [file_id]
    _, cookie = opened_cookie(api_url, token)
    page = httpx.get(f"{api_url}/customer-portal", cookies={"portal_session": cookie}).text
    href = f"/customer-portal/entitlements/{grant['id']}/download?file_id={file_id}"
    assert f'href="{href}"' in page.replace("&#38;", "&").replace("&amp;", "&").replace("&#x2f;", "/")
    clicks = [httpx.get(api_url + href, cookies={"portal_session": cookie}) for _ in range(2)]
    assert all(c.status_code == 303 for c in clicks)
    assert httpx.get(clicks[1].headers["location"]).content == data
    assert "API calls" in page and "<strong>75</strong>" in page and "nightly sync" in page
    other = ok(business.post("/credit-entitlements", json={**METER, "name": "Seats", "unit": "seats"}), 201)
    assert customer.get(f"/customer-portal/credit-entitlements/{other['id']}/ledger").status_code == 404


def test_a_business_named_when_its_key_is_minted_shows_that_name(api_url):
    business_id = f"bus_{uuid.uuid4().hex[:16]}"
    minted = subprocess.run([os.environ["MINT_API_KEY"], f"business:{business_id}", "--name", "Acme <Tools>"],
                            check=True, capture_output=True, text=True)
    key = json.loads(minted.stdout)["key"]
    MINTED_SECRETS.append(key)
    named = Api(api_url, key)
    customer_id, _ = keyed_customer(named)
    _, token = session_token(named, customer_id)
    assert ok(portal(api_url, token).get("/customer-portal/business"))["name"] == "Acme <Tools>"
    _, cookie = opened_cookie(api_url, token)
    page = httpx.get(f"{api_url}/customer-portal", cookies={"portal_session": cookie})
    assert "<h1>Acme &#60;Tools&#62;</h1>" in page.text or "<h1>Acme &lt;Tools&gt;</h1>" in page.text
    refused = subprocess.run([os.environ["MINT_API_KEY"], "host:h-1", "--name", "Acme"], capture_output=True, text=True)
    assert refused.returncode == 2 and "usage" in refused.stderr


def test_a_key_imported_for_the_customer_is_theirs_to_free(api_url, business, anonymous):
    customer_id, grant = keyed_customer(business)
    other_id, _ = keyed_customer(business)
    key = f"IMPORTED-{uuid.uuid4().hex.upper()}"
    imported = ok(business.post("/license_keys", json={"customer_id": customer_id, "key": key,
                                                       "product_id": grant["entitlement_id"]}), 201)
    device = activate(anonymous, key, "studio mac")
    _, other_token = session_token(business, other_id)
    assert portal(api_url, other_token).post(f"/customer-portal/license-key-instances/{device}/deactivate").status_code == 404
    _, token = session_token(business, customer_id)
    assert ok(portal(api_url, token).post(f"/customer-portal/license-key-instances/{device}/deactivate")) == {}
    assert ok(business.get("/license_key_instances", params={"license_key_id": imported["id"]}))["items"] == []
