//! The glue every route goes through (`http::dispatch`), driven in-process from
//! API Gateway events against the local stack's DynamoDB: authentication,
//! Idempotency-Key claim, replay, reuse and release, and the error forms.
//!
//! These need the stack that `make test` starts, so they are `#[ignore]`d in the
//! plain unit run and run by `make test` with `--ignored` once it is up.

use lambda_http::http::HeaderMap;
use lambda_http::{Body, Response};
use licensing::auth::{hash_secret, mint_secret, Principal};
use licensing::http::dispatch;
use licensing::{Access, ApiError, App, ErrorStyle, Reply, Request};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

/// An app of the test's own: each test has its own runtime, and a client shared
/// across runtimes keeps connections whose runtime may have ended (a 503).
async fn app() -> &'static App {
    Box::leak(Box::new(App::from_env().await))
}

fn event(method: &str, headers: &[(&str, &str)], body: Value) -> lambda_http::Request {
    let mut request = lambda_http::http::Request::builder()
        .method(method)
        .uri("https://local/licenses/activate");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.body(Body::Text(body.to_string())).unwrap()
}

fn parts(response: Response<Body>) -> (u16, HeaderMap, Value) {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = match response.body() {
        Body::Text(text) => serde_json::from_str(text).unwrap_or(Value::Null),
        _ => Value::Null,
    };
    (status, headers, body)
}

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", licensing::ids::new_id("t"))
}

/// A handler that counts its runs and answers `answers[run]` (the last one after that).
fn counting(
    runs: Arc<AtomicU32>,
    answers: Vec<Result<u16, ApiError>>,
) -> impl Fn(&'static App, Request) -> std::future::Ready<Result<Reply, ApiError>> + Clone {
    move |_, _| {
        let run = runs.fetch_add(1, Ordering::SeqCst) as usize;
        let answer = answers[run.min(answers.len() - 1)].clone();
        std::future::ready(answer.and_then(|status| Reply::json(status, &json!({ "run": run }))))
    }
}

#[tokio::test]
#[ignore = "needs the local stack: make test runs it"]
async fn a_success_is_replayed_and_the_handler_runs_once() {
    let app = app().await;
    let runs = Arc::new(AtomicU32::new(0));
    let handler = counting(runs.clone(), vec![Ok(201)]);
    let body = json!({ "license_key": unique("key") });
    let headers = [("idempotency-key", "k1")];
    let first = parts(
        dispatch(
            app,
            Access::Public,
            ErrorStyle::Coded,
            handler.clone(),
            event("POST", &headers, body.clone()),
        )
        .await,
    );
    let again = parts(
        dispatch(
            app,
            Access::Public,
            ErrorStyle::Coded,
            handler.clone(),
            event("POST", &headers, body.clone()),
        )
        .await,
    );
    assert_eq!((first.0, again.0), (201, 201));
    assert_eq!(first.2, again.2);
    assert!(first.1.get("idempotent-replayed").is_none());
    assert_eq!(again.1["idempotent-replayed"], "true");
    assert_eq!(runs.load(Ordering::SeqCst), 1);

    // Same key, another body: refused, and the handler does not run.
    let other = json!({ "license_key": body["license_key"], "name": "other" });
    let reused = parts(
        dispatch(
            app,
            Access::Public,
            ErrorStyle::Coded,
            handler,
            event("POST", &headers, other),
        )
        .await,
    );
    assert_eq!(
        (reused.0, reused.2["code"].as_str()),
        (422, Some("IDEMPOTENCY_KEY_REUSED"))
    );
    assert_eq!(reused.1["x-should-retry"], "false");
    assert_eq!(runs.load(Ordering::SeqCst), 1);
}

#[tokio::test]
#[ignore = "needs the local stack: make test runs it"]
async fn a_retryable_answer_is_not_kept_and_a_final_error_is() {
    let app = app().await;
    let runs = Arc::new(AtomicU32::new(0));
    let handler = counting(runs.clone(), vec![Err(ApiError::unavailable("test")), Ok(200)]);
    let body = json!({ "license_key": unique("key") });
    let headers = [("idempotency-key", "k2")];
    let busy = parts(
        dispatch(
            app,
            Access::Public,
            ErrorStyle::Coded,
            handler.clone(),
            event("POST", &headers, body.clone()),
        )
        .await,
    );
    assert_eq!((busy.0, busy.2["code"].as_str()), (503, Some("SERVICE_UNAVAILABLE")));
    assert_eq!(busy.1["retry-after"], "1");
    assert!(busy.1.get("x-should-retry").is_none());
    let retried = parts(
        dispatch(
            app,
            Access::Public,
            ErrorStyle::Coded,
            handler,
            event("POST", &headers, body),
        )
        .await,
    );
    assert_eq!((retried.0, retried.2["run"].as_u64()), (200, Some(1)));
    assert!(retried.1.get("idempotent-replayed").is_none());

    let runs = Arc::new(AtomicU32::new(0));
    let handler = counting(runs.clone(), vec![Err(ApiError::not_found("grant")), Ok(200)]);
    let body = json!({ "license_key": unique("key") });
    let first = parts(
        dispatch(
            app,
            Access::Public,
            ErrorStyle::Coded,
            handler.clone(),
            event("POST", &headers, body.clone()),
        )
        .await,
    );
    let again = parts(
        dispatch(
            app,
            Access::Public,
            ErrorStyle::Coded,
            handler,
            event("POST", &headers, body),
        )
        .await,
    );
    assert_eq!((first.0, again.0), (404, 404));
    assert_eq!(again.1["idempotent-replayed"], "true");
    assert_eq!(runs.load(Ordering::SeqCst), 1);
}

#[tokio::test]
#[ignore = "needs the local stack: make test runs it"]
async fn a_key_still_running_is_in_use() {
    let app = app().await;
    let body = json!({ "license_key": unique("key") });
    let headers = [("idempotency-key", "k3")];
    let slow = |_: &'static App, _: Request| async {
        tokio::time::sleep(std::time::Duration::from_millis(800)).await;
        Reply::ok(&json!({}))
    };
    let (a, b) = tokio::join!(
        dispatch(
            app,
            Access::Public,
            ErrorStyle::Coded,
            slow,
            event("POST", &headers, body.clone())
        ),
        async {
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            dispatch(
                app,
                Access::Public,
                ErrorStyle::Coded,
                slow,
                event("POST", &headers, body.clone()),
            )
            .await
        }
    );
    let (a, b) = (parts(a), parts(b));
    assert_eq!(a.0, 200);
    assert_eq!((b.0, b.2["code"].as_str()), (409, Some("IDEMPOTENCY_KEY_IN_USE")));
}

#[tokio::test]
#[ignore = "needs the local stack: make test runs it"]
async fn authentication_and_error_forms() {
    let app = app().await;
    let ok = |_: &'static App, req: Request| async move { Reply::ok(&json!({ "principal": req.principal_id() })) };
    let missing = parts(
        dispatch(
            app,
            Access::Business,
            ErrorStyle::Coded,
            ok,
            event("GET", &[], json!({})),
        )
        .await,
    );
    assert_eq!((missing.0, missing.2["code"].as_str()), (401, Some("UNAUTHORIZED")));
    let google = parts(
        dispatch(
            app,
            Access::Business,
            ErrorStyle::Google,
            ok,
            event("GET", &[], json!({})),
        )
        .await,
    );
    assert_eq!(google.2["error"]["status"], "UNAUTHENTICATED");
    assert_eq!(google.2["error"]["code"], 401);

    let secret = mint_secret();
    let host = Principal::parse(&format!("host:{}", unique("h"))).unwrap();
    app.store
        .put_api_key(&hash_secret(&secret), &unique("key"), &host, "2026-01-01T00:00:00Z")
        .await
        .unwrap();
    let bearer = format!("Bearer {secret}");
    let headers = [("authorization", bearer.as_str())];
    let wrong = parts(
        dispatch(
            app,
            Access::Business,
            ErrorStyle::Coded,
            ok,
            event("GET", &headers, json!({})),
        )
        .await,
    );
    assert_eq!((wrong.0, wrong.2["code"].as_str()), (403, Some("FORBIDDEN")));
    let right = parts(
        dispatch(
            app,
            Access::Host,
            ErrorStyle::Coded,
            ok,
            event("GET", &headers, json!({})),
        )
        .await,
    );
    assert_eq!((right.0, right.2["principal"].as_str()), (200, Some(host.id.as_str())));

    let big = json!({ "pad": "x".repeat(70_000) });
    let too_big = parts(dispatch(app, Access::Public, ErrorStyle::Coded, ok, event("POST", &[], big)).await);
    assert_eq!(
        (too_big.0, too_big.2["code"].as_str()),
        (413, Some("PAYLOAD_TOO_LARGE"))
    );
    let bad_key = [("idempotency-key", "")];
    let body = json!({ "license_key": "k" });
    let invalid = parts(
        dispatch(
            app,
            Access::Public,
            ErrorStyle::Coded,
            ok,
            event("POST", &bad_key, body),
        )
        .await,
    );
    assert_eq!((invalid.0, invalid.2["code"].as_str()), (422, Some("VALIDATION_ERROR")));
}
