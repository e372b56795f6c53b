"""A proxy on loopback between the functions and DynamoDB Local, in one of two modes.

    python infra/dynamodb_proxy.py LISTEN_PORT UPSTREAM_PORT PID_FILE
    python infra/dynamodb_proxy.py LISTEN_PORT UPSTREAM_PORT PID_FILE --item-wcu 20 [--stats FILE]

Without --item-wcu it is a TCP proxy the fault tests cut and restore to make
DynamoDB unreachable while requests run: SIGUSR1 cuts (every open connection is
reset and new ones are refused, the listener closes), SIGUSR2 restores.

With --item-wcu it throttles writes per item as DynamoDB does, which DynamoDB
Local never does (make capacity, bench/capacity.py). It reads each HTTP/1.1
request (keep-alive, Content-Length or chunked), and for PutItem, UpdateItem,
DeleteItem, BatchWriteItem and TransactWriteItems (ConditionCheck included)
charges a token bucket per item (table, pk, sk): ceil(size / 1 KB), at least 1,
per single write, twice that per action of a transaction. The size is the
item's JSON for a put and the action's own JSON otherwise (the proxy does not
know the stored item). Each bucket refills at ITEM_WCU units/s and holds one
second's worth. A request with any item short of units is answered as DynamoDB
answers (400 ProvisionedThroughputExceededException, or for a transaction
TransactionCanceledException with a ThrottlingError reason for each action
over the rate), is not forwarded and is charged nothing. Reads pass through.
SIGUSR1 then writes, as JSON, the write calls forwarded and throttled
("requests") and per item the actions forwarded and throttled and the units
charged ("items"), to the stats file (--stats; PID_FILE with .stats.json for
.pid by default), replacing it whole.
"""

import argparse
import asyncio
import json
import math
import os
import signal
import socket
import struct
import time
import uuid
import zlib


class Proxy:
    def __init__(self, listen_port, upstream_port):
        self.listen_port = listen_port
        self.upstream_port = upstream_port
        self.server = None
        self.open = set()

    async def start(self):
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", self.listen_port, reuse_address=True)

    async def handle(self, reader, writer):
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:
            writer.close()
            return
        pair = (writer, up_writer)
        self.open.add(pair)
        try:
            await asyncio.gather(self.pipe(reader, up_writer), self.pipe(up_reader, writer))
        finally:
            self.open.discard(pair)
            for w in pair:
                w.close()

    @staticmethod
    async def pipe(reader, writer):
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    def cut(self):
        if self.server is not None:
            self.server.close()
            self.server = None
        for pair in list(self.open):
            for w in pair:
                sock = w.get_extra_info("socket")
                if sock is not None:
                    # Reset rather than close politely: the caller sees the connection die.
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                w.close()
        self.open.clear()

    async def restore(self):
        if self.server is None:
            await self.start()


# --- throttling mode ---------------------------------------------------------

KEY_ATTRIBUTES = ("pk", "sk")  # the table's key schema (template.yaml)
TARGET_PREFIX = "DynamoDB_20120810."
WRITES = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}


def units(part):
    """Write units of one item's JSON: 1 per KB begun, at least 1."""
    return max(1, math.ceil(len(json.dumps(part, separators=(",", ":"))) / 1024))


def item_id(table, key):
    """A readable name for one item: table, then each key attribute's value."""
    values = [next(iter(key.get(a, {"NULL": True}).values())) for a in KEY_ATTRIBUTES]
    return " ".join([table, *(str(v) for v in values)])


def charges(op, body):
    """[(item, units)] one write request costs, one per action, in request order."""
    if op == "PutItem":
        return [(item_id(body["TableName"], body["Item"]), units(body["Item"]))]
    if op in ("UpdateItem", "DeleteItem"):
        return [(item_id(body["TableName"], body["Key"]), units(body))]
    if op == "BatchWriteItem":
        out = []
        for table, requests in body.get("RequestItems", {}).items():
            for request in requests:
                if "PutRequest" in request:
                    item = request["PutRequest"]["Item"]
                    out.append((item_id(table, item), units(item)))
                else:
                    out.append((item_id(table, request["DeleteRequest"]["Key"]), units(request["DeleteRequest"])))
        return out
    out = []  # TransactWriteItems: two units per KB per action
    for action in body.get("TransactItems", []):
        [(kind, detail)] = action.items()
        key = detail["Item"] if kind == "Put" else detail["Key"]
        out.append((item_id(detail["TableName"], key), 2 * units(detail.get("Item", detail))))
    return out


class Buckets:
    """One token bucket per item, refilled at `rate` units/s up to one second's worth."""

    def __init__(self, rate):
        self.rate = rate
        self.level = {}  # item -> (units, at)
        self.stats = {}  # item -> {"forwarded", "throttled", "units"}: one per action on the item
        self.requests = {"forwarded": 0, "throttled": 0}  # write calls, whatever their actions

    def available(self, item, now):
        units_, at = self.level.get(item, (self.rate, now))
        return min(self.rate, units_ + (now - at) * self.rate)

    def take(self, wanted):
        """Charges every (item, units) of one request, or nothing: the indices over the rate."""
        now = time.monotonic()
        over = [i for i, (item, n) in enumerate(wanted) if self.available(item, now) < n]
        self.requests["throttled" if over else "forwarded"] += 1
        for i, (item, n) in enumerate(wanted):
            counts = self.stats.setdefault(item, {"forwarded": 0, "throttled": 0, "units": 0})
            if over:
                counts["throttled"] += 1
            else:
                counts["forwarded"] += 1
                counts["units"] += n
                self.level[item] = (self.available(item, now) - n, now)
        return over

    def dump(self, path):
        totals = {k: sum(c[k] for c in self.stats.values()) for k in ("forwarded", "throttled", "units")}
        tmp = f"{path}.tmp"
        with open(tmp, "w") as f:
            json.dump({"item_wcu": self.rate, "at": time.time(), "requests": self.requests, "totals": totals,
                       "items": self.stats}, f)
        os.replace(tmp, path)


def throttled_answer(op, wanted, over):
    if op == "TransactWriteItems":
        codes = ["ThrottlingError" if i in over else "None" for i in range(len(wanted))]
        reasons = [{"Code": "ThrottlingError", "Message": "Throughput exceeds the current capacity of your table or index."}
                   if code == "ThrottlingError" else {"Code": "None"} for code in codes]
        body = {"__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
                "Message": f"Transaction cancelled, please refer cancellation reasons for specific reasons [{', '.join(codes)}]",
                "CancellationReasons": reasons}
    else:
        body = {"__type": "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
                "message": "The level of configured provisioned throughput for the table was exceeded. "
                           "Consider increasing your provisioning level with the UpdateTable API."}
    payload = json.dumps(body).encode()
    head = ("HTTP/1.1 400 Bad Request\r\n"
            "Content-Type: application/x-amz-json-1.0\r\n"
            f"Content-Length: {len(payload)}\r\n"
            f"x-amzn-RequestId: {uuid.uuid4()}\r\n"
            f"x-amz-crc32: {zlib.crc32(payload)}\r\n\r\n")
    return head.encode() + payload


async def read_message(reader):
    """One HTTP/1.1 message: (start line, {lower name: value}, body, its raw bytes), None at EOF."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    raw = bytearray(head)
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body = bytearray()
        while True:
            size_line = await reader.readuntil(b"\r\n")
            raw += size_line
            size = int(size_line.split(b";")[0].strip(), 16)
            if size == 0:  # the last chunk, then trailers if any, then an empty line
                while (line := await reader.readuntil(b"\r\n")) != b"\r\n":
                    raw += line
                raw += line
                break
            chunk = await reader.readexactly(size + 2)  # the data and its CRLF
            raw += chunk
            body += chunk[:-2]
    elif "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
        raw += body
    elif lines[0].startswith("HTTP/"):
        body = await reader.read()  # a response delimited by the connection's end
        raw += body
        headers["connection"] = "close"
    else:
        body = b""
    return lines[0], headers, bytes(body), bytes(raw)


def wants_close(headers):
    return headers.get("connection", "").lower() == "close"


class ThrottlingProxy:
    """Relays one request at a time per connection, each client connection on its own upstream one."""

    def __init__(self, listen_port, upstream_port, buckets):
        self.listen_port = listen_port
        self.upstream_port = upstream_port
        self.buckets = buckets

    async def start(self):
        await asyncio.start_server(self.handle, "127.0.0.1", self.listen_port, reuse_address=True)

    async def handle(self, reader, writer):
        upstream = None
        try:
            while (request := await read_message(reader)) is not None:
                _, headers, body, raw = request
                op = headers.get("x-amz-target", "").removeprefix(TARGET_PREFIX)
                if op in WRITES:
                    try:
                        wanted = charges(op, json.loads(body))
                    except (ValueError, KeyError, TypeError, AttributeError):
                        wanted = []  # malformed: DynamoDB Local answers it as DynamoDB would
                    if over := self.buckets.take(wanted):
                        writer.write(throttled_answer(op, wanted, over))
                        await writer.drain()
                        continue
                response = None
                for fresh in (upstream is None, True):
                    if fresh:
                        if upstream is not None:
                            upstream[1].close()
                        upstream = await asyncio.open_connection("127.0.0.1", self.upstream_port)
                    try:
                        upstream[1].write(raw)
                        await upstream[1].drain()
                        response = await read_message(upstream[0])
                    except (ConnectionError, asyncio.IncompleteReadError):
                        response = None
                    # A kept-alive upstream connection may have been closed while idle: once more on a new one.
                    if response is not None or fresh:
                        break
                if response is None:
                    break
                writer.write(response[3])
                await writer.drain()
                if wants_close(headers) or wants_close(response[1]):
                    break
        except (ConnectionError, OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()
            if upstream is not None:
                upstream[1].close()


async def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("listen_port", type=int)
    parser.add_argument("upstream_port", type=int)
    parser.add_argument("pid_file")
    parser.add_argument("--item-wcu", type=float, help="throttle writes per item to this many units a second")
    parser.add_argument("--stats", help="where SIGUSR1 writes the per-item counts (throttling mode)")
    args = parser.parse_args()
    loop = asyncio.get_running_loop()
    if args.item_wcu is None:
        proxy = Proxy(args.listen_port, args.upstream_port)
        await proxy.start()
        loop.add_signal_handler(signal.SIGUSR1, proxy.cut)
        loop.add_signal_handler(signal.SIGUSR2, lambda: asyncio.ensure_future(proxy.restore()))
    else:
        buckets = Buckets(args.item_wcu)
        stats = args.stats or f"{args.pid_file.removesuffix('.pid')}.stats.json"
        await ThrottlingProxy(args.listen_port, args.upstream_port, buckets).start()
        buckets.dump(stats)
        loop.add_signal_handler(signal.SIGUSR1, buckets.dump, stats)
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    with open(args.pid_file, "w") as f:
        f.write(str(os.getpid()))
    await stop.wait()


if __name__ == "__main__":
    asyncio.run(main())
