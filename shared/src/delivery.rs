//! Delivering a license key by email: one attempt, then its outcome recorded
//! on the grant with a conditional update, so no attempt is counted twice.

use crate::app::App;
use crate::clock;
use crate::domain::email::render_key_email;
use crate::domain::entitlement::Entitlement;
use crate::domain::grant::{email_retry_delay, EmailDelivery, EmailStatus, Grant, GrantStatus};
use crate::error::ApiError;
use crate::mailer::{self, SendFailure};

/// How long one claimed attempt keeps other runs of the retry function off the grant.
pub const ATTEMPT_LEASE_MS: u64 = 60_000;

/// Makes attempt number `attempt` (already claimed) at sending `grant`'s key email,
/// records the outcome, and updates `grant` to match.
pub async fn attempt_key_email(
    app: &App,
    grant: &mut Grant,
    entitlement: &Entitlement,
    attempt: u32,
) -> Result<(), ApiError> {
    let Some(license_key) = &grant.license_key else {
        return Ok(());
    };
    let config = entitlement.license_key_config().unwrap_or_default();
    let email = render_key_email(&entitlement.name, config.activation_message.as_deref(), license_key);
    let result = mailer::send(&app.ses, &app.sender_email, &grant.customer_email, &email).await;

    let now = clock::now();
    let now_text = clock::rfc3339(now);
    let mut delivery = EmailDelivery {
        attempts: attempt,
        ..EmailDelivery::queued()
    };
    let mut retry_at_ms = None;
    match result {
        Ok(message_id) => {
            delivery.status = EmailStatus::Sent;
            delivery.message_id = Some(message_id);
            delivery.sent_at = Some(now_text.clone());
        }
        Err(SendFailure::Transient(error)) => match email_retry_delay(attempt) {
            Some(delay) => {
                delivery.last_error = Some(error);
                retry_at_ms = Some(clock::now_millis() + delay.whole_milliseconds() as u64);
            }
            None => {
                delivery.status = EmailStatus::Failed;
                delivery.last_error = Some(format!("gave up after {attempt} attempts: {error}"));
            }
        },
        Err(SendFailure::Permanent(error)) => {
            delivery.status = EmailStatus::Failed;
            delivery.last_error = Some(error);
        }
    }
    tracing::info!(grant_id = %grant.id, attempt, outcome = ?delivery.status, error = delivery.last_error.as_deref(), "key email");
    if !app
        .store
        .record_email_attempt(grant, attempt, &delivery, retry_at_ms, &now_text)
        .await?
    {
        tracing::warn!(grant_id = %grant.id, attempt, "key email outcome not recorded: the grant moved on");
        return Ok(());
    }
    if delivery.status == EmailStatus::Failed {
        grant.status = GrantStatus::Failed;
        grant.error_code = Some("EMAIL_DELIVERY_FAILED".into());
        grant.error_message = delivery.last_error.clone();
    }
    grant.updated_at = now_text;
    grant.email_delivery = Some(delivery);
    Ok(())
}
