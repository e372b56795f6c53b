"""A customer's credit balance split over shard items by the `credit-shards`
tool (docs/CAPACITY.md): a burst of debits through the SDK never takes it below
zero nor past its overage limit, credits and the expiry run arriving during a
burst (fences) lose nothing, the ledger still chains exactly, and switching off
leaves the numbers as they were."""

import concurrent.futures
import json
import os
import subprocess
import time
from decimal import Decimal

import dodopayments
import pytest
from dodopayments import DodoPayments

from test_credits import assert_chained, burst, entry, ledger, metered, new_customer, soon


def credit_shards(business_id, cde_id, customer, shards):
    """Runs the operator's tool against the suite's table; its JSON, or its exit code and message."""
    tool = os.path.join(os.environ["FUNCTION_BIN_DIR"], "credit-shards")
    done = subprocess.run([tool, business_id, cde_id, customer, str(shards)], capture_output=True, text=True, timeout=60)
    return json.loads(done.stdout) if done.returncode == 0 else (done.returncode, (done.stderr.strip().splitlines() or [""])[-1])


def shard_debits(table, business_id, cde_id, customer, count):
    """How many ledger entries the shards made (each in its own partition)."""
    return sum(table.query(KeyConditionExpression="pk = :pk AND begins_with(sk, :ledger)", Select="COUNT",
                           ExpressionAttributeValues={":pk": f"CBALS#{business_id}#{cde_id}#{customer}#{i}#LEDGER",
                                                      ":ledger": "LEDGER#"}, ConsistentRead=True)["Count"]
               for i in range(count))


def shard_items(table, business_id, cde_id, customer, count):
    keys = [{"pk": f"CBALS#{business_id}#{cde_id}#{customer}#{i}", "sk": "SHARD"} for i in range(count)]
    return [table.get_item(Key=k, ConsistentRead=True).get("Item") for k in keys]


@pytest.fixture
def client(api_url, business):
    return DodoPayments(bearer_token=business.key, base_url=api_url, max_retries=0, timeout=60)


@pytest.mark.parametrize("overage_limit", [None, 25])
def test_300_concurrent_debits_on_a_split_balance_never_take_it_below_zero(business, client, table, overage_limit):
    overage = {"overage_enabled": True, "overage_limit": overage_limit, "currency": "USD",
               "price_per_unit": "0.01"} if overage_limit else {}
    cde = metered(client, precision=0, **overage)
    cus = new_customer()
    for amount in ["100", "60", "40"]:
        entry(client, cde, cus, amount, "credit")
    assert credit_shards(business.business_id, cde.id, cus, 8) == {
        "shards": 8, "balance": "200", "overage": "0", "version": 4}
    shards = shard_items(table, business.business_id, cde.id, cus, 8)
    assert sorted(s["allowance"] for s in shards) == ["25"] * 8

    answers = burst(client, cde, cus, 300)
    refusal = "OVERAGE_LIMIT_REACHED" if overage_limit else "INSUFFICIENT_CREDITS"
    expected = 200 + (overage_limit or 0)
    entries = ledger(client, cde, cus)
    by_shard = shard_debits(table, business.business_id, cde.id, cus, 8)
    print(f"\n300 concurrent debits of 1 against 200 split over 8 shards, overage limit {overage_limit}: "
          f"{answers.count(201)} x 201 ({by_shard} on a shard alone, {answers.count(201) - by_shard} by a fence), "
          f"{answers.count((400, refusal))} x 400 {refusal}, "
          f"other {sorted({a for a in answers if a not in (201, (400, refusal))}, key=str)}")
    assert answers.count(201) == expected
    assert answers.count((400, refusal)) == 300 - expected
    assert by_shard > 0, "debits a shard covers are made there"

    balance = client.credit_entitlements.balances.retrieve(cus, credit_entitlement_id=cde.id)
    assert (balance.balance, balance.overage) == ("0", str(overage_limit or 0))
    grants = list(client.credit_entitlements.balances.list_grants(cus, credit_entitlement_id=cde.id))
    assert [(g.initial_amount, g.remaining_amount) for g in grants] == [("100", "0"), ("60", "0"), ("40", "0")]
    assert len(entries) == 3 + expected, "one entry per change, none for a refusal"
    assert_chained(entries, "0")

    # Merged back: the numbers as they were, the ledger unchanged, the shards gone.
    assert credit_shards(business.business_id, cde.id, cus, "off")["balance"] == "0"
    assert shard_items(table, business.business_id, cde.id, cus, 8) == [None] * 8
    assert ledger(client, cde, cus) == entries
    assert client.credit_entitlements.balances.retrieve(cus, credit_entitlement_id=cde.id).overage == str(overage_limit or 0)


def test_credits_arriving_during_a_burst_are_all_spendable_and_none_spent_twice(business, client):
    cde = metered(client, precision=0)
    cus = new_customer()
    entry(client, cde, cus, "50", "credit")
    assert credit_shards(business.business_id, cde.id, cus, 4)["shards"] == 4

    def credit(_):
        return entry(client, cde, cus, "10", "credit").amount

    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        credits = pool.submit(lambda: [credit(i) for i in range(10)])
        answers = burst(client, cde, cus, 250)
        credited = credits.result()
    print(f"\n250 debits of 1 against 50 split over 4, 10 credits of 10 during them: {answers.count(201)} x 201, "
          f"{len(answers) - answers.count(201)} refused")
    assert credited == ["10"] * 10
    balance = client.credit_entitlements.balances.retrieve(cus, credit_entitlement_id=cde.id).balance
    assert answers.count(201) + int(balance) == 150, "every credit spent once or still held"
    assert set(answers) <= {201, (400, "INSUFFICIENT_CREDITS")}
    entries = ledger(client, cde, cus)
    assert len(entries) == 11 + answers.count(201)
    assert_chained(entries, balance)
    # What is left is still spendable, through a fence or a shard.
    for _ in range(int(balance)):
        entry(client, cde, cus, "1", "debit")
    assert client.credit_entitlements.balances.retrieve(cus, credit_entitlement_id=cde.id).balance == "0"


def test_a_split_balance_expires_on_schedule_and_a_shard_never_spends_past_an_expiry(business, client, invoke):
    cde = metered(client)
    cus = new_customer()
    short = entry(client, cde, cus, "10", "credit", expires_at=soon(6))
    entry(client, cde, cus, "5", "credit")
    assert credit_shards(business.business_id, cde.id, cus, 4)["balance"] == "15.00"
    entry(client, cde, cus, "3", "debit")
    assert client.credit_entitlements.balances.retrieve(cus, credit_entitlement_id=cde.id).balance == "12.00"
    time.sleep(6.5)
    with pytest.raises(dodopayments.BadRequestError):
        entry(client, cde, cus, "6", "debit")  # 12 held, 7 of it past its expiry
    assert invoke("expire-credits", {})["expired"] >= 1
    balance = client.credit_entitlements.balances.retrieve(cus, credit_entitlement_id=cde.id)
    assert balance.balance == "5.00"
    expired = list(client.credit_entitlements.balances.list_grants(cus, credit_entitlement_id=cde.id, status="expired"))
    assert [(g.id, g.remaining_amount) for g in expired] == [(short.grant_id, "0.00")]
    entries = ledger(client, cde, cus)
    assert [(e.transaction_type, e.amount) for e in entries] == [
        ("credit_added", "10.00"), ("credit_added", "5.00"), ("credit_deducted", "3.00"), ("credit_expired", "7.00")]
    assert_chained(entries, "5.00")


def test_an_idempotency_key_used_again_on_a_shard_is_409(business, client):
    cde = metered(client)
    cus = new_customer()
    entry(client, cde, cus, "10", "credit")
    credit_shards(business.business_id, cde.id, cus, 2)
    first = entry(client, cde, cus, "1", "debit", idempotency_key="once")
    assert first.grant_id is None, "made on a shard"
    assert (first.balance_before, first.balance_after) == ("10.00", "9.00"), "the balance as its shard knows it"
    with pytest.raises(dodopayments.ConflictError):
        entry(client, cde, cus, "1", "debit", idempotency_key="once")
    assert client.credit_entitlements.balances.retrieve(cus, credit_entitlement_id=cde.id).balance == "9.00"


def test_the_tool_refuses_what_it_cannot_do_and_changes_nothing(business, client, table):
    cde = metered(client)
    cus = new_customer()
    assert credit_shards(business.business_id, cde.id, cus, 4)[0] == 1  # no balance yet
    entry(client, cde, cus, "10", "credit")
    for wrong in (1, 17):
        code, message = credit_shards(business.business_id, cde.id, cus, wrong)
        assert code == 1 and "shards" in message, message
    assert shard_items(table, business.business_id, cde.id, cus, 2) == [None, None]
    again = credit_shards(business.business_id, cde.id, cus, 2)
    assert (again["shards"], again["balance"]) == (2, "10.00")
    assert credit_shards(business.business_id, cde.id, cus, 3)["shards"] == 3
    assert [s["allowance"] for s in shard_items(table, business.business_id, cde.id, cus, 3)] == ["3.34", "3.33", "3.33"]


def test_a_split_ledger_pages_by_number_and_by_cursor_and_across_the_switch(business, client, api_url):
    import httpx

    cde = metered(client, precision=0)
    cus = new_customer()
    for amount in ["20", "20"]:
        entry(client, cde, cus, amount, "credit")
    entry(client, cde, cus, "1", "debit")
    path = f"{api_url}/credit-entitlements/{cde.id}/balances/{cus}/ledger"
    headers = {"Authorization": f"Bearer {business.key}"}
    before_split = httpx.get(path, params={"page_size": 2}, headers=headers).json()["next_cursor"]
    credit_shards(business.business_id, cde.id, cus, 3)
    for i in range(12):
        entry(client, cde, cus, "1", "debit")
        if i % 5 == 4:
            entry(client, cde, cus, "2", "credit")  # a fence between shards' debits
    whole = ledger(client, cde, cus)
    assert len(whole) == 3 + 12 + 2
    assert_chained(whole, client.credit_entitlements.balances.retrieve(cus, credit_entitlement_id=cde.id).balance)
    # The SDK's auto-pager asks for page 1, 2, 3, ...
    by_number = list(client.credit_entitlements.balances.list_ledger(cus, credit_entitlement_id=cde.id, page_size=4))
    assert [e.id for e in by_number] == [e.id for e in whole]
    assert by_number == whole
    by_cursor, cursor = [], None
    while True:
        page = httpx.get(path, params={"page_size": 5, **({"cursor": cursor} if cursor else {})}, headers=headers).json()
        by_cursor += [e["id"] for e in page["items"]]
        if not (cursor := page.get("next_cursor")):
            break
    assert by_cursor == [e.id for e in whole]
    # A cursor from before the split goes on where it left off.
    rest = httpx.get(path, params={"page_size": 100, "cursor": before_split}, headers=headers).json()
    assert [e["id"] for e in rest["items"]] == [e.id for e in whole[2:]]
    assert rest["items"][0]["balance_before"] == whole[2].balance_before
    debits = ledger(client, cde, cus, transaction_type="credit_deducted")
    assert [e.id for e in debits] == [e.id for e in whole if e.transaction_type == "credit_deducted"]


def test_grants_of_a_split_balance_show_what_its_shards_spent(business, client):
    cde = metered(client, precision=0)
    cus = new_customer()
    first = entry(client, cde, cus, "4", "credit")
    second = entry(client, cde, cus, "6", "credit")
    credit_shards(business.business_id, cde.id, cus, 2)
    for _ in range(5):
        entry(client, cde, cus, "1", "debit")
    grants = list(client.credit_entitlements.balances.list_grants(cus, credit_entitlement_id=cde.id))
    assert [(g.id, g.remaining_amount) for g in grants] == [(first.grant_id, "0"), (second.grant_id, "5")]
    active = list(client.credit_entitlements.balances.list_grants(cus, credit_entitlement_id=cde.id, status="active"))
    assert [g.id for g in active] == [second.grant_id]
    assert client.customers.list_credit_entitlements(cus).items[0].balance == "5"
