"""Everything else that names the routes agrees with template.yaml, the one list
of them: the events in events/ (written by infra/route_events.py), the answers
`make build`'s bootstrap check expects (infra/check_bootstraps.py), `make
bench`'s cases (bench/workload.py), docs/CAPACITY.md's table and counts, and
the template's own descriptions and route settings. Each check is also shown
to fail on a broken input. No stack needed.

    .venv/bin/python -m pytest -q tests/test_route_lists.py
"""

import copy
import json
import os
import re
import shutil
import sys

import pytest
import yaml

from conftest import ROOT

sys.path.insert(0, os.path.join(ROOT, "infra"))
sys.path.insert(0, os.path.join(ROOT, "bench"))
import check_bootstraps  # noqa: E402
import route_events  # noqa: E402
import workload  # noqa: E402
from router import TEMPLATE, load_template, template_functions, template_routes  # noqa: E402

EVENTS = os.path.join(ROOT, "events")
CAPACITY = os.path.join(ROOT, "docs", "CAPACITY.md")


def write_template(tmp_path, template):
    path = tmp_path / "template.yaml"
    path.write_text(yaml.safe_dump(template))
    return str(path)


def with_route(template, binary, method, path):
    """`template` with one more function, `binary`, serving `method path`."""
    template = copy.deepcopy(template)
    template["Resources"][f"Extra{len(template['Resources'])}Function"] = {
        "Type": "AWS::Serverless::Function",
        "Metadata": {"BuildProperties": {"Binary": binary}},
        "Properties": {"Description": f"{method} {path}",
                       "Events": {"Api": {"Type": "HttpApi", "Properties": {"Method": method, "Path": path}}}},
    }
    return template


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


# --- events/ ---

def stale_events(template=TEMPLATE, events_dir=EVENTS):
    """How events/ differs from what infra/route_events.py writes."""
    problems = [f"events/{name} is stale or missing"
                for name, text in route_events.route_events(template).items()
                if not os.path.exists(os.path.join(events_dir, name)) or read(os.path.join(events_dir, name)) != text]
    problems += [f"events/{name} names no function" for name in route_events.stray(os.listdir(events_dir), template)]
    problems += [f"events/{name}.json is missing" for name in route_events.scheduled_functions(template)
                 if not os.path.exists(os.path.join(events_dir, f"{name}.json"))]
    return problems


def test_each_route_has_its_generated_event_and_nothing_else():
    assert stale_events() == [], "run `make events` (python infra/route_events.py) and commit events/"


def test_a_moved_route_a_stray_event_or_a_missing_scheduled_one_is_found(tmp_path):
    template = load_template()
    for event in template["Resources"]["GetEntitlementFunction"]["Properties"]["Events"].values():
        event["Properties"]["Path"] = "/products/{entitlement_id}"
    events_dir = tmp_path / "events"
    shutil.copytree(EVENTS, events_dir)
    (events_dir / "retired-route.json").write_text("{}")
    (events_dir / "deliver-webhooks.json").unlink()
    assert stale_events(write_template(tmp_path, template), str(events_dir)) == [
        "events/get-entitlement.json is stale or missing",
        "events/retired-route.json names no function",
        "events/deliver-webhooks.json is missing",
    ]


def test_an_event_comes_from_its_route_and_the_access_its_file_serves_with(tmp_path):
    routes_dir = tmp_path / "routes"
    routes_dir.mkdir()
    (routes_dir / "list_thing_grants.rs").write_text("//! GET /grants/{grant_id}/things\nserve(Access::Organization, handle)\n")
    template = write_template(tmp_path, with_route({"Resources": {}}, "list-thing-grants", "GET", "/grants/{grant_id}/things"))
    event = json.loads(route_events.route_events(template, str(routes_dir), samples={})["list-thing-grants.json"])
    assert event["routeKey"] == event["requestContext"]["routeKey"] == "GET /grants/{grant_id}/things"
    assert event["rawPath"] == event["requestContext"]["http"]["path"] == "/grants/entg_01JD0000000000000000000000/things"
    assert event["pathParameters"] == {"grant_id": "entg_01JD0000000000000000000000"}
    assert event["headers"] == {"authorization": "Bearer ORGANIZATION_KEY", "host": "127.0.0.1:9000"}
    # A parameter no route had before needs its sample value; a sample needs its route.
    template = write_template(tmp_path, with_route({"Resources": {}}, "list-thing-grants", "GET", "/things/{thing_id}"))
    with pytest.raises(KeyError, match="thing_id"):
        route_events.route_events(template, str(routes_dir), samples={})
    with pytest.raises(KeyError, match="get-nothing"):
        route_events.route_events(template, str(routes_dir), samples={"get-nothing": {"query": {"a": "1"}}})


# --- infra/check_bootstraps.py ---

def test_the_bootstrap_check_runs_every_function_of_the_template():
    steps = check_bootstraps.plan()
    assert sorted(name for name, _, _, _ in steps) == sorted(template_functions())
    assert [name for name, _, expected, _ in steps if expected is None] == route_events.scheduled_functions()
    assert any(reads_nothing for *_, reads_nothing in steps) and not all(reads_nothing for *_, reads_nothing in steps)


def test_the_bootstrap_check_fails_on_a_route_it_expects_nothing_of(tmp_path):
    with pytest.raises(AssertionError, match=r"lacks \['get-thing'\], and \[\] serve"):
        check_bootstraps.plan(write_template(tmp_path, with_route(load_template(), "get-thing", "GET", "/things")))
    with pytest.raises(AssertionError, match=r"lacks \[\], and \['get-gone'\] serve no route"):
        check_bootstraps.plan(expected_status={**check_bootstraps.EXPECTED_STATUS, "get-gone": 404})


def test_the_bootstrap_check_fails_on_a_wrong_answer():
    assert check_bootstraps.answered(404, {"statusCode": 404}, None) == (True, 404)
    assert check_bootstraps.answered(404, {"statusCode": 200}, None) == (False, 200)
    assert check_bootstraps.answered(None, None, "Unhandled") == (False, "error")  # a scheduled run failed
    unreachable = check_bootstraps.answered_unreachable
    assert unreachable(200, False, {"statusCode": 503}, None, 0, 1.0) == (True, 503)
    assert unreachable(200, False, {"statusCode": 200}, None, 0, 1.0) == (False, 200)  # it never read the table
    assert unreachable(200, True, {"statusCode": 200}, None, 0, 1.0) == (True, 200)
    assert unreachable(200, False, {"statusCode": 503}, None, 0, 30.0)[0] is False  # past the function timeout
    assert unreachable(None, False, None, "Unhandled", 0, 1.0) == (True, "error")


def test_a_function_reads_no_table_only_when_the_template_grants_it_no_dynamodb_action():
    def function(*policies):
        return {"Properties": {"Policies": list(policies)}}

    def allow(*actions):
        return {"Statement": [{"Effect": "Allow", "Action": list(actions), "Resource": None}]}

    deny_keys = {"Statement": [{"Effect": "Deny", "Action": ["dynamodb:PutItem"], "Resource": None}]}
    assert check_bootstraps.reads_no_table(function(allow("kms:GetPublicKey")))
    assert check_bootstraps.reads_no_table(function(deny_keys, allow("kms:Sign")))
    assert not check_bootstraps.reads_no_table(function(allow("kms:Sign"), allow("dynamodb:GetItem")))
    assert not check_bootstraps.reads_no_table(function({"DynamoDBReadPolicy": {"TableName": None}}))


# --- bench/workload.py ---

class Made(str):
    """Stands for any answer of a set-up request: each of its fields is another."""

    def __getitem__(self, key):
        return Made(f"{self}-{key}")


def dry_run(monkeypatch, routes=None):
    """The bench's requests, built and held to the routes without a stack: the set-up
    calls answer Made and no case is sent."""
    sent = []
    monkeypatch.setattr(workload, "call", lambda api, method, path, status, body=None: Made("made"))
    monkeypatch.setattr(workload, "portal_cookie", lambda api, token: Made("cookie"))
    monkeypatch.setattr(workload.Case, "send",
                        lambda case, index: sent.append((case.function, case.method, case.request(index)[0])))
    if routes is not None:
        monkeypatch.setattr(workload, "ROUTES", routes)
    workload.run("http://127.0.0.1:9", lambda principal: "key", rounds=1)
    return sent


def test_the_bench_has_a_case_for_every_route_each_a_request_to_its_route(monkeypatch):
    sent = dry_run(monkeypatch)
    assert {function for function, _, _ in sent} == set(template_routes().values())


def test_the_bench_fails_on_a_route_without_a_case_or_a_case_off_its_route(monkeypatch):
    with pytest.raises(AssertionError, match="no cases for get-thing"):
        dry_run(monkeypatch, {**template_routes(), ("GET", "/things"): "get-thing"})
    moved = {(method, "/products/{entitlement_id}" if binary == "get-entitlement" else path): binary
             for (method, path), binary in template_routes().items()}
    with pytest.raises(AssertionError, match="is no route of get-entitlement"):
        dry_run(monkeypatch, moved)


# --- docs/CAPACITY.md ---

def capacity_routes(text):
    """{(method, path): function} of the rows of section 1's tables."""
    section = text.split("\n## 1.", 1)[1].split("\n## 2.", 1)[0]
    rows = re.findall(r"^\| `(GET|POST|PUT|PATCH|DELETE) (\S+)` \| ([a-z0-9-]+)", section, re.M)
    return {(method, path): function for method, path, function in rows}


def capacity_counts(template=TEMPLATE):
    """The sentences of section 4 that count the functions and add up the routes' throttles."""
    functions, routes = template_functions(template), template_routes(template)
    served = len(set(routes.values()))
    api = next(r["Properties"] for r in load_template(template)["Resources"].values()
               if r["Type"] == "AWS::Serverless::HttpApi")
    default = api["DefaultRouteSettings"]["ThrottlingRateLimit"]
    own = sorted((s["ThrottlingRateLimit"] for s in api.get("RouteSettings", {}).values()), reverse=True)
    terms = [f"{len(routes) - len(own)} × {default}"] + [str(rate) for rate in own]
    total = (len(routes) - len(own)) * default + sum(own)
    return [f"all {len(functions)} functions ({served} behind the API, {len(functions) - served} on a schedule)",
            f"All {len(routes)} routes at their limits add up to {' + '.join(terms)} = {total:,} requests a second"]


def test_the_capacity_table_has_a_row_for_every_route():
    assert capacity_routes(read(CAPACITY)) == template_routes()


def test_the_capacity_counts_are_the_templates():
    text = " ".join(read(CAPACITY).split())
    for sentence in capacity_counts():
        assert sentence in text, f"docs/CAPACITY.md should say: {sentence}"


def test_a_forgotten_row_or_a_new_route_is_found(tmp_path):
    text = read(CAPACITY)
    forgotten = "".join(line for line in text.splitlines(keepends=True) if not line.startswith("| `GET /grants/{grant_id}`"))
    assert ("GET", "/grants/{grant_id}") not in capacity_routes(forgotten)
    assert capacity_routes(forgotten) != template_routes()
    grown = write_template(tmp_path, with_route(load_template(), "get-thing", "GET", "/things"))
    assert not any(sentence in " ".join(text.split()) for sentence in capacity_counts(grown))


# --- template.yaml itself ---

def template_disagreements(template=TEMPLATE):
    """A function's Description that is not its first route, a RouteSettings key that is no route."""
    routes = template_routes(template)
    problems = []
    for binary, (name, resource) in template_functions(template).items():
        first = next((f"{method} {path}" for (method, path), b in routes.items() if b == binary), None)
        if first and resource["Properties"].get("Description") != first:
            problems.append(f"{name}: Description is not {first}")
    for resource in load_template(template)["Resources"].values():
        if resource["Type"] == "AWS::Serverless::HttpApi":
            for key in resource["Properties"].get("RouteSettings", {}):
                if tuple(key.split(" ", 1)) not in routes:
                    problems.append(f"RouteSettings {key!r} names no route")
    return problems


def test_the_template_describes_each_function_by_its_route_and_throttles_only_its_routes():
    assert template_disagreements() == []


def test_a_stale_description_or_throttle_is_found(tmp_path):
    template = load_template()
    template["Resources"]["GetGrantFunction"]["Properties"]["Description"] = "GET /grant/{grant_id}"
    api = next(r for r in template["Resources"].values() if r["Type"] == "AWS::Serverless::HttpApi")
    api["Properties"]["RouteSettings"]["POST /licenses/activat"] = {"ThrottlingRateLimit": 1}
    assert template_disagreements(write_template(tmp_path, template)) == [
        "GetGrantFunction: Description is not GET /grants/{grant_id}",
        "RouteSettings 'POST /licenses/activat' names no route",
    ]
