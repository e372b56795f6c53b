"""Cargo keeps the layers of docs/ARCHITECTURE.md: the pure domain crate links
no AWS SDK, tokio, Lambda or HTTP crate; the store links no Lambda, SES or KMS;
the functions name the application crate only; and no module of any library
crate imports one that imports it back."""

import os
import pathlib
import subprocess
import sys
import tomllib

from conftest import ROOT

sys.path.insert(0, os.path.join(ROOT, "infra"))
import layers  # noqa: E402


def linked_crates(package):
    out = subprocess.run(
        ["cargo", "tree", "-p", package, "-e", "normal", "--prefix", "none", "--format", "{p}"],
        cwd=ROOT, check=True, capture_output=True, text=True,
    ).stdout
    return {line.split()[0] for line in out.splitlines() if line.strip()}


def test_the_domain_crate_is_pure():
    linked = linked_crates("licensing-domain")
    assert "serde" in linked and "utoipa" in linked, linked
    banned = sorted(c for c in linked
                    if c.startswith(("aws-", "lambda", "hyper", "tokio", "http", "tower", "reqwest")))
    assert banned == [], f"licensing-domain links {banned}"


def test_the_store_speaks_to_dynamodb_only():
    linked = linked_crates("licensing-store")
    assert "aws-sdk-dynamodb" in linked and "licensing-domain" in linked
    banned = sorted(c for c in linked if c.startswith(("lambda", "aws-sdk-sesv2", "aws-sdk-kms")) or c == "licensing")
    assert banned == [], f"licensing-store links {banned}"


def test_functions_depend_on_the_application_crate_only():
    with open(os.path.join(ROOT, "functions", "Cargo.toml"), "rb") as f:
        manifest = tomllib.load(f)
    ours = sorted(name for name in manifest["dependencies"] if name.startswith("licensing"))
    assert ours == ["licensing"]


def test_no_module_imports_one_that_imports_it_back():
    problems = [line for crate in layers.CRATES for line in layers.report(pathlib.Path(ROOT) / crate)]
    assert problems == [], "\n".join(problems)


def test_the_cycle_check_finds_a_cycle(tmp_path):
    src = tmp_path / "src"
    (src / "wire").mkdir(parents=True)
    (src / "lib.rs").write_text("pub mod grant;\npub mod wire;\n")
    (src / "grant.rs").write_text("#[schema(schema_with = crate::wire::schema::email)]\npub struct Grant;\n")
    (src / "wire" / "mod.rs").write_text("pub mod schema;\n")
    (src / "wire" / "schema.rs").write_text(
        "use crate::grant::Grant;\n#[cfg(test)]\nmod tests {\n    use crate::nothing;\n}\n")
    assert layers.report(tmp_path) == [
        f"{tmp_path}: import cycle among grant, wire::schema",
        "    grant -> wire::schema",
        "    wire::schema -> grant",
    ]
    (src / "wire" / "schema.rs").write_text("pub fn email() {}\n")
    assert layers.report(tmp_path) == []
