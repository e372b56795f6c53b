"""A one-event Lambda Runtime API, to run a function binary as Lambda runs it.

`run_once` starts the binary with AWS_LAMBDA_RUNTIME_API pointing here, hands
it one event, and returns what it answered, or None if the process died
first. Used by the crash tests, which stop a function right after its commit.
"""

import json
import os
import subprocess
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PREFIX = "/2018-06-01/runtime"


class _Runtime(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # a poll still open when the process is stopped: nothing to report

    def __init__(self, event):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.event = event
        self.request_id = str(uuid.uuid4())
        self.handed_out = False
        self.lock = threading.Lock()
        self.answered = threading.Event()
        self.response = None
        self.error = None


class _Handler(BaseHTTPRequestHandler):
    server: _Runtime

    def log_message(self, *_):
        pass

    def _reply(self, status, body=b"", headers=()):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path != f"{PREFIX}/invocation/next":
            return self._reply(404)
        with self.server.lock:
            first = not self.server.handed_out
            self.server.handed_out = True
        if not first:
            # One event per run: further polls wait until the run is over.
            self.server.answered.wait(120)
            return self._reply(500)
        body = json.dumps(self.server.event).encode()
        self._reply(200, body, [
            ("Lambda-Runtime-Aws-Request-Id", self.server.request_id),
            ("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 30_000)),
            ("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:local"),
            ("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000"),
            ("Content-Type", "application/json"),
        ])

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        if self.path.endswith("/response"):
            self.server.response = json.loads(body)
        elif self.path.endswith("/error"):
            self.server.error = body.decode()
        self._reply(202)
        if self.path.endswith(("/response", "/error")):
            self.server.answered.set()


def http_event(method, route_key, path, path_parameters, headers, body=None):
    """An API Gateway HTTP API (payload 2.0) event, as AWS sends it."""
    return {
        "version": "2.0",
        "routeKey": f"{method} {route_key}",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"content-type": "application/json", "host": "127.0.0.1", **{k.lower(): v for k, v in headers.items()}},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "domainName": "127.0.0.1",
            "domainPrefix": "local",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "test"},
            "requestId": str(uuid.uuid4()),
            "routeKey": f"{method} {route_key}",
            "stage": "$default",
            "time": "24/Nov/2026:12:00:00 +0000",
            "timeEpoch": 1795521600000,
        },
        "isBase64Encoded": False,
        "pathParameters": path_parameters,
        "body": None if body is None else json.dumps(body),
    }


def run_once(function, event, extra_env=None, timeout=60):
    """Runs `function` from FUNCTION_BIN_DIR for one event: (its answer or None, its exit code or None)."""
    binary = os.path.join(os.environ["FUNCTION_BIN_DIR"], function)
    answer, _, code = run_command([binary], function, event, extra_env, timeout)
    return answer, code


def run_command(command, function, event, extra_env=None, timeout=60):
    """Runs `command` as the function `function` for one event: (its answer or None,
    the error it reported or None, its exit code or None while it was still running)."""
    runtime = _Runtime(event)
    thread = threading.Thread(target=runtime.serve_forever, daemon=True)
    thread.start()
    env = {
        **os.environ,
        "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{runtime.server_address[1]}",
        "AWS_LAMBDA_FUNCTION_NAME": function,
        "AWS_LAMBDA_FUNCTION_VERSION": "1",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
        "RUST_LOG": "info",
        # As the suite's functions have it (infra/test.sh): the public routes'
        # count per address is for the test that sets its own limit, not for
        # whichever test happens to follow many public calls from 127.0.0.1.
        "PUBLIC_RATE_LIMIT": os.environ.get("PUBLIC_RATE_LIMIT", "1000000"),
        **(extra_env or {}),
    }
    env.pop("AWS_LAMBDA_MAX_CONCURRENCY", None)
    log_dir = os.environ.get("FUNCTION_LOG_DIR") or "/tmp"
    log = open(os.path.join(log_dir, f"{function}.one-event.log"), "ab")
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    code = None
    try:
        # Either the answer arrives (the process then polls on and is stopped) or the process dies.
        while not runtime.answered.wait(0.05):
            code = process.poll()
            if code is not None:
                break
            timeout -= 0.05
            if timeout <= 0:
                raise TimeoutError(f"{function} neither answered nor exited")
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(10)
        log.close()
        runtime.answered.set()
        runtime.shutdown()
        runtime.server_close()
    return runtime.response, runtime.error, code
