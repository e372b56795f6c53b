"""What running the service in AWS needs beyond the code (issue: operations).

template.yaml is checked as CloudFormation would read it: every function logs
to a group with a retention, every alarm notifies the topic given as a
parameter, the schedule's dead letters and the email function's errors raise
alarms, and no function can write an API-key item. And a repeated unknown API
key costs no DynamoDB read.
"""

import json
import os
import time
import uuid

import httpx

from after_suite.test_least_privilege import template

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def resources(kind):
    return {name: r for name, r in template()["Resources"].items() if r["Type"] == kind}


def test_every_function_logs_to_a_group_with_a_retention():
    tpl = template()
    logging = tpl["Globals"]["Function"]["LoggingConfig"]
    group = logging["LogGroup"]
    assert group["tag"] == "Ref"
    log_group = tpl["Resources"][group["value"]]
    assert log_group["Type"] == "AWS::Logs::LogGroup"
    assert log_group["Properties"]["RetentionInDays"] == {"tag": "Ref", "value": "LogRetentionDays"}
    assert tpl["Parameters"]["LogRetentionDays"]["Default"] in (7, 14, 30, 60, 90)
    for name, fn in resources("AWS::Serverless::Function").items():
        assert "LogGroup" not in fn["Properties"].get("LoggingConfig", {}), f"{name} logs elsewhere"


def test_every_alarm_notifies_the_alarm_topic():
    alarms = resources("AWS::CloudWatch::Alarm")
    assert len(alarms) >= 4
    for name, alarm in alarms.items():
        actions = alarm["Properties"]["AlarmActions"]
        assert actions["tag"] == "If" and actions["value"][0] == "HasAlarmTopic", name
        assert actions["value"][1] == [{"tag": "Ref", "value": "AlarmTopicArn"}], name
    names = {a["Properties"].get("MetricName") for a in alarms.values()}
    assert {"5xx", "QueuedKeyEmails", "ApproximateNumberOfMessagesVisible", "Errors"} <= names


def test_the_schedule_dead_letters_into_a_queue_with_an_alarm():
    fn = template()["Resources"]["EmailRetryFunction"]
    dlq = fn["Properties"]["Events"]["EveryMinute"]["Properties"]["DeadLetterConfig"]
    assert dlq["Arn"] == {"tag": "GetAtt", "value": "EmailRetryDeadLetters.Arn"}
    alarm = template()["Resources"]["EmailRetryDeadLettersAlarm"]["Properties"]
    assert alarm["Dimensions"][0]["Value"] == {"tag": "GetAtt", "value": "EmailRetryDeadLetters.QueueName"}


def test_no_function_can_write_an_api_key_item():
    for name, fn in resources("AWS::Serverless::Function").items():
        # A function with no policy (the portal's files) writes nothing.
        statements = [s for p in fn["Properties"].get("Policies", []) for s in p["Statement"]]
        writes = {a for s in statements if s["Effect"] == "Allow" for a in s["Action"]
                  if a in ("dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem")}
        if not writes:
            continue
        denies = [s for s in statements if s["Effect"] == "Deny"]
        assert any(set(s["Action"]) >= writes
                   and s["Condition"]["ForAnyValue:StringLike"]["dynamodb:LeadingKeys"] == ["APIKEY#*"]
                   for s in denies), f"{name} may write API-key items"


def test_a_repeated_unknown_key_costs_no_read(api_url):
    bad = {"Authorization": f"Bearer lsk_{uuid.uuid4().hex}"}
    marker = f"/entitlements/ent_{uuid.uuid4().hex[:26].upper()}"
    for _ in range(12):
        assert httpx.get(api_url + marker, headers=bad, timeout=10).status_code == 401
    time.sleep(0.5)
    log = os.path.join(os.environ["FUNCTION_LOG_DIR"], "get-entitlement.log")
    lines = [json.loads(l)["fields"] for l in open(log, errors="replace") if marker in l]
    reads = [f["dynamodb_calls"] for f in lines if f.get("path") == marker]
    assert len(reads) == 12 and reads.count(0) >= 11, reads


def _statements(fn):
    return [s for p in fn["Properties"].get("Policies", []) for s in p["Statement"]]


def _listed(value):
    return value if isinstance(value, list) else [value]


def _resources(statement):
    """A statement's resources, each branch of an `!If` included."""
    found = []
    for resource in _listed(statement["Resource"]):
        if isinstance(resource, dict) and resource["tag"] == "If":
            for branch in resource["value"][1:]:
                found.extend(_listed(branch))
        else:
            found.append(resource)
    return found


def test_offline_licenses_are_signed_by_an_ed25519_kms_key_only_checkout_may_use():
    tpl = template()
    keys = resources("AWS::KMS::Key")
    assert len(keys) == 1, f"one signing key, not {sorted(keys)}"
    (key_id, key), = keys.items()
    assert key["Properties"]["KeySpec"] == "ECC_NIST_EDWARDS25519"
    assert key["Properties"]["KeyUsage"] == "SIGN_VERIFY"
    this_key = {"tag": "GetAtt", "value": f"{key_id}.Arn"}
    # The template's own parameters may name a retired key's ARN (listed in the JWK Set, never signing).
    parameters = {name for name, p in tpl.get("Parameters", {}).items() if p.get("Type") == "String"}

    granted = {}  # (logical id, action) -> resources
    for name, fn in resources("AWS::Serverless::Function").items():
        for statement in _statements(fn):
            actions = [a.lower() for a in _listed(statement["Action"])]
            # Any action a wildcard could widen to KMS counts as a KMS action.
            assert not any(a in ("*", "kms:*") or (a.startswith("kms:") and "*" in a) for a in actions), \
                f"{name} has a wildcard action: {actions}"
            if statement["Effect"] != "Allow":
                continue
            for action in actions:
                if action.startswith("kms:"):
                    granted.setdefault((name, action), []).extend(_resources(statement))

    assert set(granted) == {("CheckoutLicenseFunction", "kms:sign"), ("GetJwksFunction", "kms:getpublickey")}, \
        f"KMS actions allowed: {sorted(granted)}"
    assert granted[("CheckoutLicenseFunction", "kms:sign")] == [this_key], "kms:Sign on the signing key only"
    for resource in granted[("GetJwksFunction", "kms:getpublickey")]:
        assert resource == this_key or (resource.get("tag") == "Ref" and resource["value"] in parameters), resource
    assert this_key in granted[("GetJwksFunction", "kms:getpublickey")]

    # Both name the key by id in OFFLINE_LICENSE_KEY_IDS, the signer first (the JWK Set's kid is that id).
    for name in ("CheckoutLicenseFunction", "GetJwksFunction"):
        env = tpl["Resources"][name]["Properties"].get("Environment", {}).get("Variables", {})
        env = {**tpl["Globals"]["Function"].get("Environment", {}).get("Variables", {}), **env}
        assert "OFFLINE_LICENSE_KEY_IDS" in env, name
        text = json.dumps(env["OFFLINE_LICENSE_KEY_IDS"])
        assert text.find(json.dumps({"tag": "Ref", "value": key_id})) != -1, f"{name}: {text}"
    assert tpl["Resources"]["CheckoutLicenseFunction"]["Properties"]["Environment"]["Variables"][
        "OFFLINE_LICENSE_KEY_IDS"] == {"tag": "Ref", "value": key_id}, "checkout signs with the template's key"
