//! The license allocation family's wire shapes (UiPath LRM, seeds 001 and 002).

use crate::clock;
use crate::domain::allocation::{
    self, AuditRecord, GroupRule, HostLicense, OrgLicense, Pool, Pools, TenantService, UserSeat,
};
use serde_json::{json, Value};

fn status(end_date: Option<i64>) -> &'static str {
    match end_date {
        Some(end) if end < clock::now().unix_timestamp() => "EXPIRED",
        _ => "ACTIVE",
    }
}

/// The codes a license shows: those it holds or still has given out.
fn shown(pools: &Pools) -> impl Iterator<Item = (&String, &Pool)> {
    pools.iter().filter(|(_, p)| p.quantity > 0 || p.allocated > 0)
}

/// An organization's pools: what it gave out to its tenant services and user
/// seats is both its `allocated` and its `consumed`.
fn pool_products(pools: &Pools) -> Vec<Value> {
    shown(pools)
        .map(|(code, Pool { quantity, allocated })| {
            json!({
                "code": code, "quantity": quantity, "type": allocation::product_type(code), "features": [],
                "allocated": allocated, "consumed": allocated, "available": quantity - allocated,
            })
        })
        .collect()
}

pub fn host_view(host: &HostLicense) -> Value {
    let products: Vec<Value> = shown(&host.products)
        .map(|(code, p)| json!({"code": code, "quantity": p.quantity, "allocated": p.allocated, "available": p.quantity - p.allocated}))
        .collect();
    json!({
        "hostAccountId": host.host_account_id,
        "licenseCode": host.license_code,
        "licenseStatus": status(host.end_date),
        "startDate": host.start_date,
        "endDate": host.end_date,
        "gracePeriod": host.grace_period,
        "subscriptionPlan": host.subscription_plan,
        "products": products,
    })
}

/// Seed 001's organization license object, each product also with allocated and available.
pub fn org_view(org: &OrgLicense) -> Value {
    json!({
        "accountId": org.account_id,
        "bundleCode": org.subscription_plan.clone().unwrap_or_else(|| "ENTERPRISE".into()),
        "endDate": org.end_date,
        "gracePeriod": org.grace_period,
        "licenseCode": org.license_code,
        "licenseStatus": status(org.end_date),
        "products": pool_products(&org.products),
        "templates": [],
        "startDate": org.start_date,
        "subscriptionCode": org.parent_license_code,
        "subscriptionPlan": org.subscription_plan,
        "payload": "",
        "type": "ORGANIZATION",
        "parentLicenseCode": org.parent_license_code,
    })
}

/// An organization as its host's list shows it.
pub fn org_inventory_view(org: &OrgLicense) -> Value {
    let products: Vec<Value> = shown(&org.products)
        .map(|(code, p)| json!({"code": code, "quantity": p.quantity, "consumed": p.allocated, "available": p.quantity - p.allocated}))
        .collect();
    json!({"accountId": org.account_id, "products": products})
}

/// A seat holder as its organization's list shows it.
pub fn seat_holder_view(seat: &UserSeat) -> Value {
    json!({
        "userId": seat.user_id,
        "userBundleCodes": seat.user_bundle_codes,
        "useExternalLicense": seat.use_external_license,
    })
}

/// Seed 002's service license object.
pub fn tenant_view(org: &OrgLicense, tenant: &TenantService) -> Value {
    let products: Vec<Value> = tenant
        .products
        .iter()
        .map(|(code, quantity)| json!({"code": code, "quantity": quantity, "type": allocation::product_type(code), "features": []}))
        .collect();
    json!({
        "accountId": tenant.account_id,
        "serviceScopeId": tenant.service_scope_id,
        "serviceType": tenant.service_type,
        "tenantName": tenant.tenant_name,
        "license": {
            "licenseCode": tenant.license_code,
            "bundleCode": org.subscription_plan.clone().unwrap_or_else(|| "ENTERPRISE".into()),
            "subscriptionCode": org.parent_license_code,
            "licenseStatus": status(org.end_date),
            "startDate": org.start_date,
            "endDate": org.end_date,
            "gracePeriod": org.grace_period,
            "products": products,
            "templates": [],
            "payload": "",
            "boonLicenseCode": org.license_code,
        },
        "userLicensingEnabled": true,
        "accountLicenseCode": org.license_code,
    })
}

pub fn audit_view(record: &AuditRecord) -> Value {
    json!({
        "id": record.id, "accountId": record.account_id, "actor": record.actor, "route": record.route,
        "target": record.target, "timestamp": record.timestamp, "before": record.before, "after": record.after,
    })
}

pub fn seat_view(seat: &UserSeat) -> Value {
    json!({
        "userId": seat.user_id,
        "organizationId": seat.account_id,
        "useExternalLicense": seat.use_external_license,
        "userBundleCodes": seat.user_bundle_codes,
    })
}

pub fn group_view(rule: &GroupRule) -> Value {
    json!({
        "groupId": rule.group_id, "organizationId": rule.account_id,
        "useExternalLicense": rule.use_external_license, "userBundleCodes": rule.user_bundle_codes,
    })
}
