"""No webhook secret appears in any function's log, after the whole suite and
the fuzzing have made endpoints and delivered to them (signing uses the secret
on every attempt)."""

import os


def test_no_webhook_secret_in_function_logs(table):
    scan = {"FilterExpression": "begins_with(sk, :wh)", "ExpressionAttributeValues": {":wh": "wh_"}}
    endpoints = []
    while True:
        page = table.scan(**scan)
        endpoints += [item for item in page["Items"] if str(item.get("secret", "")).startswith("whsec_")]
        if "LastEvaluatedKey" not in page:
            break
        scan["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    assert endpoints, "the run should have made webhook endpoints"
    secrets = {item["secret"] for item in endpoints}
    log_dir = os.environ["FUNCTION_LOG_DIR"]
    for name in os.listdir(log_dir):
        with open(os.path.join(log_dir, name), encoding="utf-8", errors="replace") as f:
            text = f.read()
        for secret in secrets:
            assert secret not in text, f"a webhook secret appears in {name}"
