//! The license allocation family: each change reads what it depends on,
//! computes the new state with the pure rules, and commits it in one guarded
//! transaction with its audit record; a lost race is retried a bounded number
//! of times, and a limit truly reached is a 409.

use crate::app::App;
use crate::clock;
use crate::domain::allocation::{self, Pool, Pools, Quantities};
use crate::error::{ApiError, ApiResult};
use crate::ids;
use crate::retry;
use crate::store::{AuditRecord, HostLicense, OrgLicense, TenantService, UserSeat, Written};
use serde_json::{json, Value};

/// Attempts at one change before a lost race is reported.
const ATTEMPTS: u32 = 12;

fn busy() -> ApiError {
    ApiError::conflict(
        "ALLOCATION_CONFLICT",
        "too many concurrent changes to this license; try again",
    )
}

fn exceeds(code: &'static str, what: &str, codes: &[String]) -> ApiError {
    ApiError::conflict(code, format!("more than {what} holds of {}", codes.join(", ")))
}

fn audit(account: &str, actor: &str, route: &str, target: String, before: Value, after: Value) -> AuditRecord {
    AuditRecord {
        id: ids::new_id("aud"),
        account_id: account.to_string(),
        actor: actor.to_string(),
        route: route.to_string(),
        target,
        timestamp: clock::now().unix_timestamp(),
        before,
        after,
    }
}

fn committed(what: &str, attempt: u32) {
    tracing::info!(change = what, conflicts_retried = attempt, "allocation committed");
}

pub struct HostTerms {
    pub products: Quantities,
    pub start_date: Option<i64>,
    pub end_date: Option<i64>,
    pub grace_period: Option<i64>,
    pub subscription_plan: Option<String>,
}

pub async fn set_host_license(
    app: &App,
    host: &str,
    terms: HostTerms,
    actor: &str,
    route: &str,
) -> ApiResult<HostLicense> {
    for attempt in 0..ATTEMPTS {
        let current = app.store.host_license(host).await?;
        let pools = current.as_ref().map(|h| h.products.clone()).unwrap_or_default();
        let short = allocation::below_allocated(&pools, &terms.products);
        if !short.is_empty() {
            return Err(ApiError::conflict(
                "HOST_LICENSE_BELOW_ALLOCATED",
                format!("organizations hold more than that of {}", short.join(", ")),
            ));
        }
        let next = HostLicense {
            host_account_id: host.to_string(),
            license_code: current
                .as_ref()
                .map_or_else(|| ids::new_id("lic"), |h| h.license_code.clone()),
            start_date: terms.start_date,
            end_date: terms.end_date,
            grace_period: terms.grace_period,
            subscription_plan: terms.subscription_plan.clone(),
            products: allocation::with_quantities(&pools, &terms.products),
        };
        let record = audit(
            host,
            actor,
            route,
            "host".into(),
            json!(allocation::pool_quantities(&pools)),
            json!(allocation::pool_quantities(&next.products)),
        );
        match app.store.put_host_license(current.as_ref(), &next, &record).await? {
            Written::Done => {
                committed("host", attempt);
                return Ok(next);
            }
            Written::Refused(_) | Written::Conflict => retry::pause(attempt).await,
        }
    }
    Err(busy())
}

/// The host's license, if `host` is the caller's; another host's is not found.
pub async fn own_host_license(app: &App, host: &str) -> ApiResult<HostLicense> {
    app.store
        .host_license(host)
        .await?
        .ok_or_else(|| ApiError::new(404, "HOST_LICENSE_NOT_FOUND", "this host has no license"))
}

pub async fn allocate_org(
    app: &App,
    host: &str,
    account: &str,
    quantities: Quantities,
    actor: &str,
    route: &str,
) -> ApiResult<OrgLicense> {
    for attempt in 0..ATTEMPTS {
        let host_license = own_host_license(app, host).await?;
        let current = app.store.org_license(account).await?;
        if current.as_ref().is_some_and(|o| o.host_account_id != host) {
            return Err(ApiError::new(
                404,
                "ACCOUNT_LICENSE_NOT_FOUND",
                "no such organization under this host",
            ));
        }
        let pools = current.as_ref().map(|o| o.products.clone()).unwrap_or_default();
        let short = allocation::below_allocated(&pools, &quantities);
        if !short.is_empty() {
            return Err(ApiError::conflict(
                "ALLOCATION_BELOW_CONSUMED",
                format!(
                    "its tenant services and users already take more than that of {}",
                    short.join(", ")
                ),
            ));
        }
        let host_deltas = allocation::deltas(&allocation::pool_quantities(&pools), &quantities);
        let over = allocation::overdrawn(&host_license.products, &host_deltas);
        if !over.is_empty() {
            return Err(exceeds("ALLOCATION_EXCEEDS_HOST_LICENSE", "the host license", &over));
        }
        let next = OrgLicense {
            account_id: account.to_string(),
            host_account_id: host.to_string(),
            license_code: current
                .as_ref()
                .map_or_else(|| ids::new_id("lic"), |o| o.license_code.clone()),
            parent_license_code: host_license.license_code.clone(),
            start_date: host_license.start_date,
            end_date: host_license.end_date,
            grace_period: host_license.grace_period,
            subscription_plan: host_license.subscription_plan.clone(),
            products: allocation::with_quantities(&pools, &quantities),
        };
        let record = audit(
            account,
            actor,
            route,
            "organization".into(),
            json!(allocation::pool_quantities(&pools)),
            json!(allocation::pool_quantities(&next.products)),
        );
        match app
            .store
            .allocate_to_org(&host_license, current.as_ref(), &next, &host_deltas, &record)
            .await?
        {
            Written::Done => {
                committed("organization", attempt);
                return Ok(next);
            }
            Written::Refused(_) | Written::Conflict => retry::pause(attempt).await,
        }
    }
    Err(busy())
}

/// The organization license as `principal` may see it: its own, or one under its host.
pub async fn visible_org(app: &App, principal: &crate::auth::Principal, account: &str) -> ApiResult<OrgLicense> {
    visible(principal, app.store.org_license(account).await?)
}

/// `org` if `principal` may see it; otherwise, or if there is none, 404.
pub fn visible(principal: &crate::auth::Principal, org: Option<OrgLicense>) -> ApiResult<OrgLicense> {
    let not_found = || ApiError::new(404, "ACCOUNT_LICENSE_NOT_FOUND", "this account has no license");
    let org = org.ok_or_else(not_found)?;
    let visible = match principal.kind {
        crate::auth::PrincipalKind::Host => org.host_account_id == principal.id,
        crate::auth::PrincipalKind::Organization => org.account_id == principal.id,
        crate::auth::PrincipalKind::Business => false,
    };
    visible.then_some(org).ok_or_else(not_found)
}

pub struct TenantRequest {
    pub scope: String,
    pub service_type: String,
    pub tenant_name: Option<String>,
    pub products: Quantities,
}

pub async fn allocate_tenant(
    app: &App,
    principal: &crate::auth::Principal,
    account: &str,
    request: TenantRequest,
    route: &str,
) -> ApiResult<(OrgLicense, TenantService)> {
    for attempt in 0..ATTEMPTS {
        let org = visible_org(app, principal, account).await?;
        let current = app
            .store
            .tenant_service(account, &request.scope, &request.service_type)
            .await?;
        let old = current.as_ref().map(|t| t.products.clone()).unwrap_or_default();
        let deltas = allocation::deltas(&old, &request.products);
        let over = allocation::overdrawn(&org.products, &deltas);
        if !over.is_empty() {
            return Err(exceeds("ALLOCATION_EXCEEDS_ACCOUNT_LICENSE", "the organization", &over));
        }
        let next = TenantService {
            account_id: account.to_string(),
            service_scope_id: request.scope.clone(),
            service_type: request.service_type.clone(),
            tenant_name: request
                .tenant_name
                .clone()
                .or_else(|| current.as_ref().and_then(|t| t.tenant_name.clone())),
            license_code: current
                .as_ref()
                .map_or_else(|| ids::new_id("lic"), |t| t.license_code.clone()),
            products: request
                .products
                .iter()
                .filter(|(_, q)| **q > 0)
                .map(|(c, q)| (c.clone(), *q))
                .collect(),
            version: current.as_ref().map_or(1, |t| t.version + 1),
        };
        let target = format!("tenant:{}/{}", request.scope, request.service_type);
        let record = audit(
            account,
            &principal.to_string(),
            route,
            target,
            json!(old),
            json!(next.products),
        );
        match app
            .store
            .allocate_to_tenant(&org, current.as_ref(), &next, &deltas, &record)
            .await?
        {
            Written::Done => {
                committed("tenant", attempt);
                let org = OrgLicense {
                    products: allocation::with_allocations(&org.products, &deltas),
                    ..org
                };
                return Ok((org, next));
            }
            Written::Refused(_) | Written::Conflict => retry::pause(attempt).await,
        }
    }
    Err(busy())
}

pub async fn assign_users(
    app: &App,
    principal: &crate::auth::Principal,
    account: &str,
    users: &[String],
    codes: &[String],
    use_external_license: bool,
    route: &str,
) -> ApiResult<Vec<UserSeat>> {
    for attempt in 0..ATTEMPTS {
        let (org, current) = app.store.org_and_seats(account, users).await?;
        let org = visible(principal, org)?;
        let held = users.iter().map(|u| {
            current
                .iter()
                .find(|s| &s.user_id == u)
                .map_or(&[][..], |s| s.user_bundle_codes.as_slice())
        });
        let deltas = allocation::seat_deltas(held, codes);
        let over = allocation::overdrawn(&org.products, &deltas);
        if !over.is_empty() {
            return Err(exceeds("ALLOCATION_EXCEEDS_ACCOUNT_LICENSE", "the organization", &over));
        }
        let next: Vec<UserSeat> = users
            .iter()
            .map(|user| UserSeat {
                account_id: account.to_string(),
                user_id: user.clone(),
                user_bundle_codes: codes.to_vec(),
                use_external_license,
                version: 0,
            })
            .collect();
        let before: serde_json::Map<String, Value> = current
            .iter()
            .map(|s| (s.user_id.clone(), json!(s.user_bundle_codes)))
            .collect();
        let after: serde_json::Map<String, Value> = users.iter().map(|u| (u.clone(), json!(codes))).collect();
        let record = audit(
            account,
            &principal.to_string(),
            route,
            "users".into(),
            Value::Object(before),
            Value::Object(after),
        );
        match app.store.assign_seats(&org, &current, &next, &deltas, &record).await? {
            Written::Done => {
                committed("users", attempt);
                return Ok(next);
            }
            Written::Refused(_) | Written::Conflict => retry::pause(attempt).await,
        }
    }
    Err(busy())
}

/// Returns every unit the user holds; false when the user holds no seat.
pub async fn release_user(
    app: &App,
    principal: &crate::auth::Principal,
    account: &str,
    user: &str,
    route: &str,
) -> ApiResult<bool> {
    for attempt in 0..ATTEMPTS {
        let (org, seats) = app.store.org_and_seats(account, &[user.to_string()]).await?;
        let org = visible(principal, org)?;
        let Some(seat) = seats.into_iter().next() else {
            return Ok(false);
        };
        let deltas = allocation::seat_deltas([seat.user_bundle_codes.as_slice()], &[]);
        let mut before = serde_json::Map::new();
        before.insert(user.to_string(), json!(seat.user_bundle_codes));
        let mut after = serde_json::Map::new();
        after.insert(user.to_string(), json!([]));
        let record = audit(
            account,
            &principal.to_string(),
            route,
            "users".into(),
            Value::Object(before),
            Value::Object(after),
        );
        match app.store.release_seat(&org, &seat, &deltas, &record).await? {
            Written::Done => {
                committed("release", attempt);
                return Ok(true);
            }
            Written::Refused(_) | Written::Conflict => retry::pause(attempt).await,
        }
    }
    Err(busy())
}

/// An id in a path: accounts, tenants, users and groups.
pub fn check_id(field: &str, value: &str) -> ApiResult<()> {
    let valid =
        (1..=128).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.@".contains(&b));
    valid
        .then_some(())
        .ok_or_else(|| ApiError::validation(field, "must be 1 to 128 letters, digits, '-', '_', '.' or '@'"))
}

fn status(end_date: Option<i64>) -> &'static str {
    match end_date {
        Some(end) if end < clock::now().unix_timestamp() => "EXPIRED",
        _ => "ACTIVE",
    }
}

fn pool_products(pools: &Pools) -> Vec<Value> {
    pools
        .iter()
        .filter(|(_, p)| p.quantity > 0 || p.allocated > 0)
        .map(|(code, Pool { quantity, allocated })| {
            json!({
                "code": code, "quantity": quantity, "type": allocation::product_type(code), "features": [],
                "allocated": allocated, "available": quantity - allocated,
            })
        })
        .collect()
}

pub fn host_view(host: &HostLicense) -> Value {
    let products: Vec<Value> = host
        .products
        .iter()
        .filter(|(_, p)| p.quantity > 0 || p.allocated > 0)
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
