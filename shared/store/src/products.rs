//! Products: `pk = BIZ#<business>`, `sk = PRODUCT#<provider's product id>`,
//! one item with the entitlements and credits it grants and a version each
//! write moves on.

use super::credits::entitlement_key as credit_entitlement_key;
use super::entitlements::entitlement_key;
use super::{key, n, put, to_item, AnswerRecord, Store, Written};
use crate::domain::product::Product;
use crate::error::ApiError;
use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, TransactWriteItem};

fn product_key(business_id: &str, product_id: &str) -> super::Item {
    key(format!("BIZ#{business_id}"), format!("PRODUCT#{product_id}"))
}

impl Store {
    pub async fn product(&self, business_id: &str, product_id: &str) -> Result<Option<Product>, ApiError> {
        self.get_as(product_key(business_id, product_id), true).await
    }

    /// Writes `product` if it is still at the version before it (absent for
    /// the first), with each of `attached` still an active entitlement of the
    /// business and each of `credits` an active credit entitlement: `Refused`
    /// otherwise, changing nothing (at 0 for the product, at `1 + i` for
    /// `attached[i]`, then the credits in order).
    pub async fn put_product(
        &self,
        product: &Product,
        attached: &[&str],
        credits: &[&str],
        answer: Option<&AnswerRecord>,
    ) -> Result<Written, ApiError> {
        let mut item = to_item(product)?;
        item.extend(product_key(&product.business_id, &product.product_id));
        let written = if product.version == 1 {
            put(&self.table, item, Some(("attribute_not_exists(pk)", vec![])))?
        } else {
            let seen = vec![(":seen", n(product.version - 1))];
            put(&self.table, item, Some(("version = :seen", seen)))?
        };
        let mut actions = vec![written];
        let entitlements = attached.iter().map(|id| entitlement_key(&product.business_id, id));
        let credit_entitlements = credits
            .iter()
            .map(|id| credit_entitlement_key(&product.business_id, id));
        for named in entitlements.chain(credit_entitlements) {
            let active = ConditionCheck::builder()
                .table_name(&self.table)
                .set_key(Some(named))
                .condition_expression("is_active = :true")
                .expression_attribute_values(":true", AttributeValue::Bool(true))
                .build()
                .map_err(ApiError::internal)?;
            actions.push(TransactWriteItem::builder().condition_check(active).build());
        }
        self.commit(actions, answer).await
    }
}
