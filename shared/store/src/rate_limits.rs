//! Callers' request counts: `pk = RATE#<digest of the caller>#<window start>`,
//! one item per caller and window, gone by TTL after it.

use super::{key, n, unless_refused, Store};
use crate::error::ApiError;

impl Store {
    /// Counts one request of `caller` in the window starting at `window_start_s`;
    /// false when the caller already made `limit` in it.
    pub async fn count_request(
        &self,
        caller: &str,
        window_start_s: u64,
        window_s: u64,
        limit: u64,
    ) -> Result<bool, ApiError> {
        let result = self
            .db
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(format!("RATE#{caller}#{window_start_s}"), "RATE")))
            .update_expression("ADD hits :one SET purge_at = :purge")
            .condition_expression("attribute_not_exists(hits) OR hits < :limit")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":limit", n(limit))
            .expression_attribute_values(":purge", n(window_start_s + window_s * 2))
            .send()
            .await;
        Ok(unless_refused(result)?.is_some())
    }

    /// The requests of `caller` counted in the window starting at `window_start_s`.
    pub async fn requests_counted(&self, caller: &str, window_start_s: u64) -> Result<u64, ApiError> {
        let item = self
            .get_item(key(format!("RATE#{caller}#{window_start_s}"), "RATE"), true)
            .await?;
        Ok(item
            .as_ref()
            .and_then(|item| item.get("hits"))
            .and_then(|hits| hits.as_n().ok())
            .and_then(|hits| hits.parse().ok())
            .unwrap_or(0))
    }
}
