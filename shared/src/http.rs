//! The handler glue every function shares: body limit, authentication,
//! idempotency, error bodies and the log line. A route supplies only its handler.

use crate::app::App;
use crate::auth::{self, Access, Principal};
use crate::error::{ApiError, ApiResult, ErrorStyle};
use crate::store::{Claim, StoredResponse};
use lambda_http::http::{HeaderValue, Method, StatusCode};
use lambda_http::{Body, RequestExt, Response};
use serde::de::DeserializeOwned;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::future::Future;
use std::time::Instant;

pub const MAX_BODY_BYTES: usize = 64 * 1024;
const IDEMPOTENCY_KEY_MAX: usize = 255;

/// A request as a handler sees it: already authenticated for its route.
pub struct Request {
    principal: Option<Principal>,
    inner: lambda_http::Request,
}

impl Request {
    /// The caller's principal id; routes that admit one kind of principal use this.
    pub fn principal_id(&self) -> &str {
        self.principal.as_ref().map_or("", |p| p.id.as_str())
    }

    pub fn principal(&self) -> Option<&Principal> {
        self.principal.as_ref()
    }

    /// A path parameter of the route; its absence means the route table is wrong.
    pub fn path(&self, name: &str) -> ApiResult<String> {
        self.inner
            .path_parameters_ref()
            .and_then(|params| params.first(name))
            .map(str::to_string)
            .ok_or_else(|| ApiError::internal(format!("route has no path parameter {name}")))
    }

    pub fn query(&self, name: &str) -> Option<&str> {
        self.inner
            .query_string_parameters_ref()
            .and_then(|params| params.first(name))
    }

    /// The page a list route is asked for (`page_size`, `page_number`, `cursor`).
    pub fn page(&self) -> ApiResult<crate::store::PageRequest> {
        crate::store::PageRequest::from_query(self.query("page_size"), self.query("page_number"), self.query("cursor"))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.inner.headers().get(name).and_then(|v| v.to_str().ok())
    }

    /// The body as `T`: 400 when it is not JSON, 422 naming the field when it does not fit.
    pub fn json<T: DeserializeOwned>(&self) -> ApiResult<T> {
        crate::json::parse_body(self.inner.body().as_ref())
    }
}

/// What a handler answers on success.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: Option<String>,
}

impl Reply {
    pub fn json(status: u16, value: &impl Serialize) -> ApiResult<Self> {
        let body = serde_json::to_string(value).map_err(ApiError::internal)?;
        Ok(Self {
            status,
            body: Some(body),
        })
    }

    pub fn ok(value: &impl Serialize) -> ApiResult<Self> {
        Self::json(200, value)
    }

    pub fn created(value: &impl Serialize) -> ApiResult<Self> {
        Self::json(201, value)
    }

    /// A page of a list: `{"items": [...], "next_cursor": ...}`.
    pub fn page<T: Serialize>(items: &[T], next_cursor: Option<String>) -> ApiResult<Self> {
        Self::ok(&serde_json::json!({ "items": items, "next_cursor": next_cursor }))
    }

    pub fn no_content() -> ApiResult<Self> {
        Ok(Self {
            status: 204,
            body: None,
        })
    }
}

/// Runs a function whose errors use the `{code, message}` form.
pub async fn serve<F, Fut>(access: Access, handler: F) -> Result<(), lambda_http::Error>
where
    F: Fn(&'static App, Request) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = ApiResult<Reply>> + Send + 'static,
{
    serve_with(access, ErrorStyle::Coded, handler).await
}

pub async fn serve_with<F, Fut>(access: Access, style: ErrorStyle, handler: F) -> Result<(), lambda_http::Error>
where
    F: Fn(&'static App, Request) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = ApiResult<Reply>> + Send + 'static,
{
    crate::init_tracing();
    // Built once per container and shared by every invocation it serves.
    let app: &'static App = Box::leak(Box::new(App::from_env().await));
    let service = lambda_http::service_fn(move |event: lambda_http::Request| {
        let handler = handler.clone();
        async move { Ok::<_, std::convert::Infallible>(dispatch(app, access, style, handler, event).await) }
    });
    lambda_http::run_concurrent(service).await
}

/// One request, start to finish. Public so tests can drive a handler from an event.
pub async fn dispatch<F, Fut>(
    app: &'static App,
    access: Access,
    style: ErrorStyle,
    handler: F,
    event: lambda_http::Request,
) -> Response<Body>
where
    F: Fn(&'static App, Request) -> Fut,
    Fut: Future<Output = ApiResult<Reply>>,
{
    let started = Instant::now();
    let method = event.method().clone();
    let path = event.raw_http_path().to_string();
    let (outcome, calls) = crate::calls::counted(answer(app, access, style, handler, event)).await;
    let (status, body, replayed) = match outcome {
        Ok((reply, replayed)) => (reply.status, reply.body, replayed),
        Err(err) => (err.status, Some(err.body(style).to_string()), false),
    };
    tracing::info!(
        %method,
        %path,
        status,
        elapsed_us = started.elapsed().as_micros() as u64,
        dynamodb_calls = calls.dynamodb,
        ses_calls = calls.ses,
        aws_us = calls.aws_time.as_micros() as u64,
        retries = calls.retries,
        replayed,
        "request"
    );
    response(status, body, replayed)
}

async fn answer<F, Fut>(
    app: &'static App,
    access: Access,
    style: ErrorStyle,
    handler: F,
    event: lambda_http::Request,
) -> ApiResult<(Reply, bool)>
where
    F: Fn(&'static App, Request) -> Fut,
    Fut: Future<Output = ApiResult<Reply>>,
{
    if event.body().len() > MAX_BODY_BYTES {
        return Err(ApiError::payload_too_large(MAX_BODY_BYTES));
    }
    let principal = match access {
        Access::Public => None,
        _ => {
            let header = event.headers().get("authorization").and_then(|v| v.to_str().ok());
            let principal = app.authenticate(auth::bearer_secret(header)?).await?;
            if !access.admits(principal.kind) {
                return Err(ApiError::forbidden());
            }
            Some(principal)
        }
    };
    let idempotency_key = idempotency_key(&event)?;
    let request = Request {
        principal,
        inner: event,
    };
    let Some(idempotency_key) = idempotency_key else {
        return handler(app, request).await.map(|reply| (reply, false));
    };

    let scope = request
        .principal
        .as_ref()
        .map_or_else(|| "public".to_string(), Principal::to_string);
    let fingerprint = fingerprint(&request.inner);
    match app
        .store
        .claim_idempotency_key(&scope, &idempotency_key, &fingerprint, crate::clock::now_millis())
        .await?
    {
        Claim::Replay(stored) => {
            return Ok((
                Reply {
                    status: stored.status,
                    body: Some(stored.body).filter(|b| !b.is_empty()),
                },
                true,
            ))
        }
        Claim::InUse => {
            return Err(ApiError::conflict(
                "IDEMPOTENCY_KEY_IN_USE",
                "a request with this Idempotency-Key is still running",
            ))
        }
        Claim::Reused => {
            return Err(ApiError::unprocessable(
                "IDEMPOTENCY_KEY_REUSED",
                "this Idempotency-Key was used with another request",
            ))
        }
        Claim::Acquired => {}
    }
    let outcome = handler(app, request).await;
    let stored = match &outcome {
        Ok(reply) => StoredResponse {
            status: reply.status,
            body: reply.body.clone().unwrap_or_default(),
        },
        // Our own failures are not kept: the client may retry with the same key.
        Err(err) if err.status >= 500 => {
            app.store
                .release_idempotency_key(&scope, &idempotency_key, &fingerprint)
                .await?;
            return Err(err.clone());
        }
        Err(err) => StoredResponse {
            status: err.status,
            body: err.body(style).to_string(),
        },
    };
    app.store
        .store_idempotent_response(&scope, &idempotency_key, &fingerprint, &stored)
        .await?;
    outcome.map(|reply| (reply, false))
}

fn idempotency_key(event: &lambda_http::Request) -> ApiResult<Option<String>> {
    let is_write = matches!(
        *event.method(),
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    );
    let Some(value) = event.headers().get("idempotency-key").filter(|_| is_write) else {
        return Ok(None);
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

/// What makes two requests "the same": route, path and body.
fn fingerprint(event: &lambda_http::Request) -> String {
    let mut hasher = Sha256::new();
    hasher.update(event.method().as_str());
    hasher.update(b" ");
    hasher.update(event.raw_http_path());
    hasher.update(b"\n");
    hasher.update(event.body().as_ref());
    hasher.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

fn response(status: u16, body: Option<String>, replayed: bool) -> Response<Body> {
    let mut response = Response::new(body.map_or(Body::Empty, Body::Text));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    if status != 204 {
        headers.insert("content-type", HeaderValue::from_static("application/json"));
    }
    if replayed {
        headers.insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    // Our 4xx answers are final; the Dodo SDK would otherwise retry a 409 twice.
    if (400..500).contains(&status) && status != 429 {
        headers.insert("x-should-retry", HeaderValue::from_static("false"));
    }
    response
}
