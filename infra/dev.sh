#!/usr/bin/env bash
# `make dev`: installs what is missing, starts the local stack, mints API keys,
# serves every route on one port with `cargo lambda watch` and the API
# reference page beside it. Ctrl-C stops everything it started.
set -euo pipefail
STACK_DIR="${STACK_DIR:-$(cd "$(dirname "$0")/.." && pwd -P)/.dev}"
DYNAMODB_PORT="${DYNAMODB_PORT:-8000}"
SES_PORT="${SES_PORT:-8005}"
KMS_PORT="${KMS_PORT:-$((SES_PORT + 1))}"
S3_PORT="${S3_PORT:-$((SES_PORT + 2))}"
API_PORT="${API_PORT:-9000}"
DOCS_PORT="${DOCS_PORT:-9001}"
TABLE_NAME="${TABLE_NAME:-licensing}"
source "$(dirname "$0")/local-env.sh"
cd "$ROOT"

say() { printf 'make dev: %s\n' "$*" >&2; }

# One make dev per state directory. The lock lives as long as fd 9 is open in
# this script; everything long-lived is started with 9>&- so that a server
# left behind never holds it.
mkdir -p "$STACK_DIR"
lock="$STACK_DIR/dev.lock"
exec 9<>"$lock"
if ! flock -n 9; then
  holder="$(cat "$lock" 2>/dev/null || true)"
  echo "make dev is already running (pid ${holder:-unknown}, state in $STACK_DIR)." >&2
  echo "Use that one (its banner lists the URLs and keys), or stop it with Ctrl-C in its terminal${holder:+ or kill $holder}." >&2
  exit 1
fi
echo $$ >"$lock"

# --- stopping ----------------------------------------------------------------
# Set before anything starts, so that whatever has started is stopped however
# the script ends: Ctrl-C, an error, or cargo lambda watch exiting.
docs="" scheduler="" watch="" stack_started=false

# Pid and start time of every descendant of $1, read from /proc. cargo lambda
# runs each function in a session of its own, so no process group holds them.
descendants() {
  local -A children=()
  local stat line pid ppid rest
  for stat in /proc/[0-9]*/stat; do
    { read -r line <"$stat"; } 2>/dev/null || continue
    pid="${line%% *}" rest="${line##*) }"
    read -r _ ppid _ <<<"$rest"
    children[$ppid]+=" $pid"
  done
  local queue=("$1") child
  while ((${#queue[@]})); do
    for child in ${children[${queue[0]}]:-}; do
      echo "$child:$(start_time "$child")"
      queue+=("$child")
    done
    queue=("${queue[@]:1}")
  done
}

# Field 22 of /proc/PID/stat, which tells a process from a later one given
# the same pid; nothing once the process has ended (a zombie has ended).
start_time() {
  local line fields
  { read -r line <"/proc/$1/stat"; } 2>/dev/null || return 0
  read -ra fields <<<"${line##*) }"
  [[ ${fields[0]} == Z ]] || echo "${fields[19]}"
}

# alive PID:START_TIME
alive() {
  local started
  started="$(start_time "${1%%:*}")"
  [[ -n $started && $started == "${1#*:}" ]]
}

# wait_gone TENTHS PID:START_TIME...: waits up to TENTHS tenths of a second in all.
wait_gone() {
  local tenths="$1" entry; shift
  for entry in "$@"; do
    while alive "$entry" && ((tenths-- > 0)); do sleep 0.1; done
  done
  return 0
}

signal_all() {
  local sig="$1" entry; shift
  for entry in "$@"; do
    if alive "$entry"; then kill -"$sig" "${entry%%:*}" 2>/dev/null || true; fi
  done
}

stop_watch() {
  [[ -n $watch ]] || return 0
  # Listed first: once cargo lambda exits, its functions belong to init.
  local tree
  mapfile -t tree < <(descendants "$watch")
  kill -TERM "$watch" 2>/dev/null || true
  wait_gone 100 "$watch:$(start_time "$watch")"
  kill -KILL "$watch" 2>/dev/null || true
  wait "$watch" 2>/dev/null || true
  # cargo lambda stops its functions itself; whatever it left is stopped here.
  signal_all TERM "${tree[@]}"
  wait_gone 50 "${tree[@]}"
  signal_all KILL "${tree[@]}"
}

cleanup() {
  trap '' INT TERM HUP   # a second Ctrl-C does not cut the cleanup short
  stop_watch
  local pid
  for pid in $docs $scheduler; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in $docs $scheduler; do wait "$pid" 2>/dev/null || true; done
  if $stack_started; then infra/stack.sh stop; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

# Holding the lock, a stack service still recorded in $STACK_DIR was left by
# a make dev that was killed outright: stop it, as that one would have.
if compgen -G "$STACK_DIR/*.pid" >/dev/null; then infra/stack.sh stop 9>&-; fi

# --- ports -------------------------------------------------------------------
# Every port checked before anything starts, each busy one named with the
# variable that moves it.
ports_in_use() {
  python3 - "$@" <<'EOF'
import socket, sys
for arg in sys.argv[1:]:
    name, port = arg.split("=")
    try:
        s = socket.socket(socket.AF_INET6)
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        addr = ("::", int(port))
    except OSError:
        s = socket.socket(socket.AF_INET)
        addr = ("0.0.0.0", int(port))
    # As the servers bind: sockets in TIME_WAIT do not count.
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(addr)
    except OSError:
        print(name, port)
    finally:
        s.close()
EOF
}
declare -A seen_port=()
checks=()
for var in API_PORT DOCS_PORT DYNAMODB_PORT SES_PORT KMS_PORT S3_PORT; do
  port="${!var}"
  if ! [[ $port =~ ^[0-9]+$ ]] || ((port < 1 || port > 65535)); then
    say "$var=$port is not a port number"
    exit 1
  fi
  if [[ -n ${seen_port[$port]:-} ]]; then
    say "$var and ${seen_port[$port]} are both $port: give each its own port"
    exit 1
  fi
  seen_port[$port]="$var"
  checks+=("$var=$port")
done
busy="$(ports_in_use "${checks[@]}")"
if [[ -n $busy ]]; then
  while read -r var port; do
    say "port $port is already in use ($var); stop what listens there, or choose another port: $var=<port> make dev"
  done <<<"$busy"
  exit 1
fi

# --- starting ----------------------------------------------------------------
infra/bootstrap.sh 9>&-
stack_started=true
infra/stack.sh start 9>&-
# The stack's two KMS keys: the first signs offline licenses, both are in the JWK Set.
OFFLINE_LICENSE_KEY_IDS="$(cat "$STACK_DIR/kms-key-ids")"
export OFFLINE_LICENSE_KEY_IDS
cargo build --workspace --bins 9>&-
mint_dev_keys

python infra/docs_server.py "$DOCS_PORT" >"$STACK_DIR/docs.log" 2>&1 </dev/null 9>&- &
docs=$!
for _ in $(seq 50); do
  (exec 3<>"/dev/tcp/127.0.0.1/$DOCS_PORT") 2>/dev/null && break
  kill -0 "$docs" 2>/dev/null || { cat "$STACK_DIR/docs.log" >&2; say "the API reference server did not start"; exit 1; }
  sleep 0.1
done

api="http://127.0.0.1:$API_PORT"
cat <<TXT

Local stack is up.
  API               $api
  API reference     http://127.0.0.1:$DOCS_PORT/
  DynamoDB Local    $AWS_ENDPOINT_URL_DYNAMODB   (table $TABLE_NAME)
  SES inbox viewer  http://127.0.0.1:$SES_PORT/
  KMS stand-in      $AWS_ENDPOINT_URL_KMS   (keys $OFFLINE_LICENSE_KEY_IDS)
  S3 (moto)         $AWS_ENDPOINT_URL_S3   (bucket $FILES_BUCKET)
  API keys          $STACK_DIR/keys.json

  export BUSINESS_KEY=$(dev_key business)
  export HOST_KEY=$(dev_key host)
  export ORGANIZATION_KEY=$(dev_key organization)

  curl -s -X POST $api/entitlements -H "Authorization: Bearer \$BUSINESS_KEY" \\
       -H 'Content-Type: application/json' \\
       -d '{"name": "Pro license", "integration_type": "license_key", "integration_config": {"activations_limit": 3, "fulfillment_mode": "manual"}}'
  curl -s $api/entitlements -H "Authorization: Bearer \$BUSINESS_KEY"

  Webhook deliveries  the deliver-webhooks function runs continuously, as its
                      schedule runs it in AWS; its log: $STACK_DIR/schedule.log

Serving routes with cargo lambda watch (Ctrl-C stops everything).
TXT
# Local receivers (http://127.0.0.1:...) are allowed as webhook endpoints here only.
export WEBHOOK_ALLOW_LOOPBACK=true
python infra/schedule.py "$api" deliver-webhooks 10 >"$STACK_DIR/schedule.log" 2>&1 </dev/null 9>&- &
scheduler=$!
# In the background, so that this script's traps run as soon as Ctrl-C comes
# (a trap waits for a foreground command to end). Files that are not Rust
# sources or manifests do not restart the functions: see .cargolambdaignore.
# The routes are template.yaml's (infra/router.py), so they are the deployed ones.
python infra/router.py >"$STACK_DIR/router.toml"
cargo lambda watch -q --global "$STACK_DIR/router.toml" -A 127.0.0.1 -P "$API_PORT" 9>&- &
watch=$!
status=0
wait "$watch" || status=$?
watch=""
say "cargo lambda watch exited (status $status)"
exit "$status"
