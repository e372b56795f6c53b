"""Sends one of Dodo's events to a business's inbound URL, signed as Dodo signs
it (Standard Webhooks), to try the grants that follow payments and
subscriptions without a Dodo account:

    python infra/dodo_event.py URL SECRET subscription.active --subscription sub_1 \\
        --product pdt_pro --customer cus_ada --email ada@example.com

URL is the `webhook_url` that `PUT /payment-providers/dodo` answered, SECRET the
`whsec_` secret given to it. Prints the status the service answered.
"""

import argparse
import datetime
import json
import uuid

import httpx
import standardwebhooks

SUBSCRIPTION_TYPES = ["subscription.active", "subscription.unpaused", "subscription.on_hold", "subscription.paused",
                      "subscription.cancelled", "subscription.expired", "subscription.plan_changed",
                      "subscription.renewed"]
TYPES = ["payment.succeeded", "refund.succeeded", *SUBSCRIPTION_TYPES]


def payload(args, now):
    customer = {"customer_id": args.customer, "email": args.email, "name": args.name}
    if args.type == "payment.succeeded":
        return {"payment_id": args.payment, "customer": customer, "status": "succeeded", "subscription_id": None,
                "product_cart": [{"product_id": product, "quantity": 1} for product in args.product]}
    if args.type == "refund.succeeded":
        return {"refund_id": f"ref_{uuid.uuid4().hex[:12]}", "payment_id": args.payment, "customer": customer,
                "is_partial": False, "status": "succeeded"}
    cycle = args.cycle or now.replace(hour=0, minute=0, second=0, microsecond=0).isoformat()
    return {"subscription_id": args.subscription, "product_id": args.product[0], "customer": customer,
            "previous_billing_date": cycle,
            "status": "active" if args.type in ("subscription.active", "subscription.unpaused",
                                                "subscription.renewed") else "cancelled"}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("url")
    parser.add_argument("secret")
    parser.add_argument("type", choices=TYPES)
    parser.add_argument("--product", action="append", default=[], help="a product id (repeat for a cart)")
    parser.add_argument("--payment", default=f"pay_{uuid.uuid4().hex[:12]}")
    parser.add_argument("--subscription", default="sub_local")
    parser.add_argument("--customer", default="cus_local")
    parser.add_argument("--email", default="customer@example.com")
    parser.add_argument("--name", default="Local Customer")
    parser.add_argument("--cycle", help="when the subscription's billing cycle began (previous_billing_date, "
                                        "RFC 3339); the start of today (UTC) if left out")
    args = parser.parse_args()
    if args.type != "refund.succeeded" and not args.product:
        parser.error(f"{args.type} needs --product")
    now = datetime.datetime.now(datetime.timezone.utc)
    body = json.dumps({"business_id": "bus_dodo", "type": args.type, "timestamp": now.isoformat(),
                       "data": payload(args, now)})
    webhook_id = f"msg_{uuid.uuid4().hex}"
    headers = {"webhook-id": webhook_id, "webhook-timestamp": str(int(now.timestamp())),
               "webhook-signature": standardwebhooks.Webhook(args.secret).sign(webhook_id, now, body),
               "content-type": "application/json"}
    answer = httpx.post(args.url, content=body, headers=headers, timeout=30)
    print(answer.status_code, answer.text)


if __name__ == "__main__":
    main()
