# Sourced by dev.sh and test.sh: where the local stack listens, and the
# environment the functions and tools need to reach it. Only the standard AWS
# variables point the SDK at the emulators; the functions know nothing of them.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
KMS_PORT="${KMS_PORT:-$((SES_PORT + 1))}"
S3_PORT="${S3_PORT:-$((SES_PORT + 2))}"
FILES_BUCKET="${FILES_BUCKET:-licensing-files}"
export STACK_DIR DYNAMODB_PORT SES_PORT KMS_PORT S3_PORT API_PORT TABLE_NAME FILES_BUCKET
export AWS_REGION="${AWS_REGION:-us-east-1}"
export AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local
unset AWS_PROFILE AWS_SESSION_TOKEN
export AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:$DYNAMODB_PORT"
export AWS_ENDPOINT_URL_SESV2="http://127.0.0.1:$SES_PORT"
export AWS_ENDPOINT_URL_KMS="http://127.0.0.1:$KMS_PORT"
export AWS_ENDPOINT_URL_S3="http://127.0.0.1:$S3_PORT"
export SENDER_EMAIL="${SENDER_EMAIL:-licenses@example.com}"
export PATH="$ROOT/.venv/bin:$PATH"

# The seeds' default host (seed 001) and organization, so their calls work as written.
DEV_HOST_ID=feb0dd79-85b6-483b-b297-0e49a1aa5b7d
DEV_ORGANIZATION_ID=y-y-y-delilah

# Mints one key per principal kind into $STACK_DIR/keys.json.
mint_dev_keys() {
  local business_id="bus_$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
  local mint="${CARGO_TARGET_DIR:-$ROOT/target}/debug/mint-api-key"
  {
    printf '{"business": %s,\n' "$("$mint" "business:$business_id" --name "Dev Software Ltd")"
    printf ' "host": %s,\n' "$("$mint" "host:$DEV_HOST_ID")"
    printf ' "organization": %s}\n' "$("$mint" "organization:$DEV_ORGANIZATION_ID")"
  } >"$STACK_DIR/keys.json"
}

# A key from keys.json: dev_key business|host|organization
dev_key() {
  python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]]["key"])' "$STACK_DIR/keys.json" "$1"
}
