//! Why a rule says no, in the rule's own terms. The glue gives each kind its
//! HTTP status (`error.rs`), so no rule knows about HTTP.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefusalKind {
    /// Input outside its bounds or of the wrong form; the message names the field.
    Invalid,
    /// The current state forbids it: trying again as it is will not help.
    Conflict,
    /// Well-formed, but this resource cannot take it (a limit reached).
    Unprocessable,
    /// The resource is inactive (disabled, revoked or expired).
    Inactive,
    /// What it names is not there (or no longer).
    Gone,
    /// Not now: the same request may pass after this many seconds.
    TooSoon(u32),
    /// Larger than this route takes.
    TooLarge,
    /// Well-formed, but what it asks for is not there to take (more credits
    /// than a balance holds); Dodo answers it 400.
    Insufficient,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    pub kind: RefusalKind,
    pub code: &'static str,
    pub message: String,
}

pub type RuleResult<T> = Result<T, Refusal>;

impl Refusal {
    /// `field` is invalid; the message names it, so a client can point at it.
    pub fn invalid(field: &str, problem: impl std::fmt::Display) -> Self {
        Self {
            kind: RefusalKind::Invalid,
            code: "VALIDATION_ERROR",
            message: format!("{field}: {problem}"),
        }
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            kind: RefusalKind::Conflict,
            code,
            message: message.into(),
        }
    }

    pub fn unprocessable(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            kind: RefusalKind::Unprocessable,
            code,
            message: message.into(),
        }
    }

    pub fn too_soon(code: &'static str, message: impl Into<String>, retry_after_s: u32) -> Self {
        Self {
            kind: RefusalKind::TooSoon(retry_after_s),
            code,
            message: message.into(),
        }
    }

    pub fn too_large(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            kind: RefusalKind::TooLarge,
            code,
            message: message.into(),
        }
    }

    pub fn gone(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            kind: RefusalKind::Gone,
            code,
            message: message.into(),
        }
    }

    pub fn insufficient(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            kind: RefusalKind::Insufficient,
            code,
            message: message.into(),
        }
    }

    pub fn inactive(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            kind: RefusalKind::Inactive,
            code,
            message: message.into(),
        }
    }
}
