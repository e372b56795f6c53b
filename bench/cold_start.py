"""Cold start of every function's release binary, beside the floor binary.

A minimal Lambda runtime API on loopback stands in for Lambda: each start
execs the binary with the Lambda environment, and the time from exec to its
first request for the next event is the start time. That first event (the
function's file in events/) is then answered by the binary against the local
stack, and its peak resident memory (VmHWM) read before it is killed. Every
function opens its DynamoDB connection during init, so the floor binary does
too here (`FLOOR_WARM_CONNECTION`).

Starts are interleaved, one of each binary per round, so a noisy moment of the
machine falls on all of them alike.
"""

import os
import pathlib
import signal
import statistics
import subprocess
import sys
import threading
import time

from cold_request import RuntimeApi  # the runtime API stand-in, here handing out one event per start

ROOT = pathlib.Path(__file__).resolve().parents[1]


def peak_memory_kib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def start_once(api, binary, event, env):
    api.reset(event, 1, lambda: None)
    exec_at = time.perf_counter()
    process = subprocess.Popen([str(binary)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        if not api.done.wait(30):
            raise RuntimeError(f"{binary.name} did not finish its first event")
        return (api.first_poll - exec_at) * 1000, peak_memory_kib(process.pid)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
        api.released.set()


def measure(bin_dir, functions, starts):
    """{name: {"start_ms": [...], "peak_kib": [...], "size": bytes}} for the floor and every function."""
    api = RuntimeApi()
    threading.Thread(target=api.serve_forever, daemon=True).start()
    env = dict(os.environ)
    env.update(
        AWS_LAMBDA_RUNTIME_API=f"127.0.0.1:{api.server_port}",
        AWS_LAMBDA_FUNCTION_VERSION="1",
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE="128",
        RUST_LOG="info",
    )
    env.pop("AWS_LAMBDA_MAX_CONCURRENCY", None)
    binaries = {"floor": (bin_dir / "floor", (ROOT / "events" / "get-entitlement.json").read_bytes())}
    for name in functions:
        events = ROOT / "events" / f"{name}.json"
        binaries[name] = (bin_dir / name, events.read_bytes())
    results = {name: {"start_ms": [], "peak_kib": [], "size": path.stat().st_size} for name, (path, _) in binaries.items()}
    # The scheduled delivery run works through whatever the workload left due (to
    # endpoints that never answer): its start is measured on a table with no work.
    idle_table = f"{os.environ.get('TABLE_NAME', 'licensing')}-idle"
    subprocess.run([sys.executable, str(ROOT / "infra" / "create_table.py"), "--endpoint",
                    os.environ["AWS_ENDPOINT_URL_DYNAMODB"], "--table-name", idle_table], check=True,
                   stdout=subprocess.DEVNULL)
    for _ in range(starts):
        for name, (path, event) in binaries.items():
            env["AWS_LAMBDA_FUNCTION_NAME"] = name
            run_env = {**env, "TABLE_NAME": idle_table} if name == "deliver-webhooks" else env
            if name == "floor":
                # Every function opens its connection during init; so does the floor here.
                run_env = {**env, "FLOOR_WARM_CONNECTION": "1"}
            start_ms, peak_kib = start_once(api, path, event, run_env)
            results[name]["start_ms"].append(start_ms)
            results[name]["peak_kib"].append(peak_kib)
    api.shutdown()
    return results


def report(results):
    floor = results["floor"]
    floor_start = statistics.median(floor["start_ms"])
    header = f"{'binary':32} {'start med ms':>12} {'p90 ms':>7} {'x floor':>7} {'size MiB':>9} {'x floor':>7} {'peak MiB':>9}"
    print(header)
    print("-" * len(header))
    worst_start = worst_size = worst_peak = 0.0
    for name, r in results.items():
        ordered = sorted(r["start_ms"])
        median = statistics.median(ordered)
        p90 = ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]
        start_ratio = median / floor_start
        size_ratio = r["size"] / floor["size"]
        peak = max(r["peak_kib"]) / 1024
        if name != "floor":
            worst_start, worst_size, worst_peak = max(worst_start, start_ratio), max(worst_size, size_ratio), max(worst_peak, peak)
        print(f"{name:32} {median:12.1f} {p90:7.1f} {start_ratio:7.2f} {r['size'] / 2**20:9.1f} {size_ratio:7.2f} {peak:9.1f}")
    print(
        f"\nworst function: start {worst_start:.2f}x the floor (target <= 1.5), size {worst_size:.2f}x (target <= 1.2), "
        f"peak memory {worst_peak:.1f} MiB (target well under 128)"
    )
    return {"worst_start_ratio": worst_start, "worst_size_ratio": worst_size, "worst_peak_mib": worst_peak}
