"""template.yaml, functions/src/bin and functions/src/routes name the same
functions, and the local router (infra/router.py) is derived from template.yaml."""

import os
import re
import sys
import tomllib

from conftest import ROOT

sys.path.insert(0, os.path.join(ROOT, "infra"))
from router import _CfnLoader, router_toml, template_routes  # noqa: E402

import yaml  # noqa: E402


def template_functions():
    with open(os.path.join(ROOT, "template.yaml")) as f:
        template = yaml.load(f, Loader=_CfnLoader)
    return [r for r in template["Resources"].values() if r["Type"] == "AWS::Serverless::Function"]


def http_api_events():
    """Every HttpApi event of every function in template.yaml, counted one by one
    (template_routes keys them by method and path, so two of one route would be one)."""
    return [event for function in template_functions()
            for event in function["Properties"].get("Events", {}).values() if event["Type"] == "HttpApi"]


def binaries():
    folder = os.path.join(ROOT, "functions", "src", "bin")
    return {name[:-3] for name in os.listdir(folder) if name.endswith(".rs")}


def route_modules():
    """The files of functions/src/routes, by their binary's name."""
    folder = os.path.join(ROOT, "functions", "src", "routes")
    return {name[:-3].replace("_", "-") for name in os.listdir(folder) if name.endswith(".rs")}


def listed_route_modules():
    """The modules the `routes!` list of functions/src/lib.rs declares, in either
    of its groups (a file it does not name is never compiled), by their binary's name."""
    with open(os.path.join(ROOT, "functions", "src", "lib.rs")) as f:
        listed = re.search(r"^routes! \{(.*?)^\}", f.read(), re.S | re.M).group(1)
    listed = re.sub(r"//[^\n]*", "", listed)  # its groups' comments
    return {name.strip().replace("_", "-") for name in re.split(r"[,;]", listed) if name.strip()}


def listed_groups():
    """The two groups of the `routes!` list, in order: functions serving HTTP, then scheduled ones."""
    with open(os.path.join(ROOT, "functions", "src", "lib.rs")) as f:
        listed = re.search(r"^routes! \{(.*?)^\}", f.read(), re.S | re.M).group(1)
    listed = re.sub(r"//[^\n]*", "", listed)
    return [[name.strip().replace("_", "-") for name in group.split(",") if name.strip()] for group in listed.split(";")]


def documented_routes():
    """Each route file starts with `//! METHOD /path` naming its route."""
    routes = {}
    for name in binaries():
        with open(os.path.join(ROOT, "functions", "src", "routes", f"{name.replace('-', '_')}.rs")) as f:
            match = re.match(r"//! (GET|POST|PUT|PATCH|DELETE) (\S+)", f.readline())
        if match:
            routes[(match.group(1), match.group(2).split("?")[0].rstrip(":"))] = name
    return routes


def test_local_router_serves_every_template_route():
    router = tomllib.loads(router_toml(template_routes()))["watch"]["router"]
    served = {(t["method"], path): t["function"] for path, targets in router.items() for t in targets}
    assert served == template_routes()
    events = http_api_events()
    assert events, "template.yaml should declare HttpApi events"
    assert len(served) == len(events), "two HttpApi events name the same method and path"


def test_every_function_binary_is_deployed():
    deployed = {r["Metadata"]["BuildProperties"]["Binary"] for r in template_functions()}
    assert deployed == binaries()
    assert route_modules() == binaries(), "functions/src/routes and functions/src/bin disagree"
    assert listed_route_modules() == route_modules(), "routes! in functions/src/lib.rs and functions/src/routes disagree"
    assert binaries() - set(template_routes().values()) == {"email-retry", "deliver-webhooks", "expire-credits"}


def test_routes_lists_the_functions_in_the_templates_order():
    """The API document lists paths in the order of `routes!`, so a route's
    place there is its place in template.yaml, the one list of routes."""
    deployed = [r["Metadata"]["BuildProperties"]["Binary"] for r in template_functions()]
    served = set(template_routes().values())
    http, scheduled = listed_groups()
    assert http == [name for name in deployed if name in served]
    assert scheduled == [name for name in deployed if name not in served]


def test_each_function_serves_the_route_its_file_names():
    routes = template_routes()
    documented = documented_routes()
    assert set(documented.values()) == set(routes.values())
    for route, binary in documented.items():
        assert routes.get(route) == binary, route
