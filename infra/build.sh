#!/usr/bin/env bash
# `make build`: `sam build` of every function in template.yaml, as arm64
# binaries for provided.al2023, without Docker: cargo-lambda cross-links with
# zig (both from PyPI, into .venv/).
#
# All binaries are built in one cargo run first, so cargo links them two at a
# time; sam build then finds each one up to date and only packages it.
#
# --check (the end of `make test`): the same build, sam build and bootstrap
# checks, but linked without LTO and with 16 codegen units, into
# .aws-sam/check so that `sam deploy` never picks it up. LTO makes a binary
# smaller and faster, not different in what it answers, and it is most of the
# build's time (fat LTO runs whole-program optimization once per binary, on one
# core); `make build` keeps it for what is deployed.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd -P)"
cd "$ROOT"
export PATH="$ROOT/.venv/bin:$PATH"
step() { printf '\n== %s (%d s)\n' "$*" "$SECONDS"; }
build_dir=.aws-sam/build
case "${1:-}" in
  --check)
    build_dir=.aws-sam/check
    export CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 ;;
  "") ;;
  *) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac

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
SAM_CLI_TELEMETRY=0 sam build --beta-features --template-file template.yaml --build-dir "$build_dir"

step "check: one aarch64 bootstrap per function"
python - "$build_dir" <<'PY'
import pathlib, struct, sys, yaml

class Loader(yaml.SafeLoader):
    pass
Loader.add_multi_constructor("!", lambda loader, suffix, node: None)
resources = yaml.load(open("template.yaml"), Loader=Loader)["Resources"]
functions = [name for name, r in resources.items() if r["Type"] == "AWS::Serverless::Function"]
AARCH64 = 183  # ELF e_machine
sizes, bad = [], []
for name in functions:
    bootstrap = pathlib.Path(sys.argv[1], name, "bootstrap")
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
step "run every arm64 bootstrap as Lambda would, under qemu, against a stack of its own"
if ! command -v qemu-aarch64 >/dev/null || [[ ! -d /usr/aarch64-linux-gnu/lib ]]; then
  # Debian's user-mode qemu and the arm64 C library the bootstraps link to.
  if [[ $(id -u) == 0 ]]; then
    apt-get update -qq && apt-get install -y -qq qemu-user libc6-arm64-cross >/dev/null
  else
    echo "needs qemu-user and libc6-arm64-cross (Debian: sudo apt-get install qemu-user libc6-arm64-cross)" >&2
    exit 1
  fi
fi
export STACK_DIR="$ROOT/.build-stack" DYNAMODB_PORT="${BUILD_DYNAMODB_PORT:-8020}" SES_PORT="${BUILD_SES_PORT:-8025}"
export KMS_PORT="${BUILD_KMS_PORT:-$((SES_PORT + 1))}" S3_PORT="${BUILD_S3_PORT:-$((SES_PORT + 2))}"
export TABLE_NAME=licensing-build
source infra/local-env.sh
rm -rf "$STACK_DIR"
trap 'infra/stack.sh stop' EXIT
infra/stack.sh start
OFFLINE_LICENSE_KEY_IDS="$(cat "$STACK_DIR/kms-key-ids")"
export OFFLINE_LICENSE_KEY_IDS
cargo build -q -p licensing-admin --bin mint-api-key
MINT_API_KEY="${CARGO_TARGET_DIR:-$ROOT/target}/debug/mint-api-key" FUNCTION_LOG_DIR="$STACK_DIR" \
  python infra/check_bootstraps.py "$build_dir"

if [[ $build_dir == .aws-sam/build ]]; then
  echo "next: sam deploy --guided (see README, Deploy)"
fi
step "done"
