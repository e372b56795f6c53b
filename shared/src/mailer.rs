//! The SES v2 adapter: sends one email and says whether a failure is worth retrying.

use crate::domain::email::KeyEmail;
use crate::domain::grant::EmailAttempt;
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
            let status = err.raw_response().map(|r| r.status().as_u16());
            let detail = aws_sdk_sesv2::error::DisplayErrorContext(&err).to_string();
            classify(status, detail)
        }
    }
}

/// A 4xx other than throttling is SES refusing this email; anything else may pass later.
fn classify(http_status: Option<u16>, detail: String) -> EmailAttempt {
    match http_status {
        Some(429) => EmailAttempt::Transient(detail),
        Some(status) if (400..500).contains(&status) => EmailAttempt::Permanent(detail),
        _ => EmailAttempt::Transient(detail),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejections_are_permanent_and_outages_transient() {
        assert!(matches!(
            classify(Some(400), "MessageRejected".into()),
            EmailAttempt::Permanent(_)
        ));
        assert!(matches!(
            classify(Some(429), "TooManyRequests".into()),
            EmailAttempt::Transient(_)
        ));
        assert!(matches!(
            classify(Some(503), "Unavailable".into()),
            EmailAttempt::Transient(_)
        ));
        assert!(matches!(
            classify(None, "connection refused".into()),
            EmailAttempt::Transient(_)
        ));
    }
}
