"""Writes events/<function>.json, the API Gateway HTTP API (v2) event of each
route of template.yaml, for `cargo lambda invoke`, `make build`'s bootstrap
check (infra/check_bootstraps.py) and `make bench`'s cold starts.

    python infra/route_events.py        # or: make events

An event is derived, not typed: the method, path and route key from the
function's first HttpApi event in template.yaml (an alias such as the
allocations' POST is the same function), the path's ids from
SAMPLE_PATH_VALUES, the API key placeholder from the `Access` its route file
serves with, and a body or query string from SAMPLE_REQUESTS when the route
takes one. The scheduled functions' events (`<function>.json`, and variants
`<function>-<variant>.json`) are written by hand and left alone; any other
file in events/ names no function and is removed. tests/test_route_lists.py
fails while events/ differs from what this writes.
"""

import json
import os
import re
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from router import ROOT, TEMPLATE, template_functions, template_routes  # noqa: E402

EVENTS_DIR = os.path.join(ROOT, "events")
ROUTES_DIR = os.path.join(ROOT, "functions", "src", "routes")

# The seeds' host and organization (UiPath's sample requests), whose keys the
# callers mint for HOST_KEY and ORGANIZATION_KEY.
SEED_HOST = "feb0dd79-85b6-483b-b297-0e49a1aa5b7d"
SEED_ORGANIZATION = "y-y-y-delilah"

# A path parameter's value, by its name, or by `<segment before it>/{name}`
# where one name means different ids on different routes.
SAMPLE_PATH_VALUES = {
    "entitlement_id": "ent_01JD0000000000000000000000",
    "credit_entitlement_id": "cde_01JD0000000000000000000000",
    "grant_id": "entg_01JD0000000000000000000000",
    "webhook_id": "wh_01JD0000000000000000000000",
    "license_keys/{id}": "lk_01JD0000000000000000000000",
    "license_key_instances/{id}": "lki_01JD0000000000000000000000",
    "customer_id": "cus_123",
    "product_id": "pdt_123",
    "locale": "fr",
    "file_id": "file_01JD0000000000000000000000",
    "business_id": "bus_seed",
    "hostAccountId": SEED_HOST,
    "organizationId": SEED_ORGANIZATION,
    "accountId": SEED_ORGANIZATION,
    "serviceScopeId": "y1968",
    "serviceType": "orchestrator",
    "groupId": "developers",
    "userId": "ada",
    "customerLicense/{applicationId}": "ent_01JD0000000000000000000000",
    "customerId": "cus_ada",
    "userLicense/{applicationId}": "ACNU",
    "token": "cps_" + "0" * 43,
    "assets/{name}": "portal.css",
    "credit-entitlements/{id}": "cde_01JD0000000000000000000000",
    "license-key-instances/{id}": "lki_01JD0000000000000000000000",
}

# What a route's sample request sends besides its path: only routes that take
# a body, or whose sample names a query parameter or a header, are here. check_bootstraps.py's
# expected answers depend on these (the seeds' quantities, the ids above).
SAMPLE_REQUESTS = {
    # The page reads its session from the cookie: one of its shape that names no session.
    "get-portal-page": {"headers": {"cookie": "portal_session=cpc_" + "0" * 43}},
    "create-entitlement": {"body": {"name": "Pro license", "integration_type": "license_key",
                                    "integration_config": {"activations_limit": 3, "fulfillment_mode": "manual"}}},
    "list-entitlements": {"query": {"page_size": "5"}},
    "put-entitlement-translation": {"body": {"name": "Licence Pro", "description": "Pour un poste"}},
    "list-entitlement-translations": {"query": {"locale": "fr,de"}},
    "start-file-upload": {"body": {"filename": "manual.pdf", "content_type": "application/pdf", "size": 10485760}},
    "update-entitlement": {"body": {"name": "Pro license v2"}},
    "create-credit-entitlement": {"body": {"name": "API calls", "unit": "calls", "precision": 2,
                                           "rollover_enabled": False, "overage_enabled": False}},
    "list-credit-entitlements": {"query": {"page_size": "5"}},
    "update-credit-entitlement": {"body": {"name": "Tokens"}},
    "put-credit-entitlement-translation": {"body": {"name": "Appels", "unit": "appels"}},
    "list-credit-entitlement-translations": {"query": {"locale": "fr,de"}},
    "create-credit-ledger-entry": {"body": {"amount": "10", "entry_type": "credit"}},
    "receive-dodo-event": {"body": {"business_id": "bus_dodo", "type": "dispute.opened",
                                    "timestamp": "2026-12-06T10:00:00Z", "data": {}}},
    "update-product": {"body": {"entitlements": [{"entitlement_id": "ent_01JD0000000000000000000000"}]}},
    "update-payment-provider": {"body": {"webhook_secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}},
    "issue-grant": {"body": {"customer_id": "cus_123", "customer_email": "buyer@example.com", "payment_id": "pay_123"}},
    "list-entitlement-grants": {"query": {"status": "Pending"}},
    "fulfil-grant": {"body": {"key": "ACME-PRO-0001-XYZ", "activations_limit": 3}},
    "revoke-grant": {"body": {"reason": "refunded"}},
    "list-license-keys": {"query": {"status": "active"}},
    "import-license-key": {"body": {"customer_id": "cus_123", "key": "IMPORTED-0001-Q7ZX",
                                    "product_id": "ent_01JD0000000000000000000000", "activations_limit": 2}},
    "update-license-key": {"body": {"activations_limit": 5}},
    "list-license-key-instances": {"query": {"license_key_id": "lk_01JD0000000000000000000000"}},
    "rename-license-key-instance": {"body": {"name": "Office laptop"}},
    "create-webhook": {"body": {"url": "https://example.com/webhooks/licensing", "description": "Licensing events",
                                "filter_types": ["entitlement_grant.created", "license_key.created"],
                                "metadata": {"env": "bootstrap"}}},
    "list-webhooks": {"query": {"limit": "5"}},
    "update-webhook": {"body": {"description": "Licensing events v2", "disabled": True}},
    "update-webhook-headers": {"body": {"headers": {"X-Environment": "bootstrap"}}},
    "list-webhook-deliveries": {"query": {"limit": "5"}},
    "activate-license": {"body": {"license_key": "ACME-PRO-0001-XYZ", "name": "Ada's laptop"}},
    "deactivate-license": {"body": {"license_key": "ACME-PRO-0001-XYZ",
                                    "license_key_instance_id": "lki_01JD0000000000000000000000"}},
    "validate-license": {"body": {"license_key": "ACME-PRO-0001-XYZ"}},
    "heartbeat-license": {"body": {"license_key": "ACME-PRO-0001-XYZ",
                                   "license_key_instance_id": "lki_01JD0000000000000000000000"}},
    "checkout-license": {"body": {"license_key": "ACME-PRO-0001-XYZ",
                                  "license_key_instance_id": "lki_01JD0000000000000000000000"}},
    "put-host-license": {"body": {"products": [
        {"code": "UNATT", "quantity": 10}, {"code": "AIG", "quantity": 5}, {"code": "TAUNATT", "quantity": 5},
        {"code": "NONPR", "quantity": 8}, {"code": "TIE", "quantity": 4}, {"code": "ACNU", "quantity": 20}]}},
    "allocate-organization-license": {"body": {"productQuantities": [
        {"code": "UNATT", "quantity": 2}, {"code": "AIG", "quantity": 1}, {"code": "TAUNATT", "quantity": 3}]}},
    "allocate-service-license": {"body": {"tenantName": "Default", "productQuantities": [
        {"code": "UNATT", "quantity": 5}, {"code": "NONPR", "quantity": 4}, {"code": "TIE", "quantity": 2}]}},
    "put-group-license": {"body": {"userBundleCodes": ["ACNU"], "useExternalLicense": False}},
    "assign-user-licenses": {"body": {"userIds": ["ada", "grace"], "userBundleCodes": ["ACNU"],
                                      "useExternalLicense": False}},
    "list-user-licenses": {"query": {"userBundleCode": "ACNU"}},
}

# The placeholder an event carries for the API key its route's `Access` admits
# (callers replace it with a minted key); None: the route takes no key.
ACCESS_KEYS = {
    "Business": "BUSINESS_KEY",
    "Host": "HOST_KEY",
    "HostOrOrganization": "HOST_KEY",
    "Organization": "ORGANIZATION_KEY",
    "Public": None,
    "Published": None,
    "Signed": None,
    # A portal session is made by a link, not minted: their events carry a token
    # of its shape that names no session (401; 503 with DynamoDB out of reach).
    "Portal": "cps_" + "0" * 43,
    "PortalPage": None,
}


def placeholder_principals(business):
    """{placeholder: principal} to mint keys for, `business` naming the business."""
    return {"BUSINESS_KEY": f"business:{business}", "HOST_KEY": f"host:{SEED_HOST}",
            "ORGANIZATION_KEY": f"organization:{SEED_ORGANIZATION}"}


def access(binary, routes_dir=ROUTES_DIR):
    """The `Access` the route file serves with; a file naming none (the JWK Set's
    `serve_key_set`) takes no key."""
    with open(os.path.join(routes_dir, f"{binary.replace('-', '_')}.rs"), encoding="utf-8") as f:
        kinds = set(re.findall(r"\bAccess::(\w+)", f.read()))
    if len(kinds) > 1:
        raise ValueError(f"{binary}.rs serves with more than one Access: {sorted(kinds)}")
    return kinds.pop() if kinds else "Published"


def path_value(previous, name, route):
    for key in (f"{previous}/{{{name}}}", name):
        if key in SAMPLE_PATH_VALUES:
            return SAMPLE_PATH_VALUES[key]
    raise KeyError(f"no sample value for {{{name}}} of {route}: add it to SAMPLE_PATH_VALUES in infra/route_events.py")


def route_event(method, path, key, sample):
    """The HTTP API event of one request to `method path`, as `make dev` would receive it."""
    segments = path.split("/")
    parameters, raw = {}, []
    for previous, segment in zip([""] + segments, segments):
        if segment.startswith("{") and segment.endswith("}"):
            name = segment[1:-1]
            parameters[name] = path_value(previous, name, f"{method} {path}")
            raw.append(parameters[name])
        else:
            raw.append(segment)
    raw_path = "/".join(raw)
    route_key = f"{method} {path}"
    headers = {}
    if key:
        headers["authorization"] = f"Bearer {key}"
    if "body" in sample:
        headers["content-type"] = "application/json"
    headers.update(sample.get("headers", {}))
    headers["host"] = "127.0.0.1:9000"
    event = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": raw_path,
        "rawQueryString": urllib.parse.urlencode(sample.get("query", {})),
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "domainName": "127.0.0.1",
            "domainPrefix": "local",
            "http": {"method": method, "path": raw_path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1",
                     "userAgent": "curl/8"},
            "requestId": "local-request",
            "routeKey": route_key,
            "stage": "$default",
            "time": "23/Nov/2026:12:00:00 +0000",
            "timeEpoch": 1795435200000,
        },
        "isBase64Encoded": False,
    }
    if parameters:
        event["pathParameters"] = parameters
    if sample.get("query"):
        event["queryStringParameters"] = sample["query"]
    if "body" in sample:
        event["body"] = json.dumps(sample["body"])
    return event


def route_events(template=TEMPLATE, routes_dir=ROUTES_DIR, samples=None):
    """{file name: text} of every route function's event."""
    samples = SAMPLE_REQUESTS if samples is None else samples
    first = {}
    for (method, path), binary in template_routes(template).items():
        first.setdefault(binary, (method, path))
    unknown = sorted(set(samples) - set(first))
    if unknown:
        raise KeyError(f"SAMPLE_REQUESTS names no route function of template.yaml: {', '.join(unknown)}")
    events = {}
    for binary, (method, path) in first.items():
        kind = access(binary, routes_dir)
        if kind not in ACCESS_KEYS:
            raise KeyError(f"{binary}.rs serves with Access::{kind}: add its key placeholder to ACCESS_KEYS")
        event = route_event(method, path, ACCESS_KEYS[kind], samples.get(binary, {}))
        events[f"{binary}.json"] = json.dumps(event, indent=2, ensure_ascii=False) + "\n"
    return events


def scheduled_functions(template=TEMPLATE):
    """The functions with no HttpApi event: their events are written by hand."""
    return [binary for binary, (_, resource) in template_functions(template).items()
            if not any(e["Type"] == "HttpApi" for e in resource["Properties"].get("Events", {}).values())]


def stray(names, template=TEMPLATE):
    """The files of `names` (in events/) that are neither a route's event nor a
    scheduled function's (`<function>.json`, `<function>-<variant>.json`)."""
    routes = set(template_routes(template).values())
    scheduled = scheduled_functions(template)
    return sorted(name for name in names
                  if not name.endswith(".json")
                  or not (name[:-5] in routes or name[:-5] in scheduled
                          or any(name.startswith(f"{s}-") for s in scheduled)))


def main():
    wanted = route_events()
    for name, text in wanted.items():
        path = os.path.join(EVENTS_DIR, name)
        old = open(path, encoding="utf-8").read() if os.path.exists(path) else None
        if old != text:
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
            print(f"{'wrote' if old is None else 'updated'} events/{name}")
    for name in stray(os.listdir(EVENTS_DIR)):
        os.remove(os.path.join(EVENTS_DIR, name))
        print(f"removed events/{name}: it names no function of template.yaml")
    missing = [f"{s}.json" for s in scheduled_functions() if not os.path.exists(os.path.join(EVENTS_DIR, f"{s}.json"))]
    if missing:
        sys.exit(f"write the scheduled functions' events by hand: events/{', events/'.join(missing)}")


if __name__ == "__main__":
    main()
