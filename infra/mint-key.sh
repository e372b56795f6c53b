#!/usr/bin/env bash
# Mints an API key: infra/mint-key.sh business:<id> | host:<id> | organization:<id> [--name "<business name>"]
# Against make dev's local stack by default; with --aws, against the table
# named by TABLE_NAME through your usual AWS credentials and region.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ ${1:-} == --aws ]]; then
  shift
  : "${TABLE_NAME:?set TABLE_NAME to the TableName output of the stack}"
else
  DYNAMODB_PORT="${DYNAMODB_PORT:-8000}" SES_PORT="${SES_PORT:-8005}" TABLE_NAME="${TABLE_NAME:-licensing}"
  source infra/local-env.sh
fi
cargo run -q -p licensing-admin --bin mint-api-key -- "$@"
