"""openapi.yaml names exactly the routes of template.yaml; schemathesis (infra/fuzz.sh) tests the code against it."""

import os

import yaml

from conftest import ROOT
from test_routes_agree import template_routes


def test_document_names_every_route_and_no_other():
    with open(os.path.join(ROOT, "openapi.yaml")) as f:
        document = yaml.safe_load(f)
    assert document["openapi"].startswith("3.1")
    documented = {
        (method.upper(), path)
        for path, operations in document["paths"].items()
        for method in operations
        if method in ("get", "post", "put", "patch", "delete")
    }
    assert documented == set(template_routes())
