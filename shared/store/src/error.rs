//! The one error type every route answers with, and its two wire forms.

use crate::domain::refusal::{Refusal, RefusalKind};
use serde::Serialize;
use utoipa::ToSchema;

/// How a family spells its errors on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorStyle {
    /// `{"code": "UPPER_SNAKE", "message": "..."}` (entitlement and allocation families).
    Coded,
    /// `{"error": {"code": 404, "message": "...", "status": "NOT_FOUND"}}` (license status family).
    Google,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
    /// Seconds after which the same request may succeed: set on retryable answers only.
    pub retry_after: Option<u32>,
}

pub type ApiResult<T> = Result<T, ApiError>;

/// Which of our rate limits a caller met.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RateLimit {
    PublicCaller,
    SuppliedKeys,
}

/// What an allocation would take more of than is held.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AllocationExceeds {
    HostLicense,
    AccountLicense,
}

/// The catalogue: every status and code an answer carries comes from one of
/// these constructors (or from a rule's `Refusal`, given its status below),
/// each code with one message.
impl ApiError {
    fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    /// A transient condition (lost races past the retry budget, throttling, a
    /// dependency out of reach): the same request later may well succeed.
    pub fn unavailable(detail: impl std::fmt::Display) -> Self {
        tracing::warn!(error = %detail, "service unavailable");
        Self {
            retry_after: Some(1),
            ..Self::new(
                503,
                "SERVICE_UNAVAILABLE",
                "the service is busy or a dependency is unreachable; try again",
            )
        }
    }

    /// `RATE_LIMITED`: a limit of ours, with when to come back; `what` says
    /// which was met (the public routes' per-address count, or a business's
    /// supplied keys that others hold).
    pub fn rate_limited(what: RateLimit, retry_after: u32) -> Self {
        let message = match what {
            RateLimit::PublicCaller => "too many requests from this address; try again later",
            RateLimit::SuppliedKeys => "too many supplied keys were already in use; try again later",
        };
        Self {
            retry_after: Some(retry_after),
            ..Self::new(429, "RATE_LIMITED", message)
        }
    }

    /// Whether a later identical request may get another answer, so the answer
    /// must not be kept as the request's final one.
    pub fn is_retryable(&self) -> bool {
        self.status >= 500 || self.status == 429
    }

    pub fn invalid_json(detail: impl std::fmt::Display) -> Self {
        Self::new(400, "INVALID_JSON", format!("request body is not valid JSON: {detail}"))
    }

    pub fn unauthorized() -> Self {
        Self::new(401, "UNAUTHORIZED", "missing or unknown API key")
    }

    /// `UNAUTHORIZED` for a provider's delivery that does not verify: no
    /// secret is set for the business, or the signature or its time is wrong.
    pub fn unverified(problem: impl std::fmt::Display) -> Self {
        Self::new(401, "UNAUTHORIZED", format!("the delivery does not verify: {problem}"))
    }

    /// A portal route without a live session: the link or cookie is unknown,
    /// expired or not a portal's (an API key).
    pub fn portal_unauthorized() -> Self {
        Self::new(401, "UNAUTHORIZED", "the portal link or session is unknown or expired")
    }

    /// A portal write made with the session cookie from another site's page (CSRF).
    pub fn cross_site() -> Self {
        Self::new(
            403,
            "FORBIDDEN",
            "a portal change made with the session cookie must come from the portal's own page",
        )
    }

    pub fn forbidden() -> Self {
        Self::new(403, "FORBIDDEN", "this API key may not use this route")
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(404, "NOT_FOUND", format!("{what} not found"))
    }

    /// `HOST_LICENSE_NOT_FOUND`: the host is not the caller, or holds no license yet.
    pub fn host_license_not_found() -> Self {
        Self::new(404, "HOST_LICENSE_NOT_FOUND", "this host has no license")
    }

    /// `ACCOUNT_LICENSE_NOT_FOUND`: the account has no license the caller may see
    /// (none at all, or under another host).
    pub fn account_license_not_found() -> Self {
        Self::new(404, "ACCOUNT_LICENSE_NOT_FOUND", "this account has no license")
    }

    pub fn service_license_not_found() -> Self {
        Self::new(404, "SERVICE_LICENSE_NOT_FOUND", "this tenant service has no license")
    }

    pub fn group_license_not_found() -> Self {
        Self::new(404, "GROUP_LICENSE_NOT_FOUND", "this group has no license rule")
    }

    pub fn user_license_not_found() -> Self {
        Self::new(404, "USER_LICENSE_NOT_FOUND", "this user holds no license")
    }

    /// `PRODUCT_NOT_FOUND`: the organization holds none of a code.
    pub fn product_not_found() -> Self {
        Self::new(404, "PRODUCT_NOT_FOUND", "the organization holds none of this code")
    }

    /// `LICENSE_KEY_NOT_FOUND`: no key has the value a public route was given.
    pub fn license_key_not_found() -> Self {
        Self::new(404, "LICENSE_KEY_NOT_FOUND", "no such license key")
    }

    fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(409, code, message)
    }

    pub fn idempotency_key_in_use() -> Self {
        Self::conflict(
            "IDEMPOTENCY_KEY_IN_USE",
            "a request with this Idempotency-Key is still running",
        )
    }

    pub fn idempotency_key_reused() -> Self {
        Self::new(
            422,
            "IDEMPOTENCY_KEY_REUSED",
            "this Idempotency-Key was used with another request",
        )
    }

    /// `ENTITLEMENT_INACTIVE`: the entitlement was deleted; nothing more is granted from it.
    pub fn entitlement_inactive() -> Self {
        Self::conflict("ENTITLEMENT_INACTIVE", "the entitlement has been deleted")
    }

    /// `HOST_LICENSE_BELOW_ALLOCATED`: a host's new quantities are below what its organizations hold.
    pub fn host_license_below_allocated(codes: &[String]) -> Self {
        Self::conflict(
            "HOST_LICENSE_BELOW_ALLOCATED",
            format!("organizations hold more than that of {}", codes.join(", ")),
        )
    }

    /// `ALLOCATION_BELOW_CONSUMED`: an organization's new quantities are below what it hands on.
    pub fn allocation_below_consumed(codes: &[String]) -> Self {
        Self::conflict(
            "ALLOCATION_BELOW_CONSUMED",
            format!(
                "its tenant services and users already take more than that of {}",
                codes.join(", ")
            ),
        )
    }

    /// `ALLOCATION_EXCEEDS_*`: more of `codes` than `holder` (the host, the account) holds.
    pub fn allocation_exceeds(code: AllocationExceeds, holder: &str, codes: &[String]) -> Self {
        let code = match code {
            AllocationExceeds::HostLicense => "ALLOCATION_EXCEEDS_HOST_LICENSE",
            AllocationExceeds::AccountLicense => "ALLOCATION_EXCEEDS_ACCOUNT_LICENSE",
        };
        Self::conflict(code, format!("more than {holder} holds of {}", codes.join(", ")))
    }

    /// `ALLOCATION_EXCEEDS_ACCOUNT_LICENSE` for a group rule naming codes the account holds none of.
    pub fn account_holds_none_of(codes: &[String]) -> Self {
        Self::conflict(
            "ALLOCATION_EXCEEDS_ACCOUNT_LICENSE",
            format!("the account holds none of {}", codes.join(", ")),
        )
    }

    pub fn payload_too_large(limit: usize) -> Self {
        Self::new(
            413,
            "PAYLOAD_TOO_LARGE",
            format!("request body is larger than {limit} bytes"),
        )
    }

    /// 422 naming the offending field, so a client can point at it.
    pub fn validation(field: &str, problem: impl std::fmt::Display) -> Self {
        Refusal::invalid(field, problem).into()
    }

    /// A fault of ours or of a dependency; the detail goes to the log, never to the caller.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!(error = %detail, "internal error");
        Self::new(500, "INTERNAL_ERROR", "internal error")
    }

    pub fn body(&self, style: ErrorStyle) -> serde_json::Value {
        let body = match style {
            ErrorStyle::Coded => serde_json::to_value(CodedError {
                code: self.code,
                message: &self.message,
            }),
            ErrorStyle::Google => serde_json::to_value(GoogleError {
                error: GoogleErrorDetail {
                    code: self.status,
                    message: &self.message,
                    status: google_status(self.status),
                },
            }),
        };
        body.expect("an error body is plain data")
    }
}

/// The error body of every route outside `/appsmarket/v2/`.
#[derive(Serialize, ToSchema)]
#[schema(as = Error)]
pub struct CodedError<'a> {
    /// UPPER_SNAKE_CASE reason, e.g. `VALIDATION_ERROR`, `NOT_FOUND`.
    pub code: &'a str,
    /// Human-readable detail. For `VALIDATION_ERROR` it starts with the
    /// offending field's path, e.g. `integration_config.activations_limit: must
    /// be at least 1, or null for no limit`.
    pub message: &'a str,
}

/// The error body of the `/appsmarket/v2/` routes (google.rpc style).
#[derive(Serialize, ToSchema)]
pub struct GoogleError<'a> {
    #[schema(inline)]
    pub error: GoogleErrorDetail<'a>,
}

#[derive(Serialize, ToSchema)]
pub struct GoogleErrorDetail<'a> {
    /// The HTTP status code.
    pub code: u16,
    pub message: &'a str,
    #[schema(schema_with = google_statuses)]
    pub status: &'static str,
}

/// Every `status` `google_status` gives.
const GOOGLE_STATUSES: [&str; 8] = [
    "INVALID_ARGUMENT",
    "UNAUTHENTICATED",
    "PERMISSION_DENIED",
    "NOT_FOUND",
    "ABORTED",
    "RESOURCE_EXHAUSTED",
    "UNAVAILABLE",
    "INTERNAL",
];

fn google_statuses() -> utoipa::openapi::schema::ObjectBuilder {
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some(GOOGLE_STATUSES))
}

/// An error and its causes, each by its `Display`, for the log. The SDK's
/// `DisplayErrorContext` also appends the error's `Debug` form, which would link
/// a `Debug` impl of every operation's error and response into each binary.
pub fn chain<E: std::error::Error>(err: &E) -> String {
    let mut text = err.to_string();
    let mut cause = err.source();
    while let Some(source) = cause {
        text.push_str(": ");
        text.push_str(&source.to_string());
        cause = source.source();
    }
    text
}

/// Each kind of refusal a rule makes has one status, decided here.
impl From<Refusal> for ApiError {
    fn from(refusal: Refusal) -> Self {
        let status = match refusal.kind {
            RefusalKind::Invalid | RefusalKind::Unprocessable => 422,
            RefusalKind::Conflict => 409,
            RefusalKind::Inactive => 403,
            RefusalKind::Gone => 404,
            RefusalKind::TooLarge => 413,
            RefusalKind::Insufficient => 400,
            RefusalKind::TooSoon(seconds) => {
                return Self {
                    retry_after: Some(seconds),
                    ..Self::new(429, refusal.code, refusal.message)
                }
            }
        };
        Self::new(status, refusal.code, refusal.message)
    }
}

/// The canonical google.rpc status name for an HTTP status (also what the API
/// document says a Google-style error answer carries).
/// One of `GOOGLE_STATUSES`.
pub fn google_status(status: u16) -> &'static str {
    match status {
        400 | 413 | 422 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        409 => "ABORTED",
        429 => "RESOURCE_EXHAUSTED",
        503 => "UNAVAILABLE",
        _ => "INTERNAL",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_google_status_is_documented() {
        for status in [400, 401, 403, 404, 409, 413, 422, 429, 500, 503] {
            assert!(GOOGLE_STATUSES.contains(&google_status(status)), "{status}");
        }
    }

    #[test]
    fn coded_form_carries_code_and_message() {
        let body = ApiError::validation("name", "must not be empty").body(ErrorStyle::Coded);
        assert_eq!(body["code"], "VALIDATION_ERROR");
        assert_eq!(body["message"], "name: must not be empty");
    }

    #[test]
    fn google_form_nests_numeric_code_and_status_name() {
        let body = ApiError::not_found("application").body(ErrorStyle::Google);
        assert_eq!(body["error"]["code"], 404);
        assert_eq!(body["error"]["status"], "NOT_FOUND");
        assert_eq!(
            ApiError::unauthorized().body(ErrorStyle::Google)["error"]["status"],
            "UNAUTHENTICATED"
        );
    }

    #[test]
    fn unavailable_is_retryable_with_a_delay_and_client_errors_are_final() {
        let busy = ApiError::unavailable("lost every race");
        assert_eq!(
            (busy.status, busy.code, busy.retry_after),
            (503, "SERVICE_UNAVAILABLE", Some(1))
        );
        assert!(busy.is_retryable());
        assert_eq!(busy.body(ErrorStyle::Google)["error"]["status"], "UNAVAILABLE");
        assert!(!ApiError::not_found("grant").is_retryable());
        assert!(!ApiError::entitlement_inactive().is_retryable());
        assert!(ApiError::rate_limited(RateLimit::PublicCaller, 5).is_retryable());
    }
}
