#!/usr/bin/env bash
# `make dev`: installs what is missing, starts the local stack, mints API keys
# and serves every route on one port with `cargo lambda watch`. Ctrl-C stops
# everything it started.
set -euo pipefail
STACK_DIR="${STACK_DIR:-$(cd "$(dirname "$0")/.." && pwd -P)/.dev}"
DYNAMODB_PORT="${DYNAMODB_PORT:-8000}"
SES_PORT="${SES_PORT:-8005}"
KMS_PORT="${KMS_PORT:-$((SES_PORT + 1))}"
API_PORT="${API_PORT:-9000}"
TABLE_NAME="${TABLE_NAME:-licensing}"
source "$(dirname "$0")/local-env.sh"
cd "$ROOT"

infra/bootstrap.sh
mkdir -p "$STACK_DIR"
infra/stack.sh start
scheduler=""
trap '[[ -n $scheduler ]] && kill "$scheduler" 2>/dev/null; infra/stack.sh stop' EXIT
# The stack's two KMS keys: the first signs offline licenses, both are in the JWK Set.
OFFLINE_LICENSE_KEY_IDS="$(cat "$STACK_DIR/kms-key-ids")"
export OFFLINE_LICENSE_KEY_IDS
cargo build --workspace --bins
mint_dev_keys

api="http://127.0.0.1:$API_PORT"
cat <<TXT

Local stack is up.
  API               $api
  DynamoDB Local    $AWS_ENDPOINT_URL_DYNAMODB   (table $TABLE_NAME)
  SES inbox viewer  http://127.0.0.1:$SES_PORT/
  KMS stand-in      $AWS_ENDPOINT_URL_KMS   (keys $OFFLINE_LICENSE_KEY_IDS)
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
python infra/schedule.py "$api" deliver-webhooks 10 >"$STACK_DIR/schedule.log" 2>&1 </dev/null &
scheduler=$!
cargo lambda watch -q -A 127.0.0.1 -P "$API_PORT"
