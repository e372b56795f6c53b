"""The per-route workload of `make bench`.

`run(api_url, mint, rounds)` drives every HTTP function of the service against
a running local stack, so that the functions' own log lines (status,
`elapsed_us`, DynamoDB and SES calls) can be grouped per function and outcome:

1. it makes the data the routes need through the API itself, with API keys
   minted for fresh principals (a business, a host and one organization under
   it), including everything a success case uses up (Pending grants to fulfil,
   entitlements to delete, instances to deactivate, seated users to release, ...);
2. it sends every case once, unmeasured, so each function process is running
   and has the case's API key in its cache;
3. it then sends, one request at a time, `rounds` requests of each function's
   ordinary success case and `rounds` of its commonest error case, and checks
   that every answer has the status the case expects.

It returns when the measured phase started (unix seconds) and the status of
each function's two cases. A case answering anything else raises an
AssertionError naming the function, the case and the answer: a benchmark that
measures the wrong thing must not pass quietly. So does a route of template.yaml
with no case, or a case that is no request to its function's route
(tests/test_route_lists.py builds every case, with no stack, to check both).
"""

import base64
import dataclasses
import datetime
import json
import os
import re
import sys
import time
import uuid
from typing import Any, Callable

import httpx
import standardwebhooks

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "infra"))
from router import template_routes  # noqa: E402

# The routes the cases are held to: a case must be a request to a route of its function.
ROUTES = template_routes()

# Well-formed ids that name nothing.
UNKNOWN_ENTITLEMENT = "ent_01HF0000000000000000000000"
UNKNOWN_GRANT = "entg_01HF0000000000000000000000"
UNKNOWN_LICENSE_KEY = "lk_01HF0000000000000000000000"
UNKNOWN_INSTANCE = "lki_01HF0000000000000000000000"
UNKNOWN_WEBHOOK = "wh_01HF0000000000000000000000"

MANUAL = {
    "name": "Bench license",
    "integration_type": "license_key",
    "integration_config": {
        "activations_limit": 3,
        "duration_count": 1,
        "duration_interval": "Year",
        "activation_message": "Paste it under Settings > License.",
        "fulfillment_mode": "manual",
    },
    "description": "Desktop app",
}
# The default fulfilment mode: a grant is delivered at once with a generated key.
AUTO = {**MANUAL, "name": "Bench auto license", "integration_config": {**MANUAL["integration_config"], "fulfillment_mode": "auto"}}
# Floating: an instance lives an hour past its last heartbeat; offline licenses last a day at most.
LEASED = {**AUTO, "name": "Bench floating license",
          "integration_config": {**AUTO["integration_config"], "activation_lease_seconds": 3600, "offline_ttl_seconds": 86400}}
DIGITAL = {"name": "Bench downloads", "integration_type": "digital_files", "integration_config": {"digital_file_ids": []}}
BENCH_FILE = {"file": ("bench.txt", b"bench file\n" * 100, "text/plain")}
METERED = {"name": "API calls", "unit": "calls", "precision": 0, "overage_enabled": False, "rollover_enabled": False}
UNKNOWN_METER = "cde_01JD0000000000000000000000"
FRENCH = {"name": "Licence Pro", "description": "Pour un poste de travail"}
HOOK = {"url": "https://example.com/bench-hook", "description": "bench receiver"}
# The Standard Webhooks specification's example secret: the one a seller pastes from Dodo.
DODO_SECRET = {"webhook_secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}


@dataclasses.dataclass
class Case:
    """One kind of request to one function. `path` and `body` may be functions of
    the request's index (0 for the warm-up, then 1..rounds) when each request
    needs its own thing."""

    function: str
    outcome: str  # "success" or "error"
    status: int
    api: httpx.Client
    method: str
    path: Any
    body: Any = None
    params: dict | None = None
    # A delivery signed as a payment provider signs it: its headers from the body as sent.
    sign: Any = None
    # A multipart/form-data body instead of JSON: httpx's `files`.
    files: Any = None

    def request(self, index):
        """(path, body) of the index-th request, which must be one to a route of the function."""
        path = self.path(index) if callable(self.path) else self.path
        body = self.body(index) if callable(self.body) else self.body
        if not serves(self.function, self.method, path):
            raise AssertionError(f"{self.function} {self.outcome}: {self.method} {path} is no route of "
                                 f"{self.function} in template.yaml")
        return path, body

    def send(self, index):
        path, body = self.request(index)
        if self.sign:
            content = json.dumps(body)
            answer = self.api.request(self.method, path, content=content, headers=self.sign(content), params=self.params)
        elif self.files:
            answer = self.api.request(self.method, path, files=self.files, params=self.params)
        else:
            answer = self.api.request(self.method, path, json=body, params=self.params)
        if answer.status_code != self.status:
            raise AssertionError(
                f"{self.function} {self.outcome}: {self.method} {path} answered {answer.status_code}, "
                f"expected {self.status}: {answer.text}"
            )
        return answer


def http_functions():
    """The functions that serve a route of template.yaml (all but the scheduled ones)."""
    return sorted(set(ROUTES.values()))


def serves(function, method, path):
    """Whether `method path` (ids filled in) is a request to a route of `function` in template.yaml."""
    return any(
        binary == function and route_method == method
        and re.fullmatch(re.sub(r"\\{[^/]+?\\}", "[^/]+", re.escape(route_path)), path)
        for (route_method, route_path), binary in ROUTES.items()
    )


@dataclasses.dataclass
class Form:
    """A multipart/form-data body: form fields, then files (httpx's `data` and `files`)."""

    files: dict
    data: dict | None = None


def call(api, method, path, status, body=None):
    """A setup request; its answer must have `status`. `api` may be the httpx
    module itself, for a request to an absolute URL (a presigned upload)."""
    if isinstance(body, Form):
        answer = api.request(method, path, data=body.data, files=body.files)
    else:
        answer = api.request(method, path, json=body)
    if answer.status_code != status:
        raise AssertionError(f"setup: {method} {path} answered {answer.status_code}, expected {status}: {answer.text}")
    return answer.json() if answer.content else None


def portal_cookie(api, token):
    """The session cookie a browser gets by opening a portal link with `token`."""
    opened = api.get(f"/customer-portal/session/{token}")
    if opened.status_code != 303:
        raise AssertionError(f"setup: opening a portal link answered {opened.status_code}: {opened.text}")
    return opened.cookies["portal_session"]


def products(quantities):
    return [{"code": code, "quantity": quantity} for code, quantity in quantities.items()]


def run(api_url: str, mint: Callable[[str], str], rounds: int, on_measure: Callable[[], Any] | None = None) -> dict:
    """Sets up, warms and measures (see the module's docstring). `on_measure`, if
    given, is called once the warm-up is done, just before the measured phase."""
    tag = uuid.uuid4().hex[:12]
    n = rounds + 1  # the warm-up takes one of everything a success case uses up

    def client(key=None):
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=api_url.rstrip("/"), headers=headers, timeout=120)

    host_id, org_id = f"bench-host-{tag}", f"bench-org-{tag}"
    business = client(mint(f"business:bench_{tag}"))
    host = client(mint(f"host:{host_id}"))
    org = client(mint(f"organization:{org_id}"))
    public = client()
    stranger = client(f"lsk_bench_unknown_{tag}")  # a key that was never minted (or was revoked)

    # --- entitlements, grants and license keys (the business) ---
    doomed = [call(business, "POST", "/entitlements", 201, MANUAL)["id"] for _ in range(n)]
    translated = [call(business, "POST", "/entitlements", 201, MANUAL)["id"] for _ in range(n)]
    for entitlement_id in translated:
        call(business, "PUT", f"/entitlements/{entitlement_id}/translations/fr", 201, FRENCH)
    manual = call(business, "POST", "/entitlements", 201, MANUAL)["id"]
    digital = call(business, "POST", "/entitlements", 201, DIGITAL)["id"]
    # An entitlement holds at most 20 files: each request index adds and deletes on a shelf of its own.
    shelves = [call(business, "POST", "/entitlements", 201, DIGITAL)["id"] for _ in range(n)]
    doomed_files = [call(business, "POST", f"/entitlements/{shelf}/files", 200, Form(BENCH_FILE))["file_id"]
                    for shelf in shelves]
    size = 1000
    uploads = [call(business, "POST", f"/entitlements/{shelf}/files/uploads", 201,
                    {"filename": "big.bin", "content_type": "application/octet-stream", "size": size}) for shelf in shelves]
    for form in uploads:
        call(httpx, "POST", form["upload_url"], 204, Form({"file": ("big.bin", b"b" * size)}, form["fields"]))
    call(business, "PUT", f"/entitlements/{manual}/translations/fr", 201, FRENCH)
    auto = call(business, "POST", "/entitlements", 201, AUTO)["id"]
    metered = call(business, "POST", "/credit-entitlements", 201, METERED)["id"]
    doomed_meters = [call(business, "POST", "/credit-entitlements", 201, METERED)["id"] for _ in range(n)]
    deleted_meters = [call(business, "POST", "/credit-entitlements", 201, METERED)["id"] for _ in range(n)]
    for meter in deleted_meters:
        call(business, "DELETE", f"/credit-entitlements/{meter}", 204)
    translated_meters = [call(business, "POST", "/credit-entitlements", 201, METERED)["id"] for _ in range(n)]
    for meter in translated_meters:
        call(business, "PUT", f"/credit-entitlements/{meter}/translations/fr", 201, {"unit": "appels"})
    call(business, "PUT", f"/credit-entitlements/{metered}/translations/fr", 201, {"unit": "appels"})
    holder = f"cus_bench_{tag}_credits"
    credits = f"/credit-entitlements/{metered}/balances/{holder}"
    call(business, "POST", f"{credits}/ledger-entries", 201, {"amount": str(10 * n), "entry_type": "credit"})

    def buyer(name):
        customer_id = f"cus_bench_{tag}_{name}"
        return {"customer_id": customer_id, "customer_email": f"{customer_id}@example.com", "customer_name": "Bench Buyer"}

    customer = buyer("main")
    customer_id = customer["customer_id"]
    delivered = call(business, "POST", f"/entitlements/{manual}/grants", 201, {**customer, "payment_id": f"pay_{tag}_1"})["id"]
    main_key = f"BENCH-{tag}-MAIN"
    main_key_id = call(business, "POST", f"/grants/{delivered}/license-key", 200, {"key": main_key})["license_key"]["id"]
    pending = call(business, "POST", f"/entitlements/{manual}/grants", 201, {**customer, "payment_id": f"pay_{tag}_2"})["id"]
    to_fulfil = [
        call(business, "POST", f"/entitlements/{manual}/grants", 201, {**buyer(f"f{i}"), "payment_id": f"pay_{tag}_f{i}"})["id"]
        for i in range(n)
    ]
    to_revoke = [
        call(business, "POST", f"/entitlements/{auto}/grants", 201, {**buyer(f"r{i}"), "payment_id": f"pay_{tag}_r{i}"})["id"]
        for i in range(n)
    ]

    def imported(key, limit):
        body = {"customer_id": customer_id, "key": key, "product_id": manual, "activations_limit": limit}
        return call(business, "POST", "/license_keys", 201, body)["id"]

    def activate(key, name="bench laptop"):
        return call(public, "POST", "/licenses/activate", 201, {"license_key": key, "name": name})["id"]

    main_instance = activate(main_key)
    full_key = f"BENCH-{tag}-FULL"  # 2 of 2 activations taken
    full_key_id = imported(full_key, 2)
    activate(full_key)
    activate(full_key)
    spare_key = f"BENCH-{tag}-SPARE"  # room for every activation of the run
    imported(spare_key, n)
    leaving_key = f"BENCH-{tag}-LEAVING"
    imported(leaving_key, None)
    leaving = [activate(leaving_key, f"machine-{i}") for i in range(n)]
    # A key of the floating entitlement (it takes the lease when imported), and a
    # device's instance on it that heartbeat, validate and checkout are measured on.
    leased = call(business, "POST", "/entitlements", 201, LEASED)["id"]
    leased_key = f"BENCH-{tag}-LEASED"
    call(business, "POST", "/license_keys", 201,
         {"customer_id": customer_id, "key": leased_key, "product_id": leased, "activations_limit": 3})
    device = {"license_key": leased_key, "name": "bench laptop", "fingerprint": f"bench-device-{tag}"}
    leased_instance = call(public, "POST", "/licenses/activate", 201, device)["id"]
    on_leased = {"license_key": leased_key, "license_key_instance_id": leased_instance}
    not_on_leased = {"license_key": leased_key, "license_key_instance_id": UNKNOWN_INSTANCE}

    # --- the customer portal (the main customer's, and the credit holder's) ---
    portal_key = f"BENCH-{tag}-PORTAL"
    imported(portal_key, None)
    portal_devices = [activate(portal_key, f"portal-{i}") for i in range(n)]
    downloads = call(business, "POST", f"/entitlements/{digital}/grants", 201, {**customer, "payment_id": f"pay_{tag}_d"})["id"]

    def portal_session(customer_id):
        link = call(business, "POST", f"/customers/{customer_id}/customer-portal/session", 200)["link"]
        return link.rsplit("/", 1)[-1]

    portal_token = portal_session(customer_id)
    portal = client(portal_token)
    holder_portal = client(portal_session(holder))
    browser = httpx.Client(base_url=api_url.rstrip("/"), timeout=120,
                           headers={"Cookie": f"portal_session={portal_cookie(client(), portal_token)}"})
    opener = client()  # keeps the cookies its links set, so no other client holds one
    devices = "/customer-portal/license-key-instances"

    # --- webhook endpoints (the business) ---
    product = f"pdt_bench_{tag}"
    provider_secret = "whsec_" + base64.b64encode(f"bench-{tag}".encode().ljust(32, b"-")).decode()
    call(business, "PUT", "/payment-providers/dodo", 200, {"webhook_secret": provider_secret})

    def signed(content):
        webhook_id = f"msg_bench_{uuid.uuid4().hex}"
        sent = datetime.datetime.now(datetime.timezone.utc)
        signature = standardwebhooks.Webhook(provider_secret).sign(webhook_id, sent, content)
        return {"webhook-id": webhook_id, "webhook-timestamp": str(int(sent.timestamp())),
                "webhook-signature": signature, "content-type": "application/json"}

    of_no_interest = {"business_id": "bus_dodo", "type": "dispute.opened", "timestamp": "2026-12-06T10:00:00Z", "data": {}}
    call(business, "PATCH", f"/products/{product}", 200, {"entitlements": [{"entitlement_id": manual}]})
    webhook = call(business, "POST", "/webhooks", 201, HOOK)["id"]
    doomed_hooks = [call(business, "POST", "/webhooks", 201, HOOK)["id"] for _ in range(n)]

    # --- license allocation (the host, and the organization under it) ---
    seats = 2 * n + 5  # the main user, those released, those assigned, a margin
    host_license = {"products": products({"UNATT": 100, "NONPR": 10, "ACNU": seats + 5}),
                    "startDate": int(time.time()), "endDate": int(time.time()) + 365 * 86400,
                    "subscriptionPlan": "ENTERPRISE"}
    call(host, "PUT", f"/lrm/api/host/{host_id}/license", 200, host_license)
    org_quantities = {"UNATT": 10, "NONPR": 5, "ACNU": seats}
    org_path = f"/lrm/api/host/{host_id}/organization/{org_id}/license"
    call(host, "PUT", org_path, 200, {"productQuantities": products(org_quantities)})
    tenant = {"tenantName": "Bench tenant", "products": products({"UNATT": 4, "NONPR": 2})}
    tenant_path = f"/lrm/api/account/{org_id}/service-license/bench-scope/orchestrator"
    call(host, "PUT", tenant_path, 200, tenant)
    users = f"/lease_/api/account/{org_id}/user-license"
    call(org, "PUT", users, 200, {"userIds": ["ada"], "userBundleCodes": ["ACNU"]})
    leavers = [f"leaver-{i}" for i in range(n)]
    for start in range(0, n, 50):
        call(org, "PUT", users, 200, {"userIds": leavers[start:start + 50], "userBundleCodes": ["ACNU"]})
    group = {"userBundleCodes": ["ACNU"], "useExternalLicense": False}
    call(org, "PUT", f"{users}/group/devs", 200, group)

    # --- the cases: per function, its ordinary success and its commonest error ---
    def case(function, success, error=None):
        """success and error: (status, api, method, path[, body[, params]]); a
        route with no error a client commonly meets has none."""
        return [Case(function, "success", *success)] + ([Case(function, "error", *error)] if error else [])

    no_name = {"integration_type": "license_key", "integration_config": {}}
    cases = [
        # entitlements
        *case("create-entitlement", (201, business, "POST", "/entitlements", MANUAL),
              (422, business, "POST", "/entitlements", no_name)),
        *case("list-entitlements", (200, business, "GET", "/entitlements"),
              (422, business, "GET", "/entitlements", None, {"integration_type": "fax"})),
        *case("get-entitlement", (200, business, "GET", f"/entitlements/{manual}"),
              (404, business, "GET", f"/entitlements/{UNKNOWN_ENTITLEMENT}")),
        *case("update-entitlement", (200, business, "PATCH", f"/entitlements/{manual}", {"description": "Desktop app"}),
              (404, business, "PATCH", f"/entitlements/{UNKNOWN_ENTITLEMENT}", {"description": "Desktop app"})),
        *case("delete-entitlement", (204, business, "DELETE", lambda i: f"/entitlements/{doomed[i]}"),
              (404, business, "DELETE", f"/entitlements/{UNKNOWN_ENTITLEMENT}")),
        # translations
        *case("put-entitlement-translation", (200, business, "PUT", f"/entitlements/{manual}/translations/fr", FRENCH),
              (422, business, "PUT", f"/entitlements/{manual}/translations/xx", FRENCH)),
        *case("list-entitlement-translations", (200, business, "GET", f"/entitlements/{manual}/translations"),
              (404, business, "GET", f"/entitlements/{UNKNOWN_ENTITLEMENT}/translations")),
        *case("delete-entitlement-translation",
              (204, business, "DELETE", lambda i: f"/entitlements/{translated[i]}/translations/fr"),
              (404, business, "DELETE", f"/entitlements/{UNKNOWN_ENTITLEMENT}/translations/fr")),
        # digital files
        *case("upload-entitlement-file",
              (200, business, "POST", lambda i: f"/entitlements/{shelves[i]}/files", None, None, None, BENCH_FILE),
              (422, business, "POST", f"/entitlements/{digital}/files")),
        *case("delete-entitlement-file",
              (204, business, "DELETE", lambda i: f"/entitlements/{shelves[i]}/files/{doomed_files[i]}"),
              (404, business, "DELETE", f"/entitlements/{digital}/files/file_none")),
        *case("start-file-upload",
              (201, business, "POST", f"/entitlements/{digital}/files/uploads",
               {"filename": "big.bin", "content_type": "application/octet-stream", "size": size}),
              (422, business, "POST", f"/entitlements/{digital}/files/uploads",
               {"filename": "big.bin", "content_type": "application/octet-stream", "size": 0})),
        *case("complete-file-upload",
              (200, business, "POST", lambda i: f"/entitlements/{shelves[i]}/files/uploads/{uploads[i]['file_id']}/complete"),
              (404, business, "POST", f"/entitlements/{digital}/files/uploads/file_none/complete")),
        # credit entitlements
        *case("create-credit-entitlement", (201, business, "POST", "/credit-entitlements", METERED),
              (422, business, "POST", "/credit-entitlements", {**METERED, "precision": 11})),
        *case("get-credit-entitlement", (200, business, "GET", f"/credit-entitlements/{metered}"),
              (404, business, "GET", f"/credit-entitlements/{UNKNOWN_METER}")),
        *case("update-credit-entitlement",
              (200, business, "PATCH", f"/credit-entitlements/{metered}", {"description": "Calls to the API"}),
              (404, business, "PATCH", f"/credit-entitlements/{UNKNOWN_METER}", {"description": "Calls to the API"})),
        *case("list-credit-entitlements", (200, business, "GET", "/credit-entitlements"),
              (422, business, "GET", "/credit-entitlements", None, {"deleted": "maybe"})),
        *case("delete-credit-entitlement", (204, business, "DELETE", lambda i: f"/credit-entitlements/{doomed_meters[i]}"),
              (404, business, "DELETE", f"/credit-entitlements/{UNKNOWN_METER}")),
        *case("undelete-credit-entitlement",
              (200, business, "POST", lambda i: f"/credit-entitlements/{deleted_meters[i]}/undelete"),
              (409, business, "POST", f"/credit-entitlements/{metered}/undelete")),
        *case("put-credit-entitlement-translation",
              (200, business, "PUT", f"/credit-entitlements/{metered}/translations/fr", {"unit": "appels"}),
              (422, business, "PUT", f"/credit-entitlements/{metered}/translations/xx", {"unit": "appels"})),
        *case("list-credit-entitlement-translations",
              (200, business, "GET", f"/credit-entitlements/{metered}/translations"),
              (404, business, "GET", f"/credit-entitlements/{UNKNOWN_METER}/translations")),
        *case("delete-credit-entitlement-translation",
              (204, business, "DELETE", lambda i: f"/credit-entitlements/{translated_meters[i]}/translations/fr"),
              (404, business, "DELETE", f"/credit-entitlements/{UNKNOWN_METER}/translations/fr")),
        *case("get-credit-balance", (200, business, "GET", credits),
              (404, business, "GET", f"/credit-entitlements/{metered}/balances/cus_bench_{tag}_none")),
        *case("list-credit-balances", (200, business, "GET", f"/credit-entitlements/{metered}/balances"),
              (404, business, "GET", f"/credit-entitlements/{UNKNOWN_METER}/balances")),
        *case("create-credit-ledger-entry",
              (201, business, "POST", f"{credits}/ledger-entries", {"amount": "1", "entry_type": "debit"}),
              (400, business, "POST", f"{credits}/ledger-entries", {"amount": str(100 * n), "entry_type": "debit"})),
        *case("list-credit-grants", (200, business, "GET", f"{credits}/grants"),
              (422, business, "GET", f"{credits}/grants", None, {"status": "gone"})),
        *case("list-credit-ledger", (200, business, "GET", f"{credits}/ledger"),
              (422, business, "GET", f"{credits}/ledger", None, {"transaction_type": "gift"})),
        *case("list-customer-credit-entitlements", (200, business, "GET", f"/customers/{holder}/credit-entitlements")),
        # the customer portal
        *case("create-portal-session", (200, business, "POST", f"/customers/{customer_id}/customer-portal/session"),
              (404, business, "POST", f"/customers/cus_bench_{tag}_none/customer-portal/session")),
        *case("open-portal-session", (303, opener, "GET", f"/customer-portal/session/{portal_token}"),
              (401, opener, "GET", "/customer-portal/session/cps_" + "0" * 43)),
        *case("get-portal-page", (200, browser, "GET", "/customer-portal"), (401, public, "GET", "/customer-portal")),
        *case("get-portal-asset", (200, public, "GET", "/customer-portal/assets/portal.css"),
              (404, public, "GET", "/customer-portal/assets/none.css")),
        *case("get-portal-business", (200, portal, "GET", "/customer-portal/business"),
              (401, business, "GET", "/customer-portal/business")),
        *case("get-portal-profile", (200, portal, "GET", "/customer-portal/profile")),
        *case("list-portal-entitlements", (200, portal, "GET", "/customer-portal/entitlements"),
              (401, stranger, "GET", "/customer-portal/entitlements")),
        *case("download-portal-files", (200, portal, "GET", f"/customer-portal/entitlements/{downloads}/download"),
              (404, portal, "GET", f"/customer-portal/entitlements/{delivered}/download")),
        *case("list-portal-devices", (200, portal, "GET", devices, None, {"grant_id": delivered}),
              (422, portal, "GET", devices)),
        *case("free-portal-device", (200, portal, "POST", lambda i: f"{devices}/{portal_devices[i]}/deactivate"),
              (404, portal, "POST", f"{devices}/{UNKNOWN_INSTANCE}/deactivate")),
        *case("list-portal-credits", (200, holder_portal, "GET", "/customer-portal/credit-entitlements")),
        *case("list-portal-credit-ledger", (200, holder_portal, "GET", f"/customer-portal/credit-entitlements/{metered}/ledger"),
              (404, holder_portal, "GET", f"/customer-portal/credit-entitlements/{UNKNOWN_METER}/ledger")),
        # products
        *case("update-product", (200, business, "PATCH", f"/products/{product}", {"entitlements": [{"entitlement_id": manual}]}),
              (404, business, "PATCH", f"/products/{product}", {"entitlements": [{"entitlement_id": UNKNOWN_ENTITLEMENT}]})),
        *case("get-product", (200, business, "GET", f"/products/{product}"),
              (404, business, "GET", f"/products/pdt_bench_{tag}_none")),
        # payment providers
        *case("update-payment-provider", (200, business, "PUT", "/payment-providers/dodo", DODO_SECRET),
              (422, business, "PUT", "/payment-providers/dodo", {"webhook_secret": "whsec_short"})),
        *case("receive-dodo-event",
              (204, public, "POST", f"/inbound/dodo/bench_{tag}", of_no_interest, None, signed),
              (401, public, "POST", f"/inbound/dodo/bench_{tag}", of_no_interest)),
        # grants
        *case("issue-grant",
              (201, business, "POST", f"/entitlements/{auto}/grants", lambda i: {**buyer(f"i{i}"), "payment_id": f"pay_{tag}_i{i}"}),
              (422, business, "POST", f"/entitlements/{auto}/grants", {"customer_id": customer_id, "customer_email": "nope"})),
        *case("list-entitlement-grants", (200, business, "GET", f"/entitlements/{manual}/grants"),
              (422, business, "GET", f"/entitlements/{manual}/grants", None, {"status": "Lost"})),
        *case("list-customer-grants", (200, business, "GET", f"/customers/{customer_id}/entitlement-grants"),
              (422, business, "GET", f"/customers/{customer_id}/entitlement-grants", None, {"status": "Lost"})),
        *case("list-customer-entitlements", (200, business, "GET", f"/customers/{customer_id}/entitlements"),
              (401, stranger, "GET", f"/customers/{customer_id}/entitlements")),
        *case("get-grant", (200, business, "GET", f"/grants/{delivered}"),
              (404, business, "GET", f"/grants/{UNKNOWN_GRANT}")),
        *case("fulfil-grant",
              (200, business, "POST", lambda i: f"/grants/{to_fulfil[i]}/license-key", lambda i: {"key": f"BENCH-{tag}-F{i}"}),
              (409, business, "POST", f"/grants/{delivered}/license-key", {"key": f"BENCH-{tag}-LATE"})),
        # The key email went out as the grant was delivered, so within the minute a
        # resend is refused (429 RESEND_TOO_SOON): measured without waiting a minute.
        *case("resend-grant-email", (429, business, "POST", f"/grants/{delivered}/resend-email"),
              (409, business, "POST", f"/grants/{pending}/resend-email")),
        *case("revoke-grant",
              (200, business, "DELETE", lambda i: f"/entitlements/{auto}/grants/{to_revoke[i]}", {"reason": "refunded"}),
              (404, business, "DELETE", f"/entitlements/{auto}/grants/{UNKNOWN_GRANT}", {"reason": "refunded"})),
        *case("get-customer-license", (200, business, "GET", f"/appsmarket/v2/customerLicense/{manual}/{customer_id}"),
              (404, business, "GET", f"/appsmarket/v2/customerLicense/{UNKNOWN_ENTITLEMENT}/{customer_id}")),
        # license keys and their instances
        *case("import-license-key",
              (201, business, "POST", "/license_keys",
               lambda i: {"customer_id": customer_id, "key": f"BENCH-{tag}-I{i}", "product_id": manual}),
              (409, business, "POST", "/license_keys", {"customer_id": customer_id, "key": main_key, "product_id": manual})),
        *case("list-license-keys", (200, business, "GET", "/license_keys"),
              (422, business, "GET", "/license_keys", None, {"status": "lost"})),
        *case("get-license-key", (200, business, "GET", f"/license_keys/{main_key_id}"),
              (404, business, "GET", f"/license_keys/{UNKNOWN_LICENSE_KEY}")),
        *case("update-license-key", (200, business, "PATCH", f"/license_keys/{main_key_id}", {"activations_limit": 5}),
              (422, business, "PATCH", f"/license_keys/{full_key_id}", {"activations_limit": 1})),
        *case("list-license-key-instances",
              (200, business, "GET", "/license_key_instances", None, {"license_key_id": main_key_id}),
              (422, business, "GET", "/license_key_instances", None, {"page_size": "0"})),
        *case("get-license-key-instance", (200, business, "GET", f"/license_key_instances/{main_instance}"),
              (404, business, "GET", f"/license_key_instances/{UNKNOWN_INSTANCE}")),
        *case("rename-license-key-instance",
              (200, business, "PATCH", f"/license_key_instances/{main_instance}", {"name": "bench desktop"}),
              (404, business, "PATCH", f"/license_key_instances/{UNKNOWN_INSTANCE}", {"name": "bench desktop"})),
        # the public routes
        *case("activate-license",
              (201, public, "POST", "/licenses/activate", lambda i: {"license_key": spare_key, "name": f"machine-{i}"}),
              (422, public, "POST", "/licenses/activate", {"license_key": full_key, "name": "one too many"})),
        *case("validate-license", (200, public, "POST", "/licenses/validate", on_leased),
              (422, public, "POST", "/licenses/validate", {"license_key": ""})),
        *case("heartbeat-license", (200, public, "POST", "/licenses/heartbeat", on_leased),
              (404, public, "POST", "/licenses/heartbeat", not_on_leased)),
        *case("checkout-license", (201, public, "POST", "/licenses/checkout", on_leased),
              (404, public, "POST", "/licenses/checkout", not_on_leased)),
        *case("get-jwks", (200, public, "GET", "/.well-known/jwks.json")),
        *case("deactivate-license",
              (200, public, "POST", "/licenses/deactivate",
               lambda i: {"license_key": leaving_key, "license_key_instance_id": leaving[i]}),
              (404, public, "POST", "/licenses/deactivate", {"license_key": leaving_key, "license_key_instance_id": UNKNOWN_INSTANCE})),
        # webhook endpoints
        *case("create-webhook", (201, business, "POST", "/webhooks", HOOK),
              (422, business, "POST", "/webhooks", {"url": "ftp://example.com/bench-hook"})),
        *case("list-webhooks", (200, business, "GET", "/webhooks"),
              (422, business, "GET", "/webhooks", None, {"limit": "0"})),
        *case("get-webhook", (200, business, "GET", f"/webhooks/{webhook}"),
              (404, business, "GET", f"/webhooks/{UNKNOWN_WEBHOOK}")),
        *case("update-webhook", (200, business, "PATCH", f"/webhooks/{webhook}", {"description": "bench receiver"}),
              (404, business, "PATCH", f"/webhooks/{UNKNOWN_WEBHOOK}", {"description": "bench receiver"})),
        *case("delete-webhook", (204, business, "DELETE", lambda i: f"/webhooks/{doomed_hooks[i]}"),
              (404, business, "DELETE", f"/webhooks/{UNKNOWN_WEBHOOK}")),
        *case("get-webhook-secret", (200, business, "GET", f"/webhooks/{webhook}/secret"),
              (404, business, "GET", f"/webhooks/{UNKNOWN_WEBHOOK}/secret")),
        *case("get-webhook-headers", (200, business, "GET", f"/webhooks/{webhook}/headers"),
              (404, business, "GET", f"/webhooks/{UNKNOWN_WEBHOOK}/headers")),
        *case("update-webhook-headers",
              (204, business, "PATCH", f"/webhooks/{webhook}/headers", {"headers": {"X-Bench": "1"}}),
              (404, business, "PATCH", f"/webhooks/{UNKNOWN_WEBHOOK}/headers", {"headers": {"X-Bench": "1"}})),
        *case("list-webhook-deliveries", (200, business, "GET", f"/webhooks/{webhook}/deliveries"),
              (404, business, "GET", f"/webhooks/{UNKNOWN_WEBHOOK}/deliveries")),
        # license allocation: the host
        *case("put-host-license", (200, host, "PUT", f"/lrm/api/host/{host_id}/license", host_license),
              (409, host, "PUT", f"/lrm/api/host/{host_id}/license", {"products": products({"UNATT": 1})})),
        *case("get-host-license", (200, host, "GET", f"/lrm/api/host/{host_id}/license"),
              (404, host, "GET", f"/lrm/api/host/bench-host-{tag}-other/license")),
        *case("allocate-organization-license", (200, host, "PUT", org_path, {"productQuantities": products(org_quantities)}),
              (409, host, "PUT", org_path, {"productQuantities": products({**org_quantities, "UNATT": 1000})})),
        *case("get-organization-license", (200, host, "GET", org_path),
              (404, host, "GET", f"/lrm/api/host/{host_id}/organization/bench-org-{tag}-other/license")),
        *case("list-host-organizations", (200, host, "GET", f"/lrm/api/host/{host_id}/organizations"),
              (404, host, "GET", f"/lrm/api/host/bench-host-{tag}-other/organizations")),
        *case("allocate-service-license", (200, host, "PUT", tenant_path, tenant),
              (409, host, "PUT", f"/lrm/api/account/{org_id}/service-license/bench-scope-2/orchestrator",
               {"tenantName": "Too big", "products": products({"UNATT": 1000})})),
        *case("get-service-license", (200, host, "GET", tenant_path),
              (404, host, "GET", f"/lrm/api/account/{org_id}/service-license/bench-scope-none/orchestrator")),
        *case("list-service-licenses", (200, host, "GET", f"/lrm/api/account/{org_id}/service-licenses"),
              (404, host, "GET", f"/lrm/api/account/bench-org-{tag}-other/service-licenses")),
        *case("list-account-audit", (200, host, "GET", f"/lrm/api/account/{org_id}/audit"),
              (422, host, "GET", f"/lrm/api/account/{org_id}/audit", None, {"page_size": "0"})),
        # license allocation: the organization's users and groups
        *case("assign-user-licenses",
              (200, org, "PUT", users, lambda i: {"userIds": [f"newcomer-{i}"], "userBundleCodes": ["ACNU"]}),
              (409, org, "PUT", users, {"userIds": ["bench-over"], "userBundleCodes": ["IDU"]})),
        *case("get-user-license", (200, org, "GET", f"{users}/ada"),
              (404, org, "GET", f"{users}/bench-nobody")),
        *case("list-user-licenses",
              (200, org, "GET", f"/lease_/api/account/{org_id}/user-licenses", None, {"userBundleCode": "ACNU"}),
              (422, org, "GET", f"/lease_/api/account/{org_id}/user-licenses", None, {"userBundleCode": "acnu"})),
        *case("release-user-license", (204, org, "DELETE", lambda i: f"{users}/{leavers[i]}"),
              (404, org, "DELETE", f"{users}/bench-nobody")),
        *case("put-group-license", (200, org, "PUT", f"{users}/group/devs", group),
              (409, org, "PUT", f"{users}/group/ops", {"userBundleCodes": ["IDU"]})),
        *case("get-group-license", (200, org, "GET", f"{users}/group/devs"),
              (404, org, "GET", f"{users}/group/bench-none")),
        *case("get-user-license-status", (200, org, "GET", "/appsmarket/v2/userLicense/ACNU/ada"),
              (401, stranger, "GET", "/appsmarket/v2/userLicense/ACNU/ada")),
    ]

    covered = {c.function for c in cases}
    missing = sorted(set(http_functions()) - covered)
    if missing:
        raise AssertionError(f"no cases for {', '.join(missing)}")

    for c in cases:  # warm-up, not measured
        c.send(0)

    if on_measure:
        on_measure()
    started_at = time.time()
    for c in cases:
        for index in range(1, n):
            c.send(index)

    for api in (business, host, org, public, stranger):
        api.close()
    result = {}
    for c in cases:
        result.setdefault(c.function, {})[c.outcome] = c.status
    return {"started_at": started_at, "cases": result}
