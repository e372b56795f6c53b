"""`make dev` as a newcomer runs it, in a state directory and on ports of its own.

One `make dev` serves the whole module (it builds, so it can take minutes to
come up); the tests run in order and the last one stops it with Ctrl-C:
- the API answers a key from $STACK_DIR/keys.json, and the reference page answers;
- a second `make dev` on the same state directory says the first is running,
  and one on busy ports names each port and the variable that moves it;
- a note or a log written into the checkout does not restart the functions
  (.cargolambdaignore), while a Rust source does;
- SIGINT to make's process group, as Ctrl-C sends it, stops every process
  `make dev` started and frees every port.

The functions run in sessions of their own (cargo lambda watch starts them),
and the stack's servers in theirs (infra/stack.sh), so the processes are
found by walking parent pids in /proc from make, and from the stack's pid files.
"""

import json
import os
import random
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FUNCTIONS = {name[:-3] for name in os.listdir(os.path.join(ROOT, "functions", "src", "bin")) if name.endswith(".rs")}
PORT_VARS = ("API_PORT", "DOCS_PORT", "DYNAMODB_PORT", "SES_PORT", "KMS_PORT", "S3_PORT")
UP_TIMEOUT = 20 * 60  # a first build on two cores
STOP_TIMEOUT = 30
# How long a Rust source may take to restart the functions. It only stops the
# test from waiting forever on a watch that never acts; how fast the watch acts
# is not what is tested (a loaded machine, or cargo waiting on another build's
# lock on target/, took 30 s once), and a restart rebuilds at most what the
# first build did, so the first build's bound serves.
RESTART_TIMEOUT = UP_TIMEOUT
PROBE = "dev-watch-probe.rs"  # at the root, so that no crate compiles it


# -- processes and ports -----------------------------------------------------

def proc_table():
    """{pid: (ppid, start_time)} of every live process (zombies count as gone)."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if fields[0] != "Z":
            table[int(entry)] = (int(fields[1]), fields[19])
    return table


def descendants(root):
    """{(pid, start_time)} of every live descendant of `root`."""
    table = proc_table()
    children = {}
    for pid, (ppid, started) in table.items():
        children.setdefault(ppid, []).append((pid, started))
    found, queue = set(), [root]
    while queue:
        for child in children.get(queue.pop(), []):
            found.add(child)
            queue.append(child[0])
    return found


def alive(process):
    pid, started = process
    entry = proc_table().get(pid)
    return entry is not None and entry[1] == started


def start_time(pid):
    entry = proc_table().get(pid)
    return entry and entry[1]


def describe(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return "?"


def port_free(port):
    """As infra/stack.sh checks: nothing listens on the port on any address."""
    with socket.socket(socket.AF_INET6) as s:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("::", port))
            return True
        except OSError:
            return False


def pick_ports():
    """Free ports in 20000-30000, away from the test stack's and make dev's defaults; KMS is SES + 1, S3 SES + 2."""
    rng = random.Random()
    while True:
        api, docs, dynamodb, ses = rng.sample(range(20000, 29998), 4)
        ports = {"API_PORT": api, "DOCS_PORT": docs, "DYNAMODB_PORT": dynamodb, "SES_PORT": ses, "KMS_PORT": ses + 1,
                 "S3_PORT": ses + 2}
        if len(set(ports.values())) == len(ports) and all(port_free(p) for p in ports.values()):
            return ports


def get(url, key=None, timeout=10):
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {key}"} if key else {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def newcomer_env(stack_dir, ports):
    """The caller's environment without the test stack's settings, plus this run's."""
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("AWS_", "TEST_", "MAKE", "MFLAGS"))
           and name not in {"STACK_DIR", "TABLE_NAME", "OFFLINE_LICENSE_KEY_IDS", *PORT_VARS}}
    env.update({name: str(port) for name, port in ports.items()}, STACK_DIR=str(stack_dir))
    return env


def make_dev(env, **kwargs):
    # Its own process group, as a shell gives a foreground job, and SIGINT
    # handled as in a terminal even if this run was started with it ignored.
    return subprocess.Popen(["make", "dev"], cwd=ROOT, env=env, stdin=subprocess.DEVNULL, process_group=0,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL), **kwargs)


# -- the make dev under test -------------------------------------------------

class DevRun:
    def __init__(self, stack_dir, ports, log_path):
        self.stack_dir = stack_dir
        self.ports = ports
        self.env = newcomer_env(stack_dir, ports)
        self.log_path = log_path
        self.api = f"http://127.0.0.1:{ports['API_PORT']}"
        self.docs = f"http://127.0.0.1:{ports['DOCS_PORT']}/"
        self.seen = {}  # (pid, start_time) -> command line: every process make dev started
        with open(log_path, "wb") as log:
            self.make = make_dev(self.env, stdout=log, stderr=subprocess.STDOUT)

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def log_tail(self, lines=40):
        return "\n".join(self.log().splitlines()[-lines:])

    def stack_services(self):
        """The stack's servers, which infra/stack.sh starts in sessions of their own and records."""
        found = set()
        for name in ("dynamodb", "ses", "kms", "s3"):
            try:
                with open(self.stack_dir / f"{name}.pid") as f:
                    pid = int(f.read())
            except (OSError, ValueError):
                continue
            started = start_time(pid)
            if started:
                found.add((pid, started))
        return found

    def snapshot(self):
        """Records every process make dev runs now; returns them."""
        now = descendants(self.make.pid) | self.stack_services()
        for process in now:
            self.seen.setdefault(process, describe(process[0]))
        return now

    def functions(self):
        """{(pid, start_time): name} of the function processes cargo lambda watch runs now."""
        found = {}
        for process in self.snapshot():
            try:
                exe = os.readlink(f"/proc/{process[0]}/exe")
            except OSError:
                continue
            name = os.path.basename(exe.removesuffix(" (deleted)"))
            if name in FUNCTIONS and os.sep + "debug" + os.sep in exe:
                found[process] = name
        return found

    def dev_script_pid(self):
        for pid, _ in descendants(self.make.pid):
            if "infra/dev.sh" in describe(pid):
                return pid
        return None

    def wait_until_up(self):
        deadline = time.monotonic() + UP_TIMEOUT
        while True:
            if self.make.poll() is not None:
                pytest.fail(f"make dev exited ({self.make.returncode}) before the API answered:\n{self.log_tail()}")
            try:
                socket.create_connection(("127.0.0.1", self.ports["API_PORT"]), 1).close()
                break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"the API did not answer within {UP_TIMEOUT} s:\n{self.log_tail()}")
            self.snapshot()
            time.sleep(1)
        self.snapshot()

    def business_key(self):
        with open(self.stack_dir / "keys.json") as f:
            return json.load(f)["business"]["key"]

    def interrupt(self):
        """Ctrl-C: SIGINT to make's process group."""
        self.snapshot()
        os.killpg(self.make.pid, signal.SIGINT)

    def still_running(self):
        return {process: command for process, command in self.seen.items() if alive(process)}

    def force_stop(self):
        """After a failed test: nothing may be left running."""
        if self.make.poll() is None:
            self.interrupt()
            try:
                self.make.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                os.killpg(self.make.pid, signal.SIGKILL)
                self.make.wait()
        for pid, _ in self.still_running():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        subprocess.run([os.path.join(ROOT, "infra", "stack.sh"), "stop"], env=self.env, capture_output=True)


def restore_test_build():
    """make dev builds the functions without the failpoints that infra/test.sh
    built them with (in FUNCTION_BIN_DIR) for the crash and race tests: the
    same build again puts those back, from cargo's cache, for the tests after this one."""
    bin_dir = os.environ.get("FUNCTION_BIN_DIR")
    if bin_dir and os.path.basename(bin_dir) == "debug":
        subprocess.run(["cargo", "build", "--workspace", "--bins", "--features", "functions/failpoints"],
                       cwd=ROOT, check=True, capture_output=True)


@pytest.fixture(scope="module")
def dev(tmp_path_factory):
    run = DevRun(tmp_path_factory.mktemp("dev-stack"), pick_ports(),
                 tmp_path_factory.mktemp("dev-log") / "make-dev.log")
    try:
        run.wait_until_up()
        yield run
    finally:
        run.force_stop()
        restore_test_build()


@pytest.fixture
def repo_file():
    """Writes a file into the checkout's root, and removes it (or puts back what was there) after."""
    written = {}

    def write(name, text):
        path = os.path.join(ROOT, name)
        if path not in written:
            try:
                with open(path, "rb") as f:
                    written[path] = f.read()
            except FileNotFoundError:
                written[path] = None
        with open(path, "a") as f:
            f.write(text)

    yield write
    for path, before in written.items():
        if before is None:
            os.remove(path)
        else:
            with open(path, "wb") as f:
                f.write(before)


# -- the tests, in order -----------------------------------------------------

def test_the_api_answers_with_a_minted_key(dev):
    # The first request starts the function: cargo lambda watch runs it then.
    status, body = get(f"{dev.api}/entitlements", dev.business_key(), timeout=600)
    assert status == 200, body
    assert json.loads(body)["items"] == []
    status, body = get(f"{dev.api}/entitlements")
    assert status == 401, body


def test_the_reference_page_answers(dev):
    assert f"API reference     {dev.docs}" in dev.log()  # the banner's line
    status, page = get(dev.docs)
    assert status == 200
    assert b"swagger-ui-bundle.js" in page
    status, document = get(dev.docs + "openapi.yaml")
    assert status == 200
    with open(os.path.join(ROOT, "openapi.yaml"), "rb") as f:
        assert document == f.read()


def test_a_second_make_dev_says_the_first_is_running(dev):
    started = time.monotonic()
    second = subprocess.run(["make", "dev"], cwd=ROOT, env=dev.env, stdin=subprocess.DEVNULL,
                            capture_output=True, text=True, timeout=60)
    took = time.monotonic() - started
    assert second.returncode != 0, second.stdout + second.stderr
    assert f"make dev is already running (pid {dev.dev_script_pid()}" in second.stderr, second.stderr
    assert took < 10, f"took {took:.1f} s"
    # And it left the first one alone.
    assert get(f"{dev.api}/entitlements", dev.business_key(), timeout=60)[0] == 200


def test_busy_ports_are_named_with_the_variable_that_moves_them(dev, tmp_path):
    # Another state directory, so no lock stops it first: the ports do.
    other = subprocess.run(["make", "dev"], cwd=ROOT, env=newcomer_env(tmp_path, dev.ports), stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=60)
    assert other.returncode != 0, other.stdout + other.stderr
    for name, port in dev.ports.items():
        assert f"port {port} is already in use ({name})" in other.stderr, other.stderr
    assert "stack: starting" not in other.stdout + other.stderr  # nothing was started
    assert get(f"{dev.api}/entitlements", dev.business_key(), timeout=60)[0] == 200


def last_rust_change():
    """When a file that restarts the functions (a Rust source, a Cargo manifest) last changed, in the checkout."""
    skip = {".git", "target", ".venv", "node_modules"}
    latest = 0.0
    for folder, subfolders, files in os.walk(ROOT):
        subfolders[:] = [name for name in subfolders if name not in skip]
        for name in files:
            if name.endswith(".rs") or name in ("Cargo.toml", "Cargo.lock"):
                try:
                    latest = max(latest, os.stat(os.path.join(folder, name)).st_mtime)
                except FileNotFoundError:
                    pass
    return latest


def running_functions(dev):
    """The function processes once the API answered, list-entitlements among them
    (a request starts it, again after a restart)."""
    for _ in range(5):
        assert get(f"{dev.api}/entitlements", dev.business_key(), timeout=600)[0] == 200
        running = dev.functions()
        if "list-entitlements" in running.values():
            return running
        # Restarted between the answer and now: ask again.
    pytest.fail("list-entitlements kept restarting: Rust sources in the checkout kept changing")


def test_a_note_or_a_log_does_not_restart_the_functions(dev, repo_file):
    # First a Rust source, which does restart them: this shows the watch is
    # live, and times how long it takes this machine to act on a change.
    before = running_functions(dev)
    written = time.monotonic()
    repo_file(PROBE, "// written by tests/test_dev.py\n")
    while any(alive(process) for process in before):
        assert time.monotonic() - written < RESTART_TIMEOUT, \
            f"a new .rs file did not restart the functions within {RESTART_TIMEOUT} s"
        time.sleep(0.2)
    restart = time.monotonic() - written
    # A note or a log that restarted them would do so as late as the probe
    # did: watch three times that long (at least 5 s) before calling it no restart.
    window = max(5.0, 3 * restart)
    print(f"\na Rust source restarted the functions in {restart:.1f} s; watching a note and a log for {window:.1f} s")

    # Someone editing Rust sources in this checkout meanwhile (or the probe
    # above) restarts the functions rightly: a window that follows such a
    # change too closely does not count, and is tried again.
    quiet = max(10.0, window)
    for _ in range(5):
        time.sleep(max(0.0, last_rust_change() + quiet - time.time()))
        before = running_functions(dev)
        started = time.time()
        repo_file("notes.txt", "a note\n")
        repo_file("scratch.log", "a log line\n")
        time.sleep(window)
        after = dev.functions()
        if last_rust_change() < started - quiet:
            break
    else:
        pytest.fail("Rust sources in the checkout kept changing, and the functions restarting, during the test")
    # A function may start meanwhile (the scheduler runs deliver-webhooks on
    # its first call); none that ran may have been replaced.
    assert before.items() <= after.items(), "the functions were restarted"
    assert all(alive(process) for process in before)


def test_ctrl_c_stops_everything(dev):
    dev.snapshot()
    assert dev.stack_services(), "the stack's servers were not found"
    dev.interrupt()
    try:
        dev.make.wait(STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"make dev did not exit within {STOP_TIMEOUT} s of SIGINT:\n{dev.log_tail()}")
    deadline = time.monotonic() + 5
    while dev.still_running() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert dev.still_running() == {}, "left running after Ctrl-C"
    busy = {name: port for name, port in dev.ports.items() if not port_free(port)}
    assert busy == {}, "ports still taken after Ctrl-C"
    assert "stack: stopped dynamodb" in dev.log()
