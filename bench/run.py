"""`make bench`: where every request's time goes, cold starts, and contention.

Run by `infra/test.sh bench`, which builds the release binaries, starts a local
stack of its own (DynamoDB Local, the SES emulator, every function behind
`cargo lambda watch`) and exports where it is. Prints four sections:

1. DynamoDB, SES and KMS calls per route, counted by the interceptor on the SDK
   clients, for each route's ordinary success and its commonest error (warm);
   the public routes' validate, heartbeat and checkout on a device's instance
   of a leased key.
2. Time in the handler vs time in its AWS calls (median, p99, ratio), from
   the same requests' log lines.
3. Cold start of every release binary beside a floor binary.
4. 100 concurrent allocations on one pool beside DynamoDB Local's own rate of
   conditional updates on one item.
5. The cold request of every function: exec to the first answer of a real
   request, DynamoDB reached over TLS, at 128 MB's share of a CPU, beside the
   floor binary making the same read.
6. Cold and warm requests at the CPU share of a few memory sizes, and what a
   request costs at each: the curve MemorySize is chosen from.

BENCH_ROUNDS (default 30) requests per route and case; BENCH_STARTS (default
20) starts per binary; BENCH_COLD_STARTS (default 15) cold requests per binary;
BENCH_CURVE_STARTS (default 5) cold requests per function and memory size.
"""

import json
import os
import pathlib
import platform
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "infra"))

import cold_request  # noqa: E402
import cold_start  # noqa: E402
import contention  # noqa: E402
import route_costs  # noqa: E402
import workload  # noqa: E402
from route_events import placeholder_principals  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[1]


def mint(principal):
    out = subprocess.run([os.environ["MINT_API_KEY"], principal], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)["key"]


def section(title):
    print(f"\n{'=' * 100}\n{title}\n{'=' * 100}", flush=True)


def machine():
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    memory = next(int(line.split()[1]) for line in open("/proc/meminfo") if line.startswith("MemTotal"))
    return f"{cpu}, {os.cpu_count()} cores, {memory / 2**20:.0f} GiB, {platform.system()} {platform.release()}"


def main():
    api_url = os.environ["LICENSING_API_URL"]
    bin_dir = pathlib.Path(os.environ["FUNCTION_BIN_DIR"])
    log_dir = os.environ["FUNCTION_LOG_DIR"]
    rounds = int(os.environ.get("BENCH_ROUNDS", "30"))
    starts = int(os.environ.get("BENCH_STARTS", "20"))
    functions = sorted(p.stem for p in (ROOT / "functions/src/bin").glob("*.rs"))
    print(f"machine: {machine()}")
    print(f"binaries: {bin_dir}; {rounds} requests per route and case; {starts} starts per binary")

    section("1 and 2. DynamoDB/SES/KMS calls and time per route: warm, sequential, in-process figures from each request's log line")
    offsets = {}
    workload.run(api_url, mint, rounds, on_measure=lambda: offsets.update(route_costs.log_sizes(log_dir)))
    route_costs.main(log_dir, offsets)

    section(f"3. Cold start: exec to the first poll for an event, median of {starts}, against a runtime API on loopback")
    cold_start.report(cold_start.measure(bin_dir, functions, starts))

    section("4. Contention: 100 concurrent allocations on one pool")
    contention.run(api_url, mint, bin_dir, log_dir)

    # Medians of a few starts move by 15% between runs on a shared machine: section 5's ratios need more.
    cold_starts = int(os.environ.get("BENCH_COLD_STARTS", "15"))
    curve_starts = int(os.environ.get("BENCH_CURVE_STARTS", "5"))
    # The principals the events name (events/*.json), so each request is authorized and reads on.
    keys = {placeholder: mint(principal) for placeholder, principal in placeholder_principals("bench_cold").items()}
    section(f"5. The cold request: exec to the first answer over TLS at 128 MB's CPU share, median of {cold_starts}")
    cold_request.report(cold_request.measure(bin_dir, functions, keys, cold_starts))

    section(f"6. MemorySize: cold and warm requests at each size's CPU share, median of {curve_starts}")
    cases = cold_request.curve_cases(api_url, mint)
    cold_request.memory_curve(bin_dir, cases, cold_request.CURVE_SIZES, curve_starts, warm=20)


if __name__ == "__main__":
    main()
