//! The payment provider's events applied to grants (SPEC §1.6): a one-time
//! payment grants its products' entitlements and credits, each billing cycle
//! of a subscription its product's credits (§1.8), a refund revokes what that
//! payment granted, a subscription's events grant, revoke and restore as its
//! state changes. Each step is idempotent (a grant is unique per entitlement,
//! customer and payment or subscription; revoking a Revoked grant or
//! restoring a Delivered one changes nothing), so a copy of an event, or one
//! retried after a partial failure, completes what is missing and doubles
//! nothing. A subscription's event first makes itself its newest
//! (`claim_subscription`); an older one then changes nothing, and each of its
//! writes is conditioned on still being the newest, so a newer event arriving
//! midway stops it.

use crate::app::App;
use crate::domain::credit::{CreditSource, GrantSource, TransactionType};
use crate::domain::entitlement::Entitlement;
use crate::domain::grant_requests::NewGrant;
use crate::domain::payment_provider::Provider;
use crate::domain::provider_event::{self, Customer, Effect, ProviderEvent, ProviderRevocation, SubscriptionChange};
use crate::domain::standard_webhooks;
use crate::error::{ApiError, ApiResult};
use crate::reply::Reply;
use crate::retry::{until_done, Attempt};
use crate::services::credits;
use crate::services::grants::{self, EventChange, EventGrant};
use crate::store::{GrantCause, Written};

/// Applies the event's effect; an error leaves it to the provider's retry.
pub async fn apply(app: &App, business_id: &str, event: &ProviderEvent) -> ApiResult<()> {
    match &event.effect {
        Effect::Paid {
            payment_id,
            customer,
            products,
        } => paid(app, business_id, payment_id, customer, products).await,
        Effect::Refunded { payment_id } => refunded(app, business_id, payment_id).await,
        Effect::Subscription {
            subscription_id,
            product_id,
            customer,
            change,
            cycle,
        } => {
            // A cycle's credits are owed once it is paid for, whatever came
            // after: they do not wait on the order of the subscription's events.
            if let (true, Some(cycle)) = (change.grants_credits(), cycle) {
                let source = CreditSource {
                    source_type: GrantSource::Subscription,
                    source_id: Some(subscription_id.clone()),
                    transaction_type: TransactionType::CreditAdded,
                    low_balance_threshold_percent: None,
                    cycle_began: Some(cycle.clone()),
                };
                let cause = format!("subscription#{subscription_id}#{cycle}");
                credits_of(
                    app,
                    business_id,
                    product_id,
                    &customer.customer_id,
                    &source,
                    &cause,
                    true,
                )
                .await?;
            }
            if *change == SubscriptionChange::Renewed {
                return Ok(());
            }
            let cause = GrantCause::Subscription {
                subscription_id,
                at_ns: event.at_ns,
            };
            subscription(app, business_id, &cause, product_id, customer, *change).await
        }
        Effect::None => Ok(()),
    }
}

/// The credits a product grants, each for `cause` once; for a subscription's
/// `cycle`, after its earlier cycles are closed and their overage reset (also
/// at meters the product attached before, not now). A
/// rule that refuses them (a balance at its most grants or its ceiling) is
/// logged and the event goes on: refusing the event would refuse it forever.
async fn credits_of(
    app: &App,
    business_id: &str,
    product_id: &str,
    customer_id: &str,
    source: &CreditSource,
    cause: &str,
    cycle: bool,
) -> ApiResult<()> {
    let Some(product) = app.store.product(business_id, product_id).await? else {
        return Ok(());
    };
    for mapping in &product.credit_entitlements {
        let source = source.clone();
        let granted = match cycle {
            true => credits::renew_for_cycle(app, business_id, mapping, customer_id, source, cause).await,
            false => credits::grant_for_cause(app, business_id, mapping, customer_id, source, cause).await,
        };
        match granted {
            Err(refused) if refused.status < 500 => tracing::warn!(
                credit_entitlement_id = %mapping.credit_entitlement_id,
                code = refused.code,
                message = %refused.message,
                "credits not granted"
            ),
            other => other?,
        }
    }
    // A meter the product no longer attaches: its earlier cycles close all the same.
    if let (true, Some(subscription_id), Some(began)) = (cycle, &source.source_id, &source.cycle_began) {
        let attached: Vec<&str> = product
            .credit_entitlements
            .iter()
            .map(|m| m.credit_entitlement_id.as_str())
            .collect();
        credits::close_detached_cycles(app, business_id, &attached, customer_id, subscription_id, began).await?;
    }
    Ok(())
}

/// The active entitlements the products grant, each once.
async fn entitlements_of(app: &App, business_id: &str, products: &[String]) -> ApiResult<Vec<Entitlement>> {
    let mut ids: Vec<String> = Vec::new();
    for product_id in products {
        if let Some(product) = app.store.product(business_id, product_id).await? {
            for id in product.entitlement_ids {
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
        }
    }
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    let mut found = app.store.entitlements_by_id(business_id, &ids).await?;
    found.retain(|e| e.is_active);
    found.sort_by_key(|e| ids.iter().position(|id| *id == e.id));
    Ok(found)
}

fn new_grant(customer: &Customer, payment_id: Option<&str>, subscription_id: Option<&str>) -> ApiResult<NewGrant> {
    let body = serde_json::json!({
        "customer_id": &*customer.customer_id,
        "customer_email": &*customer.email,
        "customer_name": customer.name.as_deref(),
        "payment_id": payment_id,
        "subscription_id": subscription_id,
    });
    serde_json::from_value(body).map_err(ApiError::internal)
}

async fn paid(
    app: &App,
    business_id: &str,
    payment_id: &str,
    customer: &Customer,
    products: &[String],
) -> ApiResult<()> {
    let new = new_grant(customer, Some(payment_id), None)?;
    let cause = GrantCause::Payment { payment_id };
    for entitlement in entitlements_of(app, business_id, products).await? {
        match grants::issue_for_event(app, &entitlement, &new, &cause).await? {
            EventGrant::Created | EventGrant::EntitlementGone => {}
            // A feature flag the customer holds: this payment confers it too.
            EventGrant::Existing(grant_id) => {
                grants::restore_for_event(app, business_id, &grant_id, &cause).await?;
            }
            // Refunded before (or while) this payment's grants were issued: none are.
            EventGrant::CauseRefused => return Ok(()),
        }
    }
    // Its credits, after its grants; a payment refunded before its
    // `payment.succeeded` arrived grants no credits.
    if app
        .store
        .payment(business_id, payment_id)
        .await?
        .unwrap_or_default()
        .refunded
    {
        return Ok(());
    }
    let source = CreditSource {
        source_type: GrantSource::OneTime,
        source_id: Some(payment_id.to_string()),
        transaction_type: TransactionType::CreditAdded,
        low_balance_threshold_percent: None,
        cycle_began: None,
    };
    for product_id in products {
        let cause = format!("payment#{payment_id}#{product_id}");
        credits_of(
            app,
            business_id,
            product_id,
            &customer.customer_id,
            &source,
            &cause,
            false,
        )
        .await?;
    }
    Ok(())
}

async fn refunded(app: &App, business_id: &str, payment_id: &str) -> ApiResult<()> {
    until_done!(|_| match app.store.refund_payment(business_id, payment_id).await? {
        Written::Done => Ok(Attempt::Done(())),
        _ => Ok(Attempt::Lost),
    })
    .await?;
    // Read after the mark: no grant joins the payment from now on.
    let record = app.store.payment(business_id, payment_id).await?.unwrap_or_default();
    for grant_id in &record.grant_ids {
        let cause = GrantCause::Payment { payment_id };
        grants::revoke_for_event(app, business_id, grant_id, ProviderRevocation::Refund.reason(), &cause).await?;
    }
    Ok(())
}

async fn subscription(
    app: &App,
    business_id: &str,
    cause: &GrantCause<'_>,
    product_id: &str,
    customer: &Customer,
    change: SubscriptionChange,
) -> ApiResult<()> {
    let GrantCause::Subscription { subscription_id, at_ns } = *cause else {
        return Err(ApiError::internal("a subscription's event without its subscription"));
    };
    let claimed = until_done!(|_| match app
        .store
        .claim_subscription(business_id, subscription_id, at_ns, product_id)
        .await?
    {
        Written::Done => Ok(Attempt::Done(true)),
        // A newer event of this subscription was applied: this one is history.
        Written::Refused { .. } => Ok(Attempt::Done(false)),
        Written::Conflict => Ok(Attempt::Lost),
    })
    .await?;
    if !claimed {
        return Ok(());
    }
    let held = app
        .store
        .subscription(business_id, subscription_id)
        .await?
        .map(|record| record.grant_ids)
        .unwrap_or_default();
    match change {
        SubscriptionChange::Revoke(why) => {
            for grant_id in &held {
                if grants::revoke_for_event(app, business_id, grant_id, why.reason(), cause).await?
                    == EventChange::Superseded
                {
                    return Ok(());
                }
            }
            Ok(())
        }
        SubscriptionChange::Active => keep(app, business_id, cause, product_id, customer, subscription_id).await,
        // Grants persist across renewals; a renewal's credits are granted before any claim.
        SubscriptionChange::Renewed => Ok(()),
        SubscriptionChange::PlanChanged => {
            let wanted = entitlements_of(app, business_id, &[product_id.to_string()]).await?;
            for grant_id in &held {
                let Some(grant) = app.store.grant(business_id, grant_id).await? else {
                    continue;
                };
                if wanted.iter().any(|e| e.id == grant.entitlement_id) {
                    continue;
                }
                let reason = ProviderRevocation::PlanChanged.reason();
                if grants::revoke_for_event(app, business_id, grant_id, reason, cause).await? == EventChange::Superseded
                {
                    return Ok(());
                }
            }
            keep(app, business_id, cause, product_id, customer, subscription_id).await
        }
    }
}

/// The subscription holds a grant of each entitlement of its product: issued
/// where missing, restored where the provider's events revoked it.
async fn keep(
    app: &App,
    business_id: &str,
    cause: &GrantCause<'_>,
    product_id: &str,
    customer: &Customer,
    subscription_id: &str,
) -> ApiResult<()> {
    let new = new_grant(customer, None, Some(subscription_id))?;
    for entitlement in entitlements_of(app, business_id, &[product_id.to_string()]).await? {
        let held = match grants::issue_for_event(app, &entitlement, &new, cause).await? {
            EventGrant::Created | EventGrant::EntitlementGone => continue,
            EventGrant::Existing(grant_id) => grant_id,
            EventGrant::CauseRefused => return Ok(()),
        };
        if grants::restore_for_event(app, business_id, &held, cause).await? == EventChange::Superseded {
            return Ok(());
        }
    }
    Ok(())
}

/// The headers of a provider's delivery that its signature covers.
pub struct Delivery<'a> {
    pub id: Option<&'a str>,
    pub timestamp: Option<&'a str>,
    pub signature: Option<&'a str>,
    pub body: &'a [u8],
}

/// `POST /inbound/dodo/{business_id}`: a delivery verified under the
/// business's secret before anything is read from it, then its event applied
/// once. 204 only once the effect is committed (or the event needs none); a
/// failure on the way is the provider's to retry, and a retry completes it.
pub async fn receive(app: &App, business_id: &str, delivery: Delivery<'_>) -> ApiResult<Reply> {
    let now_s = crate::clock::now().unix_timestamp();
    let connection = app
        .store
        .payment_provider(business_id, Provider::Dodo)
        .await?
        .ok_or_else(|| ApiError::unverified("no webhook secret is set for this business"))?;
    let secrets = connection.secrets_at(now_s);
    standard_webhooks::verify(
        &secrets,
        delivery.id,
        delivery.timestamp,
        delivery.signature,
        delivery.body,
        now_s,
    )
    .map_err(ApiError::unverified)?;
    let webhook_id = delivery.id.unwrap_or_default();
    if app.store.inbound_applied(business_id, webhook_id).await? {
        return Reply::no_content();
    }
    let event = provider_event::parse(delivery.body)?;
    apply(app, business_id, &event).await?;
    app.store
        .record_inbound(business_id, webhook_id, &event.kind, now_s)
        .await?;
    Reply::no_content()
}
