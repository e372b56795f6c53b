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
        statements = [s for p in fn["Properties"]["Policies"] for s in p["Statement"]]
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
