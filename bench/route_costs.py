"""Per-function cost of the requests a run made, from the functions' own log lines.

Each request's log line carries its status, its whole time in the handler
(`elapsed_us`) and what its AWS calls cost (`dynamodb_calls`, `ses_calls`,
`kms_calls`, `aws_us`, counted by an interceptor on the SDK clients). This
prints, per function and per outcome (2xx or the commonest error): requests,
median DynamoDB, SES and KMS calls, median and p99 of the whole request and of
its AWS calls, and the ratio whole / calls (target: at most 1.25).

    python bench/route_costs.py .test-stack/functions

bench/run.py passes the byte offset each log had when its measured phase
began, so set-up and warm-up requests are left out.
"""

import collections
import json
import os
import statistics
import sys


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


TARGET_RATIO = 1.25


def log_sizes(log_dir):
    return {name: os.path.getsize(os.path.join(log_dir, name)) for name in os.listdir(log_dir)}


def requests(log_dir, offsets):
    for name in sorted(os.listdir(log_dir)):
        with open(os.path.join(log_dir, name), encoding="utf-8", errors="replace") as log:
            log.seek(offsets.get(name, 0))
            for line in log:
                if '"message":"request"' not in line:
                    continue
                fields = json.loads(line)["fields"]
                yield name.removesuffix(".log"), fields


def main(log_dir, offsets=None):
    groups = collections.defaultdict(list)
    for function, fields in requests(log_dir, offsets or {}):
        outcome = "2xx" if fields["status"] < 300 else str(fields["status"])
        groups[(function, outcome)].append(fields)
    by_function = collections.defaultdict(dict)
    for (function, outcome), rows in groups.items():
        by_function[function][outcome] = rows
    header = (f"{'function':32} {'outcome':>7} {'n':>5} {'ddb':>4} {'ses':>4} {'kms':>4} {'retry':>5} {'med ms':>7} {'p99 ms':>7} "
              f"{'aws med':>8} {'aws p99':>8} {'ratio':>6}")
    print(header)
    print("-" * len(header))
    ratios = []
    for function in sorted(by_function):
        outcomes = by_function[function]
        errors = sorted((o for o in outcomes if o != "2xx"), key=lambda o: -len(outcomes[o]))
        for outcome in ["2xx"] * ("2xx" in outcomes) + errors[:1]:
            rows = outcomes[outcome]
            whole = [r["elapsed_us"] / 1000 for r in rows]
            aws = [r["aws_us"] / 1000 for r in rows]
            if statistics.median(aws):
                ratio = statistics.median(whole) / statistics.median(aws)
                ratios.append((ratio, function, outcome))
                shown = f"{ratio:6.2f}"
            else:
                shown = f"{'-':>6}"
            print(
                f"{function:32} {outcome:>7} {len(rows):5} {statistics.median(r['dynamodb_calls'] for r in rows):4.0f} "
                f"{statistics.median(r['ses_calls'] for r in rows):4.0f} {statistics.median(r.get('kms_calls', 0) for r in rows):4.0f} "
                f"{sum(r.get('retries', 0) for r in rows):5} "
                f"{statistics.median(whole):7.2f} {percentile(whole, 0.99):7.2f} "
                f"{statistics.median(aws):8.2f} {percentile(aws, 0.99):8.2f} {shown}"
            )
    if ratios:
        met = sum(1 for ratio, _, _ in ratios if ratio <= TARGET_RATIO)
        worst = max(ratios)
        print(f"\nratio whole/calls: {met} of {len(ratios)} (function, outcome) rows within {TARGET_RATIO}; "
              f"median {statistics.median(r for r, _, _ in ratios):.2f}; worst {worst[0]:.2f} ({worst[1]} {worst[2]})")
    return ratios


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else ".test-stack/functions")
