//! Products: a seller's product at its payment provider, and the entitlements
//! a payment or subscription of it grants (the Dodo SDK's `products.update`
//! and `products.retrieve`). The product itself lives at the provider; this
//! service keeps only what it grants.

use crate::calendar::DurationInterval;
use crate::credit::{CreditEntitlement, CreditOverrides, Credits, OverageBehavior, ProrationBehavior};
use crate::entitlement::{Entitlement, IntegrationType};
use crate::json::{KeyId, List, Text};
use crate::refusal::{Refusal, RuleResult};
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

/// The SDK's `AttachCreditEntitlementParam`: the credits each payment or
/// billing cycle of the product grants, and the settings it overrides.
#[derive(Debug, Deserialize, ToSchema)]
pub struct AttachCreditEntitlement {
    /// An active credit entitlement of the caller (404 otherwise).
    #[schema(value_type = String, min_length = 1, max_length = 255)]
    pub credit_entitlement_id: KeyId,
    /// A decimal string above 0, with at most the entitlement's precision.
    #[schema(value_type = String, min_length = 1, max_length = 64)]
    pub credits_amount: Text<1, 64>,
    #[serde(flatten)]
    pub overrides: CreditOverrides,
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

    /// The credit entitlement ids the patch names, each once, in the order given.
    pub fn credit_entitlement_ids(&self) -> Vec<&str> {
        let mut ids: Vec<&str> = Vec::new();
        for attached in self.credit_entitlements.iter().flat_map(|attached| attached.iter()) {
            if !ids.contains(&attached.credit_entitlement_id.as_str()) {
                ids.push(attached.credit_entitlement_id.as_str());
            }
        }
        ids
    }

    /// The product's credit entitlements as the patch sets them, checked
    /// against `named` (the active credit entitlements it names); `None` when
    /// it leaves them alone. One already attached keeps its mapping id.
    pub fn credit_mappings(
        &self,
        named: &[CreditEntitlement],
        current: Option<&Product>,
        mut new_id: impl FnMut() -> String,
    ) -> RuleResult<Option<Vec<CreditMapping>>> {
        let Some(attached) = self.credit_entitlements.as_ref() else {
            return Ok(None);
        };
        let mut mappings: Vec<CreditMapping> = Vec::with_capacity(attached.len());
        for (i, a) in attached.iter().enumerate() {
            let field = |name: &str| format!("credit_entitlements[{i}].{name}");
            let id = a.credit_entitlement_id.as_str();
            if mappings.iter().any(|m| m.credit_entitlement_id == id) {
                return Err(Refusal::invalid(
                    &field("credit_entitlement_id"),
                    "is attached once only",
                ));
            }
            let entitlement = named
                .iter()
                .find(|e| e.id == id)
                .ok_or_else(|| Refusal::invalid(&field("credit_entitlement_id"), "is not a credit entitlement"))?;
            let credits = Credits::parse(&field("credits_amount"), &a.credits_amount, entitlement.precision)?;
            let (_, overrides) = a.overrides.applied_to(entitlement).map_err(|r| Refusal {
                message: format!("credit_entitlements[{i}].{}", r.message),
                ..r
            })?;
            let kept = current.and_then(|p| p.credit_entitlements.iter().find(|m| m.credit_entitlement_id == id));
            mappings.push(CreditMapping {
                id: kept.map_or_else(&mut new_id, |m| m.id.clone()),
                credit_entitlement_id: id.to_string(),
                credits_amount: credits.to_string(),
                overrides,
            });
        }
        Ok(Some(mappings))
    }

    /// The product as this patch leaves it, with `credits` from
    /// `credit_mappings`. `version` counts the writes, so a write can be
    /// conditioned on the one it read.
    pub fn applied_to(
        &self,
        current: Option<&Product>,
        credits: Option<Vec<CreditMapping>>,
        business_id: &str,
        product_id: &str,
        now: &str,
    ) -> Product {
        let entitlement_ids = match (self.entitlement_ids(), current) {
            (Some(ids), _) => ids.into_iter().map(String::from).collect(),
            (None, Some(current)) => current.entitlement_ids.clone(),
            (None, None) => Vec::new(),
        };
        let credit_entitlements = match (credits, current) {
            (Some(credits), _) => credits,
            (None, Some(current)) => current.credit_entitlements.clone(),
            (None, None) => Vec::new(),
        };
        Product {
            product_id: product_id.to_string(),
            business_id: business_id.to_string(),
            entitlement_ids,
            credit_entitlements,
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
    #[serde(default)]
    pub credit_entitlements: Vec<CreditMapping>,
    pub version: u64,
    pub updated_at: String,
}

/// One credit entitlement of a product: the credits each payment or billing
/// cycle grants, and what the product overrides.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CreditMapping {
    pub id: String,
    pub credit_entitlement_id: String,
    /// At the entitlement's precision.
    pub credits_amount: String,
    pub overrides: CreditOverrides,
}

impl CreditMapping {
    /// The days until a grant of it expires, if it does.
    pub fn expires_after_days(&self, entitlement: &CreditEntitlement) -> Option<i64> {
        self.overrides.expires_after_days.or(entitlement.expires_after_days)
    }
}

/// The SDK's `CreditEntitlementMappingResponse`: a product's credit
/// entitlement with the settings in effect (the product's over the entitlement's).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = CreditEntitlementMappingResponse)]
pub struct CreditMappingView {
    pub id: String,
    pub credit_entitlement_id: String,
    pub credit_entitlement_name: String,
    pub credit_entitlement_unit: String,
    pub credits_amount: String,
    pub overage_behavior: OverageBehavior,
    pub overage_enabled: bool,
    pub proration_behavior: ProrationBehavior,
    pub rollover_enabled: bool,
    pub trial_credits_expire_after_trial: bool,
    pub currency: Option<String>,
    pub expires_after_days: Option<i64>,
    pub low_balance_threshold_percent: Option<i64>,
    pub max_rollover_count: Option<i64>,
    pub overage_limit: Option<String>,
    pub price_per_unit: Option<String>,
    pub rollover_percentage: Option<i64>,
    pub rollover_timeframe_count: Option<i64>,
    pub rollover_timeframe_interval: Option<DurationInterval>,
    pub trial_credits: Option<String>,
}

impl CreditMappingView {
    /// The mapping over `entitlement` as it is now; `None` when the two no
    /// longer agree (a later change to the entitlement the overrides break).
    pub fn of(mapping: &CreditMapping, entitlement: &CreditEntitlement) -> Option<Self> {
        let (e, o) = mapping.overrides.applied_to(entitlement).ok()?;
        Some(Self {
            id: mapping.id.clone(),
            credit_entitlement_id: e.id,
            credit_entitlement_name: e.name,
            credit_entitlement_unit: e.unit,
            credits_amount: mapping.credits_amount.clone(),
            overage_behavior: e.overage_behavior,
            overage_enabled: e.overage_enabled,
            proration_behavior: o.proration_behavior.unwrap_or_default(),
            rollover_enabled: e.rollover_enabled,
            trial_credits_expire_after_trial: o.trial_credits_expire_after_trial.unwrap_or(false),
            currency: e.currency,
            expires_after_days: e.expires_after_days,
            low_balance_threshold_percent: o.low_balance_threshold_percent,
            max_rollover_count: e.max_rollover_count,
            overage_limit: e.overage_limit.map(|l| l.to_string()),
            price_per_unit: e.price_per_unit,
            rollover_percentage: e.rollover_percentage,
            rollover_timeframe_count: e.rollover_timeframe_count,
            rollover_timeframe_interval: e.rollover_timeframe_interval,
            trial_credits: o.trial_credits,
        })
    }
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
    #[schema(max_items = 5)]
    pub credit_entitlements: Vec<CreditMappingView>,
}

impl ProductView {
    /// `entitlements` and `credits` as read, in any order; the view keeps the
    /// product's order and leaves out those deleted since.
    pub fn of(product: &Product, entitlements: &[Entitlement], credits: &[CreditEntitlement]) -> Self {
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
            credit_entitlements: product
                .credit_entitlements
                .iter()
                .filter_map(|m| {
                    let e = credits
                        .iter()
                        .find(|e| e.id == m.credit_entitlement_id && e.is_active)?;
                    CreditMappingView::of(m, e)
                })
                .collect(),
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
            .applied_to(None, None, "biz", "prod", "t1");
        assert_eq!(
            (first.entitlement_ids.clone(), first.version),
            (vec!["a".into(), "b".into()], 1)
        );
        let kept = patch(json!({"credit_entitlements": []})).applied_to(Some(&first), None, "biz", "prod", "t2");
        assert_eq!(
            (kept.entitlement_ids.clone(), kept.version),
            (first.entitlement_ids.clone(), 2)
        );
        let null = patch(json!({"entitlements": null})).applied_to(Some(&kept), None, "biz", "prod", "t3");
        assert_eq!(null.entitlement_ids, first.entitlement_ids);
        let emptied = patch(json!({"entitlements": []})).applied_to(Some(&null), None, "biz", "prod", "t4");
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
        .applied_to(None, None, "biz", "prod", "t");
        let view = ProductView::of(&product, &[a, gone, b], &[]);
        let ids: Vec<&str> = view.entitlements.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, ["b", "a"]);
        assert_eq!(view.credit_entitlements.len(), 0);
    }

    fn meter(id: &str, precision: u32) -> CreditEntitlement {
        let body = json!({"name": "API calls", "unit": "calls", "precision": precision, "overage_enabled": false,
                          "rollover_enabled": false, "expires_after_days": 30});
        serde_json::from_value::<crate::credit::NewCreditEntitlement>(body)
            .unwrap()
            .into_entitlement(id.into(), "biz", "t")
            .unwrap()
    }

    fn credits(body: Value, named: &[CreditEntitlement], current: Option<&Product>) -> RuleResult<Vec<CreditMapping>> {
        let mut n = 0;
        patch(json!({ "credit_entitlements": body }))
            .credit_mappings(named, current, || {
                n += 1;
                format!("cem_{n}")
            })
            .map(Option::unwrap)
    }

    #[test]
    fn a_products_credits_are_exact_at_the_meters_precision_and_its_overrides_checked() {
        let named = [meter("cde_a", 2), meter("cde_b", 0)];
        let set = credits(
            json!([{"credit_entitlement_id": "cde_a", "credits_amount": "10.5", "expires_after_days": 7},
                   {"credit_entitlement_id": "cde_b", "credits_amount": "100", "overage_limit": "20",
                    "overage_enabled": true, "price_per_unit": "0.010", "currency": "EUR"}]),
            &named,
            None,
        )
        .unwrap();
        assert_eq!(
            set.iter()
                .map(|m| (m.id.as_str(), m.credits_amount.as_str()))
                .collect::<Vec<_>>(),
            [("cem_1", "10.50"), ("cem_2", "100")]
        );
        assert_eq!(set[0].expires_after_days(&named[0]), Some(7));
        assert_eq!(set[1].expires_after_days(&named[1]), Some(30));
        let view = CreditMappingView::of(&set[1], &named[1]).unwrap();
        assert_eq!(
            (
                view.overage_enabled,
                view.overage_limit.as_deref(),
                view.price_per_unit.as_deref()
            ),
            (true, Some("20"), Some("0.01"))
        );
        assert_eq!(
            (view.credit_entitlement_name.as_str(), view.currency.as_deref()),
            ("API calls", Some("EUR"))
        );

        let refused = |body: Value, says: &str| {
            let err = credits(body, &named, None).unwrap_err();
            assert!(err.message.contains(says), "{} lacks {says}", err.message);
        };
        refused(
            json!([{"credit_entitlement_id": "cde_b", "credits_amount": "1.5"}]),
            "credit_entitlements[0].credits_amount",
        );
        refused(
            json!([{"credit_entitlement_id": "cde_a", "credits_amount": "0"}]),
            "credits_amount",
        );
        refused(
            json!([{"credit_entitlement_id": "cde_a", "credits_amount": "1", "overage_enabled": true}]),
            "credit_entitlements[0].price_per_unit",
        );
        refused(
            json!([{"credit_entitlement_id": "cde_a", "credits_amount": "1", "low_balance_threshold_percent": 101}]),
            "low_balance_threshold_percent",
        );
        refused(
            json!([{"credit_entitlement_id": "cde_a", "credits_amount": "1"},
                       {"credit_entitlement_id": "cde_a", "credits_amount": "2"}]),
            "credit_entitlements[1].credit_entitlement_id",
        );
        refused(
            json!([{"credit_entitlement_id": "cde_x", "credits_amount": "1"}]),
            "is not a credit entitlement",
        );
    }

    #[test]
    fn a_credit_entitlement_attached_again_keeps_its_mapping_id() {
        let named = [meter("cde_a", 2), meter("cde_b", 2)];
        let first = credits(
            json!([{"credit_entitlement_id": "cde_a", "credits_amount": "1"}]),
            &named,
            None,
        )
        .unwrap();
        let product = patch(json!({})).applied_to(None, Some(first), "biz", "prod", "t");
        let body = json!({"credit_entitlements": [{"credit_entitlement_id": "cde_b", "credits_amount": "2"},
                                                   {"credit_entitlement_id": "cde_a", "credits_amount": "3"}]});
        let again = patch(body)
            .credit_mappings(&named, Some(&product), || "cem_new".into())
            .unwrap()
            .unwrap();
        let ids: Vec<(&str, &str, &str)> = again
            .iter()
            .map(|m| {
                (
                    m.credit_entitlement_id.as_str(),
                    m.id.as_str(),
                    m.credits_amount.as_str(),
                )
            })
            .collect();
        assert_eq!(ids, [("cde_b", "cem_new", "2.00"), ("cde_a", "cem_1", "3.00")]);
    }
}
