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
        Self::ok(&crate::wire::Page { items, next_cursor })
    }

    pub fn no_content() -> ApiResult<Self> {
        Ok(Self {
            status: 204,
            body: None,
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
        }
    }
}
