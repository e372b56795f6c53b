//! Sends one webhook delivery over HTTP or HTTPS. Names are resolved here and
//! only to addresses a delivery may reach, and the connection goes to the
//! address that was checked, so no URL can point the service inside its network.

use crate::domain::webhook::{address_allowed, check_url, UrlText, DELIVERY_TIMEOUT};
use http_body_util::Full;
use hyper::body::Bytes;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::dns::Name;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Clone)]
struct CheckedResolver {
    allow_loopback: bool,
}

impl tower_service::Service<Name> for CheckedResolver {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = std::io::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, name: Name) -> Self::Future {
        let allow_loopback = self.allow_loopback;
        Box::pin(async move {
            let allowed: Vec<SocketAddr> = tokio::net::lookup_host((name.as_str(), 0))
                .await?
                .filter(|addr| address_allowed(addr.ip(), allow_loopback))
                .collect();
            if allowed.is_empty() {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::PermissionDenied,
                    "address not allowed",
                ));
            }
            Ok(allowed.into_iter())
        })
    }
}

type HttpClient = Client<HttpsConnector<HttpConnector<CheckedResolver>>, Full<Bytes>>;

/// One client per process, so connections are reused across deliveries.
fn client(allow_loopback: bool) -> Result<&'static HttpClient, String> {
    static CLIENT: OnceLock<Result<HttpClient, String>> = OnceLock::new();
    CLIENT
        .get_or_init(|| {
            let mut http = HttpConnector::new_with_resolver(CheckedResolver { allow_loopback });
            http.enforce_http(false);
            http.set_connect_timeout(Some(CONNECT_TIMEOUT));
            let https = hyper_rustls::HttpsConnectorBuilder::new()
                .with_native_roots()
                .map_err(|err| format!("no TLS roots: {err}"))?
                .https_or_http()
                .enable_http1()
                .wrap_connector(http);
            Ok(Client::builder(TokioExecutor::new()).build(https))
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// What one attempt came to.
pub struct Sent {
    pub status_code: Option<u16>,
    pub duration_ms: u64,
    pub error: Option<String>,
}

/// POSTs `body` to `url` with `headers`; a 2xx within the delivery timeout is success.
pub async fn post(url: &str, headers: &[(String, String)], body: String, allow_loopback: bool) -> Sent {
    let started = Instant::now();
    let outcome = attempt(url, headers, body, allow_loopback).await;
    let duration_ms = started.elapsed().as_millis() as u64;
    match outcome {
        Ok(status) => Sent {
            status_code: Some(status),
            duration_ms,
            error: (!(200..300).contains(&status)).then(|| format!("answered {status}")),
        },
        Err(error) => Sent {
            status_code: None,
            duration_ms,
            error: Some(error),
        },
    }
}

async fn attempt(url: &str, headers: &[(String, String)], body: String, allow_loopback: bool) -> Result<u16, String> {
    // An address written in the URL, in any spelling, is checked here (names
    // are checked as they resolve): by the rule that admitted the endpoint,
    // for one stored before that rule was as it is.
    let checked = UrlText::new("url", url).and_then(|url| check_url(&url, allow_loopback));
    if let Err(refusal) = checked {
        return Err(match refusal.code {
            "WEBHOOK_URL_NOT_ALLOWED" => "address not allowed".to_string(),
            _ => format!("bad url: {}", refusal.message),
        });
    }
    let uri: hyper::Uri = url.parse().map_err(|err| format!("bad url: {err}"))?;
    let mut request = hyper::Request::post(uri);
    for (name, value) in headers {
        request = request.header(name.as_str(), value.as_str());
    }
    let request = request
        .header("content-type", "application/json")
        .header("user-agent", "licensing-webhooks/1")
        .body(Full::new(Bytes::from(body)))
        .map_err(|err| format!("bad request: {err}"))?;
    let client = client(allow_loopback)?;
    match tokio::time::timeout(DELIVERY_TIMEOUT, client.request(request)).await {
        Ok(Ok(response)) => Ok(response.status().as_u16()),
        Ok(Err(err)) => Err(crate::error::chain(&err)),
        Err(_) => Err(format!("no answer within {} s", DELIVERY_TIMEOUT.as_secs())),
    }
}
