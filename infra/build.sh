#!/usr/bin/env bash
# `make build`: `sam build` of every function in template.yaml, as arm64
# binaries for provided.al2023, without Docker: cargo-lambda cross-links with
# zig (both from PyPI, into .venv/).
#
# All binaries are built in one cargo run first, so cargo links them two at a
# time; sam build then finds each one up to date and only packages it.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd -P)"
cd "$ROOT"
export PATH="$ROOT/.venv/bin:$PATH"
step() { printf '\n== %s\n' "$*"; }

step "install what is missing"
infra/bootstrap.sh
build_want="$(sha256sum infra/requirements-build.txt | cut -d' ' -f1)"
if [[ "$(cat .venv/.build-stamp 2>/dev/null)" != "$build_want" ]]; then
  python -m pip install --quiet --disable-pip-version-check -r infra/requirements-build.txt
  printf '%s\n' "$build_want" >.venv/.build-stamp
fi
if command -v rustup >/dev/null && ! rustup target list --installed | grep -qx aarch64-unknown-linux-gnu; then
  rustup target add aarch64-unknown-linux-gnu
fi

step "release binaries (arm64)"
cargo lambda build --release --arm64 --package functions

step "sam build"
SAM_CLI_TELEMETRY=0 sam build --beta-features --template-file template.yaml

step "check: one aarch64 bootstrap per function"
python - <<'PY'
import pathlib, struct, sys, yaml

class Loader(yaml.SafeLoader):
    pass
Loader.add_multi_constructor("!", lambda loader, suffix, node: None)
resources = yaml.load(open("template.yaml"), Loader=Loader)["Resources"]
functions = [name for name, r in resources.items() if r["Type"] == "AWS::Serverless::Function"]
AARCH64 = 183  # ELF e_machine
sizes, bad = [], []
for name in functions:
    bootstrap = pathlib.Path(".aws-sam/build", name, "bootstrap")
    head = bootstrap.read_bytes()[:20] if bootstrap.exists() else b""
    if head[:4] == b"\x7fELF" and struct.unpack_from("<H", head, 18)[0] == AARCH64:
        sizes.append(bootstrap.stat().st_size)
    else:
        bad.append(f"{name}: {'not aarch64' if head else 'no bootstrap'}")
print(f"{len(sizes)} of {len(functions)} functions have an aarch64 ELF bootstrap"
      + (f", {min(sizes) / 2**20:.1f} to {max(sizes) / 2**20:.1f} MiB" if sizes else ""))
if bad:
    print("\n".join(bad))
    sys.exit(1)
PY
echo "next: sam deploy --guided (see README, Deploy)"
