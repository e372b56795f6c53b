//! The customer-entitlements read model: the grants a customer holds now, as
//! Dodo's `customers.list_entitlements` shows them.

use crate::entitlement::{Entitlement, IntegrationType};
use crate::grant::{Grant, GrantStatus};
use serde::Serialize;
use utoipa::ToSchema;

/// The grant's status as `customers.list_entitlements` shows it, in lower case.
/// The SDK's enum also has `revoked`, but this list is what the customer holds
/// now (Dodo: "delivered to, or still in flight for, a customer"), so a revoked
/// grant is left out; `customers.list_entitlement_grants` shows it.
#[derive(Debug, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum HeldStatus {
    Pending,
    Delivered,
    Failed,
}

/// One grant a customer holds, with its entitlement's name and description.
#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerEntitlement {
    pub grant_id: String,
    pub entitlement_id: String,
    pub entitlement_name: String,
    #[schema(required = true)]
    pub entitlement_description: Option<String>,
    pub integration_type: IntegrationType,
    #[schema(inline)]
    pub status: HeldStatus,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
    #[schema(required = true, format = DateTime)]
    pub delivered_at: Option<String>,
    #[schema(required = true, format = DateTime)]
    pub revoked_at: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerEntitlements {
    #[schema(max_items = 1000)]
    pub items: Vec<CustomerEntitlement>,
}

/// A customer's grants as the Dodo SDK's `customers.list_entitlements` shows
/// them: what the customer holds now (revoked grants left out), newest first.
pub fn customer_entitlements(grants: &[Grant], entitlements: &[Entitlement]) -> CustomerEntitlements {
    let mut held: Vec<&Grant> = grants.iter().filter(|g| g.status != GrantStatus::Revoked).collect();
    held.sort_by(|a, b| b.created_at.cmp(&a.created_at).then_with(|| b.id.cmp(&a.id)));
    let items = held
        .into_iter()
        .filter_map(|grant| {
            let status = match grant.status {
                GrantStatus::Pending => HeldStatus::Pending,
                GrantStatus::Delivered => HeldStatus::Delivered,
                GrantStatus::Failed => HeldStatus::Failed,
                GrantStatus::Revoked => return None,
            };
            let entitlement = entitlements.iter().find(|e| e.id == grant.entitlement_id);
            Some(CustomerEntitlement {
                grant_id: grant.id.clone(),
                entitlement_id: grant.entitlement_id.clone(),
                entitlement_name: entitlement.map(|e| e.name.clone()).unwrap_or_default(),
                entitlement_description: entitlement.and_then(|e| e.description.clone()),
                integration_type: grant.integration_type,
                status,
                created_at: grant.created_at.clone(),
                updated_at: grant.updated_at.clone(),
                delivered_at: grant.delivered_at.clone(),
                revoked_at: grant.revoked_at.clone(),
            })
        })
        .collect();
    CustomerEntitlements { items }
}
