"""Runs every function's built `bootstrap` as Lambda would, against a local stack.

    python infra/check_bootstraps.py BUILD_DIR [--native]

For each function of template.yaml, BUILD_DIR/<LogicalId>/bootstrap is started
with a one-event Lambda runtime API (tests/lambda_runtime.py), under
`qemu-aarch64` unless --native. First with the stack reachable: its event from
events/ (keys minted for the seeds' host and organization) must get the answer
its route gives in this sequence (EXPECTED_STATUS), the scheduled functions
after them reporting no error. Then with DynamoDB unreachable (a closed port;
a few functions at once): an HTTP function must answer 503 (one the template grants no DynamoDB action,
get-jwks, its answer as before) and a scheduled one report an error, both
within the function timeout. The functions, which are scheduled and which read
no table come from template.yaml; only each route's answer is kept here.
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
from concurrent.futures import ThreadPoolExecutor

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "infra"))
import lambda_runtime  # noqa: E402
from route_events import placeholder_principals, scheduled_functions  # noqa: E402
from router import TEMPLATE, template_functions, template_routes  # noqa: E402

TIMEOUT_S = 10
# Runs with DynamoDB unreachable at once: each takes about 1 s of CPU (qemu) and
# 3 s of waiting, so on 2 cores 4 at once stay well inside TIMEOUT_S.
UNREACHABLE_AT_ONCE = 4
QEMU_LIBS = "/usr/aarch64-linux-gnu"

# In this order on an empty table, the answer each route's event (events/) gets.
# Fixture ids that no request created are not found; the seeds' allocation calls
# succeed in turn.
EXPECTED_STATUS = {
    "put-host-license": 200,
    "get-host-license": 200,
    "allocate-organization-license": 200,
    "get-organization-license": 200,
    "list-host-organizations": 200,  # y-y-y-delilah, read from gsi1
    "allocate-service-license": 409,  # seed 002: the organization holds only 2 UNATT
    "get-service-license": 404,
    "list-service-licenses": 200,  # the organization exists; it has no tenant service yet
    "put-group-license": 409,  # the organization holds no ACNU yet
    "get-group-license": 404,
    "assign-user-licenses": 409,
    "get-user-license": 404,
    "list-user-licenses": 200,  # no one holds ACNU: an empty page
    "release-user-license": 404,
    "get-user-license-status": 200,
    "list-account-audit": 200,
    "create-entitlement": 201,
    "list-entitlements": 200,
    "get-entitlement": 404,
    "update-entitlement": 404,
    "delete-entitlement": 404,
    "put-entitlement-translation": 404,  # the sample entitlement does not exist
    "list-entitlement-translations": 404,
    "delete-entitlement-translation": 404,
    "upload-entitlement-file": 404,
    "delete-entitlement-file": 404,
    "start-file-upload": 404,
    "complete-file-upload": 404,
    "create-credit-entitlement": 201,
    "get-credit-entitlement": 404,  # the sample credit entitlement is not the one just created
    "update-credit-entitlement": 404,
    "list-credit-entitlements": 200,
    "delete-credit-entitlement": 404,
    "undelete-credit-entitlement": 404,
    "put-credit-entitlement-translation": 404,
    "list-credit-entitlement-translations": 404,
    "delete-credit-entitlement-translation": 404,
    "get-credit-balance": 404,
    "list-credit-balances": 404,  # its credit entitlement does not exist
    "create-credit-ledger-entry": 404,
    "list-credit-grants": 404,
    "list-credit-ledger": 404,
    "list-customer-credit-entitlements": 200,  # the customer holds no balance: no items
    "update-product": 404,  # its entitlement is not the seed's
    "get-product": 404,
    "update-payment-provider": 200,
    "receive-dodo-event": 401,  # unsigned, and no secret is set for the business
    "issue-grant": 404,
    "list-entitlement-grants": 404,
    "list-customer-grants": 200,
    "get-grant": 404,
    "fulfil-grant": 404,
    "resend-grant-email": 404,
    "revoke-grant": 404,
    "get-customer-license": 404,
    "import-license-key": 404,
    "list-license-keys": 200,
    "get-license-key": 404,
    "update-license-key": 404,
    "list-license-key-instances": 200,
    "get-license-key-instance": 404,
    "rename-license-key-instance": 404,
    "activate-license": 404,
    "validate-license": 200,
    "deactivate-license": 404,
    "heartbeat-license": 404,
    "checkout-license": 404,
    "get-jwks": 200,
    "list-customer-entitlements": 200,
    "create-webhook": 201,
    "list-webhooks": 200,
    "get-webhook": 404,
    "update-webhook": 404,
    "delete-webhook": 404,
    "get-webhook-secret": 404,
    "get-webhook-headers": 404,
    "update-webhook-headers": 404,
    "list-webhook-deliveries": 404,
    "create-portal-session": 404,  # cus_123 holds nothing of the business
    "open-portal-session": 401,  # the sample token was never made: the expired page
    "get-portal-page": 401,
    "get-portal-asset": 200,
    "get-portal-business": 401,
    "get-portal-profile": 401,
    "list-portal-entitlements": 401,
    "download-portal-files": 401,
    "list-portal-devices": 401,
    "free-portal-device": 401,
    "list-portal-credits": 401,
    "list-portal-credit-ledger": 401,
}
# A scheduled function's event when its plain one would find nothing due.
SCHEDULED_EVENT = {"email-retry": "email-retry-now"}


def reads_no_table(resource):
    """The template grants the function no DynamoDB action: with DynamoDB
    unreachable it answers as before."""
    for policy in resource["Properties"].get("Policies", []):
        if not (isinstance(policy, dict) and "Statement" in policy):
            if "dynamodb" in json.dumps(policy).lower():  # a SAM policy template or managed policy, by its name
                return False
            continue
        for statement in policy["Statement"]:
            actions = statement.get("Action", [])
            actions = [actions] if isinstance(actions, str) else actions
            if statement.get("Effect") == "Allow" and any(a.lower().startswith("dynamodb:") for a in actions):
                return False
    return True


def plan(template=TEMPLATE, expected_status=None):
    """[(function, logical id, expected status or None for a scheduled run, reads no table)]:
    the routes in EXPECTED_STATUS's order, then the scheduled functions. Fails unless
    EXPECTED_STATUS names exactly the route functions of the template."""
    expected_status = EXPECTED_STATUS if expected_status is None else expected_status
    functions = template_functions(template)
    routes = set(template_routes(template).values())
    missing, extra = sorted(routes - set(expected_status)), sorted(set(expected_status) - routes)
    if missing or extra:
        raise AssertionError(f"EXPECTED_STATUS in infra/check_bootstraps.py should name the route functions of "
                             f"template.yaml: it lacks {missing}, and {extra} serve no route")
    steps = [(name, expected) for name, expected in expected_status.items()]
    steps += [(name, None) for name in scheduled_functions(template)]
    return [(name, functions[name][0], expected, reads_no_table(functions[name][1])) for name, expected in steps]


def mint(principal):
    out = subprocess.run([os.environ["MINT_API_KEY"], principal], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)["key"]


def event(name, keys):
    path = ROOT / "events" / f"{SCHEDULED_EVENT.get(name, name)}.json"
    text = path.read_text()
    for placeholder, key in keys.items():
        text = text.replace(placeholder, key)
    return json.loads(text)


def answered(expected, answer, error):
    """(ok, what it answered) of a run with the stack reachable."""
    got = answer.get("statusCode") if isinstance(answer, dict) and "statusCode" in answer else ("error" if error else answer)
    ok = (got == expected) if expected is not None else (error is None and answer is not None)
    return ok, got


def answered_unreachable(expected, reads_nothing, answer, error, code, elapsed):
    """(ok, what it answered) of a run with DynamoDB unreachable."""
    if expected is None:
        return error is not None and elapsed < TIMEOUT_S, "error" if error else answer
    got = answer.get("statusCode") if answer else (error or f"exit {code}")
    return got == (expected if reads_nothing else 503) and elapsed < TIMEOUT_S, got


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
    steps = plan()
    if not os.environ.get("OFFLINE_LICENSE_KEY_IDS") or not os.environ.get("AWS_ENDPOINT_URL_KMS"):
        sys.exit("OFFLINE_LICENSE_KEY_IDS and AWS_ENDPOINT_URL_KMS must name the stack's KMS keys (infra/build.sh sets them)")
    keys = {placeholder: mint(principal)
            for placeholder, principal in placeholder_principals("bus_bootstrap_check").items()}
    unreachable = {"AWS_ENDPOINT_URL_DYNAMODB": f"http://127.0.0.1:{closed_port()}"}
    problems = []
    # In order: each answer depends on what the runs before it wrote.
    for name, logical_id, expected, _ in steps:
        answer, error, code, elapsed = run(build_dir, name, logical_id, event(name, keys), {}, native)
        ok, got = answered(expected, answer, error)
        print(f"{name:32} {'ok' if ok else 'WRONG'}  answered {got} in {elapsed:.2f}s")
        if not ok:
            problems.append(f"{name}: answered {got} ({answer or error}), expected {expected}")

    # With DynamoDB unreachable the runs share nothing and each mostly waits out
    # the SDK's retries, so a few run at once.
    def unreachable_run(step):
        name, logical_id, _, _ = step
        return run(build_dir, name, logical_id, event(name, keys), unreachable, native)

    with ThreadPoolExecutor(max_workers=UNREACHABLE_AT_ONCE) as pool:
        for (name, _, expected, reads_nothing), (answer, error, code, elapsed) in zip(steps, pool.map(unreachable_run, steps)):
            ok, got = answered_unreachable(expected, reads_nothing, answer, error, code, elapsed)
            print(f"{name:32} {'ok' if ok else 'WRONG'}  DynamoDB unreachable: {got} in {elapsed:.2f}s")
            if not ok:
                problems.append(f"{name}: with DynamoDB unreachable answered {got} in {elapsed:.1f}s")
    if problems:
        print("\n".join(problems))
        sys.exit(1)
    print(f"all {len(steps)} bootstraps answered correctly, and with DynamoDB unreachable within {TIMEOUT_S} s")


if __name__ == "__main__":
    main()
