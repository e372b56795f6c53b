"""Credit entitlements (SPEC §1.8) through the Python SDK's `credit_entitlements`
resource and `customers.list_credit_entitlements`: exact decimals, debits from the
oldest grant first, a balance that never goes below zero however many debits run
at once, and a ledger whose entries chain exactly.
"""

import concurrent.futures
import datetime
import time
import uuid
from decimal import Decimal

import dodopayments
import pytest
from dodopayments import DodoPayments


@pytest.fixture
def client(api_url, business):
    return DodoPayments(bearer_token=business.key, base_url=api_url, max_retries=0)


def new_customer():
    return f"cus_{uuid.uuid4().hex[:12]}"


def metered(client, **extra):
    body = {"name": "API calls", "unit": "calls", "precision": 2, "overage_enabled": False,
            "rollover_enabled": False, **extra}
    return client.credit_entitlements.create(**body)


def entry(client, cde, customer, amount, entry_type, **extra):
    return client.credit_entitlements.balances.create_ledger_entry(
        customer, credit_entitlement_id=cde.id, amount=amount, entry_type=entry_type, **extra)


def ledger(client, cde, customer, **params):
    return list(client.credit_entitlements.balances.list_ledger(
        customer, credit_entitlement_id=cde.id, page_size=100, **params))


def assert_chained(entries, balance):
    """Each entry starts where the one before it ended, the last ends at the
    balance, and credits minus debits add up to it."""
    running = Decimal(0)
    for earlier, later in zip(entries, entries[1:]):
        assert earlier.balance_after == later.balance_before, (earlier, later)
        assert earlier.overage_after == later.overage_before, (earlier, later)
    for e in entries:
        taken_from_balance = Decimal(e.balance_before) - Decimal(e.balance_after)
        if e.is_credit:
            assert Decimal(e.balance_after) - Decimal(e.balance_before) == Decimal(e.amount)
        else:
            into_overage = Decimal(e.overage_after) - Decimal(e.overage_before)
            assert taken_from_balance + into_overage == Decimal(e.amount), e
        running += Decimal(e.balance_after) - Decimal(e.balance_before)
    assert entries[-1].balance_after == balance
    assert running == Decimal(balance)


def test_the_catalogue_through_the_sdk(business, client):
    cde = metered(client, description="Calls to /v1/generate", expires_after_days=30)
    assert (cde.name, cde.unit, cde.precision, cde.overage_behavior) == ("API calls", "calls", 2, "forgive_at_reset")
    assert (cde.business_id, cde.expires_after_days, cde.description) == (business.business_id, 30, "Calls to /v1/generate")
    assert client.credit_entitlements.retrieve(cde.id).name == "API calls"

    client.credit_entitlements.update(cde.id, name="Tokens", description=None, currency="USD", price_per_unit="0.002",
                                      overage_enabled=True, overage_limit=25)
    changed = client.credit_entitlements.retrieve(cde.id)
    assert (changed.name, changed.description, changed.price_per_unit, changed.overage_limit) == (
        "Tokens", None, "0.002", 25)
    assert changed.precision == 2 and changed.unit == "calls"

    other = metered(client, name="Seats")
    assert [e.id for e in client.credit_entitlements.list()] == [other.id, cde.id], "newest first"

    client.credit_entitlements.delete(cde.id)
    with pytest.raises(dodopayments.NotFoundError):
        client.credit_entitlements.retrieve(cde.id)
    assert [e.id for e in client.credit_entitlements.list()] == [other.id]
    assert [e.id for e in client.credit_entitlements.list(deleted=True)] == [cde.id]
    with pytest.raises(dodopayments.NotFoundError):
        client.credit_entitlements.delete(cde.id)

    client.credit_entitlements.undelete(cde.id)
    assert client.credit_entitlements.retrieve(cde.id).name == "Tokens"
    with pytest.raises(dodopayments.ConflictError) as not_deleted:
        client.credit_entitlements.undelete(cde.id)
    assert not_deleted.value.body["code"] == "NOT_DELETED"
    with pytest.raises(dodopayments.NotFoundError):
        client.credit_entitlements.undelete("cde_unknown")


def test_bad_catalogue_input_is_refused_by_name(business, client):
    for extra, field in [({"precision": 11}, "precision"), ({"price_per_unit": "1"}, "currency"),
                         ({"overage_enabled": True}, "price_per_unit"),
                         ({"rollover_timeframe_count": 3}, "rollover_timeframe_count"),
                         ({"rollover_percentage": 150}, "rollover_percentage")]:
        with pytest.raises(dodopayments.UnprocessableEntityError) as refused:
            metered(client, **extra)
        assert refused.value.body["message"].startswith(field), (extra, refused.value.body)
    assert list(client.credit_entitlements.list()) == [], "nothing was made"
    cde = metered(client)
    with pytest.raises(dodopayments.UnprocessableEntityError):
        client.credit_entitlements.update(cde.id, overage_enabled=True)
    assert client.credit_entitlements.retrieve(cde.id).overage_enabled is False


def test_credits_and_debits_are_exact_and_oldest_first(business, client):
    cde = metered(client)
    cus = new_customer()
    first = entry(client, cde, cus, "10.1", "credit", reason="Welcome bonus", metadata={"campaign": "launch"})
    assert (first.amount, first.balance_before, first.balance_after, first.entry_type, first.is_credit) == (
        "10.10", "0.00", "10.10", "credit", True)
    entry(client, cde, cus, "0.2", "credit")
    debit = entry(client, cde, cus, "10.25", "debit")
    assert (debit.balance_before, debit.balance_after, debit.overage_after, debit.grant_id) == (
        "10.30", "0.05", "0.00", first.grant_id)

    balance = client.credit_entitlements.balances.retrieve(cus, credit_entitlement_id=cde.id)
    assert (balance.balance, balance.overage, balance.customer_id) == ("0.05", "0.00", cus)
    assert balance.last_transaction_at is not None

    grants = list(client.credit_entitlements.balances.list_grants(cus, credit_entitlement_id=cde.id))
    assert [(g.initial_amount, g.remaining_amount, g.source_type) for g in grants] == [
        ("10.10", "0.00", "api"), ("0.20", "0.05", "api")]
    depleted = client.credit_entitlements.balances.list_grants(cus, credit_entitlement_id=cde.id, status="depleted")
    assert [g.id for g in depleted] == [first.grant_id]
    active = client.credit_entitlements.balances.list_grants(cus, credit_entitlement_id=cde.id, status="active")
    assert [g.remaining_amount for g in active] == ["0.05"]
    assert list(client.credit_entitlements.balances.list_grants(cus, credit_entitlement_id=cde.id, status="expired")) == []

    entries = ledger(client, cde, cus)
    assert [(e.transaction_type, e.amount) for e in entries] == [
        ("credit_added", "10.10"), ("credit_added", "0.20"), ("credit_deducted", "10.25")]
    assert entries[0].metadata == {"campaign": "launch"} and entries[0].description == "Welcome bonus"
    assert_chained(entries, "0.05")
    assert [e.amount for e in ledger(client, cde, cus, transaction_type="credit_deducted")] == ["10.25"]
    assert ledger(client, cde, cus, start_date="2999-01-01T00:00:00Z") == []

    listed = list(client.credit_entitlements.balances.list(cde.id))
    assert [(b.customer_id, b.balance) for b in listed] == [(cus, "0.05")]
    assert [b.customer_id for b in client.credit_entitlements.balances.list(cde.id, customer_id=cus)] == [cus]
    assert list(client.credit_entitlements.balances.list(cde.id, customer_id=new_customer())) == []
    mine = client.customers.list_credit_entitlements(cus).items
    assert [(i.credit_entitlement_id, i.name, i.unit, i.balance, i.overage) for i in mine] == [
        (cde.id, "API calls", "calls", "0.05", "0.00")]


def test_a_refused_entry_changes_nothing(business, client):
    cde = metered(client)
    cus = new_customer()
    entry(client, cde, cus, "5", "credit", idempotency_key="order-1")
    before = ledger(client, cde, cus)
    with pytest.raises(dodopayments.BadRequestError) as short:
        entry(client, cde, cus, "5.01", "debit")
    assert short.value.body["code"] == "INSUFFICIENT_CREDITS"
    for amount in ["1.001", "-1", "0", "1e3", "10000000000", "abc"]:
        with pytest.raises(dodopayments.UnprocessableEntityError) as bad:
            entry(client, cde, cus, amount, "debit")
        assert bad.value.body["message"].startswith("amount"), (amount, bad.value.body)
    with pytest.raises(dodopayments.UnprocessableEntityError):
        entry(client, cde, cus, "1", "debit", expires_at="2999-01-01T00:00:00Z")
    with pytest.raises(dodopayments.ConflictError) as reused:
        entry(client, cde, cus, "7", "credit", idempotency_key="order-1")
    assert reused.value.body["code"] == "IDEMPOTENCY_KEY_ALREADY_USED"
    with pytest.raises(dodopayments.NotFoundError):
        client.credit_entitlements.balances.retrieve(new_customer(), credit_entitlement_id=cde.id)
    with pytest.raises(dodopayments.NotFoundError):
        client.credit_entitlements.balances.create_ledger_entry(
            cus, credit_entitlement_id="cde_unknown", amount="1", entry_type="credit")
    assert ledger(client, cde, cus) == before
    assert client.credit_entitlements.balances.retrieve(cus, credit_entitlement_id=cde.id).balance == "5.00"


def test_another_business_sees_nothing(business, client, api_url, other_business):
    cde = metered(client)
    cus = new_customer()
    entry(client, cde, cus, "5", "credit")
    stranger = DodoPayments(bearer_token=other_business.key, base_url=api_url, max_retries=0)
    with pytest.raises(dodopayments.NotFoundError):
        stranger.credit_entitlements.retrieve(cde.id)
    with pytest.raises(dodopayments.NotFoundError):
        stranger.credit_entitlements.balances.retrieve(cus, credit_entitlement_id=cde.id)
    with pytest.raises(dodopayments.NotFoundError):
        entry(stranger, cde, cus, "1", "debit")
    assert stranger.customers.list_credit_entitlements(cus).items == []
    assert client.credit_entitlements.balances.retrieve(cus, credit_entitlement_id=cde.id).balance == "5.00"


def burst(client, cde, customer, count):
    def debit(_):
        try:
            entry(client, cde, customer, "1", "debit")
            return 201
        except dodopayments.APIStatusError as refused:
            return (refused.status_code, refused.body.get("code"))

    with concurrent.futures.ThreadPoolExecutor(64) as pool:
        return list(pool.map(debit, range(count)))


@pytest.mark.parametrize("overage_limit", [None, 25])
def test_300_concurrent_debits_never_take_the_balance_below_zero(business, api_url, overage_limit):
    client = DodoPayments(bearer_token=business.key, base_url=api_url, max_retries=0, timeout=60)
    overage = {"overage_enabled": True, "overage_limit": overage_limit, "currency": "USD",
               "price_per_unit": "0.01"} if overage_limit else {}
    cde = metered(client, precision=0, **overage)
    cus = new_customer()
    for amount in ["100", "60", "40"]:
        entry(client, cde, cus, amount, "credit")

    answers = burst(client, cde, cus, 300)
    refusal = ("OVERAGE_LIMIT_REACHED" if overage_limit else "INSUFFICIENT_CREDITS")
    expected = 200 + (overage_limit or 0)
    print(f"\n300 concurrent debits of 1 against 200 over 3 grants, overage limit {overage_limit}: "
          f"{answers.count(201)} x 201, {answers.count((400, refusal))} x 400 {refusal}, "
          f"other {sorted({a for a in answers if a not in (201, (400, refusal))}, key=str)}")
    assert answers.count(201) == expected
    assert answers.count((400, refusal)) == 300 - expected

    balance = client.credit_entitlements.balances.retrieve(cus, credit_entitlement_id=cde.id)
    assert (balance.balance, balance.overage) == ("0", str(overage_limit or 0))
    grants = list(client.credit_entitlements.balances.list_grants(cus, credit_entitlement_id=cde.id))
    assert [(g.initial_amount, g.remaining_amount) for g in grants] == [("100", "0"), ("60", "0"), ("40", "0")]
    entries = ledger(client, cde, cus)
    assert len(entries) == 3 + expected, "one entry per change, none for a refusal"
    assert_chained(entries, "0")
    debits = [e for e in entries if not e.is_credit]
    taken = [e.grant_id for e in debits if Decimal(e.balance_before) > 0]
    assert taken == [grants[0].id] * 100 + [grants[1].id] * 60 + [grants[2].id] * 40, "oldest grant first"


def test_a_debit_held_while_another_process_spends_is_decided_again(business, client):
    """Two processes at one balance: the in-process turns cannot order them, the
    balance's version does. The held debit's commit is refused, and it is decided
    again from the balance as the other left it."""
    from test_stale_writes import bearer, held
    from lambda_runtime import http_event

    cde = metered(client, precision=0)
    cus = new_customer()
    first = entry(client, cde, cus, "5", "credit")
    second = entry(client, cde, cus, "5", "credit")
    path = f"/credit-entitlements/{cde.id}/balances/{cus}/ledger-entries"
    route = "/credit-entitlements/{credit_entitlement_id}/balances/{customer_id}/ledger-entries"
    event = lambda amount: http_event("POST", route, path, {"credit_entitlement_id": cde.id, "customer_id": cus},  # noqa: E731
                                      bearer(business), {"amount": amount, "entry_type": "debit"})

    status, body = held("create-credit-ledger-entry", event("4"), lambda: entry(client, cde, cus, "4", "debit"))
    assert status == 201, body
    # The other process took 4 of the first grant's 5: this debit takes its last 1, then 3 of the second.
    assert (body["balance_before"], body["balance_after"], body["grant_id"]) == ("6", "2", first.grant_id)

    status, body = held("create-credit-ledger-entry", event("3"), lambda: entry(client, cde, cus, "1", "debit"))
    assert status == 400 and body["code"] == "INSUFFICIENT_CREDITS", body
    entries = ledger(client, cde, cus)
    assert [e.amount for e in entries] == ["5", "5", "4", "4", "1"]
    assert_chained(entries, "1")
    grants = list(client.credit_entitlements.balances.list_grants(cus, credit_entitlement_id=cde.id))
    assert [(g.id, g.remaining_amount) for g in grants] == [(first.grant_id, "0"), (second.grant_id, "1")]


def test_credit_events_reach_a_webhook(business, client, receiver):
    from test_webhooks import check_envelope, settle
    from webhook_receiver import wait_for

    hook = receiver.endpoint(client)
    cde = metered(client, overage_enabled=True, overage_limit=5, currency="USD", price_per_unit="0.01")
    cus = new_customer()
    added = entry(client, cde, cus, "1", "credit")
    deducted = entry(client, cde, cus, "3", "debit")
    wait_for(lambda: len(receiver.deliveries(hook)) >= 3, "the 3 credit events")
    settle()
    got = receiver.deliveries(hook)
    assert [(d.type, d.data["id"]) for d in got] == [
        ("credit.added", added.id), ("credit.deducted", deducted.id), ("credit.overage_charged", deducted.id)]
    for delivery in got:
        check_envelope(delivery, business.business_id)
    data = got[1].data
    assert (data["overage_before"], data["overage_after"], data["transaction_type"]) == ("0.00", "2.00", "credit_deducted")
    assert (data["balance_before"], data["balance_after"], data["customer_id"]) == ("1.00", "0.00", cus)


def test_a_burst_of_events_about_one_balance_is_delivered_in_order_within_seconds(business, client, receiver):
    """A hot balance makes a long run of events about one subject. They fan out
    and are delivered in order, and a run of them drains in a few passes of the
    delivery schedule, not one event a pass (which left 150 events queued for
    over a minute and every other subject in their shard waiting behind them)."""
    from webhook_receiver import wait_for

    hook = receiver.endpoint(client)
    cde = metered(client)
    cus = new_customer()
    entry(client, cde, cus, "200", "credit")
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda _: entry(client, cde, cus, "1", "debit"), range(149)))
    ids = [e.id for e in ledger(client, cde, cus)]
    started = time.monotonic()
    wait_for(lambda: len(receiver.deliveries(hook)) >= 150, "the 150 credit events", timeout=120)
    took = time.monotonic() - started
    print(f"150 events about one balance delivered in order {took:.1f} s after the last was made")
    assert [d.data["id"] for d in receiver.deliveries(hook)] == ids
    assert took < 10, f"{took:.1f} s for 150 events about one balance"


def test_translations_through_the_sdk(business, client):
    cde = metered(client, description="Calls")
    created = client.credit_entitlements.translations.with_raw_response.update("fr", id=cde.id, name="Appels API", unit="appels")
    assert created.status_code == 201
    assert (created.parse().name, created.parse().unit) == ("Appels API", "appels")
    replaced = client.credit_entitlements.translations.with_raw_response.update("fr", id=cde.id, unit="appels")
    assert replaced.status_code == 200 and replaced.parse().name is None, "a put replaces the whole translation"
    client.credit_entitlements.translations.update("de", id=cde.id, name="API-Aufrufe")
    assert [t.locale for t in client.credit_entitlements.translations.list(cde.id).items] == ["fr", "de"]
    assert [t.locale for t in client.credit_entitlements.translations.list(cde.id, locale=["de"]).items] == ["de"]

    fr = client.credit_entitlements.retrieve(cde.id, locale="fr")
    assert (fr.name, fr.unit, fr.description) == ("API calls", "appels", "Calls"), "field by field over the base text"
    de = [e for e in client.credit_entitlements.list(locale="de")]
    assert [(e.name, e.unit) for e in de] == [("API-Aufrufe", "calls")]
    assert client.credit_entitlements.retrieve(cde.id).unit == "calls"

    client.credit_entitlements.translations.delete("de", id=cde.id)
    with pytest.raises(dodopayments.NotFoundError):
        client.credit_entitlements.translations.delete("de", id=cde.id)
    with pytest.raises(dodopayments.UnprocessableEntityError):
        client.credit_entitlements.translations.update("xx", id=cde.id, name="?")
    with pytest.raises(dodopayments.UnprocessableEntityError):
        client.credit_entitlements.retrieve(cde.id, locale="xx")
    client.credit_entitlements.delete(cde.id)
    with pytest.raises(dodopayments.NotFoundError):
        client.credit_entitlements.translations.update("it", id=cde.id, name="Chiamate")
    with pytest.raises(dodopayments.NotFoundError):
        client.credit_entitlements.translations.list(cde.id)


def soon(seconds):
    at = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=seconds)
    return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def test_the_schedule_expires_what_a_grant_still_held(business, client, invoke, receiver):
    from webhook_receiver import wait_for

    hook = receiver.endpoint(client)
    cde = metered(client)
    cus = new_customer()
    short = entry(client, cde, cus, "10", "credit", expires_at=soon(1.5))
    lasting = entry(client, cde, cus, "5", "credit")
    entry(client, cde, cus, "3.5", "debit")
    invoke("expire-credits", {})  # not yet due: nothing of this balance expires
    assert client.credit_entitlements.balances.retrieve(cus, credit_entitlement_id=cde.id).balance == "11.50"
    time.sleep(2)
    with pytest.raises(dodopayments.BadRequestError):
        entry(client, cde, cus, "6", "debit")  # 11.50 held, but 6.50 of it past its expiry
    summary = invoke("expire-credits", {})
    assert summary["expired"] >= 1, summary
    invoke("expire-credits", {})  # a second run finds nothing more here

    balance = client.credit_entitlements.balances.retrieve(cus, credit_entitlement_id=cde.id)
    assert balance.balance == "5.00"
    expired = list(client.credit_entitlements.balances.list_grants(cus, credit_entitlement_id=cde.id, status="expired"))
    assert [(g.id, g.is_expired, g.remaining_amount) for g in expired] == [(short.grant_id, True, "0.00")]
    active = list(client.credit_entitlements.balances.list_grants(cus, credit_entitlement_id=cde.id, status="active"))
    assert [g.id for g in active] == [lasting.grant_id]
    entries = ledger(client, cde, cus)
    assert [(e.transaction_type, e.amount) for e in entries] == [
        ("credit_added", "10.00"), ("credit_added", "5.00"), ("credit_deducted", "3.50"), ("credit_expired", "6.50")]
    assert_chained(entries, "5.00")
    wait_for(lambda: "credit.expired" in [d.type for d in receiver.deliveries(hook)], "the credit.expired event")
    event = next(d for d in receiver.deliveries(hook) if d.type == "credit.expired")
    assert (event.data["amount"], event.data["grant_id"]) == ("6.50", short.grant_id)


def test_debits_racing_the_expiry_run_spend_no_credit_twice_and_lose_none(business, client, invoke):
    cde = metered(client, precision=0)
    cus = new_customer()
    # More than the debits can spend before the expiry, so they are still running when it comes.
    expiring = entry(client, cde, cus, "1000", "credit", expires_at=soon(2))
    entry(client, cde, cus, "1000", "credit")
    stop = time.monotonic() + 4

    def debit(_):
        answers = []
        while time.monotonic() < stop:
            try:
                answers.append(entry(client, cde, cus, "1", "debit").grant_id)
            except dodopayments.BadRequestError:
                answers.append(None)
        return answers

    def expire():
        runs = []
        while time.monotonic() < stop + 1:
            runs.append(invoke("expire-credits", {}))
            time.sleep(0.2)
        return runs

    with concurrent.futures.ThreadPoolExecutor(9) as pool:
        expiry = pool.submit(expire)
        debited = [g for answers in pool.map(debit, range(8)) for g in answers if g]
        runs = expiry.result()

    balance = client.credit_entitlements.balances.retrieve(cus, credit_entitlement_id=cde.id).balance
    entries = ledger(client, cde, cus)
    expired = [e for e in entries if e.transaction_type == "credit_expired"]
    print(f"\ndebits racing the expiry run: {len(debited)} debits of 1 ({debited.count(expiring.grant_id)} from the "
          f"expiring grant), {len(expired)} expiry of {expired[0].amount if expired else 0}, balance {balance}, "
          f"{len(runs)} expiry runs")
    assert len(expired) == 1, "the grant expired once"
    assert 0 < debited.count(expiring.grant_id) < 1000 and len(debited) > debited.count(expiring.grant_id)
    assert len(debited) + int(expired[0].amount) + int(balance) == 2000, "no credit spent twice, none lost"
    assert_chained(entries, balance)
    expiry_at = client.credit_entitlements.balances.list_grants(
        cus, credit_entitlement_id=cde.id, status="expired").items[0].expires_at
    late = [e for e in entries if e.transaction_type == "credit_deducted" and e.grant_id == expiring.grant_id
            and e.created_at >= expiry_at]
    assert late == [], "nothing spent from a grant past its expiry"
