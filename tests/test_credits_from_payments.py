"""A product's credits (SPEC §1.8): attached with the SDK's `products.update`,
granted by Dodo's events as they arrive at `POST /inbound/dodo/{business}`,
once per payment and once per billing cycle however often an event comes."""

import concurrent.futures
import datetime
import uuid

import dodopayments
import pytest
from dodopayments import DodoPayments

from test_credits import metered
from test_provider_events import buyer, envelope, inbound, payment_data, refund_data, subscription_data  # noqa: F401


@pytest.fixture
def client(api_url, business):
    return DodoPayments(bearer_token=business.key, base_url=api_url, max_retries=0)


def credited_product(client, *mappings):
    pid = f"pdt_{uuid.uuid4().hex[:16]}"
    client.products.update(pid, credit_entitlements=list(mappings))
    return pid


def balance(client, cde, customer):
    try:
        return client.credit_entitlements.balances.retrieve(customer["customer_id"], credit_entitlement_id=cde.id).balance
    except dodopayments.NotFoundError:
        return None


def grants(client, cde, customer):
    return list(client.credit_entitlements.balances.list_grants(customer["customer_id"], credit_entitlement_id=cde.id))


def cycle(days_ago):
    return datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=days_ago)


def in_cycle(sub_id, pid, customer, began):
    return subscription_data(sub_id, pid, customer).model_copy(update={"previous_billing_date": began})


def test_a_products_credits_are_attached_and_read_through_the_sdk(api_url, client, business, other_business):
    cde = metered(client, expires_after_days=30)
    other = metered(client, precision=0, name="Seats", unit="seats")
    pid = credited_product(
        client,
        {"credit_entitlement_id": cde.id, "credits_amount": "100.5", "expires_after_days": 7,
         "low_balance_threshold_percent": 20},
        {"credit_entitlement_id": other.id, "credits_amount": "3", "overage_enabled": True, "overage_limit": "2",
         "price_per_unit": "1.50", "currency": "EUR", "proration_behavior": "no_prorate"},
    )
    read = client.products.retrieve(pid).credit_entitlements
    assert [(m.credit_entitlement_id, m.credit_entitlement_name, m.credit_entitlement_unit, m.credits_amount)
            for m in read] == [(cde.id, "API calls", "calls", "100.50"), (other.id, "Seats", "seats", "3")]
    assert (read[0].expires_after_days, read[0].low_balance_threshold_percent, read[0].overage_enabled) == (7, 20, False)
    assert (read[1].overage_enabled, read[1].overage_limit, read[1].price_per_unit, read[1].currency,
            read[1].proration_behavior, read[1].expires_after_days) == (True, "2", "1.5", "EUR", "no_prorate", None)
    first_ids = [m.id for m in read]

    # Attached again, a credit entitlement keeps its mapping id; one left out is gone.
    client.products.update(pid, credit_entitlements=[{"credit_entitlement_id": cde.id, "credits_amount": "5"}])
    again = client.products.retrieve(pid).credit_entitlements
    assert [(m.id, m.credits_amount, m.expires_after_days) for m in again] == [(first_ids[0], "5.00", 30)]

    # Refused by field, or 404 for what is not the caller's; nothing changes.
    theirs = DodoPayments(bearer_token=other_business.key, base_url=api_url, max_retries=0)
    for bad, status in [
        ({"credit_entitlement_id": cde.id, "credits_amount": "1.001"}, 422),
        ({"credit_entitlement_id": cde.id, "credits_amount": "-1"}, 422),
        ({"credit_entitlement_id": cde.id, "credits_amount": "1", "overage_enabled": True}, 422),
        ({"credit_entitlement_id": cde.id, "credits_amount": "1", "low_balance_threshold_percent": 101}, 422),
        ({"credit_entitlement_id": "cde_missing", "credits_amount": "1"}, 404),
        ({"credit_entitlement_id": metered(theirs).id, "credits_amount": "1"}, 404),
    ]:
        answer = business.patch(f"/products/{pid}", json={"credit_entitlements": [bad]})
        assert answer.status_code == status, (bad, answer.text)
    assert [(m.id, m.credits_amount) for m in client.products.retrieve(pid).credit_entitlements] == [(first_ids[0], "5.00")]

    # A deleted credit entitlement leaves the product's view; undeleted, it is back.
    client.credit_entitlements.delete(cde.id)
    assert client.products.retrieve(pid).credit_entitlements == []
    client.credit_entitlements.undelete(cde.id)
    assert [m.id for m in client.products.retrieve(pid).credit_entitlements] == [first_ids[0]]


def test_a_one_time_payment_grants_its_products_credits_once(client, inbound):
    cde = metered(client, expires_after_days=30)
    pid = credited_product(client, {"credit_entitlement_id": cde.id, "credits_amount": "10", "expires_after_days": 7})
    customer = buyer()
    body = envelope("payment.succeeded", payment_data("pay_credits", customer, [pid]))
    inbound.deliver(body)
    assert balance(client, cde, customer) == "10.00"
    [grant] = grants(client, cde, customer)
    assert (grant.source_type, grant.source_id, grant.initial_amount) == ("one_time", "pay_credits", "10.00")
    expires = grant.expires_at - datetime.datetime.now(datetime.timezone.utc)
    assert datetime.timedelta(days=6, hours=23) < expires <= datetime.timedelta(days=7), grant.expires_at
    [entry] = client.credit_entitlements.balances.list_ledger(customer["customer_id"], credit_entitlement_id=cde.id)
    assert (entry.transaction_type, entry.reference_type, entry.reference_id) == ("credit_added", "payment", "pay_credits")

    # The same event delivered again, and 8 copies at once (new delivery ids): still one grant.
    inbound.deliver(body)
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: inbound.post(body), range(8)))
    assert [a.status_code for a in answers] == [204] * 8, [a.text for a in answers]
    assert balance(client, cde, customer) == "10.00"
    assert len(grants(client, cde, customer)) == 1


def test_a_payment_refunded_before_it_arrives_grants_no_credits(client, inbound):
    cde = metered(client)
    pid = credited_product(client, {"credit_entitlement_id": cde.id, "credits_amount": "10"})
    customer = buyer()
    inbound.deliver(envelope("refund.succeeded", refund_data("pay_refunded_first", customer)))
    inbound.deliver(envelope("payment.succeeded", payment_data("pay_refunded_first", customer, [pid])))
    assert balance(client, cde, customer) is None


def test_each_billing_cycle_of_a_subscription_grants_its_credits_once(client, inbound):
    cde = metered(client, rollover_enabled=True)  # all of a cycle's credits roll into the next
    pid = credited_product(client, {"credit_entitlement_id": cde.id, "credits_amount": "25.5"})
    customer, sub = buyer(), f"sub_{uuid.uuid4().hex[:12]}"
    first, second, third = cycle(60), cycle(30), cycle(0)

    inbound.deliver(envelope("subscription.active", in_cycle(sub, pid, customer, first)))
    assert balance(client, cde, customer) == "25.50"
    # Paused and unpaused within the cycle: no second grant for it.
    inbound.deliver(envelope("subscription.paused", in_cycle(sub, pid, customer, first)))
    inbound.deliver(envelope("subscription.unpaused", in_cycle(sub, pid, customer, first)))
    assert balance(client, cde, customer) == "25.50"

    inbound.deliver(envelope("subscription.renewed", in_cycle(sub, pid, customer, second)))
    inbound.deliver(envelope("subscription.renewed", in_cycle(sub, pid, customer, second)))
    assert balance(client, cde, customer) == "51.00"

    # Ten copies of the next renewal at once: one grant.
    body = envelope("subscription.renewed", in_cycle(sub, pid, customer, third))
    with concurrent.futures.ThreadPoolExecutor(10) as pool:
        answers = list(pool.map(lambda _: inbound.post(body), range(10)))
    assert [a.status_code for a in answers] == [204] * 10, [a.text for a in answers]
    assert balance(client, cde, customer) == "76.50"
    made = [g for g in grants(client, cde, customer) if g.source_type == "subscription"]
    assert [(g.source_id, g.initial_amount) for g in made] == [(sub, "25.50")] * 3
    # What rolls over at a renewal joins one grant: the earlier rolled grant and the last cycle's.
    rolled = [g for g in grants(client, cde, customer) if g.source_type == "rollover" and g.remaining_amount != "0.00"]
    assert [(g.initial_amount, g.remaining_amount, g.rollover_count) for g in rolled] == [("51.00", "51.00", 2)]

    # A cancellation stops nothing already granted; the credits stay spendable.
    inbound.deliver(envelope("subscription.cancelled", in_cycle(sub, pid, customer, third)))
    assert balance(client, cde, customer) == "76.50"


def debit(client, cde, customer, amount):
    return client.credit_entitlements.balances.create_ledger_entry(
        customer["customer_id"], credit_entitlement_id=cde.id, amount=amount, entry_type="debit")


def overage(client, cde, customer):
    return client.credit_entitlements.balances.retrieve(customer["customer_id"], credit_entitlement_id=cde.id).overage


def test_a_renewal_forgives_the_overage_owed_once_and_then_grants_the_cycle(business, client, inbound, receiver):
    from test_webhooks import check_envelope, settle
    from webhook_receiver import wait_for

    hook = receiver.endpoint(client, filter_types=["credit.overage_reset"])
    cde = metered(client, overage_enabled=True, overage_limit=50, currency="USD", price_per_unit="0.01")
    pid = credited_product(client, {"credit_entitlement_id": cde.id, "credits_amount": "10"})
    customer, sub = buyer(), f"sub_{uuid.uuid4().hex[:12]}"
    inbound.deliver(envelope("subscription.active", in_cycle(sub, pid, customer, cycle(30))))
    debit(client, cde, customer, "15")
    assert (balance(client, cde, customer), overage(client, cde, customer)) == ("0.00", "5.00")

    renewal = envelope("subscription.renewed", in_cycle(sub, pid, customer, cycle(0)))
    inbound.deliver(renewal)
    assert (balance(client, cde, customer), overage(client, cde, customer)) == ("10.00", "0.00")
    entries = list(client.credit_entitlements.balances.list_ledger(customer["customer_id"], credit_entitlement_id=cde.id))
    assert [(e.transaction_type, e.amount, e.overage_before, e.overage_after) for e in entries][-2:] == [
        ("overage_reset", "5.00", "5.00", "0.00"), ("credit_added", "10.00", "0.00", "0.00")]

    # Owing again within the new cycle, the same renewal delivered again forgives nothing.
    debit(client, cde, customer, "12")
    inbound.deliver(renewal)
    assert (balance(client, cde, customer), overage(client, cde, customer)) == ("0.00", "2.00")
    [reset] = wait_for(lambda: receiver.deliveries(hook), "credit.overage_reset")
    settle()
    assert len(receiver.deliveries(hook)) == 1
    check_envelope(reset, business.business_id)
    assert (reset.data["transaction_type"], reset.data["amount"]) == ("overage_reset", "5.00")


def test_a_product_that_carries_the_deficit_repays_it_from_the_next_cycle(client, inbound):
    cde = metered(client, overage_enabled=True, overage_limit=50, currency="USD", price_per_unit="0.01")
    pid = credited_product(client, {"credit_entitlement_id": cde.id, "credits_amount": "10",
                                    "overage_behavior": "carry_deficit_auto_repay"})
    customer, sub = buyer(), f"sub_{uuid.uuid4().hex[:12]}"
    inbound.deliver(envelope("subscription.active", in_cycle(sub, pid, customer, cycle(30))))
    debit(client, cde, customer, "15")
    inbound.deliver(envelope("subscription.renewed", in_cycle(sub, pid, customer, cycle(0))))
    assert (balance(client, cde, customer), overage(client, cde, customer)) == ("5.00", "0.00")
    renewed = grants(client, cde, customer)[-1]
    assert (renewed.initial_amount, renewed.remaining_amount) == ("10.00", "5.00")


def test_a_subscriptions_balance_falling_below_its_threshold_is_reported_once(business, client, inbound, receiver):
    from test_webhooks import check_envelope, settle
    from webhook_receiver import wait_for

    hook = receiver.endpoint(client, filter_types=["credit.balance_low"])
    cde = metered(client)
    pid = credited_product(client, {"credit_entitlement_id": cde.id, "credits_amount": "10",
                                    "low_balance_threshold_percent": 50})
    customer, sub = buyer(), f"sub_{uuid.uuid4().hex[:12]}"
    inbound.deliver(envelope("subscription.active", in_cycle(sub, pid, customer, cycle(0))))
    debit(client, cde, customer, "5")
    debit(client, cde, customer, "0.01")
    debit(client, cde, customer, "1")
    [low] = wait_for(lambda: receiver.deliveries(hook), "credit.balance_low")
    settle()
    assert len(receiver.deliveries(hook)) == 1, "once per cycle"
    check_envelope(low, business.business_id)
    assert low.type == "credit.balance_low"
    assert {k: low.data[k] for k in ("subscription_id", "available_balance", "threshold_amount", "threshold_percent",
                                     "subscription_credits_amount", "credit_entitlement_name")} == {
        "subscription_id": sub, "available_balance": "4.99", "threshold_amount": "5.00", "threshold_percent": 50,
        "subscription_credits_amount": "10.00", "credit_entitlement_name": "API calls"}


def test_a_renewal_rolls_over_the_cycles_share_and_forfeits_the_rest(business, client, inbound, receiver):
    from test_webhooks import check_envelope
    from webhook_receiver import wait_for

    hook = receiver.endpoint(client, filter_types=["credit.rolled_over", "credit.rollover_forfeited"])
    cde = metered(client, rollover_enabled=True, rollover_percentage=50, max_rollover_count=1,
                  rollover_timeframe_count=2, rollover_timeframe_interval="Month")
    pid = credited_product(client, {"credit_entitlement_id": cde.id, "credits_amount": "10"})
    customer, sub = buyer(), f"sub_{uuid.uuid4().hex[:12]}"
    inbound.deliver(envelope("subscription.active", in_cycle(sub, pid, customer, cycle(60))))
    debit(client, cde, customer, "2")
    renewal = envelope("subscription.renewed", in_cycle(sub, pid, customer, cycle(30)))
    inbound.deliver(renewal)
    inbound.deliver(renewal)
    assert balance(client, cde, customer) == "14.00", "half of the 8 left rolled over, then the new cycle's 10"
    first, rolled, second = grants(client, cde, customer)
    assert (first.is_rolled_over, first.remaining_amount) == (True, "0.00")
    assert (rolled.source_type, rolled.parent_grant_id, rolled.rollover_count, rolled.initial_amount) == (
        "rollover", first.id, 1, "4.00")
    until = rolled.expires_at - datetime.datetime.now(datetime.timezone.utc)
    assert datetime.timedelta(days=58) < until <= datetime.timedelta(days=62), rolled.expires_at
    entries = list(client.credit_entitlements.balances.list_ledger(customer["customer_id"], credit_entitlement_id=cde.id))
    assert [(e.transaction_type, e.amount, e.balance_after) for e in entries] == [
        ("credit_added", "10.00", "10.00"), ("credit_deducted", "2.00", "8.00"),
        ("rollover_forfeited", "4.00", "4.00"), ("credit_rolled_over", "4.00", "4.00"),
        ("credit_added", "10.00", "14.00")]

    events = wait_for(lambda: len(receiver.deliveries(hook)) >= 2 and receiver.deliveries(hook), "the rollover's events")
    assert [(d.type, d.data["amount"]) for d in events] == [
        ("credit.rollover_forfeited", "4.00"), ("credit.rolled_over", "4.00")]
    for delivery in events:
        check_envelope(delivery, business.business_id)

    # At the next renewal the rolled grant is at its max and is forfeited; the last cycle's half rolls.
    inbound.deliver(envelope("subscription.renewed", in_cycle(sub, pid, customer, cycle(0))))
    assert balance(client, cde, customer) == "15.00", "4 forfeited, 5 of 10 forfeited, 5 rolled, 10 new"


def test_without_rollover_a_renewal_forfeits_what_the_cycle_left(client, inbound):
    cde = metered(client)
    pid = credited_product(client, {"credit_entitlement_id": cde.id, "credits_amount": "10"})
    customer, sub = buyer(), f"sub_{uuid.uuid4().hex[:12]}"
    inbound.deliver(envelope("subscription.active", in_cycle(sub, pid, customer, cycle(30))))
    client.credit_entitlements.balances.create_ledger_entry(
        customer["customer_id"], credit_entitlement_id=cde.id, amount="3", entry_type="credit")
    inbound.deliver(envelope("subscription.renewed", in_cycle(sub, pid, customer, cycle(0))))
    assert balance(client, cde, customer) == "13.00", "the cycle's 10 forfeited, the API's 3 kept, 10 new"
    kinds = [e.transaction_type for e in
             client.credit_entitlements.balances.list_ledger(customer["customer_id"], credit_entitlement_id=cde.id)]
    assert kinds == ["credit_added", "credit_added", "rollover_forfeited", "credit_added"]


def test_a_meter_taken_off_the_product_still_closes_its_cycle_at_the_renewal(client, inbound):
    kept, dropped = metered(client), metered(client)
    pid = credited_product(client, {"credit_entitlement_id": kept.id, "credits_amount": "10"},
                           {"credit_entitlement_id": dropped.id, "credits_amount": "7"})
    customer, sub = buyer(), f"sub_{uuid.uuid4().hex[:12]}"
    inbound.deliver(envelope("subscription.active", in_cycle(sub, pid, customer, cycle(30))))
    assert (balance(client, kept, customer), balance(client, dropped, customer)) == ("10.00", "7.00")
    client.products.update(pid, credit_entitlements=[{"credit_entitlement_id": kept.id, "credits_amount": "10"}])
    inbound.deliver(envelope("subscription.renewed", in_cycle(sub, pid, customer, cycle(0))))
    assert (balance(client, kept, customer), balance(client, dropped, customer)) == ("10.00", "0.00")
    kinds = [e.transaction_type for e in
             client.credit_entitlements.balances.list_ledger(customer["customer_id"], credit_entitlement_id=dropped.id)]
    assert kinds == ["credit_added", "rollover_forfeited"], "the dropped meter's cycle closed, nothing new granted"


def test_a_cycle_begun_by_activation_before_its_renewal_arrives_closes_the_last_once(client, inbound):
    """Back from on hold, Dodo may send `subscription.active` for the new cycle
    before (or instead of) its `subscription.renewed`: either one closes the
    cycle before, resets its overage and grants the new one, once."""
    cde = metered(client, overage_enabled=True, overage_limit=50, currency="USD", price_per_unit="0.01")
    pid = credited_product(client, {"credit_entitlement_id": cde.id, "credits_amount": "10"})
    customer, sub = buyer(), f"sub_{uuid.uuid4().hex[:12]}"
    first, second = cycle(30), cycle(0)
    inbound.deliver(envelope("subscription.active", in_cycle(sub, pid, customer, first)))
    debit(client, cde, customer, "15")
    inbound.deliver(envelope("subscription.on_hold", in_cycle(sub, pid, customer, first)))
    inbound.deliver(envelope("subscription.active", in_cycle(sub, pid, customer, second)))
    assert (balance(client, cde, customer), overage(client, cde, customer)) == ("10.00", "0.00")
    inbound.deliver(envelope("subscription.renewed", in_cycle(sub, pid, customer, second)))
    debit(client, cde, customer, "12")
    inbound.deliver(envelope("subscription.renewed", in_cycle(sub, pid, customer, second)))
    assert (balance(client, cde, customer), overage(client, cde, customer)) == ("0.00", "2.00"), "nothing again"


def test_an_event_grants_credits_even_when_the_meter_changed_under_the_products_overrides(business, client, inbound):
    cde = metered(client, currency="USD", price_per_unit="0.01")
    pid = credited_product(client, {"credit_entitlement_id": cde.id, "credits_amount": "10", "overage_enabled": True})
    client.credit_entitlements.update(cde.id, price_per_unit=None, currency=None)
    customer = buyer()
    inbound.deliver(envelope("payment.succeeded", payment_data(f"pay_{uuid.uuid4().hex[:8]}", customer, [pid])))
    assert balance(client, cde, customer) == "10.00"


def test_a_credit_entitlement_named_twice_on_a_product_is_422_and_changes_nothing(client, business):
    cde = metered(client)
    pid = credited_product(client, {"credit_entitlement_id": cde.id, "credits_amount": "1"})
    twice = [{"credit_entitlement_id": cde.id, "credits_amount": "2"}, {"credit_entitlement_id": cde.id, "credits_amount": "3"}]
    answer = business.patch(f"/products/{pid}", json={"credit_entitlements": twice})
    assert answer.status_code == 422 and "credit_entitlements[1].credit_entitlement_id" in answer.json()["message"], answer.text
    assert [m.credits_amount for m in client.products.retrieve(pid).credit_entitlements] == ["1.00"]
