"""Offline licenses (SPEC 1.4): POST /licenses/checkout and GET /.well-known/jwks.json.

A device checks a license out while online and later verifies it with a standard
JOSE library and the published JWK Set alone, without calling the service: here
PyJWT in Python and `jose` in Node (tests/verify_offline_license.mjs). Tokens
the service never issued (changed, expired, signed by another key) are made
here: signed with the stack's own KMS keys through the KMS API (boto3 against
AWS_ENDPOINT_URL_KMS, the local stand-in infra/local_kms.py) or with a fresh
Ed25519 key.
"""

import base64
import contextlib
import datetime
import json
import os
import socket
import subprocess
import time
import uuid

import boto3
import jwt
import pytest
from conftest import ROOT, _env
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from test_grants import MANUAL, customer, fulfil, new_entitlement, unique_key

# The stack names no issuer, so it is https:// and the domain the request came to:
# cargo lambda's emulator says "localhost" for every request (API Gateway, the host
# the client called). OFFLINE_LICENSE_ISSUER: a stack that names one.
ISSUER = os.environ.get("OFFLINE_LICENSE_ISSUER") or "https://localhost"
DEFAULT_TTL = 604_800
CLAIMS = {"iss", "sub", "aud", "lki", "fpr", "iat", "nbf", "exp", "limit", "ent", "features"}
VERIFY_MJS = os.path.join(ROOT, "tests", "verify_offline_license.mjs")


# --- the stack's keys ----------------------------------------------------------

@pytest.fixture(scope="module")
def key_ids():
    """The KMS key ids the functions were given: the first signs, all are published."""
    ids = [k for k in _env("OFFLINE_LICENSE_KEY_IDS").split(",") if k]
    assert len(ids) >= 2, f"the test stack lists two keys (a rotation), not {ids}"
    return ids


@pytest.fixture(scope="module")
def kms():
    return boto3.client("kms", endpoint_url=_env("AWS_ENDPOINT_URL_KMS"),
                        region_name=os.environ.get("AWS_REGION", "us-east-1"))


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def signed(kid, claims, sign):
    """A compact JWS of `claims` with header kid `kid`, its signature from `sign(signing_input)`."""
    header = {"alg": "EdDSA", "typ": "JWT", "kid": kid}
    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}"
    return f"{signing_input}.{b64url(sign(signing_input.encode()))}"


def kms_signer(kms, key_id):
    def sign(message):
        answer = kms.sign(KeyId=key_id, Message=message, MessageType="RAW", SigningAlgorithm="ED25519_SHA_512")
        return answer["Signature"]
    return sign


def payload_of(token):
    return json.loads(unb64url(token.split(".")[1]))


# --- the verifiers: no call to the service -------------------------------------

@contextlib.contextmanager
def no_network():
    """Any connection attempt in this block fails the test."""
    real = socket.socket.connect

    def refuse(*args):
        raise AssertionError(f"a network call while verifying offline: {args[1:]}")

    socket.socket.connect = refuse
    try:
        yield
    finally:
        socket.socket.connect = real


def verify_pyjwt(token, jwks, audience):
    """(header, claims) as PyJWT verifies them with the JWK of the header's kid; raises if refused."""
    with no_network():
        header = jwt.get_unverified_header(token)
        key = jwt.PyJWKSet.from_dict(jwks)[header["kid"]]  # KeyError: no published key has this kid
        claims = jwt.decode(token, key.key, algorithms=["EdDSA"], audience=audience, issuer=ISSUER,
                            options={"require": ["iss", "sub", "aud", "iat", "nbf", "exp"]})
    return header, claims


def verify_jose(token, jwks, audience):
    """jose's verdict in Node: {"ok": True, "header", "payload"} or {"ok": False, "code", "message"}."""
    ran = subprocess.run(["node", VERIFY_MJS], input=json.dumps({"token": token, "jwks": jwks, "audience": audience,
                                                                  "issuer": ISSUER}),
                         capture_output=True, text=True, timeout=60)
    assert ran.returncode in (0, 1) and ran.stdout, f"node failed: {ran.stderr}"
    verdict = json.loads(ran.stdout)
    assert verdict["ok"] == (ran.returncode == 0), verdict
    return verdict


def refused_by_both(token, jwks, audience, pyjwt_error, jose_code):
    with pytest.raises(pyjwt_error):
        verify_pyjwt(token, jwks, audience)
    verdict = verify_jose(token, jwks, audience)
    assert not verdict["ok"] and verdict["code"] == jose_code, verdict


def accepted_by_both(token, jwks, audience):
    header, claims = verify_pyjwt(token, jwks, audience)
    verdict = verify_jose(token, jwks, audience)
    assert verdict["ok"], verdict
    assert verdict["header"] == header and verdict["payload"] == claims
    return header, claims


# --- the routes ------------------------------------------------------------------

def published_keys(anonymous):
    answer = anonymous.get("/.well-known/jwks.json")
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "public, max-age=300"
    assert answer.headers["content-type"].startswith("application/json")
    return answer.json()


def licensed_key(api, config=None, expires_at=None, limit=3):
    """An entitlement with `config` in its integration_config, and a key delivered for it."""
    body = {**MANUAL, "name": f"Offline {uuid.uuid4().hex[:6]}",
            "integration_config": {**MANUAL["integration_config"], "activations_limit": limit, **(config or {})}}
    ent = new_entitlement(api, body)
    grant = api.post(f"/entitlements/{ent['id']}/grants", json=customer()).json()
    key = unique_key()
    extra = {"expires_at": expires_at.isoformat()} if expires_at else {}
    done = fulfil(api, grant["id"], key=key, **extra)
    assert done.status_code == 200, done.text
    return ent, done.json()["license_key"], key


def activate(anonymous, key, fingerprint=None):
    body = {"license_key": key, "name": "Ada's laptop", **({"fingerprint": fingerprint} if fingerprint else {})}
    answer = anonymous.post("/licenses/activate", json=body)
    assert answer.status_code == 201, answer.text
    return answer.json()


def checkout(anonymous, key, instance_id):
    return anonymous.post("/licenses/checkout", json={"license_key": key, "license_key_instance_id": instance_id})


def checked_out(anonymous, key, instance_id):
    """(token, exp of the answer, unix seconds before and after the call)."""
    before = time.time()
    answer = checkout(anonymous, key, instance_id)
    after = time.time()
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert set(body) == {"license", "expires_at"}, body
    return body["license"], instant(body["expires_at"]), before, after


def instant(rfc3339):
    return datetime.datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).timestamp()


def in_future(**delta):
    return (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(**delta)).replace(microsecond=0)


# --- the tests ---------------------------------------------------------------------

def test_jwks_lists_every_configured_kms_key(anonymous, key_ids, kms):
    jwks = published_keys(anonymous)
    assert [k["kid"] for k in jwks["keys"]] == key_ids
    for jwk in jwks["keys"]:
        assert set(jwk) == {"kty", "crv", "x", "kid", "alg", "use"}, jwk
        assert (jwk["kty"], jwk["crv"], jwk["alg"], jwk["use"]) == ("OKP", "Ed25519", "EdDSA", "sig")
        assert "d" not in jwk
        # The public half of the KMS key itself (DER SubjectPublicKeyInfo ends with the raw 32 bytes).
        assert unb64url(jwk["x"]) == kms.get_public_key(KeyId=jwk["kid"])["PublicKey"][-32:]


def test_checked_out_license_verifies_offline_with_pyjwt_and_jose(business, anonymous, key_ids):
    jwks = published_keys(anonymous)  # fetched once, as a client ships or caches it
    ent, lk, key = licensed_key(business)
    instance = activate(anonymous, key, fingerprint="fp-ada-laptop-01")
    token, expires_at, before, after = checked_out(anonymous, key, instance["id"])

    header, claims = accepted_by_both(token, jwks, ent["id"])
    assert header == {"alg": "EdDSA", "typ": "JWT", "kid": key_ids[0]}
    assert set(claims) == CLAIMS
    assert claims["iss"] == ISSUER
    assert claims["sub"] == lk["id"] and claims["sub"].startswith("lk_")
    assert claims["aud"] == ent["id"]
    assert claims["lki"] == instance["id"]
    assert claims["fpr"] == "fp-ada-laptop-01"
    assert claims["limit"] == 3
    assert claims["ent"] == ent["name"]
    assert claims["features"] == []
    assert int(before) - 1 <= claims["iat"] <= after + 1
    assert claims["nbf"] == claims["iat"]
    # The key runs a year and the entitlement sets no TTL: the default 7 days.
    assert claims["exp"] == claims["iat"] + DEFAULT_TTL
    assert claims["exp"] == expires_at
    assert claims["exp"] <= after + DEFAULT_TTL

    # Issued for this product only.
    with pytest.raises(jwt.InvalidAudienceError):
        verify_pyjwt(token, jwks, "ent_someone_else")
    assert verify_jose(token, jwks, "ent_someone_else")["code"] == "ERR_JWT_CLAIM_VALIDATION_FAILED"


def test_without_fingerprint_or_limit_the_claims_are_null(business, anonymous):
    jwks = published_keys(anonymous)
    ent, lk, key = licensed_key(business)
    assert business.patch(f"/license_keys/{lk['id']}", json={"activations_limit": None}).status_code == 200
    instance = activate(anonymous, key)
    token, _, _, _ = checked_out(anonymous, key, instance["id"])
    _, claims = accepted_by_both(token, jwks, ent["id"])
    assert claims["fpr"] is None and claims["limit"] is None
    assert claims["lki"] == instance["id"]


def test_changed_expired_and_foreign_licenses_are_refused(business, anonymous, key_ids, kms):
    jwks = published_keys(anonymous)
    ent, _, key = licensed_key(business)
    instance = activate(anonymous, key, fingerprint="fp-1")
    token, _, _, _ = checked_out(anonymous, key, instance["id"])
    claims = payload_of(token)

    # The payload changed after signing: a longer life, another device.
    header, _, signature = token.split(".")
    for change in ({"exp": claims["exp"] + 365 * 86400}, {"fpr": "fp-2"}, {"limit": 1000}):
        tampered = f"{header}.{b64url(json.dumps({**claims, **change}).encode())}.{signature}"
        refused_by_both(tampered, jwks, ent["id"], jwt.InvalidSignatureError, "ERR_JWS_SIGNATURE_VERIFICATION_FAILED")

    # Signed with the service's own signing key, but already expired.
    now = int(time.time())
    expired = {**claims, "iat": now - 7200, "nbf": now - 7200, "exp": now - 60}
    refused_by_both(signed(key_ids[0], expired, kms_signer(kms, key_ids[0])), jwks, ent["id"],
                    jwt.ExpiredSignatureError, "ERR_JWT_EXPIRED")
    # The same made with a future exp verifies: it is the expiry that is refused.
    accepted_by_both(signed(key_ids[0], {**expired, "exp": now + 600}, kms_signer(kms, key_ids[0])), jwks, ent["id"])

    # Signed by a key the service never published, under an unknown kid and under the real one.
    stranger = Ed25519PrivateKey.generate()
    unknown_kid = signed(f"kid-{uuid.uuid4()}", claims, stranger.sign)
    refused_by_both(unknown_kid, jwks, ent["id"], KeyError, "ERR_JWKS_NO_MATCHING_KEY")
    for jwk in jwks["keys"]:  # and no published key verifies it
        with pytest.raises(jwt.InvalidSignatureError):
            jwt.decode(unknown_kid, jwt.PyJWK(jwk).key, algorithms=["EdDSA"], audience=ent["id"])
    refused_by_both(signed(key_ids[0], claims, stranger.sign), jwks, ent["id"],
                    jwt.InvalidSignatureError, "ERR_JWS_SIGNATURE_VERIFICATION_FAILED")


def test_a_license_signed_by_the_second_listed_key_verifies(business, anonymous, key_ids, kms):
    """Rotation: licenses signed by any listed key verify, the current signer's and the other's."""
    jwks = published_keys(anonymous)
    assert {k["kid"] for k in jwks["keys"]} == set(key_ids)
    ent, _, key = licensed_key(business)
    instance = activate(anonymous, key, fingerprint="fp-rotation")
    token, _, _, _ = checked_out(anonymous, key, instance["id"])
    header, claims = accepted_by_both(token, jwks, ent["id"])
    assert header["kid"] == key_ids[0]

    now = int(time.time())
    by_second = signed(key_ids[1], {**claims, "iat": now, "nbf": now}, kms_signer(kms, key_ids[1]))
    header, verified = accepted_by_both(by_second, jwks, ent["id"])
    assert header["kid"] == key_ids[1] and verified["lki"] == instance["id"]
    # The kid picks the key: the second key's signature under the first key's kid is refused.
    mislabelled = signed(key_ids[0], claims, kms_signer(kms, key_ids[1]))
    refused_by_both(mislabelled, jwks, ent["id"], jwt.InvalidSignatureError, "ERR_JWS_SIGNATURE_VERIFICATION_FAILED")


def test_exp_is_the_offline_ttl_when_the_key_runs_longer(business, anonymous):
    jwks = published_keys(anonymous)
    ent, _, key = licensed_key(business, {"offline_ttl_seconds": 3600}, expires_at=in_future(days=2))
    token, expires_at, before, after = checked_out(anonymous, key, activate(anonymous, key)["id"])
    _, claims = accepted_by_both(token, jwks, ent["id"])
    assert claims["exp"] == claims["iat"] + 3600 == expires_at
    assert before + 3600 - 1 <= claims["exp"] <= after + 3600


def test_exp_is_the_key_expiry_when_the_key_ends_first(business, anonymous):
    jwks = published_keys(anonymous)
    key_end = in_future(minutes=30)
    ent, lk, key = licensed_key(business, {"offline_ttl_seconds": 3600}, expires_at=key_end)
    assert instant(lk["expires_at"]) == key_end.timestamp()
    token, expires_at, _, _ = checked_out(anonymous, key, activate(anonymous, key)["id"])
    _, claims = accepted_by_both(token, jwks, ent["id"])
    assert claims["exp"] == key_end.timestamp() == expires_at
    assert claims["exp"] < claims["iat"] + 3600


def test_exp_is_the_lease_end_for_a_leased_activation(business, anonymous):
    jwks = published_keys(anonymous)
    ent, _, key = licensed_key(business, {"activation_lease_seconds": 120})
    before = time.time()
    instance = activate(anonymous, key, fingerprint="fp-floating")
    lease_end = instant(instance["expires_at"])
    assert before + 120 - 1 <= lease_end <= time.time() + 120 + 1
    token, expires_at, _, _ = checked_out(anonymous, key, instance["id"])
    _, claims = accepted_by_both(token, jwks, ent["id"])
    # Unix seconds: the lease end, never after it.
    assert claims["exp"] == int(lease_end) == expires_at


def test_checkout_refusals(business, anonymous):
    _, lk, key = licensed_key(business)
    _, _, other_key = licensed_key(business)
    instance = activate(anonymous, key)
    others = activate(anonymous, other_key)

    def refused(answer, status, code):
        assert answer.status_code == status, answer.text
        assert answer.json()["code"] == code, answer.text

    refused(checkout(anonymous, f"NOPE-{uuid.uuid4().hex}", instance["id"]), 404, "LICENSE_KEY_NOT_FOUND")
    refused(checkout(anonymous, key, others["id"]), 404, "LICENSE_KEY_INSTANCE_NOT_FOUND")
    refused(checkout(anonymous, key, "lki_01JD0000000000000000000000"), 404, "LICENSE_KEY_INSTANCE_NOT_FOUND")

    gone = anonymous.post("/licenses/deactivate", json={"license_key": other_key, "license_key_instance_id": others["id"]})
    assert gone.status_code == 200, gone.text
    refused(checkout(anonymous, other_key, others["id"]), 404, "LICENSE_KEY_INSTANCE_NOT_FOUND")

    assert business.patch(f"/license_keys/{lk['id']}", json={"disabled": True}).status_code == 200
    refused(checkout(anonymous, key, instance["id"]), 403, "INACTIVE_LICENSE_KEY")
    expired = business.patch(f"/license_keys/{lk['id']}", json={"disabled": False, "expires_at": "2020-01-01T00:00:00Z"})
    assert expired.status_code == 200, expired.text
    refused(checkout(anonymous, key, instance["id"]), 403, "INACTIVE_LICENSE_KEY")
    assert business.patch(f"/license_keys/{lk['id']}", json={"expires_at": None}).status_code == 200
    assert checkout(anonymous, key, instance["id"]).status_code == 201

    for body in ({"license_key": key}, {"license_key_instance_id": instance["id"]}, {},
                 {"license_key": key, "license_key_instance_id": 5}, {"license_key": "", "license_key_instance_id": "x"},
                 []):
        answer = anonymous.post("/licenses/checkout", json=body)
        assert answer.status_code == 422, (body, answer.text)
    malformed = anonymous.post("/licenses/checkout", content=b"{", headers={"content-type": "application/json"})
    assert malformed.status_code == 400, malformed.text


@pytest.mark.parametrize("config", [
    {"offline_ttl_seconds": 59}, {"offline_ttl_seconds": 31_536_001}, {"offline_ttl_seconds": "3600"},
    {"offline_ttl_seconds": 3600.5}, {"activation_lease_seconds": 59}, {"activation_lease_seconds": 2_592_001},
])
def test_out_of_range_offline_settings_are_refused(business, config):
    body = {**MANUAL, "integration_config": {**MANUAL["integration_config"], **config}}
    answer = business.post("/entitlements", json=body)
    assert answer.status_code == 422 and answer.json()["code"] == "VALIDATION_ERROR", answer.text


def test_offline_settings_at_their_bounds_are_kept(business):
    config = {"offline_ttl_seconds": 60, "activation_lease_seconds": 2_592_000}
    ent = new_entitlement(business, {**MANUAL, "integration_config": {**MANUAL["integration_config"], **config}})
    assert {k: ent["integration_config"][k] for k in config} == config
    ent = new_entitlement(business, {**MANUAL, "integration_config": {**MANUAL["integration_config"],
                                                                       "offline_ttl_seconds": 31_536_000,
                                                                       "activation_lease_seconds": None}})
    assert ent["integration_config"]["offline_ttl_seconds"] == 31_536_000
    assert ent["integration_config"].get("activation_lease_seconds") is None
