"""Recorded histories, checked for linearizability (docs/VERIFICATION.md).

`record` runs CLIENTS concurrent clients against one object (a license key, an
organization's pool of one product, a customer's credit balance) through the
real routes, while a nemesis breaks things, and keeps every call as its client
saw it: when it was sent and answered, by the client's own monotonic clock, and
what it asked and was answered. A call whose outcome is unknown (a timeout, a
5xx, a cut connection: Jepsen's `info`) is retried with the same
Idempotency-Key; a definite answer to a retry is the original call's answer,
and a call still unknown at the end is kept as such: it may or may not have
taken effect. A read with no answer says nothing and is left out.

`check` hands the history to `check-history` (infra/verify), which orders it
against the object's sequential model with stateright's LinearizabilityTester
or prints the fewest calls no order explains.

Every choice (each client's calls, the nemesis's timing) comes from one seed,
printed with the history, so a run can be repeated: VERIFY_SEED=<seed>.
"""

import json
import os
import random
import re
import signal
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass, field

import httpx

from test_routes_agree import template_routes

CLIENTS = 16
# Longer than a function's retries under a cut (they give up within 10 s with a 503).
CALL_TIMEOUT_S = 12
# Retries of a call whose outcome is unknown, with the same Idempotency-Key.
RETRY_PAUSES_S = (0.3, 1.0, 2.5)
# Answers that say nothing about whether a write took effect.
UNKNOWN = {"SERVICE_UNAVAILABLE", "IDEMPOTENCY_KEY_IN_USE"}


class Unexpected(Exception):
    """An answer the object's contract does not allow: a defect of its own."""


def answered(what, answer, table):
    """The model's answer to an HTTP answer, from `table`: by (status, code),
    else by status; a function there gives it from the body. Any answer not
    in the table is `Unexpected`."""
    status, body, _ = answer
    code = body.get("code") if isinstance(body, dict) else None
    for found in ((status, code), status):
        if found in table:
            ret = table[found]
            return ret(body) if callable(ret) else ret
    raise Unexpected(what)


def now_us():
    return time.monotonic_ns() // 1000


@dataclass
class History:
    model: str
    init: dict
    seed: int
    calls: list = field(default_factory=list)
    unexpected: list = field(default_factory=list)
    # Answers that left an outcome unknown, by what they were: "no answer", "503", ...
    unknowns: dict = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, call):
        with self.lock:
            self.calls.append(call)

    def tally(self, answer):
        kind = "no answer" if answer is None else str(code_of(answer) or answer[0])
        with self.lock:
            self.unknowns[kind] = self.unknowns.get(kind, 0) + 1

    def counts(self):
        unknown = sum(1 for c in self.calls if c["ret"] is None)
        return len(self.calls), unknown

    def dump(self, path):
        with open(path, "w") as f:
            json.dump({"model": self.model, "init": self.init, "seed": self.seed, "calls": self.calls}, f)


class Client:
    """One client: its own connection, its own random choices, one call at a time."""

    def __init__(self, number, base_url, seed):
        self.number = number
        self.rng = random.Random(f"{seed}/{number}")
        self.http = httpx.Client(base_url=base_url, timeout=CALL_TIMEOUT_S)

    def send(self, request):
        """(status, body, headers), or None when no answer came."""
        method, path, kwargs = request
        try:
            answer = self.http.request(method, path, **kwargs)
        except httpx.HTTPError:
            return None
        try:
            body = answer.json() if answer.content else None
        except ValueError:
            body = None
        return answer.status_code, body, answer.headers


def code_of(answer):
    status, body, _ = answer
    return body.get("code") if isinstance(body, dict) else None


def definite(answer):
    """Whether an answer says for certain what the call did."""
    if answer is None:
        return False
    status = answer[0]
    return not (status >= 500 or status == 429 or code_of(answer) in UNKNOWN)


def perform(client, history, op, request, interpret, write):
    """Sends one call, retrying while its outcome is unknown, and records it.

    `interpret(answer)` turns a definite answer into the model's return, or
    raises Unexpected; `write` says whether the call could change the object
    (an unanswered read is left out)."""
    idem = str(uuid.uuid4())
    method, path, kwargs = request
    if write:
        kwargs = {**kwargs, "headers": {**kwargs.get("headers", {}), "Idempotency-Key": idem}}
    invoked_at = now_us()
    answer = client.send((method, path, kwargs))
    for pause in RETRY_PAUSES_S if write else ():
        if definite(answer):
            break
        history.tally(answer)
        time.sleep(pause)
        answer = client.send((method, path, kwargs))
    returned_at = now_us()
    if not definite(answer):
        history.tally(answer)
        if write:
            history.add({"client": client.number, "op": op, "ret": None, "invoked_at": invoked_at, "returned_at": None})
        return None
    try:
        ret = interpret(answer)
    except Unexpected as problem:
        with history.lock:
            history.unexpected.append(f"{op} -> {answer[0]} {answer[1]}: {problem}")
        return None
    history.add({"client": client.number, "op": op, "ret": ret, "invoked_at": invoked_at, "returned_at": returned_at})
    return ret


def record(history, base_url, run, nemesis=None):
    """CLIENTS clients each run `run(client, history)` at once, with `nemesis` breaking things meanwhile."""
    errors = []

    def client_thread(number):
        client = Client(number, base_url, history.seed)
        try:
            run(client, history)
        except Exception as error:  # a harness defect must fail the run, not vanish with its thread
            errors.append(repr(error))
        finally:
            client.http.close()

    threads = [threading.Thread(target=client_thread, args=(n,)) for n in range(1, CLIENTS + 1)]
    if nemesis:
        nemesis.start()
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        if nemesis:
            nemesis.stop()
    assert not errors, errors
    return history


def check(history, directory):
    """Runs check-history on the history; (linearizable, what it printed)."""
    base = os.path.join(directory, f"{history.model}-{history.seed}")
    path, n = base + ".json", 1
    # A seed repeated (make verify SEED=...) gives one model several histories: keep each.
    while os.path.exists(path):
        n += 1
        path = f"{base}-{n}.json"
    history.dump(path)
    checker = os.path.join(os.environ["FUNCTION_BIN_DIR"], "check-history")
    done = subprocess.run([checker, path], capture_output=True, text=True, timeout=600)
    assert done.returncode in (0, 1), done.stderr
    return done.returncode == 0, done.stdout


# The nemesis.


def proxy_pid():
    with open(os.environ["DYNAMODB_PROXY_PID_FILE"]) as f:
        return int(f.read())


class Nemesis:
    """Breaks things while the clients run, on a schedule drawn from the seed.

    - `cuts`: DynamoDB out of reach through the stack's proxy, for 0.3 to 1.5 s
      at a time, then restored.
    - `functions`: for each, one more process of that function polls for its
      events beside the stack's own. It reaches DynamoDB through a proxy of its
      own that throttles each item's writes (`item_wcu`), and it is armed to
      abort right after its Nth commit (`after-commit@N`, N drawn from 1 to 6),
      before it answers; each time it dies it is started again.
    - `failpoint`: another failpoint for those processes instead (the known-bad
      run's `stale-count`), with no throttling.
    """

    def __init__(self, seed, work_dir, cuts=True, functions=(), item_wcu=8, failpoint=None):
        self.rng = random.Random(f"{seed}/nemesis")
        self.work_dir = work_dir
        self.cuts = cuts
        self.functions = list(functions)
        self.item_wcu = item_wcu
        self.failpoint = failpoint
        self.stopping = threading.Event()
        self.threads = []
        self.processes = []
        self.throttle = None
        self.faults = {"cuts": 0, "kills": 0}

    def start(self):
        if self.functions and not self.failpoint:
            self.throttle = self._throttling_proxy()
        if self.cuts:
            self.threads.append(threading.Thread(target=self._cut_now_and_then))
        if self.functions:
            self.processes = [(name, self._launch(name)) for name in self.functions]
            self._queue_behind_the_stacks_own()
            self.threads.append(threading.Thread(target=self._supervise))
        for thread in self.threads:
            thread.start()

    def stop(self):
        self.stopping.set()
        for thread in self.threads:
            thread.join()
        for _, process in self.processes:
            process.kill()
            process.wait()
        if self.throttle:
            # The proxy writes what it forwarded and throttled on SIGUSR1.
            stats_file = self.throttle_pid_file + ".stats.json"
            before = os.path.getmtime(stats_file) if os.path.exists(stats_file) else 0
            self.throttle.send_signal(signal.SIGUSR1)
            for _ in range(50):
                if os.path.exists(stats_file) and os.path.getmtime(stats_file) > before:
                    break
                time.sleep(0.1)
            with open(stats_file) as f:
                self.faults["writes throttled"] = json.load(f)["requests"]["throttled"]
            self.throttle.terminate()
            self.throttle.wait()

    def _cut_now_and_then(self):
        while not self.stopping.wait(self.rng.uniform(0.5, 2.5)):
            os.kill(proxy_pid(), signal.SIGUSR1)
            self.faults["cuts"] += 1
            self.stopping.wait(self.rng.uniform(0.3, 1.5))
            os.kill(proxy_pid(), signal.SIGUSR2)

    def _throttling_proxy(self):
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        upstream = int(os.environ["FUNCTION_DYNAMODB_ENDPOINT"].rsplit(":", 1)[1])
        pid_file = self.throttle_pid_file = os.path.join(self.work_dir, f"throttle-{port}.pid")
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        proxy = subprocess.Popen(
            ["python", os.path.join(root, "infra", "dynamodb_proxy.py"), str(port), str(upstream), pid_file,
             "--item-wcu", str(self.item_wcu), "--stats", pid_file + ".stats.json"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(50):
            if os.path.exists(pid_file) and os.path.getsize(pid_file):
                break
            time.sleep(0.1)
        self.throttled_endpoint = f"http://127.0.0.1:{port}"
        return proxy

    def _queue_behind_the_stacks_own(self):
        """Puts the stack's own process of each function behind these in the queue for events.

        The local Runtime API hands each event to the longest-waiting poll, and
        every process polls FUNCTION_CONCURRENCY times at once: processes that
        start polling later get nothing until the earlier polls have each taken
        an event. So each function first answers, one at a time, more refusals
        (no credentials) than the stack's process has polls; from then on events
        go round all the polls, these processes' share among them."""
        time.sleep(0.5)
        routes = {binary: route for route, binary in template_routes().items()}
        with httpx.Client(base_url=os.environ["LICENSING_API_URL"], timeout=CALL_TIMEOUT_S) as http:
            for name in set(self.functions):
                method, path = routes[name]
                path = re.sub(r"\{[^}]+\}", "none", path)
                for _ in range(int(os.environ.get("FUNCTION_CONCURRENCY", "64")) + 8):
                    http.request(method, path)

    def _launch(self, name):
        api = os.environ["LICENSING_API_URL"]
        env = {
            **os.environ,
            "AWS_LAMBDA_RUNTIME_API": f"{api}/.rt/{name}",
            "AWS_LAMBDA_FUNCTION_NAME": name,
            "AWS_LAMBDA_FUNCTION_VERSION": "1",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
            "AWS_LAMBDA_MAX_CONCURRENCY": os.environ.get("FUNCTION_CONCURRENCY", "64"),
            "RUST_LOG": "info",
            "PUBLIC_RATE_LIMIT": "1000000",
            "WEBHOOK_ALLOW_LOOPBACK": "true",
            "AWS_ENDPOINT_URL_DYNAMODB": self.throttled_endpoint if self.throttle else os.environ["FUNCTION_DYNAMODB_ENDPOINT"],
            "FAILPOINT": self.failpoint or f"after-commit@{self.rng.randint(1, 3)}",
        }
        # Beside the stack's own logs, so the after-suite checks (least privilege, no secret logged) read it too.
        log_dir = os.environ.get("FUNCTION_LOG_DIR") or self.work_dir
        log = open(os.path.join(log_dir, f"{name}.nemesis.log"), "ab")
        try:
            return subprocess.Popen([os.path.join(os.environ["FUNCTION_BIN_DIR"], name)], env=env,
                                    stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        finally:
            log.close()

    def _supervise(self):
        while not self.stopping.wait(0.05):
            for i, (name, process) in enumerate(self.processes):
                if process.poll() is not None:
                    self.faults["kills"] += 1
                    self.processes[i] = (name, self._launch(name))


def summary(history, nemesis, verdict_ok):
    total, unknown = history.counts()
    faults = nemesis.faults if nemesis else {}
    return (f"{history.model} seed {history.seed}: {total} calls by {CLIENTS} clients ({unknown} of unknown outcome), "
            f"faults {faults}, answers retried {history.unknowns}: {'linearizable' if verdict_ok else 'NOT LINEARIZABLE'}")
