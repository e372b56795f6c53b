"""Prints the router table `cargo lambda watch` serves, read from template.yaml's
HttpApi events, so the local routes are the deployed ones by construction.

    python infra/router.py > "$STACK_DIR/router.toml"
    cargo lambda watch --global "$STACK_DIR/router.toml" ...
"""

import json
import os
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class _CfnLoader(yaml.SafeLoader):
    """Reads CloudFormation's short-form tags (!Ref, !Sub, ...) as nothing."""


_CfnLoader.add_multi_constructor("!", lambda loader, suffix, node: None)


def template_routes(path=os.path.join(ROOT, "template.yaml")):
    """{(method, path): binary} of every HttpApi event in the template."""
    with open(path) as f:
        template = yaml.load(f, Loader=_CfnLoader)
    routes = {}
    for resource in template["Resources"].values():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        binary = resource["Metadata"]["BuildProperties"]["Binary"]
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
