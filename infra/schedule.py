"""The local stand-in for EventBridge Scheduler.

In AWS a schedule in template.yaml invokes a non-HTTP function (e.g.
deliver-webhooks) with `{"work_for_seconds": N}`. The local stack has no
scheduler, so this runs the very same binary the same way: through the local
Lambda invoke API (`POST {api_url}/2015-03-31/functions/{function}/invocations`,
the route tests/conftest.py's `invoke` fixture uses), one run right after
another instead of once a minute, so that events reach a receiver within
seconds.

Usage: python infra/schedule.py <api_url> <function> <work_for_seconds>

A failed invocation is reported on stderr with a timestamp and retried after a
second. SIGTERM or SIGINT stops it (exit 0), also in the middle of a run.
"""

import datetime
import json
import signal
import sys
import time

import httpx


class Stop(BaseException):
    """Raised by the signal handlers to leave the loop, also from inside a request
    (a BaseException, like KeyboardInterrupt, so no `except Exception` swallows it)."""


def _stop(signum, _frame):
    raise Stop(signal.Signals(signum).name)


def _report(message):
    stamp = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds")
    print(f"{stamp} schedule: {message}", file=sys.stderr, flush=True)


def run(api_url, function, work_for_seconds):
    url = f"{api_url.rstrip('/')}/2015-03-31/functions/{function}/invocations"
    payload = json.dumps({"work_for_seconds": work_for_seconds})
    with httpx.Client(timeout=work_for_seconds + 70) as client:
        while True:
            try:
                answer = client.post(url, content=payload, headers={"content-type": "application/json"})
                failed = answer.status_code // 100 != 2 or "x-amz-function-error" in answer.headers
                problem = f"HTTP {answer.status_code}: {answer.text[:500]}" if failed else None
            except httpx.HTTPError as error:
                problem = f"{type(error).__name__}: {error}"
            if problem:
                _report(f"{function} invocation failed ({problem}); again in 1 s")
                time.sleep(1)


def main(argv):
    if len(argv) != 4:
        print(__doc__.strip().split("\n\n")[2], file=sys.stderr)
        return 2
    api_url, function, seconds = argv[1], argv[2], argv[3]
    try:
        work_for_seconds = int(seconds)
    except ValueError:
        print(f"work_for_seconds must be a whole number of seconds, not {seconds!r}", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    try:
        run(api_url, function, work_for_seconds)
    except Stop as why:
        _report(f"stopped by {why}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
