//! API keys: `pk = APIKEY#<sha256 of the secret>`. The secret itself is never stored.

use super::{key, s, sdk_error, Store};
use crate::domain::principal::Principal;
use crate::error::ApiError;

impl Store {
    pub async fn principal_for_key_hash(&self, key_hash: &str) -> Result<Option<Principal>, ApiError> {
        let output = self
            .db
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(format!("APIKEY#{key_hash}"), "APIKEY")))
            .projection_expression("principal")
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(output
            .item()
            .and_then(|item| item.get("principal"))
            .and_then(|value| value.as_s().ok())
            .and_then(|text| Principal::parse(text)))
    }

    pub async fn put_api_key(
        &self,
        key_hash: &str,
        key_id: &str,
        principal: &Principal,
        created_at: &str,
    ) -> Result<(), ApiError> {
        self.db
            .put_item()
            .table_name(&self.table)
            .set_item(Some(key(format!("APIKEY#{key_hash}"), "APIKEY")))
            .item("key_id", s(key_id))
            .item("principal", s(principal.to_string()))
            .item("created_at", s(created_at))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(())
    }
}
