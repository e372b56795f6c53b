//! The one error type every route answers with, and its two wire forms.

use serde_json::json;

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
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    pub fn invalid_json(detail: impl std::fmt::Display) -> Self {
        Self::new(400, "INVALID_JSON", format!("request body is not valid JSON: {detail}"))
    }

    pub fn unauthorized() -> Self {
        Self::new(401, "UNAUTHORIZED", "missing or unknown API key")
    }

    pub fn forbidden() -> Self {
        Self::new(403, "FORBIDDEN", "this API key may not use this route")
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(404, "NOT_FOUND", format!("{what} not found"))
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(409, code, message)
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
        Self::new(422, "VALIDATION_ERROR", format!("{field}: {problem}"))
    }

    pub fn unprocessable(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(422, code, message)
    }

    /// A fault of ours or of a dependency; the detail goes to the log, never to the caller.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!(error = %detail, "internal error");
        Self::new(500, "INTERNAL_ERROR", "internal error")
    }

    pub fn body(&self, style: ErrorStyle) -> serde_json::Value {
        match style {
            ErrorStyle::Coded => json!({ "code": self.code, "message": self.message }),
            ErrorStyle::Google => json!({
                "error": { "code": self.status, "message": self.message, "status": google_status(self.status) }
            }),
        }
    }
}

/// The canonical google.rpc status name for an HTTP status.
fn google_status(status: u16) -> &'static str {
    match status {
        400 | 413 | 422 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        409 => "ABORTED",
        429 => "RESOURCE_EXHAUSTED",
        _ => "INTERNAL",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
