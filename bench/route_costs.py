"""Per-function cost of the requests a run made, from the functions' own log lines.

Each request's log line carries its status, its whole time in the handler
(`elapsed_us`) and what its AWS calls cost (`dynamodb_calls`, `ses_calls`,
`aws_us`, counted by an interceptor on the SDK clients). This prints, per
function and per outcome (2xx or the commonest error): requests, median
DynamoDB and SES calls, median and p99 of the whole request and of its AWS
calls, and the ratio whole / calls.

    python bench/route_costs.py .test-stack/functions
"""

import collections
import json
import os
import statistics
import sys


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def requests(log_dir):
    for name in sorted(os.listdir(log_dir)):
        with open(os.path.join(log_dir, name), encoding="utf-8", errors="replace") as log:
            for line in log:
                if '"message":"request"' not in line:
                    continue
                fields = json.loads(line)["fields"]
                yield name.removesuffix(".log"), fields


def main(log_dir):
    groups = collections.defaultdict(list)
    for function, fields in requests(log_dir):
        outcome = "2xx" if fields["status"] < 300 else str(fields["status"])
        groups[(function, outcome)].append(fields)
    by_function = collections.defaultdict(dict)
    for (function, outcome), rows in groups.items():
        by_function[function][outcome] = rows
    header = f"{'function':32} {'outcome':>7} {'n':>5} {'ddb':>4} {'ses':>4} {'med ms':>7} {'p99 ms':>7} {'aws med':>8} {'aws p99':>8} {'ratio':>6}"
    print(header)
    print("-" * len(header))
    for function in sorted(by_function):
        outcomes = by_function[function]
        errors = sorted((o for o in outcomes if o != "2xx"), key=lambda o: -len(outcomes[o]))
        for outcome in ["2xx"] * ("2xx" in outcomes) + errors[:1]:
            rows = outcomes[outcome]
            whole = [r["elapsed_us"] / 1000 for r in rows]
            aws = [r["aws_us"] / 1000 for r in rows]
            ratio = statistics.median(whole) / statistics.median(aws) if statistics.median(aws) else float("nan")
            print(
                f"{function:32} {outcome:>7} {len(rows):5} {statistics.median(r['dynamodb_calls'] for r in rows):4.0f} "
                f"{statistics.median(r['ses_calls'] for r in rows):4.0f} {statistics.median(whole):7.1f} {percentile(whole, 0.99):7.1f} "
                f"{statistics.median(aws):8.1f} {percentile(aws, 0.99):8.1f} {ratio:6.2f}"
            )


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else ".test-stack/functions")
