//! Customer portal sessions: `pk = PORTAL#<sha256 of the secret>`, `sk =
//! SESSION`, gone by TTL (`purge_at`) when they expire; the secret itself is
//! never stored. A business's display name: `pk = BIZ#<business>`, `sk = PROFILE`.

use super::{from_item, key, n, s, sdk_error, to_item, Item, Store};
use crate::domain::portal::PortalSession;
use crate::error::ApiError;

fn session_key(secret_hash: &str) -> Item {
    key(format!("PORTAL#{secret_hash}"), "SESSION")
}

fn profile_key(business_id: &str) -> Item {
    key(format!("BIZ#{business_id}"), "PROFILE")
}

impl Store {
    /// Keeps a new session under its secret's digest (a digest already taken: 503, never overwritten).
    pub async fn put_portal_session(&self, secret_hash: &str, session: &PortalSession) -> Result<(), ApiError> {
        let mut item = to_item(session)?;
        item.extend(session_key(secret_hash));
        item.insert("purge_at".into(), n(session.expires_at_s));
        self.db
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(())
    }

    /// The session a secret's digest names, live or not (TTL deletes late).
    pub async fn portal_session(&self, secret_hash: &str) -> Result<Option<PortalSession>, ApiError> {
        let item = self.get_item(session_key(secret_hash), true).await?;
        item.map(|mut item| {
            item.remove("purge_at");
            from_item(item)
        })
        .transpose()
    }

    /// The name a business shows its customers, if it has set one.
    pub async fn business_name(&self, business_id: &str) -> Result<Option<String>, ApiError> {
        let item = self.get_item(profile_key(business_id), false).await?;
        Ok(item
            .and_then(|item| item.get("name").cloned())
            .and_then(|value| value.as_s().ok().cloned()))
    }

    pub async fn put_business_name(&self, business_id: &str, name: &str) -> Result<(), ApiError> {
        let mut item = profile_key(business_id);
        item.insert("name".into(), s(name));
        self.db
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(())
    }
}
