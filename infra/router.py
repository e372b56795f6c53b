"""Prints the router table `cargo lambda watch` serves, read from template.yaml's
HttpApi events, so the local routes are the deployed ones by construction.

    python infra/router.py > "$STACK_DIR/router.toml"
    cargo lambda watch --global "$STACK_DIR/router.toml" ...

`template_routes` and `template_functions` are how infra/, bench/ and tests/
read the routes and functions, so template.yaml stays the one list of them.
"""

import json
import os
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class _CfnLoader(yaml.SafeLoader):
    """Reads CloudFormation's short-form tags (!Ref, !Sub, ...) as nothing."""


_CfnLoader.add_multi_constructor("!", lambda loader, suffix, node: None)


TEMPLATE = os.path.join(ROOT, "template.yaml")


def load_template(path=TEMPLATE):
    with open(path) as f:
        return yaml.load(f, Loader=_CfnLoader)


def template_functions(path=TEMPLATE):
    """{binary: (logical id, resource)} of every function in the template, in its order."""
    return {resource["Metadata"]["BuildProperties"]["Binary"]: (name, resource)
            for name, resource in load_template(path)["Resources"].items()
            if resource["Type"] == "AWS::Serverless::Function"}


def template_routes(path=TEMPLATE):
    """{(method, path): binary} of every HttpApi event in the template, in its order
    (so a function's first route comes before its aliases)."""
    routes = {}
    for binary, (_, resource) in template_functions(path).items():
        for event in resource["Properties"].get("Events", {}).values():
            if event["Type"] == "HttpApi":
                routes[(event["Properties"]["Method"], event["Properties"]["Path"])] = binary
    return routes


def router_toml(routes):
    by_path = {}
    for (method, path), function in sorted(routes.items(), key=lambda r: (r[0][1], r[0][0])):
        by_path.setdefault(path, []).append((method, function))
    lines = ["# Generated from template.yaml by infra/router.py.", "[watch.router]"]
    for path, targets in by_path.items():
        lines.append(f"{json.dumps(path)} = [")
        lines += [f'    {{ method = "{method}", function = "{function}" }},' for method, function in targets]
        lines.append("]")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(router_toml(template_routes()))
