"""template.yaml deploys: after the SAM transform (the one CloudFormation runs,
here the samtranslator package offline) no resource depends on itself through
others, and the template stays within CloudFormation's quotas. A cycle is what
CloudFormation refuses at deploy time and the linters may not see: they check
the template before the transform, where a route is a function's event rather
than the API's integration. No stack and no AWS call needed.

    .venv/bin/python -m pytest -q tests/test_template_deploys.py
"""

import copy
import json
import os
import re

import pytest
from samcli.yamlhelper import yaml_parse
from samtranslator.translator.managed_policy_translator import ManagedPolicyLoader
from samtranslator.translator.transform import transform

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TEMPLATE = os.path.join(ROOT, "template.yaml")

# CloudFormation's quotas (docs: "CloudFormation quotas").
MAX_RESOURCES = 500
MAX_OUTPUTS = 200
MAX_PARAMETERS = 200
MAX_MAPPINGS = 200
MAX_BODY_S3 = 1_000_000  # a template in S3, as `sam deploy` uploads it
MAX_BODY_DIRECT = 51_200  # a template passed in the request itself

# What the transform takes for pseudo parameters; only names matter here.
PSEUDO = {"AWS::Region": "us-east-1", "AWS::AccountId": "123456789012", "AWS::Partition": "aws",
          "AWS::URLSuffix": "amazonaws.com", "AWS::StackName": "licensing", "AWS::NoValue": None,
          "AWS::StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/licensing/1",
          "AWS::NotificationARNs": []}


class NoManagedPolicies(ManagedPolicyLoader):
    """The managed-policy map without asking IAM: the template names no managed policy by name."""

    def __init__(self):
        super().__init__(iam_client=None)

    def load(self):
        return {}


def transformed(template):
    """The CloudFormation template the SAM transform makes of `template` (a dict), offline."""
    template = copy.deepcopy(template)
    # As `sam validate` does: the translator takes only S3 code locations.
    template.get("Globals", {}).get("Function", {})["CodeUri"] = "s3://bucket/code.zip"
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function" and "CodeUri" in resource.get("Properties", {}):
            resource["Properties"]["CodeUri"] = "s3://bucket/code.zip"
    with pytest.MonkeyPatch.context() as env:
        # The translator reads the region from boto3's session even when given one.
        env.setenv("AWS_DEFAULT_REGION", PSEUDO["AWS::Region"])
        env.delenv("AWS_PROFILE", raising=False)
        return transform(template, dict(PSEUDO), NoManagedPolicies())


SUB_NAME = re.compile(r"\$\{([^}]*)\}")


def references(value, resources, names=None):
    """The resources `value` refers to (Ref, Fn::GetAtt, Fn::Sub), into `names`."""
    names = set() if names is None else names
    if isinstance(value, list):
        for item in value:
            references(item, resources, names)
    elif isinstance(value, dict):
        for key, item in value.items():
            if key == "Ref" and isinstance(item, str):
                names.add(item)
            elif key == "Fn::GetAtt":
                names.add(item.split(".", 1)[0] if isinstance(item, str) else item[0])
            elif key == "Fn::Sub":
                text, variables = (item, {}) if isinstance(item, str) else (item[0], item[1])
                for name in SUB_NAME.findall(text):
                    # ${!Literal} is text; a variable of the Sub's own shadows a resource.
                    if not name.startswith("!") and name not in variables:
                        names.add(name.split(".", 1)[0].strip())
                references(variables, resources, names)
            else:
                references(item, resources, names)
    return names & resources.keys()  # parameters and pseudo parameters are no resources


def dependencies(template):
    """{resource: the resources it depends on}: references and DependsOn."""
    resources = template["Resources"]
    graph = {}
    for name, resource in resources.items():
        body = {k: v for k, v in resource.items() if k not in ("Metadata", "DependsOn")}
        depends_on = resource.get("DependsOn", [])
        graph[name] = references(body, resources) | set([depends_on] if isinstance(depends_on, str) else depends_on)
    return graph


def a_cycle(graph):
    """One dependency cycle as [a, b, ..., a], or None."""
    done, path, on_path = set(), [], set()

    def visit(node):
        path.append(node)
        on_path.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt in on_path:
                return path[path.index(nxt):] + [nxt]
            if nxt not in done:
                found = visit(nxt)
                if found:
                    return found
        on_path.discard(path.pop())
        done.add(node)
        return None

    for node in sorted(graph):
        if node not in done:
            found = visit(node)
            if found:
                return found
    return None


def assert_no_cycle(cfn):
    cycle = a_cycle(dependencies(cfn))
    assert cycle is None, "circular dependency, which CloudFormation refuses: " + " -> ".join(cycle)


@pytest.fixture(scope="module")
def source():
    with open(TEMPLATE) as f:
        return f.read()


@pytest.fixture(scope="module")
def cfn(source):
    return transformed(yaml_parse(source))


def test_no_resource_depends_on_itself(cfn):
    assert_no_cycle(cfn)


def test_within_cloudformation_quotas(cfn, source, capsys):
    body = len(json.dumps(cfn, separators=(",", ":")).encode())
    figures = {
        "resources": (len(cfn["Resources"]), MAX_RESOURCES),
        "outputs": (len(cfn.get("Outputs", {})), MAX_OUTPUTS),
        "parameters": (len(cfn.get("Parameters", {})), MAX_PARAMETERS),
        "mappings": (len(cfn.get("Mappings", {})), MAX_MAPPINGS),
        "transformed template, bytes of JSON (in S3)": (body, MAX_BODY_S3),
    }
    with capsys.disabled():  # shown under -q too, so the CI log has the figures
        print("\ntemplate.yaml after the SAM transform, against CloudFormation's quotas:")
        for what, (count, limit) in figures.items():
            print(f"  {what}: {count:,} of {limit:,}")
        print(f"  (template.yaml itself: {len(source.encode()):,} bytes; a body passed directly may have "
              f"{MAX_BODY_DIRECT:,}, `sam deploy` uploads it to S3)")
    over = {what: f for what, f in figures.items() if f[0] > f[1]}
    assert not over, f"over CloudFormation's quotas: {over}"


# --- the checker itself can fail ------------------------------------------------

CYCLIC = """
Transform: AWS::Serverless-2016-10-31
Resources:
  Api:
    Type: AWS::Serverless::HttpApi
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: provided.al2023
      Handler: bootstrap
      CodeUri: .
      Environment:
        Variables:
          URL: !Sub "https://${Api}.execute-api.${AWS::Region}.${AWS::URLSuffix}"
      Events:
        Get:
          Type: HttpApi
          Properties: {ApiId: !Ref Api, Method: GET, Path: /}
"""


def test_a_function_naming_its_own_api_is_a_cycle():
    """What template.yaml once did: the route makes the API depend on the
    function, and the function's variable names the API."""
    with pytest.raises(AssertionError, match=r"circular dependency, .*: Api -> Fn -> Api\b"):
        assert_no_cycle(transformed(yaml_parse(CYCLIC)))


def test_literals_variables_and_parameters_are_no_dependencies():
    resources = {"A": {}, "B": {}, "C": {}}
    value = {"Fn::Sub": ["${!A} ${B} ${C.Arn} ${AWS::Region} ${P}", {"B": {"Ref": "P"}}]}
    assert references(value, resources) == {"C"}
    assert references([{"Ref": "P"}, {"Fn::GetAtt": "A.Arn"}, {"Fn::GetAtt": ["B", "Arn"]}], resources) == {"A", "B"}
