"""License status (SPEC 3; seed 003) driven by Google's own client with its bundled appsmarket v2 discovery document."""

import json
import time
import uuid

import pytest
from google.oauth2.credentials import Credentials
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from conftest import mint_key
from test_allocation import Lrm, new_org
from test_grants import MANUAL, customer, fulfil, new_entitlement, unique_key


def appsmarket(api_url, key):
    return build("appsmarket", "v2", static_discovery=True, credentials=Credentials(token=key),
                 client_options={"api_endpoint": api_url + "/"}, cache_discovery=False)


@pytest.fixture
def market(api_url, business):
    return appsmarket(api_url, business.key)


def customer_state(market, application, customer_id):
    answer = market.customerLicense().get(applicationId=application, customerId=customer_id).execute()
    assert answer["kind"] == "appsmarket#customerLicense"
    assert answer["applicationId"] == application and answer["customerId"] == customer_id
    assert answer["editions"] == [] and answer["id"]
    return answer["state"]


def test_customer_license_follows_the_grant(market, business, anonymous):
    ent = new_entitlement(business)
    who = customer()
    assert customer_state(market, ent["id"], who["customer_id"]) == "UNLICENSED"
    grant = business.post(f"/entitlements/{ent['id']}/grants", json=who).json()
    assert customer_state(market, ent["id"], who["customer_id"]) == "UNLICENSED"
    delivered = fulfil(business, grant["id"], key=unique_key()).json()
    assert customer_state(market, ent["id"], who["customer_id"]) == "ACTIVE"

    key_id = delivered["license_key"]["id"]
    business.patch(f"/license_keys/{key_id}", json={"disabled": True})
    assert customer_state(market, ent["id"], who["customer_id"]) == "UNLICENSED"
    business.patch(f"/license_keys/{key_id}", json={"disabled": False, "expires_at": "2021-01-01T00:00:00Z"})
    assert customer_state(market, ent["id"], who["customer_id"]) == "UNLICENSED"
    business.patch(f"/license_keys/{key_id}", json={"expires_at": None})
    assert customer_state(market, ent["id"], who["customer_id"]) == "ACTIVE"

    business.delete(f"/entitlements/{ent['id']}/grants/{grant['id']}")
    assert customer_state(market, ent["id"], who["customer_id"]) == "UNLICENSED"


def test_a_customer_id_that_needs_percent_encoding_reads_as_itself(market, business):
    # The client sends `cus%20a%2025%25`; the function must see the id decoded once, as API Gateway delivers it.
    ent = new_entitlement(business)
    who = {**customer(), "customer_id": f"cus a {uuid.uuid4().hex[:6]} 25%"}
    grant = business.post(f"/entitlements/{ent['id']}/grants", json=who).json()
    fulfil(business, grant["id"], key=unique_key())
    assert customer_state(market, ent["id"], who["customer_id"]) == "ACTIVE"
    assert customer_state(market, ent["id"], who["customer_id"].replace("25%", "25%25")) == "UNLICENSED"
    listed = business.get(f"/customers/{who['customer_id'].replace('%', '%25').replace(' ', '%20')}/entitlement-grants")
    assert [g["id"] for g in listed.json()["items"]] == [grant["id"]], listed.text


def test_non_key_grants_and_strangers(market, business, other_business, api_url):
    ent = new_entitlement(business, {"name": "Chat", "integration_type": "discord", "integration_config": {"guild_id": "1"}})
    assert customer_state(market, ent["id"], "nobody") == "UNLICENSED"
    with pytest.raises(HttpError) as error:
        appsmarket(api_url, other_business.http.headers["Authorization"][7:]).customerLicense().get(
            applicationId=ent["id"], customerId="nobody").execute()
    assert error.value.resp.status == 404
    body = json.loads(error.value.content)
    assert body["error"]["code"] == 404 and body["error"]["status"] == "NOT_FOUND" and body["error"]["message"]


def test_errors_use_googles_form(api_url, anonymous, host_api):
    path = "/appsmarket/v2/customerLicense/ent_01HF0000000000000000000000/c"
    for api, status, name in [(anonymous, 401, "UNAUTHENTICATED"), (host_api, 403, "PERMISSION_DENIED")]:
        answer = api.get(path)
        assert answer.status_code == status
        assert answer.json()["error"]["code"] == status and answer.json()["error"]["status"] == name
        assert answer.json()["error"]["message"]
    assert anonymous.get("/appsmarket/v2/userLicense/ACNU/ada").json()["error"]["code"] == 401


def test_user_license_follows_the_seat(api_url):
    lrm = Lrm(api_url)
    lrm.set_host({"ACNU": 5}, endDate=int(time.time()) + 86400)
    org = new_org()
    lrm.allocate(org, {"ACNU": 2})
    key = mint_key(f"organization:{org}")
    market = appsmarket(api_url, key)

    def state(user, code="ACNU"):
        answer = market.userLicense().get(applicationId=code, userId=user).execute()
        assert answer["kind"] == "appsmarket#userLicense"
        assert (answer["applicationId"], answer["customerId"], answer["userId"]) == (code, org, user)
        assert answer["enabled"] == (answer["state"] == "ACTIVE")
        return answer["state"]

    assert state("ada") == "UNLICENSED"
    api = lrm.org_key(org)
    api.put(f"/lease_/api/account/{org}/user-license", json={"userIds": ["ada"], "userBundleCodes": ["ACNU"]})
    assert state("ada") == "ACTIVE"
    assert state("ada", "AKIT") == "UNLICENSED"
    api.delete(f"/lease_/api/account/{org}/user-license/ada")
    assert state("ada") == "UNLICENSED"

    # The account license ends with the host's: a user still holding the code is EXPIRED.
    lrm.set_host({"ACNU": 5}, endDate=int(time.time()) - 60)
    api.put(f"/lease_/api/account/{org}/user-license", json={"userIds": ["grace"], "userBundleCodes": ["ACNU"]})
    assert lrm.allocate(org, {"ACNU": 3}).status_code == 200
    assert state("grace") == "EXPIRED"
    assert state(f"u-{uuid.uuid4().hex[:6]}") == "UNLICENSED"


def test_user_license_grace_period_boundary(api_url):
    lrm = Lrm(api_url)
    assert lrm.set_host({"ACNU": 5}, endDate=int(time.time()) + 86400).status_code == 200
    org = new_org()
    assert lrm.allocate(org, {"ACNU": 1}).status_code == 200
    api = lrm.org_key(org)
    assert api.put(f"/lease_/api/account/{org}/user-license", json={"userIds": ["ada"], "userBundleCodes": ["ACNU"]}).status_code == 200
    market = appsmarket(api_url, api.http.headers["Authorization"][7:])

    # Each step flips the state, so an organization still on the previous terms shows.
    for grace_days, ended_seconds_ago, expected in [
        (3, 3 * 86400 + 60, "EXPIRED"),  # just past the grace period
        (3, 3 * 86400 - 60, "ACTIVE"),   # just inside it
        (0, 60, "EXPIRED"),              # no grace: over once endDate passes
        (0, -60, "ACTIVE"),              # not ended yet
    ]:
        end_date = int(time.time()) - ended_seconds_ago
        assert lrm.set_host({"ACNU": 5}, endDate=end_date, gracePeriod=grace_days).status_code == 200
        # The organization takes the host's terms when the host (re)allocates to it.
        assert lrm.allocate(org, {"ACNU": 1}).status_code == 200
        terms = api.get(f"/lrm/api/host/{lrm.host_id}/organization/{org}/license").json()
        assert (terms["endDate"], terms["gracePeriod"]) == (end_date, grace_days)
        answer = market.userLicense().get(applicationId="ACNU", userId="ada").execute()
        assert (answer["state"], answer["enabled"]) == (expected, expected == "ACTIVE"), (grace_days, ended_seconds_ago)
