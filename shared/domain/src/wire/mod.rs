//! Wire shapes of the families whose objects are built for the answer rather
//! than stored as they are shown. (Dodo's objects are the stored domain types,
//! shown through `Grant::presented` and `LicenseKey::view`.) The OpenAPI
//! document's schemas are derived from these types (`make openapi`).

pub mod appsmarket;
pub mod dodo;
pub mod lrm;
pub mod portal;
pub mod schema;

use serde::Serialize;

/// A page of a list: `{"items": [...], "next_cursor": ...}`.
#[derive(Serialize)]
pub struct Page<'a, T> {
    pub items: &'a [T],
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}
