//! Products: a seller's product at its payment provider, and the entitlements
//! a payment or subscription of it grants (the Dodo SDK's `products.update`
//! and `products.retrieve`). The product itself lives at the provider; this
//! service keeps only what it grants.

use crate::entitlement::{Entitlement, IntegrationType};
use crate::json::{KeyId, List, Text};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

pub const MAX_PRODUCT_ENTITLEMENTS: usize = 50;
pub const MAX_PRODUCT_CREDIT_ENTITLEMENTS: usize = 5;

/// `{entitlement_id}`, as the SDK's `AttachProductEntitlementParam` sends it.
#[derive(Debug, Deserialize, ToSchema)]
pub struct AttachEntitlement {
    /// An active entitlement of the caller (404 otherwise).
    #[schema(value_type = String, min_length = 1, max_length = 255)]
    pub entitlement_id: KeyId,
}

/// The SDK's `AttachCreditEntitlementParam`; its optional overrides are read
/// by the credits capability.
#[derive(Debug, Deserialize, ToSchema)]
pub struct AttachCreditEntitlement {
    /// A credit entitlement of the caller (404 otherwise).
    #[schema(value_type = String, min_length = 1, max_length = 255)]
    pub credit_entitlement_id: KeyId,
    /// A decimal string.
    #[schema(value_type = String, min_length = 1, max_length = 64)]
    pub credits_amount: Text<1, 64>,
}

/// `PATCH /products/{product_id}`: an array replaces the set, `[]` empties
/// it, a field left out (or null) keeps its value.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct ProductPatch {
    #[serde(default)]
    #[schema(schema_with = <Attached as utoipa::PartialSchema>::schema)]
    pub entitlements: Option<Attached>,
    #[serde(default)]
    #[schema(schema_with = <CreditsAttached as utoipa::PartialSchema>::schema)]
    pub credit_entitlements: Option<CreditsAttached>,
}

type Attached = List<AttachEntitlement, MAX_PRODUCT_ENTITLEMENTS>;
type CreditsAttached = List<AttachCreditEntitlement, MAX_PRODUCT_CREDIT_ENTITLEMENTS>;

impl ProductPatch {
    /// The entitlement ids the patch names, each once, in the order given;
    /// `None` when it leaves them alone.
    pub fn entitlement_ids(&self) -> Option<Vec<&str>> {
        let attached = self.entitlements.as_ref()?;
        let mut ids: Vec<&str> = Vec::with_capacity(attached.len());
        for id in attached.iter().map(|a| a.entitlement_id.as_str()) {
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        Some(ids)
    }

    /// The product as this patch leaves it. `version` counts the writes, so
    /// a write can be conditioned on the one it read.
    pub fn applied_to(&self, current: Option<&Product>, business_id: &str, product_id: &str, now: &str) -> Product {
        let entitlement_ids = match (self.entitlement_ids(), current) {
            (Some(ids), _) => ids.into_iter().map(String::from).collect(),
            (None, Some(current)) => current.entitlement_ids.clone(),
            (None, None) => Vec::new(),
        };
        Product {
            product_id: product_id.to_string(),
            business_id: business_id.to_string(),
            entitlement_ids,
            version: current.map_or(1, |c| c.version + 1),
            updated_at: now.to_string(),
        }
    }
}

/// What is stored of a product.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Product {
    pub product_id: String,
    pub business_id: String,
    pub entitlement_ids: Vec<String>,
    pub version: u64,
    pub updated_at: String,
}

/// The SDK's `ProductEntitlementSummary`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProductEntitlement {
    pub id: String,
    pub name: String,
    #[schema(required = true)]
    pub description: Option<String>,
    pub integration_type: IntegrationType,
    #[schema(value_type = Object)]
    pub integration_config: Value,
}

/// A product as `GET /products/{product_id}` answers it: the entitlements it
/// grants, those deleted since it was attached left out.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProductView {
    pub product_id: String,
    pub business_id: String,
    #[schema(max_items = 50)]
    pub entitlements: Vec<ProductEntitlement>,
    /// The SDK's `CreditEntitlementMappingResponse`s.
    #[schema(value_type = Vec<Object>, max_items = 5)]
    pub credit_entitlements: Vec<Value>,
}

impl ProductView {
    /// `entitlements` as read, in any order; the view keeps the product's order.
    pub fn of(product: &Product, entitlements: &[Entitlement]) -> Self {
        let shown = product
            .entitlement_ids
            .iter()
            .filter_map(|id| entitlements.iter().find(|e| &e.id == id && e.is_active))
            .map(|e| ProductEntitlement {
                id: e.id.clone(),
                name: e.name.clone(),
                description: e.description.clone(),
                integration_type: e.integration_type,
                integration_config: e.integration_config.clone(),
            })
            .collect();
        Self {
            product_id: product.product_id.clone(),
            business_id: product.business_id.clone(),
            entitlements: shown,
            credit_entitlements: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entitlement::license_key_entitlement;
    use serde_json::json;

    fn patch(body: Value) -> ProductPatch {
        serde_json::from_value(body).unwrap()
    }

    #[test]
    fn an_array_replaces_the_set_and_a_missing_field_keeps_it() {
        let first = patch(json!({"entitlements": [{"entitlement_id": "a"}, {"entitlement_id": "b"}]}))
            .applied_to(None, "biz", "prod", "t1");
        assert_eq!(
            (first.entitlement_ids.clone(), first.version),
            (vec!["a".into(), "b".into()], 1)
        );
        let kept = patch(json!({"credit_entitlements": []})).applied_to(Some(&first), "biz", "prod", "t2");
        assert_eq!(
            (kept.entitlement_ids.clone(), kept.version),
            (first.entitlement_ids.clone(), 2)
        );
        let null = patch(json!({"entitlements": null})).applied_to(Some(&kept), "biz", "prod", "t3");
        assert_eq!(null.entitlement_ids, first.entitlement_ids);
        let emptied = patch(json!({"entitlements": []})).applied_to(Some(&null), "biz", "prod", "t4");
        assert!(emptied.entitlement_ids.is_empty());
        assert_eq!(emptied.version, 4);
    }

    #[test]
    fn an_entitlement_named_twice_is_attached_once() {
        let body = json!({"entitlements": [{"entitlement_id": "b"}, {"entitlement_id": "a"}, {"entitlement_id": "b"}]});
        assert_eq!(patch(body).entitlement_ids(), Some(vec!["b", "a"]));
    }

    #[test]
    fn more_than_fifty_entitlements_are_refused_by_name() {
        let many: Vec<Value> = (0..51).map(|i| json!({"entitlement_id": format!("e{i}")})).collect();
        let err = serde_json::from_value::<ProductPatch>(json!({ "entitlements": many })).unwrap_err();
        assert!(err.to_string().contains("must have at most 50 items"), "{err}");
    }

    #[test]
    fn the_view_keeps_the_products_order_and_leaves_deleted_entitlements_out() {
        let mut a = license_key_entitlement(json!({}));
        a.id = "a".into();
        let mut b = a.clone();
        b.id = "b".into();
        let mut gone = a.clone();
        gone.id = "gone".into();
        gone.is_active = false;
        let product = patch(
            json!({"entitlements": [{"entitlement_id": "b"}, {"entitlement_id": "gone"}, {"entitlement_id": "a"}]}),
        )
        .applied_to(None, "biz", "prod", "t");
        let view = ProductView::of(&product, &[a, gone, b]);
        let ids: Vec<&str> = view.entitlements.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, ["b", "a"]);
        assert_eq!(view.credit_entitlements.len(), 0);
    }
}
