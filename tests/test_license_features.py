"""Features at validate (SPEC §1.7, beyond Dodo; as Keygen's validation scopes):
a license_key entitlement names the features its keys unlock; validate answers
them and, asked for some, says `FEATURES_MISSING` when the key lacks one; the
offline license carries them as its `features` claim, verified with PyJWT.
"""

import pytest

from test_offline_licenses import accepted_by_both, activate, checked_out, licensed_key, published_keys


def validate(anonymous, key, **body):
    answer = anonymous.post("/licenses/validate", json={"license_key": key, **body})
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_validate_answers_the_features_and_refuses_a_key_that_lacks_one(business, anonymous):
    ent, _, key = licensed_key(business, {"features": ["export", "sync"]})
    assert ent["integration_config"]["features"] == ["export", "sync"]
    plain = validate(anonymous, key)
    assert (plain["valid"], plain["code"], plain["license_key"]["features"]) == (True, "VALID", ["export", "sync"])
    assert validate(anonymous, key, features=["sync"])["code"] == "VALID"
    missing = validate(anonymous, key, features=["sync", "teams"])
    assert (missing["valid"], missing["code"]) == (False, "FEATURES_MISSING")
    assert missing["license_key"]["features"] == ["export", "sync"], "the key's features, so the client sees which"

    # Read from the entitlement at validate time: the seller adds one, the same key has it.
    config = {**ent["integration_config"], "features": ["export", "sync", "teams"]}
    assert business.patch(f"/entitlements/{ent['id']}", json={"integration_config": config}).status_code == 200
    assert validate(anonymous, key, features=["teams"])["code"] == "VALID"


def test_a_key_that_is_not_valid_anyway_says_why_first(business, anonymous):
    _, lk, key = licensed_key(business, {"features": ["export"]})
    assert business.patch(f"/license_keys/{lk['id']}", json={"disabled": True}).status_code == 200
    assert validate(anonymous, key, features=["teams"])["code"] == "DISABLED"


def test_a_key_of_an_entitlement_without_features_lacks_any_asked_for(business, anonymous):
    _, _, key = licensed_key(business)
    assert validate(anonymous, key)["license_key"]["features"] == []
    assert validate(anonymous, key, features=[])["code"] == "VALID"
    assert validate(anonymous, key, features=["export"])["code"] == "FEATURES_MISSING"


@pytest.mark.parametrize("features", [["x"] * 33, [""], "export", [1]])
def test_a_bad_features_list_is_422(business, anonymous, features):
    _, _, key = licensed_key(business)
    answer = anonymous.post("/licenses/validate", json={"license_key": key, "features": features})
    assert answer.status_code == 422, answer.text
    assert "features" in answer.json()["message"]


def test_the_offline_license_carries_the_features(business, anonymous):
    jwks = published_keys(anonymous)
    ent, _, key = licensed_key(business, {"features": ["export", "sync"]})
    instance = activate(anonymous, key)
    token = checked_out(anonymous, key, instance["id"])[0]
    _, claims = accepted_by_both(token, jwks, ent["id"])
    assert claims["features"] == ["export", "sync"]
