"""Every command block README.md shows, run as a newcomer would run it.

The blocks are taken from README.md itself, so a documented command cannot rot
unseen. The walk-throughs run in one shell against this test stack (its ports
in place of make dev's, and keys of its own, minted with `make keys` into the
file the README reads); blocks that need what a test cannot have (a terminal
left running, an AWS account) are checked for syntax only, and each one that is
skipped is named here with its reason.
"""

import json
import os
import re
import subprocess
import uuid

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SEED_HOST = "feb0dd79-85b6-483b-b297-0e49a1aa5b7d"
SEED_ORG = "y-y-y-delilah"

# What cannot run inside the test suite, and why.
NOT_RUN = {
    "make dev": "runs until Ctrl-C; the stack it starts is the one this suite runs on",
    "make test": "is this suite",
    "make build": "the fat-LTO arm64 release build; make test ends with the same script and checks, linked without LTO",
    "sam deploy": "needs an AWS account",
    "--aws": "needs an AWS account",
}


def readme_blocks():
    text = open(os.path.join(ROOT, "README.md")).read()
    blocks = []
    for match in re.finditer(r"^( *)```sh\n(.*?)^\1```", text, flags=re.S | re.M):
        indent = match.group(1)
        body = "".join(line[len(indent):] + "\n" for line in match.group(2).splitlines())
        line = text[: match.start()].count("\n") + 1
        blocks.append((line, body))
    return blocks


def skipped_because(block):
    commands = re.sub(r"(^|\s)#.*$", "", block, flags=re.M)
    return next((why for marker, why in NOT_RUN.items() if marker in commands), None)


def test_readme_has_the_blocks_this_test_knows():
    blocks = readme_blocks()
    assert len(blocks) >= 10, blocks
    assert sum(1 for _, b in blocks if skipped_because(b) is None) >= 7


@pytest.mark.parametrize("line,block", readme_blocks(), ids=lambda v: f"line{v}" if isinstance(v, int) else "")
def test_every_block_is_valid_shell(line, block):
    checked = subprocess.run(["bash", "-n"], input=block, text=True, capture_output=True)
    assert checked.returncode == 0, f"README.md line {line}: {checked.stderr}"


def test_every_script_the_readme_names_is_valid_shell():
    for script in sorted(os.listdir(os.path.join(ROOT, "infra"))):
        if script.endswith(".sh"):
            checked = subprocess.run(["bash", "-n", os.path.join("infra", script)], cwd=ROOT, capture_output=True, text=True)
            assert checked.returncode == 0, f"infra/{script}: {checked.stderr}"


def test_walk_throughs_run_against_the_stack(tmp_path):
    api_port = os.environ["LICENSING_API_URL"].rsplit(":", 1)[1].rstrip("/")
    ses_port = os.environ["SES_STORE_URL"].split(":")[2].split("/")[0]
    # Fresh identities, so the walk-through meets no state of other tests.
    host, org, key = str(uuid.uuid4()), f"org-{uuid.uuid4().hex[:8]}", f"ACME-{uuid.uuid4().hex[:12].upper()}"

    def adapted(block):
        for old, new in (("9000", api_port), ("8005", ses_port), (".dev/keys.json", str(tmp_path / "keys.json")),
                         (SEED_HOST, host), (SEED_ORG, org), ("ACME-PRO-0001", key)):
            block = block.replace(old, new)
        return block

    # The README's keys file, written with the README's own command for minting.
    keys = {}
    for kind, principal in (("business", f"business:bus_{uuid.uuid4().hex[:12]}"), ("host", f"host:{host}"),
                            ("organization", f"organization:{org}")):
        minted = subprocess.run(["make", "-s", "keys", f"PRINCIPAL={principal}"], cwd=ROOT, capture_output=True, text=True)
        assert minted.returncode == 0, minted.stderr
        keys[kind] = json.loads(minted.stdout)
    (tmp_path / "keys.json").write_text(json.dumps(keys))

    runnable = [(line, b) for line, b in readme_blocks() if skipped_because(b) is None]
    script = ["set -eo pipefail", f'export HOST_KEY={keys["host"]["key"]} ORGANIZATION_KEY={keys["organization"]["key"]}']
    for line, block in runnable:
        script.append(f"echo '== README.md line {line}'")
        script.append(adapted(block))
    env = {**os.environ, "PATH": f"{ROOT}/.venv/bin:{os.environ['PATH']}"}
    ran = subprocess.run(["bash", "-c", "\n".join(script)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    out = ran.stdout
    assert ran.returncode == 0, f"{out[-3000:]}\n{ran.stderr[-3000:]}"
    # What the README says each step shows.
    assert '"status": "Delivered"' in out, out[-3000:]
    assert '{"code":"VALID","valid":true}' in out, out[-3000:]
    # The Dodo walk-through: the subscription's event granted, its cancellation revoked.
    assert '{"status":"Pending","subscription_id":"sub_ada"}' in out, out[-3000:]
    assert '{"status":"Revoked","revocation_reason":"subscription_cancelled"}' in out, out[-3000:]
    assert out.count('"state":"ACTIVE"') >= 2, out[-3000:]
    assert "ALLOCATION_EXCEEDS_ACCOUNT_LICENSE" in out, out[-3000:]
    assert '"instances_count": 0' in out, out[-3000:]
    assert out.count('"key_id"') == 4, out[-3000:]  # the make keys block minted four keys
    assert '"provider":"dodo","webhook_url":"https://' in out and '"secret_set":true' in out, out[-3000:]
    # Feature flags, digital files, translations, features at validate.
    assert '{"status":"Delivered","feature":{"feature_id":"export","feature_type":"boolean"}}' in out, out[-3000:]
    assert '["export"]' in out and "Thanks for buying" in out and "Exportation" in out, out[-3000:]
    assert '{"valid":false,"code":"FEATURES_MISSING"}' in out, out[-3000:]
    # Credits.
    assert '{"amount":"10.50","balance_after":"10.50"}' in out, out[-3000:]
    assert '{"balance_before":"10.50","balance_after":"10.25"}' in out and "INSUFFICIENT_CREDITS" in out, out[-3000:]
    assert '{"name":"API calls","balance":"10.25"}' in out, out[-3000:]
    assert '"1000.00"' in out and '{"balance":"1010.25"}' in out, out[-3000:]  # a cycle's credits, once each
    # The customer portal: the link's token reads the customer's grants, and the link opens the page.
    assert f'{{"status":"Delivered","key":"{key}-XYZ"}}' in out, out[-3000:]
    assert f"303 http://127.0.0.1:{api_port}/customer-portal" in out, out[-3000:]
    assert "entitlement_grant.created" in out, out[-3000:]  # printed by the README's receiver
    assert '"event_type":"entitlement_grant.created","status":"delivered"' in out, out[-3000:]
    assert '{"activation_shards":8,"instances_count":0}' in out, out[-3000:]
    assert '{"activation_shards":null,"instances_count":1}' in out, out[-3000:]
    assert out.count('"shards":4') == 1 and out.count('"shards":null') == 1, out[-3000:]
    assert '{"balance_shards":3,"balance":"1010.25"}' in out, out[-3000:]
    assert '{"balance_before":"1010.25","balance_after":"1010.00"}' in out, out[-3000:]
    assert '{"balance_shards":null,"balance":"1010.00"}' in out, out[-3000:]
    assert "UNAUTHORIZED" not in out and "INTERNAL_ERROR" not in out, out[-3000:]
