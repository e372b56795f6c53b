"""Each function's policy in template.yaml allows exactly what the function does (SPEC 4).

DynamoDB Local checks no IAM, so nothing else would notice a policy that is
short (AccessDenied, a 5xx, once deployed) or too wide. Every function process
logs each IAM action the first time it needs one (`shared/store/src/aws_calls.rs`:
a transaction needs the action of each item in it, a Query names its index).
This runs after the integration suite and the fuzzing, reads those logs, and
compares them with the policies: an action used but not allowed fails, and so
does one allowed but never used.

Before reading the logs it sends every write route one request with an
Idempotency-Key, so the idempotency record's own actions are seen for each.
"""

import glob
import json
import os
import re
import uuid

import httpx
import yaml

from conftest import mint_key

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class _CfnLoader(yaml.SafeLoader):
    pass


_CfnLoader.add_multi_constructor("!", lambda loader, tag, node: {
    "tag": tag,
    "value": loader.construct_scalar(node) if isinstance(node, yaml.ScalarNode) else loader.construct_sequence(node),
})


def template():
    with open(os.path.join(ROOT, "template.yaml")) as f:
        return yaml.load(f, Loader=_CfnLoader)


def resource_kind(resource):
    """`table`, `index/<name or *>`, `identity`, `key` (KMS), `bucket` or `object` (S3), from a policy's Resource."""
    if isinstance(resource, dict) and resource["tag"] == "If":
        # Keys that depend on a parameter (a retired signing key): each branch names KMS keys.
        branches = [b if isinstance(b, list) else [b] for b in resource["value"][1:]]
        kinds = {resource_kind(r) for branch in branches for r in branch}
        assert kinds == {"key"}, f"a conditional policy resource this test does not know: {resource}"
        return "key"
    value = resource["value"] if isinstance(resource, dict) else resource
    if resource == {"tag": "Ref", "value": "RetiredOfflineLicenseKeyArn"}:
        return "key"
    if isinstance(value, str) and value == "OfflineLicenseSigningKey.Arn":
        return "key"
    if isinstance(value, str) and value == "LicensingTable.Arn":
        return "table"
    # The bucket itself (s3:ListBucket) or every object in it; a narrower
    # object ARN (a prefix) is not known here, so it cannot pass as all objects.
    if value in ("FilesBucket.Arn", "${FilesBucket.Arn}"):
        return "bucket"
    if value == "${FilesBucket.Arn}/*":
        return "object"
    match = re.fullmatch(r"\$\{LicensingTable\.Arn\}/index/(.+)", value)
    if match:
        return f"index/{match.group(1)}"
    if ":ses:" in value and value.endswith(":identity/*"):
        return "identity"
    raise AssertionError(f"a policy resource this test does not know: {resource}")


def policies():
    """{binary: ({(action, resource kind)}, [route])} for every function of the template."""
    found = {}
    for name, res in template()["Resources"].items():
        if res["Type"] != "AWS::Serverless::Function":
            continue
        binary = res["Metadata"]["BuildProperties"]["Binary"]
        allowed = set()
        for policy in res["Properties"].get("Policies", []):
            assert isinstance(policy, dict) and "Statement" in policy, f"{name}: only explicit statements are checked"
            for statement in policy["Statement"]:
                if statement["Effect"] != "Allow":
                    continue  # a Deny narrows; it grants nothing
                resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
                for action in statement["Action"]:
                    for resource in resources:
                        allowed.add((action, resource_kind(resource)))
        routes = [(e["Properties"]["Method"], e["Properties"]["Path"])
                  for e in res["Properties"].get("Events", {}).values() if e["Type"] == "HttpApi"]
        found[binary] = (allowed, routes)
    return found


def used_actions(binary):
    used = set()
    log_dir = os.environ["FUNCTION_LOG_DIR"]
    # The function's own log, those of its single-event runs (crash and race
    # tests) and of the processes the histories' nemesis kills and restarts.
    for path in (os.path.join(log_dir, f"{binary}{suffix}.log") for suffix in ("", ".one-event", ".nemesis")):
        if not os.path.exists(path):
            continue
        with open(path, errors="replace") as f:
            for line in f:
                if '"iam_action"' not in line:
                    continue
                fields = json.loads(line)["fields"]
                used.add((fields["iam_action"], fields["resource"]))
    return used


def permits(allowed, action, resource):
    return (action, resource) in allowed or (resource.startswith("index/") and (action, "index/*") in allowed)


def exercise_idempotency_on_every_write_route(functions):
    """One request with an Idempotency-Key per write route, with the key of each principal kind until one is admitted."""
    api = os.environ["LICENSING_API_URL"]
    keys = [mint_key(f"business:bus_{uuid.uuid4().hex[:12]}"), mint_key(f"host:{uuid.uuid4()}"),
            mint_key(f"organization:org-{uuid.uuid4().hex[:8]}")]
    for binary, (_, routes) in functions.items():
        for method, path in routes:
            if method not in ("POST", "PUT", "PATCH", "DELETE"):
                continue
            url = api + re.sub(r"\{[^}]+\}", "x", path)
            for key in [None, *keys]:
                headers = {"Idempotency-Key": str(uuid.uuid4())}
                if key:
                    headers["Authorization"] = f"Bearer {key}"
                answer = httpx.request(method, url, json={"license_key": f"k-{uuid.uuid4()}"}, headers=headers, timeout=30)
                assert answer.status_code < 500, (binary, answer.status_code, answer.text)
                if answer.status_code not in (401, 403):
                    break


def test_every_policy_allows_exactly_what_its_function_does():
    functions = policies()
    bins = {os.path.basename(p)[:-3] for p in glob.glob(os.path.join(ROOT, "functions", "src", "bin", "*.rs"))}
    assert set(functions) == bins, "template.yaml and functions/src/bin disagree"
    exercise_idempotency_on_every_write_route(functions)
    problems = []
    for binary, (allowed, _) in sorted(functions.items()):
        used = used_actions(binary)
        # A function with no policy (the portal's files) must make no call; any other, some.
        if not used and allowed:
            problems.append(f"{binary}: made no AWS call in the whole suite")
            continue
        for action, resource in sorted(used):
            if not permits(allowed, action, resource):
                problems.append(f"{binary}: uses {action} on {resource}, which its policy does not allow")
        for action, resource in sorted(allowed):
            if not any(a == action and (r == resource or (resource == "index/*" and r.startswith("index/")))
                       for a, r in used):
                problems.append(f"{binary}: its policy allows {action} on {resource}, which it never used")
    assert not problems, "\n".join(problems)
