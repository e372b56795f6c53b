"""template.yaml, the router table in Cargo.toml and functions/src/bin must name the same routes."""

import os
import re
import tomllib

import yaml

from conftest import ROOT


class _CfnLoader(yaml.SafeLoader):
    pass


_CfnLoader.add_multi_constructor("!", lambda loader, suffix, node: None)


def template_functions():
    with open(os.path.join(ROOT, "template.yaml")) as f:
        template = yaml.load(f, Loader=_CfnLoader)
    return [r for r in template["Resources"].values() if r["Type"] == "AWS::Serverless::Function"]


def template_routes():
    routes = {}
    for resource in template_functions():
        binary = resource["Metadata"]["BuildProperties"]["Binary"]
        for event in resource["Properties"].get("Events", {}).values():
            if event["Type"] == "HttpApi":
                routes[(event["Properties"]["Method"], event["Properties"]["Path"])] = binary
    return routes


def router_routes():
    with open(os.path.join(ROOT, "Cargo.toml"), "rb") as f:
        router = tomllib.load(f)["workspace"]["metadata"]["lambda"]["watch"]["router"]
    routes = {}
    for path, targets in router.items():
        for target in targets:
            routes[(target["method"], path)] = target["function"]
    return routes


def binaries():
    folder = os.path.join(ROOT, "functions", "src", "bin")
    return {name[:-3] for name in os.listdir(folder) if name.endswith(".rs")}


def documented_routes():
    """Each function file starts with `//! METHOD /path` naming its route."""
    routes = {}
    for name in binaries():
        with open(os.path.join(ROOT, "functions", "src", "bin", f"{name}.rs")) as f:
            match = re.match(r"//! (GET|POST|PUT|PATCH|DELETE) (\S+)", f.readline())
        if match:
            routes[(match.group(1), match.group(2).split("?")[0].rstrip(":"))] = name
    return routes


def test_template_and_router_list_the_same_routes():
    assert template_routes() == router_routes()


def test_every_function_binary_is_deployed_and_every_http_one_routed():
    deployed = {r["Metadata"]["BuildProperties"]["Binary"] for r in template_functions()}
    assert deployed == binaries()
    http_functions = set(template_routes().values())
    assert http_functions == set(router_routes().values())
    assert binaries() - http_functions == {"email-retry", "deliver-webhooks"}


def test_each_function_serves_the_route_its_file_names():
    routes = template_routes()
    documented = documented_routes()
    assert set(documented.values()) == set(routes.values())
    for route, binary in documented.items():
        assert routes.get(route) == binary, route
