//! The handler glue every function shares: body limit, authentication,
//! idempotency, error bodies and the log line. A route supplies only its handler.

use crate::app::App;
use crate::auth::{self, Access, Principal};
use crate::call::Call;
use crate::error::{ApiError, ApiResult, ErrorStyle};
use crate::idempotency::{self, Start};
use crate::reply::Reply;
use lambda_http::http::{HeaderValue, StatusCode};
use lambda_http::{Body, RequestExt, Response};
use serde::de::DeserializeOwned;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// A file upload's body at most: Lambda's own limit on a request (the route
/// refuses a file past its own, smaller, limit by name).
pub const MAX_UPLOAD_BODY_BYTES: usize = 6 * 1024 * 1024;

/// This process's body limit: one binary serves one route, so it is set once.
static BODY_LIMIT: std::sync::OnceLock<usize> = std::sync::OnceLock::new();

fn body_limit() -> usize {
    *BODY_LIMIT.get().unwrap_or(&MAX_BODY_BYTES)
}
pub use crate::domain::json::{MAX_PATH_ID, MAX_PATH_ID_BYTES};
/// No query parameter is longer, but a cursor (`cursor`, `iterator`).
pub const MAX_QUERY_VALUE: usize = 255;
const MAX_CURSOR: usize = 2048;

/// A request as a handler sees it: already authenticated for its route.
pub struct Request {
    call: Call,
    inner: lambda_http::Request,
}

impl Request {
    /// Who calls, and the Idempotency-Key claim: what a service is handed.
    pub fn call(&self) -> &Call {
        &self.call
    }

    /// The caller's principal id; routes that admit one kind of principal use this.
    pub fn principal_id(&self) -> &str {
        self.call.principal_id()
    }

    pub fn principal(&self) -> Option<&Principal> {
        self.call.principal.as_ref()
    }

    /// A path parameter of the route; its absence means the route table is wrong.
    /// No id is longer than `MAX_PATH_ID` printable characters (nor `MAX_PATH_ID_BYTES`
    /// bytes, so that every key it is part of fits DynamoDB's), and none is a dot
    /// segment, so one that is names nothing: 404, before it reaches a key.
    pub fn path(&self, name: &str) -> ApiResult<String> {
        self.inner
            .path_parameters_ref()
            .and_then(|params| params.first(name))
            .ok_or_else(|| ApiError::internal(format!("route has no path parameter {name}")))?;
        path_param(&self.inner, name).ok_or_else(|| ApiError::not_found(name))
    }

    pub fn query(&self, name: &str) -> Option<&str> {
        self.inner
            .query_string_parameters_ref()
            .and_then(|params| params.first(name))
    }

    /// Every value of a repeated query parameter (`locale=fr&locale=de`).
    pub fn query_all(&self, name: &str) -> Vec<&str> {
        self.inner
            .query_string_parameters_ref()
            .and_then(|params| params.all(name))
            .unwrap_or_default()
    }

    /// The page a list route is asked for (`page_size`, `page_number`, `cursor`).
    pub fn page(&self) -> ApiResult<crate::store::PageRequest> {
        crate::store::PageRequest::from_query(self.query("page_size"), self.query("page_number"), self.query("cursor"))
    }

    /// The page a list route that pages with `limit` and `iterator` is asked for.
    pub fn limit_page(&self) -> ApiResult<crate::store::PageRequest> {
        crate::store::PageRequest::from_limit(self.query("limit"), self.query("iterator"))
    }

    /// The host the caller reached, as API Gateway says (`requestContext.domainName`).
    pub fn domain_name(&self) -> Option<&str> {
        match self.inner.request_context_ref() {
            Some(lambda_http::request::RequestContext::ApiGatewayV2(context)) => context.domain_name.as_deref(),
            _ => None,
        }
    }

    /// `https://` and the host the caller reached: the custom domain when the
    /// API has one, else its execute-api host (locally `https://localhost`, as
    /// cargo lambda names every request's host). The template cannot hand a
    /// function the API's URL: the API's routes depend on the function, a cycle.
    pub fn origin(&self) -> Option<String> {
        self.domain_name()
            .filter(|d| !d.is_empty())
            .map(|d| format!("https://{d}"))
    }

    /// Where this API is reached as the caller reached it: `origin` and what
    /// its path had before the route's own (the stage on the execute-api
    /// host), so that the URL of another route built on it leads there too.
    pub fn base_url(&self) -> Option<String> {
        let origin = self.origin()?;
        Some(origin + base_path(self.inner.raw_http_path(), &route_key(&self.inner)))
    }

    /// Where the portal's links, redirects and cookie lead for this request.
    pub fn site(&self) -> Site {
        Site {
            base_url: self.link_base().unwrap_or_default(),
            base_path: self.base_path().to_string(),
            https: self.over_https(),
        }
    }

    /// Where a link to this API should lead: `base_url` in AWS; on the local
    /// stack, plain HTTP to the host the caller reached (its `Host` header),
    /// as the browser reached it.
    pub fn link_base(&self) -> Option<String> {
        if delivered_encoded(&self.inner) {
            self.header("host").map(|host| format!("http://{host}"))
        } else {
            self.base_url()
        }
    }

    /// Whether the caller reached this API over HTTPS (always in AWS): a
    /// cookie is then `Secure`.
    pub fn over_https(&self) -> bool {
        !delivered_encoded(&self.inner)
    }

    /// What the path had before the route's own (`/prod`), so a cookie and a
    /// redirect stay within this API.
    pub fn base_path(&self) -> &str {
        base_path(self.inner.raw_http_path(), &self.call.route)
    }

    /// The body as it came, for a signature over its bytes.
    pub fn body_bytes(&self) -> &[u8] {
        self.inner.body().as_ref()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.inner.headers().get(name).and_then(|v| v.to_str().ok())
    }

    /// The body as `T`: 400 when it is not JSON, 422 naming the field when it does not fit.
    pub fn json<T: DeserializeOwned>(&self) -> ApiResult<T> {
        crate::body::parse_body(self.inner.body().as_ref())
    }
}

/// Where a request's links and cookie lead: the API's base as the caller
/// reached it, and its path (a stage) before the route's own.
pub struct Site {
    pub base_url: String,
    pub base_path: String,
    pub https: bool,
}

/// A path id as the route takes it, or None when it names nothing.
/// API Gateway HTTP APIs hand a function `rawPath` and `pathParameters` already
/// percent-decoded (payload format 2.0: https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html;
/// observed in live HTTP API captures, e.g. https://github.com/middleapi/standard-server/pull/93),
/// so such a value is taken as it is: decoding it again would read an id
/// containing `%41` as `A`. Only the local stack's events (`encoded`) are decoded.
pub fn path_id(value: &str, encoded: bool) -> Option<String> {
    let value = if encoded {
        percent_decode(value)?
    } else {
        value.to_string()
    };
    let fits = (1..=MAX_PATH_ID).contains(&value.chars().count())
        && value.len() <= MAX_PATH_ID_BYTES
        && !value.chars().any(char::is_control)
        && value != "."
        && value != "..";
    fits.then_some(value)
}

/// The path parameter `name` of an event as a function takes it (`path_id`),
/// or None when the event has none or it names nothing.
pub fn path_param(request: &lambda_http::Request, name: &str) -> Option<String> {
    let value = request.path_parameters_ref()?.first(name)?.to_string();
    path_id(&value, delivered_encoded(request))
}

/// `cargo lambda watch` (the local stack) passes the path and its parameters as
/// the client wrote them, percent-encoded, and its events carry no API id nor
/// account id, which API Gateway always sets; a client cannot make an event
/// look so.
fn delivered_encoded(request: &lambda_http::Request) -> bool {
    match request.request_context_ref() {
        Some(lambda_http::request::RequestContext::ApiGatewayV2(context)) => {
            context.apiid.is_none() && context.account_id.is_none()
        }
        _ => false,
    }
}

/// The route an event came by as API Gateway names it (`requestContext.routeKey`):
/// the method and the route's template, e.g. `POST /lrm/api/host/{hostAccountId}/license`,
/// so an alias is told from the route it stands beside. The local stack
/// (`cargo lambda watch`) says `$default` for every route; there the key is
/// rebuilt from the method and the path, each segment that is a path
/// parameter's value read as that parameter: the same key, unless an id equals
/// another id or a fixed segment of its route.
pub fn route_key(event: &lambda_http::Request) -> String {
    let key = match event.request_context_ref() {
        Some(lambda_http::request::RequestContext::ApiGatewayV2(context)) => context.route_key.as_deref(),
        _ => None,
    };
    if let Some(key) = key.filter(|key| *key != "$default") {
        return key.to_string();
    }
    let params = event.path_parameters_ref();
    let mut taken: Vec<&str> = Vec::new();
    let mut template = Vec::new();
    for segment in event.raw_http_path().split('/') {
        let name = params.and_then(|params| {
            params
                .iter()
                .filter(|(name, value)| !segment.is_empty() && *value == segment && !taken.contains(name))
                .map(|(name, _)| name)
                .min()
        });
        match name {
            Some(name) => {
                taken.push(name);
                template.push(format!("{{{name}}}"));
            }
            None => template.push(segment.to_string()),
        }
    }
    format!("{} {}", event.method(), template.join("/"))
}

/// What `raw_path` has before the path of `route_key` (`METHOD /template`),
/// a path parameter standing for one segment: `/prod` for
/// `/prod/payment-providers/dodo`, nothing when it has only the route's own.
fn base_path<'a>(raw_path: &'a str, route_key: &str) -> &'a str {
    let template = route_key.split_once(' ').map_or(route_key, |(_, path)| path);
    let own = template.split('/').filter(|s| !s.is_empty()).count();
    let mut cut = raw_path.trim_end_matches('/').len();
    for _ in 0..own {
        cut = raw_path[..cut].rfind('/').unwrap_or(0);
    }
    &raw_path[..cut]
}

/// `%XX` decoded as UTF-8; None when an escape or the result is malformed.
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// A route's handler with its type erased. Every function binary hands its
/// handler over as this, so the Lambda runtime, hyper and tokio beneath `run`
/// are compiled once, in this crate, rather than once per binary: the build
/// grows by a handler's code per route, not by the whole runtime.
type Handler = Arc<dyn Fn(&'static App, Request) -> HandlerFuture + Send + Sync>;
type HandlerFuture = Pin<Box<dyn Future<Output = ApiResult<Reply>> + Send>>;

fn erase<F, Fut>(handler: F) -> Handler
where
    F: Fn(&'static App, Request) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ApiResult<Reply>> + Send + 'static,
{
    Arc::new(move |app, req| Box::pin(handler(app, req)))
}

/// Runs a function whose errors use the `{code, message}` form.
pub async fn serve<F, Fut>(access: Access, handler: F) -> Result<(), lambda_http::Error>
where
    F: Fn(&'static App, Request) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ApiResult<Reply>> + Send + 'static,
{
    serve_erased(access, ErrorStyle::Coded, erase(handler)).await
}

pub async fn serve_with<F, Fut>(access: Access, style: ErrorStyle, handler: F) -> Result<(), lambda_http::Error>
where
    F: Fn(&'static App, Request) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ApiResult<Reply>> + Send + 'static,
{
    serve_erased(access, style, erase(handler)).await
}

/// Runs a route whose answer is a new secret (a portal link): an
/// Idempotency-Key is not kept, so the secret is never stored as sent.
pub async fn serve_unkept<F, Fut>(access: Access, style: ErrorStyle, handler: F) -> Result<(), lambda_http::Error>
where
    F: Fn(&'static App, Request) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ApiResult<Reply>> + Send + 'static,
{
    crate::idempotency::never_kept();
    serve_erased(access, style, erase(handler)).await
}

/// Runs a route that serves files built into it (the portal's style sheet
/// and script): init opens no connection, and no AWS call is made.
pub async fn serve_files<F, Fut>(handler: F) -> Result<(), lambda_http::Error>
where
    F: Fn(&'static App, Request) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ApiResult<Reply>> + Send + 'static,
{
    crate::init_tracing();
    let app = App::start(|_| async { Ok(()) }).await;
    run(app, Access::Published, ErrorStyle::Coded, erase(handler)).await
}

/// Runs a route that takes a file in its body, up to `MAX_UPLOAD_BODY_BYTES`.
pub async fn serve_upload<F, Fut>(access: Access, style: ErrorStyle, handler: F) -> Result<(), lambda_http::Error>
where
    F: Fn(&'static App, Request) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ApiResult<Reply>> + Send + 'static,
{
    let _ = BODY_LIMIT.set(MAX_UPLOAD_BODY_BYTES);
    serve_erased(access, style, erase(handler)).await
}

async fn serve_erased(access: Access, style: ErrorStyle, handler: Handler) -> Result<(), lambda_http::Error> {
    crate::init_tracing();
    run(App::start(App::open_table).await, access, style, handler).await
}

/// Runs a route whose body's `idempotency_key` names what the request makes
/// (a ledger entry, whose reuse is the handler's 409, as Dodo answers), so the
/// glue takes only the `Idempotency-Key` header as the request's key.
pub async fn serve_with_entry_keys<F, Fut>(
    access: Access,
    style: ErrorStyle,
    handler: F,
) -> Result<(), lambda_http::Error>
where
    F: Fn(&'static App, Request) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ApiResult<Reply>> + Send + 'static,
{
    crate::idempotency::header_only();
    serve_erased(access, style, erase(handler)).await
}

/// Runs the JWK Set route: it reads no table, so init fetches the key set it serves.
pub async fn serve_key_set<F, Fut>(handler: F) -> Result<(), lambda_http::Error>
where
    F: Fn(&'static App, Request) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ApiResult<Reply>> + Send + 'static,
{
    serve_key_set_erased(erase(handler)).await
}

async fn serve_key_set_erased(handler: Handler) -> Result<(), lambda_http::Error> {
    crate::init_tracing();
    let app = App::start(|app| async move { crate::offline_license::key_set(app).await.map(drop) }).await;
    run(app, Access::Published, ErrorStyle::Coded, handler).await
}

async fn run(app: &'static App, access: Access, style: ErrorStyle, handler: Handler) -> Result<(), lambda_http::Error> {
    let service = lambda_http::service_fn(move |event: lambda_http::Request| {
        let handler = handler.clone();
        async move { Ok::<_, std::convert::Infallible>(dispatch(app, access, style, &*handler, event).await) }
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
    let path = logged_path(&event);
    let (outcome, calls) = crate::aws_calls::counted(answer(app, access, style, handler, event)).await;
    let (reply, replayed, retry_after) = match outcome {
        Ok((reply, replayed)) => (reply, replayed, None),
        // A page's error is a page: the customer reads it, not a client.
        Err(err) if access == Access::PortalPage => (crate::portal_page::error(&err), false, err.retry_after),
        Err(err) => {
            let reply = Reply {
                status: err.status,
                body: Some(err.body(style).to_string()),
                headers: Vec::new(),
            };
            (reply, false, err.retry_after)
        }
    };
    let status = reply.status;
    tracing::info!(
        %method,
        %path,
        status,
        elapsed_us = started.elapsed().as_micros() as u64,
        dynamodb_calls = calls.dynamodb,
        dynamodb_read_units = calls.read_units,
        dynamodb_write_units = calls.write_units,
        ses_calls = calls.ses,
        kms_calls = calls.kms,
        s3_calls = calls.s3,
        aws_us = calls.aws_time.as_micros() as u64,
        retries = calls.retries,
        replayed,
        "request"
    );
    let mut response = response(reply, replayed, retry_after);
    // A published document changes only with a deploy: clients may keep it a while.
    if access == Access::Published && status == 200 {
        response
            .headers_mut()
            .insert("cache-control", HeaderValue::from_static("public, max-age=300"));
    }
    response
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
    if event.body().len() > body_limit() {
        return Err(ApiError::payload_too_large(body_limit()));
    }
    let principal = match access {
        Access::Public => {
            // API Gateway always says who connected; an event that does not is no caller's.
            if let Some(source) = source_address(&event) {
                app.admit_public_caller(&source).await?;
            }
            None
        }
        Access::Published | Access::Signed | Access::Portal | Access::PortalPage => None,
        _ => {
            let header = event.headers().get("authorization").and_then(|v| v.to_str().ok());
            let principal = app.authenticate(auth::bearer_secret(header)?).await?;
            if !access.admits(principal.kind) {
                return Err(ApiError::forbidden());
            }
            Some(principal)
        }
    };
    let portal = match access {
        Access::Portal | Access::PortalPage => Some(app.portal_session(portal_secret(&event, access)?).await?),
        _ => None,
    };
    check_query(&event)?;
    // A signed delivery is made idempotent by its own id, not by a header; a
    // portal's change is made once by its own condition (a device freed is gone).
    let claim = match access {
        Access::Signed | Access::Portal | Access::PortalPage => None,
        _ => match idempotency::start(app, &event, principal.as_ref()).await? {
            Start::Run(claim) => claim,
            Start::Replay(answer) => return Ok((Reply::replayed(answer), true)),
        },
    };
    let request = Request {
        call: Call {
            principal,
            idempotency: claim,
            route: route_key(&event),
            portal,
        },
        inner: event,
    };
    let claim = request.call.idempotency.clone();
    let outcome = handler(app, request).await;
    if let Some(claim) = &claim {
        idempotency::finish(app, claim, &outcome, style).await;
    }
    outcome.map(|reply| (reply, false))
}

/// The secret a portal route is called with. A JSON route takes the link's
/// token as `Authorization: Bearer` (no other site can make a browser send
/// it), else the session cookie, which a change takes only from the same
/// origin; a page takes the link's token in its path, else the cookie.
fn portal_secret(event: &lambda_http::Request, access: Access) -> ApiResult<&str> {
    let header = |name: &str| event.headers().get(name).and_then(|v| v.to_str().ok());
    if access == Access::PortalPage {
        if let Some(token) = event.path_parameters_ref().and_then(|p| p.first("token")) {
            return Ok(token);
        }
    } else if let Some(authorization) = header("authorization") {
        return auth::bearer_secret(Some(authorization)).map_err(|_| ApiError::portal_unauthorized());
    }
    let secret = auth::cookie(header("cookie"), auth::PORTAL_COOKIE).ok_or_else(ApiError::portal_unauthorized)?;
    let reads = matches!(
        *event.method(),
        lambda_http::http::Method::GET | lambda_http::http::Method::HEAD
    );
    if !reads && !auth::same_origin(header("origin"), header("host"), header("sec-fetch-site")) {
        return Err(ApiError::cross_site());
    }
    Ok(secret)
}

/// The path as logged: a portal link's token is a secret, so its segment is
/// logged by the parameter's name.
fn logged_path(event: &lambda_http::Request) -> String {
    let path = event.raw_http_path();
    match event.path_parameters_ref().and_then(|p| p.first("token")) {
        Some(token) if !token.is_empty() => path.replace(token, "{token}"),
        _ => path.to_string(),
    }
}

/// The caller's address as API Gateway saw the connection (never a header the
/// caller could set).
fn source_address(event: &lambda_http::Request) -> Option<String> {
    match event.request_context_ref() {
        Some(lambda_http::request::RequestContext::ApiGatewayV2(context)) => context.http.source_ip.clone(),
        _ => None,
    }
}

/// Every query parameter within its documented length, before any handler reads one.
fn check_query(event: &lambda_http::Request) -> ApiResult<()> {
    let params = event.query_string_parameters();
    for (name, value) in params.iter() {
        let max = if matches!(name, "cursor" | "iterator" | "return_url") {
            MAX_CURSOR
        } else {
            MAX_QUERY_VALUE
        };
        if value.chars().count() > max {
            return Err(ApiError::validation(name, format!("must be at most {max} characters")));
        }
    }
    Ok(())
}

fn response(reply: Reply, replayed: bool, retry_after: Option<u32>) -> Response<Body> {
    let status = reply.status;
    let mut response = Response::new(reply.body.map_or(Body::Empty, Body::Text));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    if status != 204 && status != 303 {
        headers.insert("content-type", HeaderValue::from_static("application/json"));
    }
    for (name, value) in reply.headers {
        // Values are ours (a URL, a cookie we minted); one that is not a header value is dropped, not sent.
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    }
    if replayed {
        headers.insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    if let Some(seconds) = retry_after {
        headers.insert("retry-after", HeaderValue::from(seconds));
    }
    // Our 4xx answers are final; the Dodo SDK would otherwise retry a 409 twice.
    if (400..500).contains(&status) && status != 429 {
        headers.insert("x-should-retry", HeaderValue::from_static("false"));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_base_path_is_what_comes_before_the_routes_own() {
        let route = "PUT /payment-providers/dodo";
        assert_eq!(base_path("/payment-providers/dodo", route), "");
        assert_eq!(base_path("/prod/payment-providers/dodo", route), "/prod");
        assert_eq!(
            base_path("/licensing/v1/payment-providers/dodo/", route),
            "/licensing/v1"
        );
        let with_id = "GET /products/{product_id}";
        assert_eq!(base_path("/prod/products/pdt_1", with_id), "/prod");
        assert_eq!(base_path("/products/pdt_1", with_id), "");
        assert_eq!(base_path("", route), "");
    }
}
