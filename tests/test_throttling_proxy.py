"""The throttling mode of infra/dynamodb_proxy.py (make capacity), against DynamoDB Local directly.

DynamoDB throttles writes to one item above its per-item rate; DynamoDB Local
never does, so the capacity bench puts the functions behind this proxy. Here it
runs with a small rate in front of a table of the test's own, and boto3 (no
retries of its own) checks that one hot item is throttled as DynamoDB throttles
it, that no more than the rate and one second's burst gets through, that a
transaction over the rate is cancelled with a ThrottlingError reason, and that
other items are unaffected.
"""

import concurrent.futures
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import ROOT, _env

ITEM_WCU = 20


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def proxy(tmp_path_factory):
    """The proxy in throttling mode on a port of its own; yields (endpoint, stats())."""
    upstream = int(_env("AWS_ENDPOINT_URL_DYNAMODB").rsplit(":", 1)[1])
    port, state = free_port(), tmp_path_factory.mktemp("proxy")
    pid_file, stats_file = state / "proxy.pid", state / "stats.json"
    process = subprocess.Popen([sys.executable, os.path.join(ROOT, "infra", "dynamodb_proxy.py"), str(port),
                                str(upstream), str(pid_file), "--item-wcu", str(ITEM_WCU), "--stats", str(stats_file)])
    deadline = time.monotonic() + 10
    while not pid_file.exists() or not pid_file.read_text():
        assert process.poll() is None and time.monotonic() < deadline, "the proxy did not start"
        time.sleep(0.05)

    def stats():
        before = stats_file.stat().st_mtime_ns
        process.send_signal(signal.SIGUSR1)
        while stats_file.stat().st_mtime_ns == before:
            time.sleep(0.02)
        return json.loads(stats_file.read_text())

    yield f"http://127.0.0.1:{port}", stats
    process.terminate()
    process.wait(10)


@pytest.fixture(scope="module")
def client(proxy):
    # Retries off: the test sees every answer the proxy gives.
    config = Config(retries={"total_max_attempts": 1, "mode": "standard"}, max_pool_connections=16)
    return boto3.client("dynamodb", endpoint_url=proxy[0], region_name=os.environ.get("AWS_REGION", "us-east-1"),
                        config=config)


@pytest.fixture(scope="module")
def table(client):
    name = f"throttle-{uuid.uuid4().hex[:8]}"
    client.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                        AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a in ("pk", "sk")],
                        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}])
    yield name
    client.delete_table(TableName=name)


def key(pk):
    return {"pk": {"S": pk}, "sk": {"S": "ITEM"}}


def bump(client, table, pk):
    """One UpdateItem on item `pk`: None if it went through, else the error code."""
    try:
        client.update_item(TableName=table, Key=key(pk), UpdateExpression="ADD hits :one",
                           ExpressionAttributeValues={":one": {"N": "1"}})
        return None
    except ClientError as e:
        return e.response["Error"]["Code"]


def drain(client, table, pk):
    """Spends item `pk`'s burst: bumps until one is throttled."""
    while bump(client, table, pk) is None:
        pass


def test_one_hot_item_is_held_to_its_rate_and_others_are_not(client, table, proxy):
    hot, cold = f"HOT#{uuid.uuid4().hex}", f"COLD#{uuid.uuid4().hex}"
    started = time.monotonic()

    def hammer(_):
        codes = []
        while time.monotonic() - started < 2:
            codes.append(bump(client, table, hot))
        return codes

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        codes = [code for codes in pool.map(hammer, range(8)) for code in codes]
    seconds = time.monotonic() - started
    forwarded, throttled = codes.count(None), codes.count("ProvisionedThroughputExceededException")
    assert forwarded + throttled == len(codes), set(codes)
    assert throttled > 0, (forwarded, throttled)
    # One second's burst, then the rate (a little slack for the clock read between the two timestamps).
    assert ITEM_WCU <= forwarded <= ITEM_WCU + ITEM_WCU * seconds + 2, (forwarded, seconds)
    hits = client.get_item(TableName=table, Key=key(hot), ConsistentRead=True)["Item"]["hits"]["N"]
    assert int(hits) == forwarded, "a throttled write reached DynamoDB"

    # While the hot item is held back, another item is written at once, every time.
    assert [bump(client, table, cold) for _ in range(5)] == [None] * 5
    counted = proxy[1]()["items"]
    assert counted[f"{table} {hot} ITEM"] == {"forwarded": forwarded, "throttled": throttled, "units": forwarded}
    assert counted[f"{table} {cold} ITEM"]["throttled"] == 0


def test_a_transaction_over_the_rate_is_cancelled_with_a_throttling_reason(client, table, proxy):
    hot, other = f"HOT#{uuid.uuid4().hex}", f"OTHER#{uuid.uuid4().hex}"
    drain(client, table, hot)
    actions = [
        {"ConditionCheck": {"TableName": table, "Key": key(other), "ConditionExpression": "attribute_not_exists(pk)"}},
        {"Update": {"TableName": table, "Key": key(hot), "UpdateExpression": "ADD hits :one",
                    "ExpressionAttributeValues": {":one": {"N": "1"}}}},
    ]
    with pytest.raises(ClientError) as refused:
        client.transact_write_items(TransactItems=actions)
    error = refused.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert error["Error"]["Code"] == "TransactionCanceledException"
    assert [r["Code"] for r in error["CancellationReasons"]] == ["None", "ThrottlingError"]
    assert "[None, ThrottlingError]" in error["Error"]["Message"]
    # The cancelled transaction charged nothing: the other item's whole burst is still there,
    # ITEM_WCU / 2 transactional writes of 2 units each (and what refilled meanwhile).
    assert proxy[1]()["items"][f"{table} {other} ITEM"] == {"forwarded": 0, "throttled": 1, "units": 0}
    put = [{"Put": {"TableName": table, "Item": key(other)}}]
    started, written = time.monotonic(), 0
    while True:
        try:
            client.transact_write_items(TransactItems=put)
            written += 1
        except ClientError as e:
            assert [r["Code"] for r in e.response["CancellationReasons"]] == ["ThrottlingError"]
            break
    refilled = ITEM_WCU * (time.monotonic() - started) / 2
    assert ITEM_WCU // 2 <= written <= ITEM_WCU // 2 + refilled + 1, (written, refilled)
    # Reads pass through, however hot the item.
    assert all(client.get_item(TableName=table, Key=key(hot))["Item"] for _ in range(50))
