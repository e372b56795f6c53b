//! The SES v2 adapter: sends one email and says whether a failure is worth retrying.

use crate::domain::email::KeyEmail;
use crate::domain::email_retry::EmailAttempt;
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};

/// Sends `email` from `from` to `to`: sent with its SES message id, or why not.
pub async fn send(ses: &aws_sdk_sesv2::Client, from: &str, to: &str, email: &KeyEmail) -> EmailAttempt {
    let content = |text: &str| Content::builder().data(text).charset("UTF-8").build();
    let (subject, text, html) = match (content(&email.subject), content(&email.text), content(&email.html)) {
        (Ok(subject), Ok(text), Ok(html)) => (subject, text, html),
        _ => return EmailAttempt::Permanent("email content could not be built".into()),
    };
    let message = Message::builder()
        .subject(subject)
        .body(Body::builder().text(text).html(html).build())
        .build();
    let result = ses
        .send_email()
        .from_email_address(from)
        .destination(Destination::builder().to_addresses(to).build())
        .content(EmailContent::builder().simple(message).build())
        .send()
        .await;
    match result {
        Ok(output) => EmailAttempt::Sent {
            message_id: output.message_id().unwrap_or_default().to_string(),
        },
        Err(err) => {
            use aws_sdk_sesv2::error::ProvideErrorMetadata;
            let code = err.as_service_error().and_then(|e| e.code()).map(str::to_string);
            let detail = crate::error::chain(&err);
            classify(code.as_deref(), detail)
        }
    }
}

/// Only SES refusing this one message (its address or content) is final. A
/// problem of the account (sending paused, suspended, quota, an unverified
/// sender, missing permission), throttling and outages leave the email queued,
/// where the queue alarm shows it, rather than failing customers' grants.
fn classify(code: Option<&str>, detail: String) -> EmailAttempt {
    let unverified_sender = detail.contains("not verified");
    match code {
        Some("MessageRejected") | Some("BadRequestException") if !unverified_sender => EmailAttempt::Permanent(detail),
        _ => EmailAttempt::Transient(detail),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_refused_message_is_permanent() {
        let permanent = |code, detail: &str| matches!(classify(code, detail.into()), EmailAttempt::Permanent(_));
        assert!(permanent(Some("MessageRejected"), "Illegal address"));
        assert!(permanent(Some("BadRequestException"), "Missing final '@domain'"));
        for account in [
            "AccountSuspendedException",
            "SendingPausedException",
            "LimitExceededException",
            "MailFromDomainNotVerifiedException",
            "NotFoundException",
            "AccessDeniedException",
            "TooManyRequestsException",
        ] {
            assert!(!permanent(Some(account), "account-level"), "{account}");
        }
        assert!(!permanent(
            Some("MessageRejected"),
            "Email address is not verified. The following identities failed the check"
        ));
        assert!(!permanent(None, "connection refused"));
    }
}
