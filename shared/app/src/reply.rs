//! What a handler answers on success, and the form an Idempotency-Key keeps it
//! in. Services build it, `call` commits it with a change, `idempotency` keeps
//! and replays it, and `http` sends it.

use crate::error::{ApiError, ApiResult};
use crate::store::StoredAnswer;
use serde::Serialize;

/// What a handler answers on success.
#[derive(Clone, Debug)]
pub struct Reply {
    pub status: u16,
    pub body: Option<String>,
    /// Headers beside the body's: a page's type and policy, a cookie, a
    /// redirect's `Location`. JSON needs none (`http` types it).
    pub headers: Vec<(&'static str, String)>,
}

impl Reply {
    pub fn json(status: u16, value: &impl Serialize) -> ApiResult<Self> {
        let body = serde_json::to_string(value).map_err(ApiError::internal)?;
        Ok(Self {
            status,
            body: Some(body),
            headers: Vec::new(),
        })
    }

    /// A page, with what every page of ours sends: its type, a policy that
    /// lets it load only its own origin's styles and scripts (none inline),
    /// no referrer (a link's token must not travel on), and no caching of
    /// what is one customer's.
    pub fn html(status: u16, html: String) -> Self {
        Self {
            status,
            body: Some(html),
            headers: vec![("content-type", "text/html; charset=utf-8".into())],
        }
        .with_page_policy()
    }

    /// `303 See Other` to `location`, with the page policy.
    pub fn see_other(location: String) -> Self {
        Self {
            status: 303,
            body: None,
            headers: vec![("location", location)],
        }
        .with_page_policy()
    }

    /// A portal file (style sheet or script) of this build: anyone may cache it a while.
    pub fn asset(content_type: &'static str, text: &'static str) -> Self {
        Self {
            status: 200,
            body: Some(text.to_string()),
            headers: vec![
                ("content-type", content_type.into()),
                ("cache-control", "public, max-age=3600".into()),
                ("x-content-type-options", "nosniff".into()),
            ],
        }
    }

    pub fn with_header(mut self, name: &'static str, value: String) -> Self {
        self.headers.push((name, value));
        self
    }

    fn with_page_policy(self) -> Self {
        self.with_header(
            "content-security-policy",
            "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; connect-src 'self'; \
             form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
                .into(),
        )
        .with_header("referrer-policy", "no-referrer".into())
        .with_header("cache-control", "no-store".into())
        .with_header("x-content-type-options", "nosniff".into())
    }

    pub fn ok(value: &impl Serialize) -> ApiResult<Self> {
        Self::json(200, value)
    }

    pub fn created(value: &impl Serialize) -> ApiResult<Self> {
        Self::json(201, value)
    }

    /// A page of a list: `{"items": [...], "next_cursor": ...}`.
    pub fn page<T: Serialize>(items: &[T], next_cursor: Option<String>) -> ApiResult<Self> {
        Self::ok(&crate::wire::Page { items, next_cursor })
    }

    pub fn no_content() -> ApiResult<Self> {
        Ok(Self {
            status: 204,
            body: None,
            headers: Vec::new(),
        })
    }

    /// The answer as an idempotency record keeps it: without download URLs,
    /// which are minted per read and never stored (a replay shows each such
    /// file with an empty `download_url`, expired; a read mints fresh ones).
    pub fn stored(&self) -> StoredAnswer {
        let body = self.body.clone().unwrap_or_default();
        let body = match serde_json::from_str(&body) {
            Ok(mut value) if body.contains("\"download_url\"") => {
                crate::domain::digital_files::without_download_urls(&mut value);
                value.to_string()
            }
            _ => body,
        };
        StoredAnswer {
            status: self.status,
            body,
        }
    }

    /// A kept answer, replayed as it was first sent.
    pub fn replayed(answer: StoredAnswer) -> Self {
        Self {
            status: answer.status,
            body: Some(answer.body).filter(|b| !b.is_empty()),
            headers: Vec::new(),
        }
    }
}
