"""No license key and no API key appears in any log line the functions wrote during the run.

Runs after the other test files (pytest takes files in name order), over the logs
of every function of the local stack."""

import os

from conftest import MINTED_SECRETS


def test_no_license_or_api_key_in_function_logs(table):
    keys = [item["key"] for item in table.scan(
        FilterExpression="begins_with(pk, :lk)", ExpressionAttributeValues={":lk": "LK#"})["Items"]]
    assert keys, "the run should have made license keys"
    assert MINTED_SECRETS, "the run should have minted API keys"
    log_dir = os.environ["FUNCTION_LOG_DIR"]
    logs = {name: open(os.path.join(log_dir, name), encoding="utf-8", errors="replace").read()
            for name in os.listdir(log_dir)}
    assert sum(len(text) for text in logs.values()) > 0
    for name, text in logs.items():
        for secret in keys + MINTED_SECRETS:
            assert secret not in text, f"a secret appears in {name}"
