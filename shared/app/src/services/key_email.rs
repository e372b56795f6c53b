//! The license-key email: one attempt at a time, each claimed on the grant so
//! no two runs send the same attempt, and its outcome recorded with a
//! conditional update. The scheduled retry works through the outbox index.

use crate::app::App;
use crate::clock;
use crate::domain::email::render_key_email;
use crate::domain::entitlement::Entitlement;
use crate::domain::grant::{EmailStatus, Grant, GrantStatus};
use crate::domain::webhook::{Event, GRANT_FAILED};
use crate::error::ApiResult;
use crate::mailer;
use crate::services::events::Events;
use serde::Serialize;

/// How long one claimed attempt keeps other runs of the retry function off the grant.
pub const ATTEMPT_LEASE_MS: u64 = 60_000;

/// When a just-queued email comes due for the retry function, should its first
/// attempt (made right after the commit) never report back.
pub fn first_attempt_due_ms() -> u64 {
    clock::now_millis() + ATTEMPT_LEASE_MS
}

/// Makes attempt number `attempt` (already claimed) at sending `grant`'s key
/// email and records the outcome. Returns the grant as it now is. Never fails:
/// the email stays queued for the retry function when anything goes wrong.
pub async fn attempt(app: &App, grant: &Grant, entitlement: &Entitlement, attempt: u32) -> Grant {
    let Some(license_key) = &grant.license_key else {
        return grant.clone();
    };
    let config = entitlement.license_key_config().unwrap_or_default();
    let email = render_key_email(&entitlement.name, config.activation_message.as_deref(), license_key);
    let outcome = mailer::send(app.ses(), &app.sender_email, &grant.customer_email, &email).await;
    let (after, retry_in) = grant.after_email_attempt(attempt, outcome, &clock::now_rfc3339());
    let delivery = after.email_delivery.as_ref();
    tracing::info!(
        grant_id = %grant.id,
        attempt,
        outcome = ?delivery.map(|d| d.status),
        error = delivery.and_then(|d| d.last_error.as_deref()),
        "key email"
    );
    let retry_at_ms = retry_in.map(|delay| clock::now_millis() + delay.whole_milliseconds().max(0) as u64);
    match app
        .store
        .record_email_attempt(&after, attempt, retry_at_ms, &failed_event(grant, &after))
        .await
    {
        Ok(true) => after,
        Ok(false) => {
            tracing::warn!(grant_id = %grant.id, attempt, "key email outcome not recorded: the grant moved on");
            grant.clone()
        }
        Err(err) => {
            tracing::warn!(grant_id = %grant.id, attempt, code = err.code, "key email outcome not recorded");
            grant.clone()
        }
    }
}

/// Records attempt number `attempt` as failed for good without sending.
async fn give_up(app: &App, grant: &Grant, attempt: u32, why: &str) -> Grant {
    let outcome = crate::domain::email_retry::EmailAttempt::Permanent(why.to_string());
    let (after, _) = grant.after_email_attempt(attempt, outcome, &clock::now_rfc3339());
    match app
        .store
        .record_email_attempt(&after, attempt, None, &failed_event(grant, &after))
        .await
    {
        Ok(true) => after,
        _ => grant.clone(),
    }
}

/// `entitlement_grant.failed` when the attempt turned the grant Failed.
fn failed_event(before: &Grant, after: &Grant) -> Vec<Event> {
    if after.status == GrantStatus::Failed && before.status != GrantStatus::Failed {
        Events::new(&after.business_id, clock::now())
            .grant(GRANT_FAILED, after)
            .build()
    } else {
        Vec::new()
    }
}

#[derive(Debug, Default, Serialize)]
pub struct RetrySummary {
    pub sent: u32,
    pub still_queued: u32,
    pub failed: u32,
    pub skipped: u32,
}

/// Emails handled per run; the schedule comes round again for the rest.
const BATCH: usize = 100;

/// One scheduled run: every queued email that is due (or every queued one,
/// with `ignore_backoff`) gets its next attempt.
pub async fn retry_due(app: &App, ignore_backoff: bool) -> ApiResult<RetrySummary> {
    let due_by = if ignore_backoff {
        u64::MAX / 2
    } else {
        clock::now_millis()
    };
    let mut summary = RetrySummary::default();
    let first_shard = rand::random::<u32>();
    for grant in app
        .store
        .due_emails(due_by, clock::now_millis(), BATCH, first_shard)
        .await?
    {
        let seen = grant.email_delivery.as_ref().map_or(0, |d| d.attempts);
        let now_ms = clock::now_millis();
        let claimed = app
            .store
            .claim_email_attempt(&grant, seen, now_ms, now_ms + ATTEMPT_LEASE_MS, &clock::now_rfc3339())
            .await?;
        if !claimed {
            summary.skipped += 1;
            continue;
        }
        let after = match app.store.entitlement(&grant.business_id, &grant.entitlement_id).await? {
            Some(entitlement) => attempt(app, &grant, &entitlement, seen + 1).await,
            // Nothing to write the email from: give up on it rather than claim it forever.
            None => give_up(app, &grant, seen + 1, "the entitlement no longer exists").await,
        };
        match after.email_delivery.map(|d| d.status) {
            Some(EmailStatus::Sent) => summary.sent += 1,
            Some(EmailStatus::Failed) => summary.failed += 1,
            _ => summary.still_queued += 1,
        }
    }
    Ok(summary)
}
