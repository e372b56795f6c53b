"""No license key and no API key appears in any log line the functions wrote during the run.

Runs in tests/after_suite, which infra/test.sh runs after the integration
suite, the Node suite and the fuzzing, over the logs of every function of the
local stack: every license key the table holds (all pages of the scan), and
anything shaped like an API key (the secrets themselves are never stored, only
their hashes, so the log is searched for their shape)."""

import os
import re

from conftest import mint_key

# auth.rs `mint_secret`: `lsk_` and 32 random bytes, URL-safe base64 without padding.
API_KEY = re.compile(r"lsk_[A-Za-z0-9_-]{43}")
# services/portal.rs: a portal link's token (`cps_`) and a portal cookie's secret (`cpc_`), shaped alike.
PORTAL_SECRET = re.compile(r"cp[sc]_[A-Za-z0-9_-]{43}")


def scan_all(table, **scan):
    """Every item the scan matches, following LastEvaluatedKey to the last page."""
    items = []
    while True:
        page = table.scan(**scan)
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            return items
        scan["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def test_no_license_or_api_key_in_function_logs(table):
    license_keys = scan_all(table, FilterExpression="begins_with(pk, :lk) AND sk = :sk",
                            ExpressionAttributeValues={":lk": "LK#", ":sk": "LK"})
    assert license_keys, "the run should have made license keys"
    assert all(item.get("key") for item in license_keys), "a license key item without its key"
    # A key shorter than this (the fuzzer imports some) would match ordinary log text by chance.
    keys = {item["key"] for item in license_keys if len(item["key"]) >= 16}
    assert keys, "the run should have made license keys long enough to look for"
    api_keys = scan_all(table, FilterExpression="begins_with(pk, :ak)", ExpressionAttributeValues={":ak": "APIKEY#"})
    assert api_keys, "the run should have minted API keys"
    assert API_KEY.fullmatch(mint_key("business:bus_secrets_not_logged")), "API keys have changed shape: look for the new one"

    log_dir = os.environ["FUNCTION_LOG_DIR"]
    logs = {}
    for name in os.listdir(log_dir):
        with open(os.path.join(log_dir, name), encoding="utf-8", errors="replace") as f:
            logs[name] = f.read()
    assert sum(len(text) for text in logs.values()) > 0
    for name, text in logs.items():
        assert not API_KEY.search(text), f"an API key appears in {name}"
        assert not PORTAL_SECRET.search(text), f"a customer portal token or cookie appears in {name}"
        for key in keys:
            assert key not in text, f"a license key appears in {name}"
