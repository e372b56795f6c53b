#!/usr/bin/env bash
# `make test`: lint, unit tests, then the integration tests against a local
# stack of its own (own ports, own state dir), stopped again at the end.
#
# Each function runs as its own prebuilt process behind `cargo lambda watch
# --only-lambda-apis` (the routes of template.yaml, as in `make dev`), polling for up
# to FUNCTION_CONCURRENCY events at once, so concurrent requests really
# overlap, and its log is kept in $STACK_DIR/functions/<name>.log.
#
# NO_BUILD=1 skips the cargo build of the binaries and runs those already in
# target/ (debug, or release for bench), e.g. to iterate on a Python bench
# while another build is running; lint and unit tests still run in mode all.
set -euo pipefail
STACK_DIR="${STACK_DIR:-$(cd "$(dirname "$0")/.." && pwd -P)/.test-stack}"
DYNAMODB_PORT="${TEST_DYNAMODB_PORT:-8010}"
SES_PORT="${TEST_SES_PORT:-8015}"
KMS_PORT="${TEST_KMS_PORT:-$((SES_PORT + 1))}"
S3_PORT="${TEST_S3_PORT:-$((SES_PORT + 2))}"
API_PORT="${TEST_API_PORT:-9010}"
TABLE_NAME="${TABLE_NAME:-licensing-test}"
export FUNCTION_CONCURRENCY="${FUNCTION_CONCURRENCY:-64}"
source "$(dirname "$0")/local-env.sh"
cd "$ROOT"

# Each step says when it started, in seconds since this script did: where the time goes.
step() { printf '\n== %s (%d s)\n' "$*" "$SECONDS"; }

# `infra/test.sh fuzz`: only the stack and schemathesis (make fuzz).
# `infra/test.sh only <pytest args>`: only the stack and those integration tests.
# `infra/test.sh node`: only the stack and the Node suite (tests/node/).
# `infra/test.sh bench`: release builds on the same stack, then bench/run.py
# (make bench). BENCH_PROFILE=debug skips the release build.
# `infra/test.sh verify`: the stack and tests/test_histories.py, long (make
# verify): VERIFY_ROUNDS histories per object of VERIFY_CALLS calls per client,
# each seed printed; VERIFY_SEED repeats one.
# `infra/test.sh capacity`: the stack with the functions behind the proxy's
# throttling mode, CAPACITY_ITEM_WCU (default 20) write units a second per item
# as DynamoDB allows about 1,000, then bench/capacity.py (make capacity).
mode="${1:-all}"
[[ $mode == only ]] && shift
profile=debug
[[ $mode == bench ]] && profile="${BENCH_PROFILE:-release}"

step "install what is missing"
# The reference page's test drives Chromium; only pytest runs need it.
if [[ $mode == all || $mode == only ]]; then infra/bootstrap.sh --browser; else infra/bootstrap.sh; fi

if [[ $mode == all ]]; then
step "format, lint and unit tests"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
cfn-lint template.yaml
SAM_CLI_TELEMETRY=0 sam validate --lint --region "$AWS_REGION" -t template.yaml
cargo test --workspace --features functions/failpoints --lib --test '*'
fi
if [[ ${NO_BUILD:-} == 1 ]]; then :
elif [[ $profile == release ]]; then cargo build --release --workspace --bins; else cargo build --workspace --bins --features functions/failpoints; fi
# CI may keep its build cache outside the clone.
bin_dir="${CARGO_TARGET_DIR:-$ROOT/target}/$profile"

step "local stack"
rm -rf "$STACK_DIR"
mkdir -p "$STACK_DIR/functions"
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  infra/stack.sh stop
}
trap cleanup EXIT
trap 'exit 130' INT TERM
infra/stack.sh start
# The stack's two KMS keys: the first signs offline licenses, both are in the JWK Set.
OFFLINE_LICENSE_KEY_IDS="$(cat "$STACK_DIR/kms-key-ids")"
export OFFLINE_LICENSE_KEY_IDS

# The functions reach DynamoDB through a proxy the fault tests can cut
# (tests/test_faults.py), or that throttles each item's writes (capacity);
# the bench measures DynamoDB itself.
function_dynamodb="$AWS_ENDPOINT_URL_DYNAMODB"
if [[ $mode != bench ]]; then
  proxy_port=$((DYNAMODB_PORT + 2))
  export DYNAMODB_PROXY_PID_FILE="$STACK_DIR/dynamodb-proxy.pid"
  throttling=()
  if [[ $mode == capacity ]]; then
    export CAPACITY_ITEM_WCU="${CAPACITY_ITEM_WCU:-20}" DYNAMODB_PROXY_STATS="$STACK_DIR/dynamodb-proxy.stats.json"
    throttling=(--item-wcu "$CAPACITY_ITEM_WCU" --stats "$DYNAMODB_PROXY_STATS")
  fi
  python infra/dynamodb_proxy.py "$proxy_port" "$DYNAMODB_PORT" "$DYNAMODB_PROXY_PID_FILE" "${throttling[@]}" \
    >"$STACK_DIR/dynamodb-proxy.log" 2>&1 </dev/null &
  pids+=($!)
  for _ in $(seq 50); do [[ -s $DYNAMODB_PROXY_PID_FILE ]] && break; sleep 0.1; done
  function_dynamodb="http://127.0.0.1:$proxy_port"
fi
# A test that runs a function process itself gives it the same endpoint.
export FUNCTION_DYNAMODB_ENDPOINT="$function_dynamodb"

python infra/router.py >"$STACK_DIR/router.toml"
cargo lambda watch -q --only-lambda-apis --ignore-changes --global "$STACK_DIR/router.toml" \
  -A 127.0.0.1 -P "$API_PORT" >"$STACK_DIR/watch.log" 2>&1 </dev/null &
pids+=($!)
for _ in $(seq 100); do
  python -c "import socket; socket.create_connection(('127.0.0.1', $API_PORT), 1)" 2>/dev/null && break
  sleep 0.1
done
for source in functions/src/bin/*.rs; do
  name="$(basename "$source" .rs)"
  AWS_LAMBDA_RUNTIME_API="http://127.0.0.1:$API_PORT/.rt/$name" \
    AWS_LAMBDA_FUNCTION_NAME="$name" AWS_LAMBDA_FUNCTION_VERSION=1 AWS_LAMBDA_FUNCTION_MEMORY_SIZE=128 \
    AWS_LAMBDA_MAX_CONCURRENCY="$FUNCTION_CONCURRENCY" RUST_LOG=info \
    PUBLIC_RATE_LIMIT="${PUBLIC_RATE_LIMIT:-1000000}" AWS_ENDPOINT_URL_DYNAMODB="$function_dynamodb" \
    WEBHOOK_ALLOW_LOOPBACK=true OFFLINE_LICENSE_KEY_IDS="$OFFLINE_LICENSE_KEY_IDS" \
    "$bin_dir/$name" >"$STACK_DIR/functions/$name.log" 2>&1 </dev/null &
  pids+=($!)
done

# A function that dies leaves its requests hanging: make sure all came up.
sleep 1
for pid in "${pids[@]}"; do
  kill -0 "$pid" 2>/dev/null || { tail -n 20 "$STACK_DIR"/functions/*.log "$STACK_DIR/watch.log"; echo "a function did not start" >&2; exit 1; }
done

# What EventBridge Scheduler does in AWS: run the webhook delivery function, again and again.
if [[ $mode != bench && $mode != capacity ]]; then
  python infra/schedule.py "http://127.0.0.1:$API_PORT" deliver-webhooks 10 >"$STACK_DIR/schedule.log" 2>&1 </dev/null &
  pids+=($!)
fi

export LICENSING_API_URL="http://127.0.0.1:$API_PORT"
export MINT_API_KEY="$bin_dir/mint-api-key"
export FUNCTION_BIN_DIR="$bin_dir"
export FUNCTION_LOG_DIR="$STACK_DIR/functions"
export SES_STORE_URL="http://127.0.0.1:$SES_PORT/store"

if [[ $mode == fuzz ]]; then
  step "fuzzing against openapi.yaml"
  infra/fuzz.sh
  exit
fi

if [[ $mode == bench ]]; then
  python bench/run.py
  exit
fi

if [[ $mode == capacity ]]; then
  step "capacity: one hot license key, organization pool and credit balance, unsharded and sharded, at ${CAPACITY_ITEM_WCU} WCU per item"
  python bench/capacity.py
  exit
fi

if [[ $mode == verify ]]; then
  export VERIFY_CALLS="${VERIFY_CALLS:-30}" VERIFY_ROUNDS="${VERIFY_ROUNDS:-3}"
  # A seed given repeats that one history per object.
  rounds="${VERIFY_SEED:+1}"
  step "histories: ${rounds:-$VERIFY_ROUNDS} per object, ${VERIFY_CALLS} calls by each of 16 clients, checked for linearizability${VERIFY_SEED:+ (seed $VERIFY_SEED)}"
  python -m pytest -q -s -p no:cacheprovider tests/test_histories.py
  cat "$STACK_DIR/histories/summary.txt"
  exit
fi

if [[ $mode == only ]]; then
  step "integration tests: $*"
  python -m pytest -q -p no:cacheprovider "$@"
  exit
fi

# Dodo's TypeScript SDK against the same stack, with Node's own test runner.
node_tests() {
  step "Dodo's TypeScript SDK (node --test tests/node/)"
  node --test --test-timeout=120000 tests/node/*.test.mjs
}
if [[ $mode == node ]]; then
  node_tests
  exit
fi

step "integration tests"
# The handler glue, in-process against this stack's DynamoDB.
cargo test --workspace --features functions/failpoints --test handler_glue -- --ignored
python -m pytest tests -q -p no:cacheprovider --ignore=tests/after_suite
node_tests

step "fuzzing against openapi.yaml"
infra/fuzz.sh

step "after the suite: each function's policy against what it did in this run, and no secret in any log"
python -m pytest tests/after_suite -q -p no:cacheprovider --rootdir=tests

step "make build --check: the arm64 artifact (linked without LTO), each bootstrap run under qemu"
infra/build.sh --check
step "done"
