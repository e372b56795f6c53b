//! The payment provider's events, as Dodo delivers them (the SDK's
//! `*_webhook_event.py`: `{business_id, type, timestamp, data}`), read down to
//! what moves grants: which payment or subscription, which customer, which
//! products, and what happened to it.

use crate::json::{Line, Text};
use crate::refusal::{Refusal, RuleResult};
use crate::timestamp::parse_rfc3339;
use serde::Deserialize;
use serde_json::Value;

/// A customer as the provider's payloads carry it (`CustomerLimitedDetails`).
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Customer {
    pub customer_id: Text<1, 255>,
    pub email: Text<3, 254>,
    #[serde(default)]
    pub name: Option<Line<0, 255>>,
}

/// Why the provider's event revokes a subscription's grants, as Dodo names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProviderRevocation {
    OnHold,
    Paused,
    Cancelled,
    Expired,
    PlanChanged,
    Refund,
}

impl ProviderRevocation {
    /// The grant's `revocation_reason`.
    pub fn reason(self) -> &'static str {
        match self {
            Self::OnHold => "subscription_on_hold",
            Self::Paused => "subscription_paused",
            Self::Cancelled => "subscription_cancelled",
            Self::Expired => "subscription_expired",
            Self::PlanChanged => "plan_changed",
            Self::Refund => "refund",
        }
    }
}

/// What an event does to grants.
#[derive(Clone, Debug, PartialEq)]
pub enum Effect {
    /// A one-time payment: a grant per entitlement of each product bought.
    Paid {
        payment_id: String,
        customer: Customer,
        products: Vec<String>,
    },
    /// That payment's grants revoked (`refund`); a payment refunded before its
    /// `payment.succeeded` arrives grants nothing.
    Refunded { payment_id: String },
    /// A subscription's state, as of the event's `timestamp`.
    Subscription {
        subscription_id: String,
        product_id: String,
        customer: Customer,
        change: SubscriptionChange,
        /// When its current billing cycle began (`previous_billing_date`):
        /// the cycle a product's credits are granted for, once.
        cycle: Option<String>,
    },
    /// Acknowledged, nothing changes.
    None,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SubscriptionChange {
    /// Grants of its product where missing, those revoked by the provider restored.
    Active,
    /// Its grants revoked.
    Revoke(ProviderRevocation),
    /// Grants of entitlements the new product lacks revoked, the new ones granted.
    PlanChanged,
    /// A new billing cycle: its credits; grants persist as they are.
    Renewed,
}

impl SubscriptionChange {
    /// Whether the subscription's product's credits are due for its cycle.
    pub fn grants_credits(self) -> bool {
        matches!(self, Self::Active | Self::Renewed)
    }
}

/// One delivery's event: its type, when it happened (the envelope's
/// `timestamp`, in Unix nanoseconds, the order of a subscription's events) and
/// its effect.
#[derive(Clone, Debug, PartialEq)]
pub struct ProviderEvent {
    pub kind: String,
    pub at_ns: i128,
    pub effect: Effect,
}

#[derive(Deserialize)]
struct Envelope {
    #[serde(rename = "type")]
    kind: Text<1, 100>,
    timestamp: Text<1, 64>,
    #[serde(default)]
    data: Value,
}

#[derive(Deserialize)]
struct Payment {
    payment_id: Text<1, 255>,
    customer: Customer,
    #[serde(default)]
    subscription_id: Option<Text<1, 255>>,
    #[serde(default)]
    product_cart: Option<Vec<CartItem>>,
}

#[derive(Deserialize)]
struct CartItem {
    product_id: Text<1, 255>,
}

#[derive(Deserialize)]
struct Refund {
    payment_id: Text<1, 255>,
}

#[derive(Deserialize)]
struct Subscription {
    subscription_id: Text<1, 255>,
    product_id: Text<1, 255>,
    customer: Customer,
    #[serde(default)]
    previous_billing_date: Option<Text<1, 64>>,
}

fn data<T: serde::de::DeserializeOwned>(kind: &str, data: Value) -> RuleResult<T> {
    serde_json::from_value(data).map_err(|err| Refusal::invalid("data", format!("not a {kind} payload: {err}")))
}

/// Reads a delivery's body. An event this service has no use for reads as
/// `Effect::None` whatever its data; one it acts on must carry what it needs.
pub fn parse(body: &[u8]) -> RuleResult<ProviderEvent> {
    let envelope: Envelope =
        serde_json::from_slice(body).map_err(|err| Refusal::invalid("body", format!("not a provider event: {err}")))?;
    let at = parse_rfc3339(&envelope.timestamp).ok_or_else(|| Refusal::invalid("timestamp", "is not RFC 3339"))?;
    let kind = envelope.kind.into_inner();
    let subscription = |change: SubscriptionChange, data_value: Value| -> RuleResult<Effect> {
        let s: Subscription = data(&kind, data_value)?;
        let cycle = match s.previous_billing_date {
            Some(date) => Some(
                parse_rfc3339(&date)
                    .map(crate::timestamp::rfc3339)
                    .ok_or_else(|| Refusal::invalid("previous_billing_date", "is not RFC 3339"))?,
            ),
            None => None,
        };
        Ok(Effect::Subscription {
            subscription_id: s.subscription_id.into_inner(),
            product_id: s.product_id.into_inner(),
            customer: s.customer,
            change,
            cycle,
        })
    };
    let revoke = |why| SubscriptionChange::Revoke(why);
    let effect = match kind.as_str() {
        "payment.succeeded" => {
            let p: Payment = data(&kind, envelope.data)?;
            match (p.subscription_id, p.product_cart) {
                // A subscription's payment: its subscription's events carry it.
                (Some(_), _) | (None, None) => Effect::None,
                (None, Some(cart)) => Effect::Paid {
                    payment_id: p.payment_id.into_inner(),
                    customer: p.customer,
                    products: cart.into_iter().map(|item| item.product_id.into_inner()).collect(),
                },
            }
        }
        "refund.succeeded" => Effect::Refunded {
            payment_id: data::<Refund>(&kind, envelope.data)?.payment_id.into_inner(),
        },
        "subscription.active" | "subscription.unpaused" => subscription(SubscriptionChange::Active, envelope.data)?,
        "subscription.on_hold" => subscription(revoke(ProviderRevocation::OnHold), envelope.data)?,
        "subscription.paused" => subscription(revoke(ProviderRevocation::Paused), envelope.data)?,
        "subscription.cancelled" => subscription(revoke(ProviderRevocation::Cancelled), envelope.data)?,
        "subscription.expired" => subscription(revoke(ProviderRevocation::Expired), envelope.data)?,
        "subscription.plan_changed" => subscription(SubscriptionChange::PlanChanged, envelope.data)?,
        "subscription.renewed" => subscription(SubscriptionChange::Renewed, envelope.data)?,
        _ => Effect::None,
    };
    Ok(ProviderEvent {
        kind,
        at_ns: at.unix_timestamp_nanos(),
        effect,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn buyer() -> Value {
        json!({"customer_id": "cus_1", "email": "ada@example.com", "name": "Ada"})
    }

    fn event(kind: &str, data: Value) -> RuleResult<ProviderEvent> {
        let body =
            json!({"business_id": "bus_dodo", "type": kind, "timestamp": "2026-12-06T10:00:00.123456Z", "data": data});
        parse(body.to_string().as_bytes())
    }

    #[test]
    fn a_one_time_payment_grants_its_products_and_a_subscriptions_payment_nothing() {
        let paid = event(
            "payment.succeeded",
            json!({"payment_id": "pay_1", "customer": buyer(), "product_cart": [{"product_id": "p1", "quantity": 1}, {"product_id": "p2", "quantity": 2}], "total_amount": 100}),
        )
        .unwrap();
        assert_eq!(paid.at_ns, 1_796_551_200_123_456_000);
        let Effect::Paid {
            payment_id,
            customer,
            products,
        } = paid.effect
        else {
            panic!("{paid:?}")
        };
        assert_eq!(
            (payment_id.as_str(), products),
            ("pay_1", vec!["p1".to_string(), "p2".to_string()])
        );
        assert_eq!((&*customer.customer_id, &*customer.email), ("cus_1", "ada@example.com"));
        let renewal =
            json!({"payment_id": "pay_2", "customer": buyer(), "subscription_id": "sub_1", "product_cart": null});
        assert_eq!(event("payment.succeeded", renewal).unwrap().effect, Effect::None);
    }

    #[test]
    fn each_subscription_event_names_its_change_and_reason() {
        let data = json!({"subscription_id": "sub_1", "product_id": "p1", "customer": buyer(), "status": "active"});
        for (kind, change) in [
            ("subscription.active", SubscriptionChange::Active),
            ("subscription.unpaused", SubscriptionChange::Active),
            ("subscription.plan_changed", SubscriptionChange::PlanChanged),
            ("subscription.renewed", SubscriptionChange::Renewed),
            (
                "subscription.on_hold",
                SubscriptionChange::Revoke(ProviderRevocation::OnHold),
            ),
            (
                "subscription.paused",
                SubscriptionChange::Revoke(ProviderRevocation::Paused),
            ),
            (
                "subscription.cancelled",
                SubscriptionChange::Revoke(ProviderRevocation::Cancelled),
            ),
            (
                "subscription.expired",
                SubscriptionChange::Revoke(ProviderRevocation::Expired),
            ),
        ] {
            let Effect::Subscription {
                change: read,
                subscription_id,
                ..
            } = event(kind, data.clone()).unwrap().effect
            else {
                panic!("{kind}")
            };
            assert_eq!((read, subscription_id.as_str()), (change, "sub_1"), "{kind}");
        }
        assert_eq!(ProviderRevocation::Paused.reason(), "subscription_paused");
    }

    #[test]
    fn a_subscriptions_cycle_is_its_previous_billing_date_and_only_activity_grants_credits() {
        let data = json!({"subscription_id": "sub_1", "product_id": "p1", "customer": buyer(),
                          "previous_billing_date": "2026-12-01T09:00:00+01:00"});
        let Effect::Subscription { cycle, change, .. } = event("subscription.renewed", data.clone()).unwrap().effect
        else {
            panic!("renewed")
        };
        assert_eq!(
            cycle.as_deref(),
            Some("2026-12-01T08:00:00.000Z"),
            "one instant, one spelling"
        );
        assert!(change.grants_credits());
        assert!(!SubscriptionChange::Revoke(ProviderRevocation::Cancelled).grants_credits());
        assert!(!SubscriptionChange::PlanChanged.grants_credits());
        let mut bad = data;
        bad["previous_billing_date"] = json!("last month");
        assert!(event("subscription.active", bad)
            .unwrap_err()
            .message
            .contains("previous_billing_date"));
    }

    #[test]
    fn other_events_are_acknowledged_whatever_they_carry_and_a_bad_payload_is_refused() {
        for kind in ["dispute.opened", "payment.failed", "license_key.created"] {
            assert_eq!(
                event(kind, json!({"anything": 1})).unwrap().effect,
                Effect::None,
                "{kind}"
            );
        }
        let refund = event(
            "refund.succeeded",
            json!({"refund_id": "r", "payment_id": "pay_1", "customer": buyer()}),
        );
        assert_eq!(
            refund.unwrap().effect,
            Effect::Refunded {
                payment_id: "pay_1".into()
            }
        );
        assert!(event("refund.succeeded", json!({}))
            .unwrap_err()
            .message
            .contains("refund.succeeded"));
        assert!(event("subscription.cancelled", json!({"subscription_id": "s"})).is_err());
        assert!(parse(b"not json").is_err());
        assert!(parse(br#"{"type": "x", "timestamp": "yesterday"}"#).is_err());
    }
}
