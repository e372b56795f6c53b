"""A webhook receiver for the tests: an HTTP server on 127.0.0.1 that records
every delivery and checks its signature.

Each endpoint a test registers gets a path of its own on the receiver (and the
receiver knows its secret), so one receiver can serve several endpoints, and a
late retry of an earlier test's endpoint that lands on a reused port is kept
apart (`strays`) instead of being counted. Every delivery is verified twice:
with the Dodo SDK's `client.webhooks.unwrap` and with the Standard Webhooks
library itself; any delivery either refuses lands in `failures`.

The receiver answers 200 unless told otherwise (`answer_next(503, ...)`), and
can be stopped and started again on the same port; while it is stopped a
connection is refused. It speaks HTTP/1.0, so no connection outlives its
request and a stopped receiver really is unreachable.
"""

import json
import threading
import time
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import standardwebhooks
from dodopayments import DodoPayments

# Only for `webhooks.unwrap`, which needs no network.
_UNWRAP_CLIENT = DodoPayments(bearer_token="unused", base_url="http://127.0.0.1:9", max_retries=0)
# The SDK builds its event models on first use, and pydantic's build is not safe
# across threads (a delivery arriving during another's build failed with "type object
# 'PayoutFailedWebhookEvent' has no attribute '__pydantic_core_schema__'").
_UNWRAP_LOCK = threading.Lock()


# Across every receiver of the run, for the summary at its end: deliveries that
# arrived, those answered 2xx, and duplicates (a 2xx for an event the same
# endpoint had already taken).
TALLY = {"deliveries": 0, "accepted": 0, "duplicates": 0, "unverified": 0}
_ACCEPTED_IDS = set()
_TALLY_LOCK = threading.Lock()


def _count(path, webhook_id, status, verified):
    with _TALLY_LOCK:
        TALLY["deliveries"] += 1
        TALLY["unverified"] += 0 if verified else 1
        if 200 <= status < 300:
            TALLY["accepted"] += 1
            if (path, webhook_id) in _ACCEPTED_IDS:
                TALLY["duplicates"] += 1
            _ACCEPTED_IDS.add((path, webhook_id))


def wait_for(condition, what, timeout=20.0, interval=0.1):
    """Polls `condition` until it returns something truthy, and returns that; fails after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


@dataclass(frozen=True)
class Delivery:
    seq: int  # arrival order at the receiver
    path: str
    headers: dict  # lower-case names
    body: bytes
    received_at: float  # time.time() when the request arrived
    answered: int  # the status the receiver answered

    @property
    def id(self):
        return self.headers.get("webhook-id")

    @property
    def event(self):
        return json.loads(self.body)

    @property
    def type(self):
        return self.event["type"]

    @property
    def data(self):
        return self.event["data"]

    @property
    def subject(self):
        """What delivery order is kept per (design): the grant, or the license key."""
        data = self.data
        return data["license_key_id"] if self.type.startswith("license_key_instance.") else data["id"]


@dataclass
class Endpoint:
    """A webhook endpoint registered on the service and on the receiver."""

    id: str
    path: str
    url: str
    secret: str
    details: object  # the SDK's WebhookDetails as created


def verification_errors(body, headers, secret):
    """Why each library refuses the delivery (empty if both accept it)."""
    errors = []
    try:
        with _UNWRAP_LOCK:
            _UNWRAP_CLIENT.webhooks.unwrap(body.decode("utf-8"), headers=dict(headers), key=secret)
    except Exception as error:  # noqa: BLE001 - any refusal is a finding
        errors.append(f"dodopayments unwrap: {type(error).__name__}: {error}")
    try:
        standardwebhooks.Webhook(secret).verify(body, dict(headers))
    except Exception as error:  # noqa: BLE001
        errors.append(f"standardwebhooks: {type(error).__name__}: {error}")
    return errors


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, receiver):
        super().__init__(address, _Handler)
        self.receiver = receiver

    def handle_error(self, request, client_address):
        pass  # a sender that hangs up early is the sender's business


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.0"

    def log_message(self, *_):
        pass

    def _body(self):
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def do_POST(self):
        arrived = time.time()
        body = self._body()
        headers = {name.lower(): value for name, value in self.headers.items()}
        status = self.server.receiver._record(self.path, headers, body, arrived)
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self):
        self.send_response(405)
        self.send_header("Content-Length", "0")
        self.end_headers()


class Receiver:
    def __init__(self):
        self.port = 0
        self.status = 200  # the answer when nothing is queued
        self._queued = []
        self._secrets = {}  # path -> secret
        self._deliveries = []
        self.failures = []  # (delivery, [errors]) for each delivery a library refused
        self.strays = []  # deliveries to a path no endpoint of this receiver has
        self._lock = threading.Lock()
        self._server = None
        self._thread = None

    # -- running ---------------------------------------------------------
    def start(self):
        assert self._server is None, "already running"
        self._server = _Server(("127.0.0.1", self.port), self)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def stop(self):
        """Closes the listening socket: until `start`, connections to the port are refused."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(5)
            self._server = None

    @property
    def running(self):
        return self._server is not None

    def answer_next(self, *statuses):
        """The next deliveries get these statuses, in order; then `self.status` again."""
        with self._lock:
            self._queued.extend(statuses)

    # -- endpoints -------------------------------------------------------
    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def endpoint(self, client, **create):
        """Creates a webhook endpoint through the SDK, pointing at a fresh path of this receiver."""
        path = f"/hooks/{uuid.uuid4().hex}"
        details = client.webhooks.create(url=self.url(path), **create)
        secret = client.webhooks.retrieve_secret(details.id).secret
        with self._lock:
            self._secrets[path] = secret
        return Endpoint(id=details.id, path=path, url=self.url(path), secret=secret, details=details)

    # -- what arrived ----------------------------------------------------
    def deliveries(self, endpoint=None):
        """Deliveries so far, in arrival order, optionally only those to one endpoint."""
        with self._lock:
            found = list(self._deliveries)
        return [d for d in found if endpoint is None or d.path == endpoint.path]

    def accepted(self, endpoint=None):
        """Deliveries this receiver answered with a 2xx: what a consumer would have processed."""
        return [d for d in self.deliveries(endpoint) if 200 <= d.answered < 300]

    def _record(self, path, headers, body, arrived):
        with self._lock:
            secret = self._secrets.get(path)
        if secret is None:
            with self._lock:
                self.strays.append((path, headers, body, arrived))
            return 404
        # Verified before it is listed, so a test that sees the delivery also sees its verdict.
        errors = verification_errors(body, headers, secret)
        with self._lock:
            status = self._queued.pop(0) if self._queued else self.status
            delivery = Delivery(seq=len(self._deliveries), path=path, headers=headers, body=body,
                                received_at=arrived, answered=status)
            self._deliveries.append(delivery)
            if errors:
                self.failures.append((delivery, errors))
        _count(path, headers.get("webhook-id"), status, not errors)
        return status
