//! A business's connection to a payment provider: `pk = BIZ#<business>`,
//! `sk = PROVIDER#<provider>`, one item with its signing secrets and a version
//! each write moves on.

use super::{key, n, put, to_item, AnswerRecord, Store, Written};
use crate::domain::payment_provider::{Connection, Provider};
use crate::error::ApiError;

fn connection_key(business_id: &str, provider: Provider) -> super::Item {
    key(format!("BIZ#{business_id}"), format!("PROVIDER#{}", provider.as_str()))
}

impl Store {
    /// The business's connection to `provider`, read strongly consistent: a
    /// secret just set verifies the next delivery.
    pub async fn payment_provider(
        &self,
        business_id: &str,
        provider: Provider,
    ) -> Result<Option<Connection>, ApiError> {
        self.get_as(connection_key(business_id, provider), true).await
    }

    /// Writes `connection` if it is still at the version before it (absent for
    /// the first): `Refused` otherwise, changing nothing.
    pub async fn put_payment_provider(
        &self,
        connection: &Connection,
        answer: Option<&AnswerRecord>,
    ) -> Result<Written, ApiError> {
        let mut item = to_item(connection)?;
        item.extend(connection_key(&connection.business_id, connection.provider));
        let written = if connection.version == 1 {
            put(&self.table, item, Some(("attribute_not_exists(pk)", vec![])))?
        } else {
            let seen = vec![(":seen", n(connection.version - 1))];
            put(&self.table, item, Some(("version = :seen", seen)))?
        };
        self.commit(vec![written], answer).await
    }
}
