# The two commands a newcomer needs, and a few for every day.
.PHONY: dev test fuzz verify bench capacity build keys pool-shards credit-shards openapi events fmt lint

dev: ## start the local stack and serve every route on http://127.0.0.1:9000
	infra/dev.sh

test: ## the whole suite against a local stack of its own
	infra/test.sh

fuzz: ## schemathesis over openapi.yaml against a local stack of its own
	infra/test.sh fuzz

verify: ## sixteen clients per object while DynamoDB is cut, processes die and writes are throttled; each history checked for linearizability (SEED=<seed> repeats one)
	VERIFY_SEED=$(SEED) infra/test.sh verify

bench: ## DynamoDB/SES calls and time per route, the integration tests as workload
	infra/test.sh bench

capacity: ## one hot license key's activations/s, one pool's seat assignments/s and one balance's debits/s, unsharded and sharded, behind a per-item write throttle
	infra/test.sh capacity

build: ## sam build: an arm64 bootstrap per function in .aws-sam/build, no Docker needed
	infra/build.sh

keys: ## mint an API key on the make dev stack: make keys PRINCIPAL=business:bus_123 (NAME="Acme" names a business's portal)
	infra/mint-key.sh $(PRINCIPAL) $(if $(NAME),--name "$(NAME)")

pool-shards: ## split an organization's pool over shard items (or SHARDS=off): make pool-shards ACCOUNT=y-y-y-delilah CODE=ACNU SHARDS=8
	infra/pool-shards.sh $(ACCOUNT) $(CODE) $(SHARDS)

credit-shards: ## split a customer's credit balance over shard items (or SHARDS=off): make credit-shards BUSINESS=bus_1 CREDIT=cde_1 CUSTOMER=cus_1 SHARDS=8
	infra/credit-shards.sh $(BUSINESS) $(CREDIT) $(CUSTOMER) $(SHARDS)

openapi: ## regenerate openapi.yaml from the handlers' #[utoipa::path], infra/openapi/document.yaml and the wire types
	cargo run -q -p licensing-openapi

events: ## rewrite each route's API Gateway event in events/ from template.yaml
	.venv/bin/python infra/route_events.py

fmt:
	cargo fmt --all

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
	.venv/bin/cfn-lint template.yaml
