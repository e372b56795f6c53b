//! What the payment provider's events leave behind, within a business:
//!
//! - an applied event: `pk = BIZ#<business>`, `sk = INBOUND#<webhook-id>`,
//!   purged 72 hours on (longer than the provider retries);
//! - a payment: `sk = PAY#<payment id>`, the grants it issued (`grant_ids`)
//!   and whether it was refunded, which stops any more from being issued;
//! - a subscription: `sk = SUB#<subscription id>`, the time of the newest
//!   event applied to it (`at_ns`), its product and the grants it issued. Every
//!   write an event makes to its grants is conditioned on `at_ns` still being
//!   that event's, so a newer event that took over stops an older one midway.

use super::{key, n, s, sdk_error, Item, Store, Written};
use crate::error::ApiError;
use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, TransactWriteItem, Update};

/// How long an applied event's id is remembered: the provider retries for about a day.
const REMEMBERED_S: i64 = 72 * 3600;

fn inbound_key(business_id: &str, webhook_id: &str) -> Item {
    key(format!("BIZ#{business_id}"), format!("INBOUND#{webhook_id}"))
}

fn subscription_key(business_id: &str, subscription_id: &str) -> Item {
    key(format!("BIZ#{business_id}"), format!("SUB#{subscription_id}"))
}

fn payment_key(business_id: &str, payment_id: &str) -> Item {
    key(format!("BIZ#{business_id}"), format!("PAY#{payment_id}"))
}

/// What a grant issued by an event hangs off, written in the grant's transaction.
pub enum GrantCause<'a> {
    /// A one-time payment: the grant joins its `grant_ids`, unless it was refunded.
    Payment { payment_id: &'a str },
    /// A subscription's event at `at_ns`: the grant joins its `grant_ids`
    /// while that is still the newest event applied to it.
    Subscription { subscription_id: &'a str, at_ns: i128 },
}

impl GrantCause<'_> {
    /// The cause as a grant's conferring set names it.
    pub fn tag(&self) -> String {
        match self {
            Self::Payment { payment_id } => crate::domain::grant_requests::cause(Some(payment_id), None),
            Self::Subscription { subscription_id, .. } => {
                crate::domain::grant_requests::cause(None, Some(subscription_id))
            }
        }
    }
}

/// A subscription as its events left it.
#[derive(Debug, Default, PartialEq)]
pub struct SubscriptionRecord {
    /// The newest event applied to it.
    pub at_ns: i128,
    pub product_id: String,
    pub grant_ids: Vec<String>,
}

/// A payment as its events left it.
#[derive(Debug, Default, PartialEq)]
pub struct PaymentRecord {
    pub refunded: bool,
    pub grant_ids: Vec<String>,
}

/// The action that ties a new grant to its cause, refused when the cause no
/// longer admits it (a refunded payment).
pub(super) fn cause_action(
    table: &str,
    business_id: &str,
    cause: &GrantCause,
    grant_id: &str,
) -> Result<TransactWriteItem, ApiError> {
    let update = match cause {
        GrantCause::Payment { payment_id } => Update::builder()
            .table_name(table)
            .set_key(Some(payment_key(business_id, payment_id)))
            .update_expression("ADD grant_ids :grant")
            .condition_expression("attribute_not_exists(refunded)")
            .expression_attribute_values(":grant", AttributeValue::Ss(vec![grant_id.to_string()])),
        GrantCause::Subscription { subscription_id, at_ns } => Update::builder()
            .table_name(table)
            .set_key(Some(subscription_key(business_id, subscription_id)))
            .update_expression("ADD grant_ids :grant")
            .condition_expression("at_ns = :at")
            .expression_attribute_values(":at", n(at_ns))
            .expression_attribute_values(":grant", AttributeValue::Ss(vec![grant_id.to_string()])),
    };
    Ok(TransactWriteItem::builder()
        .update(update.build().map_err(ApiError::internal)?)
        .build())
}

/// A check that the event behind a change to an existing grant still holds:
/// its subscription's newest, or its payment not refunded (a refund landing
/// between a payment's attach and its conferring write stops the write).
pub(super) fn cause_guard(
    table: &str,
    business_id: &str,
    cause: &GrantCause,
) -> Result<Option<TransactWriteItem>, ApiError> {
    let check = match cause {
        GrantCause::Subscription { subscription_id, at_ns } => ConditionCheck::builder()
            .table_name(table)
            .set_key(Some(subscription_key(business_id, subscription_id)))
            .condition_expression("at_ns = :at")
            .expression_attribute_values(":at", n(at_ns)),
        GrantCause::Payment { payment_id } => ConditionCheck::builder()
            .table_name(table)
            .set_key(Some(payment_key(business_id, payment_id)))
            .condition_expression("attribute_not_exists(refunded)"),
    };
    let check = check.build().map_err(ApiError::internal)?;
    Ok(Some(TransactWriteItem::builder().condition_check(check).build()))
}

impl Store {
    /// Ties an existing grant to an event's cause (one issued by API for the
    /// same payment or subscription), so the cause's later events reach it;
    /// `Refused` when the cause no longer admits it.
    pub async fn attach_to_cause(
        &self,
        business_id: &str,
        cause: &GrantCause<'_>,
        grant_id: &str,
    ) -> Result<Written, ApiError> {
        let action = cause_action(&self.table, business_id, cause, grant_id)?;
        self.commit(vec![action], None).await
    }

    /// Makes the event at `at_ns` the newest applied to the subscription,
    /// unless a newer one is (`Refused`: the event is older and changes
    /// nothing). An event as new as the newest applies again (arrival order).
    pub async fn claim_subscription(
        &self,
        business_id: &str,
        subscription_id: &str,
        at_ns: i128,
        product_id: &str,
    ) -> Result<Written, ApiError> {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(subscription_key(business_id, subscription_id)))
            .update_expression("SET at_ns = :at, product_id = :product")
            .condition_expression("attribute_not_exists(at_ns) OR at_ns <= :at")
            .expression_attribute_values(":at", n(at_ns))
            .expression_attribute_values(":product", s(product_id))
            .build()
            .map_err(ApiError::internal)?;
        self.commit(vec![TransactWriteItem::builder().update(update).build()], None)
            .await
    }

    pub async fn subscription(
        &self,
        business_id: &str,
        subscription_id: &str,
    ) -> Result<Option<SubscriptionRecord>, ApiError> {
        let Some(item) = self
            .get_item(subscription_key(business_id, subscription_id), true)
            .await?
        else {
            return Ok(None);
        };
        Ok(Some(SubscriptionRecord {
            at_ns: item
                .get("at_ns")
                .and_then(|v| v.as_n().ok())
                .and_then(|v| v.parse().ok())
                .unwrap_or_default(),
            product_id: item
                .get("product_id")
                .and_then(|v| v.as_s().ok())
                .cloned()
                .unwrap_or_default(),
            grant_ids: string_set(&item, "grant_ids"),
        }))
    }

    /// Whether the event of `webhook_id` was applied (within the last 72 hours).
    pub async fn inbound_applied(&self, business_id: &str, webhook_id: &str) -> Result<bool, ApiError> {
        Ok(self
            .get_item(inbound_key(business_id, webhook_id), true)
            .await?
            .is_some())
    }

    /// Remembers that the event of `webhook_id` took effect: its copies then
    /// answer at once.
    pub async fn record_inbound(
        &self,
        business_id: &str,
        webhook_id: &str,
        kind: &str,
        now_s: i64,
    ) -> Result<(), ApiError> {
        let mut item = inbound_key(business_id, webhook_id);
        item.insert("type".into(), s(kind));
        item.insert("applied_at".into(), n(now_s));
        item.insert("purge_at".into(), n(now_s + REMEMBERED_S));
        self.db
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(())
    }

    pub async fn payment(&self, business_id: &str, payment_id: &str) -> Result<Option<PaymentRecord>, ApiError> {
        let Some(item) = self.get_item(payment_key(business_id, payment_id), true).await? else {
            return Ok(None);
        };
        Ok(Some(PaymentRecord {
            refunded: item.contains_key("refunded"),
            grant_ids: string_set(&item, "grant_ids"),
        }))
    }

    /// Marks the payment refunded (whether or not its `payment.succeeded`
    /// came first): no grant is issued for it from now on.
    pub async fn refund_payment(&self, business_id: &str, payment_id: &str) -> Result<Written, ApiError> {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(payment_key(business_id, payment_id)))
            .update_expression("SET refunded = :true")
            .expression_attribute_values(":true", AttributeValue::Bool(true))
            .build()
            .map_err(ApiError::internal)?;
        self.commit(vec![TransactWriteItem::builder().update(update).build()], None)
            .await
    }
}

fn string_set(item: &Item, name: &str) -> Vec<String> {
    match item.get(name) {
        Some(AttributeValue::Ss(ids)) => ids.clone(),
        _ => Vec::new(),
    }
}
