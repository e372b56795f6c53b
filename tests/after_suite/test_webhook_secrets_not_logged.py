"""No webhook secret appears in any function's log, after the whole suite and
the fuzzing have made endpoints and delivered to them (signing uses the secret
on every attempt), and have connected businesses to Dodo (the secrets Dodo
signs with, and those they replaced)."""

import os


def scanned(table, prefix):
    """The items whose sort key starts with `prefix`."""
    scan = {"FilterExpression": "begins_with(sk, :prefix)", "ExpressionAttributeValues": {":prefix": prefix}}
    items = []
    while True:
        page = table.scan(**scan)
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            return items
        scan["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def assert_not_logged(secrets):
    log_dir = os.environ["FUNCTION_LOG_DIR"]
    for name in os.listdir(log_dir):
        with open(os.path.join(log_dir, name), encoding="utf-8", errors="replace") as f:
            text = f.read()
        for secret in secrets:
            assert secret not in text, f"a webhook secret appears in {name}"


def test_no_webhook_secret_in_function_logs(table):
    endpoints = [item for item in scanned(table, "wh_") if str(item.get("secret", "")).startswith("whsec_")]
    assert endpoints, "the run should have made webhook endpoints"
    assert_not_logged({item["secret"] for item in endpoints})


def test_no_payment_provider_secret_in_function_logs(table):
    connections = scanned(table, "PROVIDER#")
    assert connections, "the run should have connected businesses to a payment provider"
    secrets = {item[field] for item in connections for field in ("webhook_secret", "previous_secret") if item.get(field)}
    assert_not_logged(secrets)
