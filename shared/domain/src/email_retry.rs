//! The key email's attempts: what one came to, and how long to wait after a
//! failed one before the next, until retries are used up.

/// What one attempt at sending the key email came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EmailAttempt {
    Sent {
        message_id: String,
    },
    /// Worth trying again later (throttling, SES out of reach).
    Transient(String),
    /// SES refused this message for good.
    Permanent(String),
}

/// Delays before the next attempt after the `attempts`-th failed one; None when retries are used up.
pub fn email_retry_delay(attempts: u32) -> Option<time::Duration> {
    const MINUTES: [i64; 7] = [1, 5, 30, 120, 300, 600, 600];
    if attempts >= MAX_EMAIL_ATTEMPTS {
        return None;
    }
    let index = (attempts.max(1) - 1) as usize;
    Some(time::Duration::minutes(MINUTES[index.min(MINUTES.len() - 1)]))
}

pub const MAX_EMAIL_ATTEMPTS: u32 = 8;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_backoff_then_give_up() {
        let minutes: Vec<_> = (1..MAX_EMAIL_ATTEMPTS)
            .map(|n| email_retry_delay(n).unwrap().whole_minutes())
            .collect();
        assert_eq!(minutes, [1, 5, 30, 120, 300, 600, 600]);
        assert_eq!(email_retry_delay(MAX_EMAIL_ATTEMPTS), None);
    }
}
