"""Runs every function's built `bootstrap` as Lambda would, against a local stack.

    python infra/check_bootstraps.py BUILD_DIR [--native]

For each function of template.yaml, BUILD_DIR/<LogicalId>/bootstrap is started
with a one-event Lambda runtime API (tests/lambda_runtime.py), under
`qemu-aarch64` unless --native. First with the stack reachable: its event from
events/ (keys minted for the seeds' host and organization) must get the answer
its route gives in this sequence. Then with DynamoDB unreachable (a closed
port): an HTTP function must answer 503 (get-jwks, which reads only KMS, its
200) and the scheduled one report an error, both within the function timeout.
The stack is the one the environment names (AWS_ENDPOINT_URL_DYNAMODB,
AWS_ENDPOINT_URL_KMS, OFFLINE_LICENSE_KEY_IDS, TABLE_NAME, ...), as `make
build` starts it.
"""

import json
import os
import pathlib
import socket
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
import lambda_runtime  # noqa: E402
import yaml  # noqa: E402

TIMEOUT_S = 10
QEMU_LIBS = "/usr/aarch64-linux-gnu"

# In this order on an empty table, each fixture's answer. Fixture ids that no
# request created are not found; the seeds' allocation calls succeed in turn.
EXPECTED = [
    ("put-host-license", 200),
    ("get-host-license", 200),
    ("allocate-organization-license", 200),
    ("get-organization-license", 200),
    ("list-host-organizations", 200),  # y-y-y-delilah, read from gsi1
    ("allocate-service-license", 409),  # seed 002: the organization holds only 2 UNATT
    ("get-service-license", 404),
    ("list-service-licenses", 200),  # the organization exists; it has no tenant service yet
    ("put-group-license", 409),  # the organization holds no ACNU yet
    ("get-group-license", 404),
    ("assign-user-licenses", 409),
    ("get-user-license", 404),
    ("list-user-licenses", 200),  # no one holds ACNU: an empty page
    ("release-user-license", 404),
    ("get-user-license-status", 200),
    ("list-account-audit", 200),
    ("create-entitlement", 201),
    ("list-entitlements", 200),
    ("get-entitlement", 404),
    ("update-entitlement", 404),
    ("delete-entitlement", 404),
    ("issue-grant", 404),
    ("list-entitlement-grants", 404),
    ("list-customer-grants", 200),
    ("get-grant", 404),
    ("fulfil-grant", 404),
    ("resend-grant-email", 404),
    ("revoke-grant", 404),
    ("get-customer-license", 404),
    ("import-license-key", 404),
    ("list-license-keys", 200),
    ("get-license-key", 404),
    ("update-license-key", 404),
    ("list-license-key-instances", 200),
    ("get-license-key-instance", 404),
    ("rename-license-key-instance", 404),
    ("activate-license", 404),
    ("validate-license", 200),
    ("deactivate-license", 404),
    ("heartbeat-license", 404),
    ("checkout-license", 404),
    ("get-jwks", 200),
    ("list-customer-entitlements", 200),
    ("create-webhook", 201),
    ("list-webhooks", 200),
    ("get-webhook", 404),
    ("update-webhook", 404),
    ("delete-webhook", 404),
    ("get-webhook-secret", 404),
    ("get-webhook-headers", 404),
    ("update-webhook-headers", 404),
    ("list-webhook-deliveries", 404),
    ("email-retry", None),
    ("deliver-webhooks", None),
]
# Functions that never read the table: with DynamoDB unreachable they answer as before.
NO_DYNAMODB = {"get-jwks"}


class _Loader(yaml.SafeLoader):
    pass


_Loader.add_multi_constructor("!", lambda loader, suffix, node: None)


def functions():
    resources = yaml.load(open(ROOT / "template.yaml"), Loader=_Loader)["Resources"]
    return {r["Metadata"]["BuildProperties"]["Binary"]: name
            for name, r in resources.items() if r["Type"] == "AWS::Serverless::Function"}


def mint(principal):
    out = subprocess.run([os.environ["MINT_API_KEY"], principal], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)["key"]


def event(name, keys):
    path = ROOT / "events" / (f"{name}-now.json" if name == "email-retry" else f"{name}.json")
    text = path.read_text()
    for placeholder, key in keys.items():
        text = text.replace(placeholder, key)
    return json.loads(text)


def closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(build_dir, name, logical_id, ev, env, native):
    bootstrap = str(pathlib.Path(build_dir) / logical_id / "bootstrap")
    command = [bootstrap] if native else ["qemu-aarch64", "-L", QEMU_LIBS, bootstrap]
    started = time.monotonic()
    answer, error, code = lambda_runtime.run_command(command, name, ev, env, timeout=TIMEOUT_S + 20)
    return answer, error, code, time.monotonic() - started


def main():
    build_dir = sys.argv[1]
    native = "--native" in sys.argv
    by_name = functions()
    assert sorted(by_name) == sorted(n for n, _ in EXPECTED), "EXPECTED and template.yaml list other functions"
    if not os.environ.get("OFFLINE_LICENSE_KEY_IDS") or not os.environ.get("AWS_ENDPOINT_URL_KMS"):
        sys.exit("OFFLINE_LICENSE_KEY_IDS and AWS_ENDPOINT_URL_KMS must name the stack's KMS keys (infra/build.sh sets them)")
    keys = {
        "BUSINESS_KEY": mint("business:bus_bootstrap_check"),
        "HOST_KEY": mint("host:feb0dd79-85b6-483b-b297-0e49a1aa5b7d"),
        "ORGANIZATION_KEY": mint("organization:y-y-y-delilah"),
    }
    unreachable = {"AWS_ENDPOINT_URL_DYNAMODB": f"http://127.0.0.1:{closed_port()}"}
    problems = []
    for name, expected in EXPECTED:
        ev = event(name, keys)
        answer, error, code, elapsed = run(build_dir, name, by_name[name], ev, {}, native)
        got = answer.get("statusCode") if isinstance(answer, dict) and "statusCode" in answer else ("error" if error else answer)
        ok = (got == expected) if expected is not None else (error is None and answer is not None)
        print(f"{name:32} {'ok' if ok else 'WRONG'}  answered {got} in {elapsed:.2f}s")
        if not ok:
            problems.append(f"{name}: answered {got} ({answer or error}), expected {expected}")
        answer, error, code, elapsed = run(build_dir, name, by_name[name], ev, unreachable, native)
        if expected is None:
            ok = error is not None and elapsed < TIMEOUT_S
            got = "error" if error else answer
        else:
            got = answer.get("statusCode") if answer else (error or f"exit {code}")
            ok = got == (expected if name in NO_DYNAMODB else 503) and elapsed < TIMEOUT_S
        print(f"{'':32} {'ok' if ok else 'WRONG'}  DynamoDB unreachable: {got} in {elapsed:.2f}s")
        if not ok:
            problems.append(f"{name}: with DynamoDB unreachable answered {got} in {elapsed:.1f}s")
    if problems:
        print("\n".join(problems))
        sys.exit(1)
    print(f"all {len(EXPECTED)} bootstraps answered correctly, and with DynamoDB unreachable within {TIMEOUT_S} s")


if __name__ == "__main__":
    main()
