//! Idempotency-Key handling around every state-changing request (SPEC §0).
//!
//! Before the handler: claim the key, or answer what the first request with it
//! answered. The handler's service commits its answer with its change (see
//! `Call::answer`). After the handler: keep the final answer (which may say more
//! than the committed one, an email sent, say), keep a final error, or give the
//! key back when the answer invites a retry.

use crate::app::App;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult, ErrorStyle};
use crate::reply::Reply;
use crate::store::{Claim, IdempotencyClaim, StoredAnswer};
use lambda_http::http::Method;
use lambda_http::RequestExt;

const IDEMPOTENCY_KEY_MAX: usize = 255;

/// Set by a route whose body's `idempotency_key` is not the request's (`serve_with_entry_keys`).
static HEADER_ONLY: std::sync::OnceLock<()> = std::sync::OnceLock::new();

pub(crate) fn header_only() {
    let _ = HEADER_ONLY.set(());
}

/// Set by a route whose answer must not be kept (`serve_unkept`).
static NEVER_KEPT: std::sync::OnceLock<()> = std::sync::OnceLock::new();

pub(crate) fn never_kept() {
    let _ = NEVER_KEPT.set(());
}

/// What the glue does before the handler runs.
pub enum Start {
    /// Run the handler, with the claim when the request carried a key.
    Run(Option<IdempotencyClaim>),
    /// The same request was answered before: send this again.
    Replay(StoredAnswer),
}

pub async fn start(app: &App, event: &lambda_http::Request, principal: Option<&Principal>) -> ApiResult<Start> {
    let Some(key) = idempotency_key(event)?.filter(|_| NEVER_KEPT.get().is_none()) else {
        return Ok(Start::Run(None));
    };
    let Some(scope) = scope(event, principal) else {
        return Ok(Start::Run(None));
    };
    let token = crate::ids::new_id("run");
    let fingerprint = fingerprint(event);
    match app
        .store
        .claim_idempotency_key(&scope, &key, &fingerprint, &token, crate::clock::now_millis())
        .await?
    {
        Claim::Acquired(claim) => Ok(Start::Run(Some(claim))),
        Claim::Replay(answer) => Ok(Start::Replay(answer)),
        Claim::InUse => Err(ApiError::idempotency_key_in_use()),
        Claim::Reused => Err(ApiError::idempotency_key_reused()),
    }
}

/// After the handler. Never fails the request: its change, if any, is
/// committed with its answer already, and a claim that is not released lapses.
pub async fn finish(app: &App, claim: &IdempotencyClaim, outcome: &ApiResult<Reply>, style: ErrorStyle) {
    let result = match outcome {
        Ok(reply) => app.store.keep_answer(claim, &reply.stored()).await,
        Err(err) if err.is_retryable() => app.store.release_idempotency_key(claim).await,
        Err(err) => {
            let answer = StoredAnswer {
                status: err.status,
                body: err.body(style).to_string(),
            };
            app.store.keep_answer(claim, &answer).await
        }
    };
    if let Err(err) = result {
        tracing::warn!(code = err.code, "idempotency record not updated after the request");
    }
}

fn idempotency_key(event: &lambda_http::Request) -> ApiResult<Option<String>> {
    let is_write = matches!(
        *event.method(),
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    );
    if !is_write {
        return Ok(None);
    }
    let Some(value) = event.headers().get("idempotency-key") else {
        return Ok(HEADER_ONLY
            .get()
            .is_none()
            .then(|| body_idempotency_key(event))
            .flatten());
    };
    let text = value
        .to_str()
        .map_err(|_| ApiError::validation("Idempotency-Key", "must be printable ASCII"))?;
    if text.is_empty() || text.len() > IDEMPOTENCY_KEY_MAX {
        return Err(ApiError::validation(
            "Idempotency-Key",
            format!("must be 1 to {IDEMPOTENCY_KEY_MAX} characters"),
        ));
    }
    Ok(Some(text.to_string()))
}

/// Dodo's body form (`{"idempotency_key": ...}`, as its SDK sends on webhook
/// create) when there is no header; a value out of bounds is the handler's 422.
fn body_idempotency_key(event: &lambda_http::Request) -> Option<String> {
    let body = event.body().as_ref();
    if !body.windows(15).any(|w| w == b"idempotency_key") {
        return None;
    }
    let body: serde_json::Value = serde_json::from_slice(body).ok()?;
    let key = body.get("idempotency_key")?.as_str()?;
    (1..=IDEMPOTENCY_KEY_MAX).contains(&key.len()).then(|| key.to_string())
}

/// Whose keys these are: the principal's, or on the public routes the license
/// key's named in the body (its digest), so strangers never share a scope. A
/// public request without one is refused by its handler, so it needs none.
fn scope(event: &lambda_http::Request, principal: Option<&Principal>) -> Option<String> {
    if let Some(principal) = principal {
        return Some(principal.to_string());
    }
    let body: serde_json::Value = serde_json::from_slice(event.body().as_ref()).ok()?;
    let license_key = body.get("license_key")?.as_str()?;
    Some(format!("license_key:{}", crate::digest::sha256_hex(license_key)))
}

/// What makes two requests "the same": route, path and body.
fn fingerprint(event: &lambda_http::Request) -> String {
    let mut text = Vec::with_capacity(event.body().len() + 64);
    text.extend_from_slice(event.method().as_str().as_bytes());
    text.push(b' ');
    text.extend_from_slice(event.raw_http_path().as_bytes());
    text.push(b'\n');
    text.extend_from_slice(event.body().as_ref());
    crate::digest::sha256_hex(text)
}
