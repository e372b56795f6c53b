"""The cold request: exec to the first answer of a real request, over TLS, at a
Lambda-like share of a CPU; then warm requests at a few shares.

What Lambda does, and what stands in for it here:

- DynamoDB over TLS: a TLS terminator on loopback (`TlsTerminator`) in front of
  DynamoDB Local, with a certificate from a local CA made for the run. The
  functions trust the CA through the standard setting, `SSL_CERT_FILE` (the
  SDK's rustls client loads its roots from there), so the first DynamoDB call
  pays a real handshake and a real load of the trusted roots.
- A share of a CPU: Lambda gives a function CPU in proportion to its memory,
  one vCPU at 1,769 MB, so 128 MB is 7.2% of one. `CpuShare` puts the process
  in a cgroup with a CFS quota of that share (period 100 ms, the kernel's
  default); without cgroups it falls back to stopping and continuing the
  process on the same duty cycle (SIGSTOP/SIGCONT), a coarser equal.
- Init at full speed: the share applies from the first poll for an event, when
  Lambda's init phase ends. Init runs unthrottled, as Lambda's does (a public
  measurement of aws-sdk-dynamodb at 128 MB: a TLS handshake costs about 745 ms
  in the first request and about 54 ms when done during init).

Each start: exec the binary, hand it its event (events/<name>.json with real
API keys), read when the answer came back and the request's own log line
(`elapsed_us`, `aws_us`). Then `warm` more of the same request, one at a time.
"""

import http.server
import json
import os
import pathlib
import shutil
import signal
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import asyncio
import datetime
import ipaddress
import math
import re

ROOT = pathlib.Path(__file__).resolve().parents[1]
RUNTIME_PREFIX = "/2018-06-01/runtime/invocation/"
FULL_VCPU_MB = 1769
CURVE_SIZES = [128, 256, 512, 1024, 1769]
CFS_PERIOD_US = 100_000


def share_of(memory_mb):
    return min(1.0, memory_mb / FULL_VCPU_MB)


class CpuShare:
    """Limits processes to `share` of one CPU from when `limit(pid)` is called."""

    def __init__(self, share):
        self.share = share
        self.group = None
        self.stoppers = []
        for root, quota_file in (("/sys/fs/cgroup/cpu", "cpu.cfs_quota_us"), ("/sys/fs/cgroup", "cpu.max")):
            if not os.path.exists(os.path.join(root, quota_file if quota_file != "cpu.max" else "cgroup.controllers")):
                continue
            group = os.path.join(root, f"licensing-bench-{os.getpid()}-{int(share * 1000)}")
            try:
                os.makedirs(group, exist_ok=True)
                quota = max(1000, int(CFS_PERIOD_US * share))
                if quota_file == "cpu.max":
                    with open(os.path.join(group, "cpu.max"), "w") as f:
                        f.write(f"{quota} {CFS_PERIOD_US}")
                else:
                    with open(os.path.join(group, "cpu.cfs_period_us"), "w") as f:
                        f.write(str(CFS_PERIOD_US))
                    with open(os.path.join(group, "cpu.cfs_quota_us"), "w") as f:
                        f.write(str(quota))
                self.group = group
                break
            except OSError:
                try:
                    os.rmdir(group)
                except OSError:
                    pass
        self.how = (f"cgroup {self.group} (CFS quota {self.share:.1%} of one CPU per {CFS_PERIOD_US // 1000} ms)"
                    if self.group else
                    f"SIGSTOP/SIGCONT duty cycle ({self.share:.1%} running per {CFS_PERIOD_US // 1000} ms): no writable cgroup")

    def limit(self, pid):
        if self.share > 1.0:
            return
        if self.group:
            try:
                with open(os.path.join(self.group, "cgroup.procs"), "w") as f:
                    f.write(str(pid))
                return
            except OSError:
                self.group = None  # fall back to the duty cycle below
        stop = threading.Event()
        self.stoppers.append(stop)

        def cycle():
            run_s = CFS_PERIOD_US / 1e6 * self.share
            rest_s = CFS_PERIOD_US / 1e6 - run_s
            while not stop.is_set():
                time.sleep(run_s)
                try:
                    os.kill(pid, signal.SIGSTOP)
                    time.sleep(rest_s)
                    os.kill(pid, signal.SIGCONT)
                except ProcessLookupError:
                    return

        threading.Thread(target=cycle, daemon=True).start()

    def release(self):
        for stop in self.stoppers:
            stop.set()
        self.stoppers = []

    def close(self):
        self.release()
        if self.group:
            for _ in range(50):
                try:
                    os.rmdir(self.group)
                    return
                except OSError:
                    time.sleep(0.1)  # the killed process leaves the group a moment later


def make_ca(directory):
    """A CA and a certificate for 127.0.0.1 and localhost signed by it: (ca file, cert file, key file)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "licensing bench CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    paths = [os.path.join(directory, name) for name in ("ca.pem", "server.pem", "server.key")]
    with open(paths[0], "wb") as f:
        f.write(ca.public_bytes(serialization.Encoding.PEM))
    with open(paths[1], "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(paths[2], "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    return paths


class TlsTerminator:
    """TLS on a loopback port, plain TCP to `upstream_port` behind it."""

    def __init__(self, upstream_port, cert, key):
        self.upstream_port = upstream_port
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(cert, key)
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()
        self.ready.wait(10)

    def serve(self):
        asyncio.set_event_loop(self.loop)
        self.server = self.loop.run_until_complete(asyncio.start_server(self.handle, "127.0.0.1", 0, ssl=self.context))
        self.port = self.server.sockets[0].getsockname()[1]
        self.ready.set()
        self.loop.run_forever()
        self.server.close()

    def close(self):
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)

    async def handle(self, reader, writer):
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:
            writer.close()
            return

        async def pipe(source, sink):
            try:
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            except (OSError, ssl.SSLError):
                pass
            finally:
                sink.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))


class RuntimeApi(http.server.ThreadingHTTPServer):
    """Hands out `requests` events per start (the same bytes, or `event(i)` for
    the i-th) and times each answer."""

    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), RuntimeHandler)
        self.lock = threading.Lock()
        self.reset(b"{}", 1, lambda: None)

    def reset(self, event, requests, on_first_poll):
        with self.lock:
            self.event = event
            self.requests = requests
            self.on_first_poll = on_first_poll
            self.handed = 0
            self.first_poll = None
            self.handed_at = {}
            self.answered_at = {}
            self.done = threading.Event()
            self.released = threading.Event()


class RuntimeHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        api = self.server
        if not self.path.startswith(RUNTIME_PREFIX + "next"):
            return self.reply(404, b"{}")
        with api.lock:
            if api.first_poll is None:
                api.first_poll = time.perf_counter()
                api.on_first_poll()
            number = api.handed
            api.handed += 1
        if number >= api.requests:
            api.done.set()
            api.released.wait(60)
            self.close_connection = True
            return
        body = api.event(number) if callable(api.event) else api.event
        api.handed_at[number] = time.perf_counter()
        self.reply(200, body, {
            "Lambda-Runtime-Aws-Request-Id": f"bench-{number}",
            "Lambda-Runtime-Deadline-Ms": str(int(time.time() * 1000) + 30_000),
            "Lambda-Runtime-Invoked-Function-Arn": "arn:aws:lambda:us-east-1:123456789012:function:bench",
            "Lambda-Runtime-Trace-Id": "Root=1-00000000-000000000000000000000000;Sampled=0",
        })

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        parts = self.path[len(RUNTIME_PREFIX):].split("/")
        if len(parts) == 2 and parts[0].startswith("bench-"):
            self.server.answered_at[int(parts[0][len("bench-"):])] = time.perf_counter()
        self.reply(202, b"{}")

    def reply(self, status, body, headers=None):
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def request_lines(output):
    """The `request` log lines a function printed, in order."""
    lines = []
    for line in output.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        fields = record.get("fields", {})
        if fields.get("message") == "request":
            lines.append(fields)
    return lines


def start_once(api, binary, event, env, cpu, warm):
    """One cold start and `warm` requests after it: a dict of times in ms."""
    holder = {}
    api.reset(event, 1 + warm, lambda: cpu.limit(holder["pid"]))
    out = tempfile.TemporaryFile()
    with api.lock:  # the first poll must find the pid
        exec_at = time.perf_counter()
        process = subprocess.Popen([str(binary)], env=env, stdout=out, stderr=subprocess.DEVNULL)
        holder["pid"] = process.pid
    try:
        if not api.done.wait(60):
            raise RuntimeError(f"{binary.name} did not answer its {1 + warm} requests")
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
        api.released.set()
        cpu.release()
    out.seek(0)
    lines = request_lines(out.read().decode(errors="replace"))
    first = lines[0] if lines else {}
    warm_ms = [(api.answered_at[i] - api.handed_at[i]) * 1000 for i in range(1, 1 + warm)]
    return {
        "init_ms": (api.first_poll - exec_at) * 1000,
        "first_ms": (api.answered_at[0] - api.handed_at[0]) * 1000,
        "total_ms": (api.answered_at[0] - exec_at) * 1000,
        "first_aws_ms": first.get("aws_us", 0) / 1000,
        "status": first.get("status"),
        "statuses": [line.get("status") for line in lines],
        "warm_ms": statistics.median(warm_ms) if warm_ms else None,
    }


def events_with_keys(names, keys):
    """Each function's event with the placeholder API keys replaced by real ones."""
    found = {}
    for name in names:
        text = (ROOT / "events" / f"{name}.json").read_text()
        for placeholder, key in keys.items():
            text = text.replace(placeholder, key)
        found[name] = text.encode()
    return found


class Stack:
    """The TLS terminator, its CA, and the environment a function starts with."""

    def __init__(self, bin_dir):
        self.dir = tempfile.mkdtemp(prefix="cold-request-")
        ca, cert, key = make_ca(self.dir)
        upstream = int(os.environ["AWS_ENDPOINT_URL_DYNAMODB"].rsplit(":", 1)[1].strip("/"))
        self.tls = TlsTerminator(upstream, cert, key)
        self.api = RuntimeApi()
        threading.Thread(target=self.api.serve_forever, daemon=True).start()
        self.env = dict(os.environ)
        self.env.update(
            AWS_LAMBDA_RUNTIME_API=f"127.0.0.1:{self.api.server_port}",
            AWS_LAMBDA_FUNCTION_VERSION="1",
            RUST_LOG="info",
            # Every request here comes from one address: the public routes' count must not refuse them.
            PUBLIC_RATE_LIMIT="1000000",
            # The standard settings: an https endpoint, and the CA trusted through SSL_CERT_FILE.
            AWS_ENDPOINT_URL_DYNAMODB=f"https://localhost:{self.tls.port}",
            SSL_CERT_FILE=ca,
        )
        self.env.pop("AWS_LAMBDA_MAX_CONCURRENCY", None)
        self.env.pop("SSL_CERT_DIR", None)
        self.bin_dir = bin_dir
        self.idle_table = f"{os.environ.get('TABLE_NAME', 'licensing')}-idle"

    def run(self, name, event, memory_mb, warm=0, extra_env=None):
        env = {**self.env, "AWS_LAMBDA_FUNCTION_NAME": name, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory_mb),
               **(extra_env or {})}
        if name == "deliver-webhooks":
            env["TABLE_NAME"] = self.idle_table
        cpu = CpuShare(share_of(memory_mb))
        try:
            return start_once(self.api, self.bin_dir / (name if name != "floor-warm" else "floor"), event, env, cpu, warm)
        finally:
            cpu.close()

    def close(self):
        self.api.shutdown()
        self.api.server_close()
        self.tls.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def measure(bin_dir, functions, keys, starts, memory_mb=128):
    """{name: [result of each start]} for the floor (a cold read, and warmed in init) and every function."""
    stack = Stack(bin_dir)
    probe = CpuShare(share_of(memory_mb))
    print(f"CPU share at {memory_mb} MB: {probe.how}")
    probe.close()
    events = events_with_keys(functions, keys)
    floor_event = events["get-entitlement"]
    runs = {"floor": (floor_event, {}), "floor-warm": (floor_event, {"FLOOR_WARM_CONNECTION": "1"})}
    runs.update({name: (events[name], {}) for name in functions})
    results = {name: [] for name in runs}
    try:
        for _ in range(starts):
            for name, (event, extra) in runs.items():
                results[name].append(stack.run(name, event, memory_mb, extra_env=extra))
    finally:
        stack.close()
    return results


def report(results):
    """Each function's cold request against the floor's that opens its connection during init, as they
    all do ("floor-warm"); the floor that opens it in its first call ("floor") is the before."""

    def med(rows, field):
        return statistics.median(r[field] for r in rows)

    floor_total = med(results["floor-warm"], "total_ms")
    header = (f"{'binary':32} {'status':>6} {'init ms':>8} {'request ms':>10} {'calls ms':>9} "
              f"{'calls share':>11} {'total ms':>9} {'x floor':>7}")
    print(header)
    print("-" * len(header))
    worst, shares = (0.0, ""), {}
    for name, rows in results.items():
        floor = name.startswith("floor")
        total = med(rows, "total_ms")
        ratio = total / floor_total
        # The floor logs no line of its own: its request is its one GetItem and nothing else.
        calls = med(rows, "first_ms" if floor else "first_aws_ms")
        shares[name] = calls / total if total else 0
        statuses = sorted({str(r["status"]) for r in rows})
        print(f"{name:32} {'/'.join(statuses):>6} {med(rows, 'init_ms'):8.1f} {med(rows, 'first_ms'):10.1f} "
              f"{calls:9.1f} {shares[name]:11.0%} {total:9.1f} {ratio:7.2f}")
        if not floor:
            worst = max(worst, (ratio, name))
    functions = [share for name, share in shares.items() if not name.startswith("floor")]
    print(f"\nfirst call's share of the cold request: before (connection opened by the first call, floor) "
          f"{shares['floor']:.0%}; after (opened during init) floor-warm {shares['floor-warm']:.0%}, "
          f"functions {min(functions):.0%} to {max(functions):.0%}")
    print(f"worst function: cold request {worst[0]:.2f}x floor-warm's ({worst[1]}; target <= 1.2)")
    return worst


def http_event(function, path_parameters, key=None, body=None):
    """An API Gateway HTTP API event for `function`'s route, from its file in events/
    (which has the method and route key), with these ids, API key and body."""
    event = json.loads((ROOT / "events" / f"{function}.json").read_text())
    route_path = event["routeKey"].split(" ", 1)[1]
    path = re.sub(r"\{([^/]+)\}", lambda m: path_parameters[m.group(1)], route_path)
    event["rawPath"] = path
    event["requestContext"]["http"]["path"] = path
    event["headers"].pop("authorization", None)
    if key:
        event["headers"]["authorization"] = f"Bearer {key}"
    if path_parameters:
        event["pathParameters"] = path_parameters
    if body is not None:
        event["headers"]["content-type"] = "application/json"
        event["body"] = json.dumps(body)
    return json.dumps(event).encode()


def curve_cases(api_url, mint):
    """{function: (event for the i-th request, the status every answer must have)}, on data made here
    so that each is an ordinary success: a read, a seat assignment, an activation, an auto-fulfilled grant."""
    import httpx

    tag = f"{int(time.time())}{os.getpid()}"
    business_key = mint(f"business:bench_curve_{tag}")
    host_id, org_id = f"bench-curve-host-{tag}", f"bench-curve-org-{tag}"
    host_key, org_key = mint(f"host:{host_id}"), mint(f"organization:{org_id}")

    def call(key, method, path, body, expected):
        answer = httpx.request(method, api_url + path, json=body, headers={"Authorization": f"Bearer {key}"}, timeout=60)
        assert answer.status_code == expected, f"{method} {path}: {answer.status_code} {answer.text}"
        return answer.json()

    entitlement = call(business_key, "POST", "/entitlements", {
        "name": "Bench curve", "integration_type": "license_key",
        "integration_config": {"activations_limit": 3, "fulfillment_mode": "auto"}}, 201)["id"]
    key = f"BENCH-CURVE-{tag}"
    call(business_key, "POST", "/license_keys", {"customer_id": f"cus_curve_{tag}", "key": key,
                                                  "product_id": entitlement, "activations_limit": None}, 201)
    products = [{"code": "CURVE", "quantity": 1_000_000}]
    call(host_key, "PUT", f"/lrm/api/host/{host_id}/license", {"products": products}, 200)
    call(host_key, "PUT", f"/lrm/api/host/{host_id}/organization/{org_id}/license", {"productQuantities": products}, 200)
    serial = iter(range(10**9))  # unique users, devices and payments across every start and size

    def each(make):
        return lambda _: make(next(serial))

    return {
        "get-entitlement": (http_event("get-entitlement", {"entitlement_id": entitlement}, business_key), 200),
        "assign-user-licenses": (each(lambda n: http_event(
            "assign-user-licenses", {"accountId": org_id}, org_key,
            {"userIds": [f"user-{n}"], "userBundleCodes": ["CURVE"]})), 200),
        "activate-license": (each(lambda n: http_event(
            "activate-license", None, None, {"license_key": key, "name": f"device-{n}"})), 201),
        "issue-grant": (each(lambda n: http_event(
            "issue-grant", {"entitlement_id": entitlement}, business_key,
            {"customer_id": f"cus_curve_{tag}_{n}", "customer_email": f"curve-{n}@example.com",
             "customer_name": "Bench Buyer", "payment_id": f"pay_curve_{tag}_{n}"})), 201),
    }


def memory_curve(bin_dir, cases, sizes, starts, warm):
    """Cold and warm request times of each case at each memory size, and what a request costs there.
    Every answer must have its case's status: a curve of failures would say nothing."""
    stack = Stack(bin_dir)
    # arm64 in us-east-1: per GB-second and per request.
    gb_second, per_request = 0.0000133334, 0.20 / 1e6
    header = f"{'function':24} {'MB':>5} {'CPU':>5} {'cold ms':>8} {'warm ms':>8} {'$ per 1M warm':>13} {'$ x ms':>9}"
    print(header)
    print("-" * len(header))
    curve = {}
    try:
        for name, (event, status) in cases.items():
            for size in sizes:
                rows = [stack.run(name, event, size, warm=warm) for _ in range(starts)]
                wrong = [r["statuses"] for r in rows if r["statuses"] != [status] * (1 + warm)]
                assert not wrong, f"{name} at {size} MB: answers {wrong[0]}, expected all {status}"
                cold = statistics.median(r["total_ms"] for r in rows)
                warm_ms = statistics.median(r["warm_ms"] for r in rows)
                # Billed per millisecond, rounded up.
                cost = (size / 1024 * math.ceil(warm_ms) / 1000 * gb_second + per_request) * 1e6
                curve[(name, size)] = (cold, warm_ms, cost)
                print(f"{name:24} {size:5} {share_of(size):5.0%} {cold:8.1f} {warm_ms:8.1f} {cost:13.3f} "
                      f"{cost * warm_ms:9.1f}")
    finally:
        stack.close()
    print()
    for size in sizes:
        rows = [curve[(name, size)] for name in cases]
        print(f"{size:5} MB: warm {statistics.mean(r[1] for r in rows):7.1f} ms, cold {statistics.mean(r[0] for r in rows):7.1f} ms,"
              f" ${statistics.mean(r[2] for r in rows):.3f} per 1M warm requests (mean of the {len(rows)} functions)")
    return curve


if __name__ == "__main__":
    sys.exit("run by bench/run.py")
