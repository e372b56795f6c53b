//! License allocation (UiPath LRM): each change reads what it depends on,
//! computes the new state with the pure rules, and commits it in one guarded
//! transaction with its audit record and its answer; a lost race is retried
//! under the one retry policy, and a limit truly reached is a 409.

use crate::app::App;
use crate::auth::{Principal, PrincipalKind};
use crate::call::Call;
use crate::clock;
use crate::domain::allocation::{
    self, AuditRecord, GroupRule, HostLicense, OrgLicense, Quantities, TenantService, UserSeat,
};
use crate::domain::json::LrmId;
use crate::error::{AllocationExceeds, ApiError, ApiResult};
use crate::ids;
use crate::reply::Reply;
use crate::retry::{until_done, Attempt, Conflicts};
use crate::store::{PageRequest, ShardPicks, Written};
use crate::wire::lrm as wire;
use serde_json::{json, Value};

fn caller(call: &Call) -> ApiResult<&Principal> {
    call.principal.as_ref().ok_or_else(ApiError::unauthorized)
}

fn audit(account: &str, call: &Call, target: String, before: Value, after: Value) -> AuditRecord {
    AuditRecord {
        id: ids::new_id("aud"),
        account_id: account.to_string(),
        actor: call.principal.as_ref().map(ToString::to_string).unwrap_or_default(),
        route: call.route.clone(),
        of_host: target == "host",
        target,
        timestamp: clock::now().unix_timestamp(),
        before,
        after,
    }
}

/// For each sharded pool a change moves: the shard that makes it alone, one
/// picked at random among those that can. None when units had to be
/// gathered into one shard first, or the shards moved: read again.
async fn shard_picks(app: &App, org: &OrgLicense, deltas: &Quantities) -> ApiResult<Option<ShardPicks>> {
    use crate::domain::shards::{plan_give, plan_take, Plan};
    let mut picks = ShardPicks::new();
    for (code, &delta) in deltas {
        let Some(shards) = org.shards.get(code) else { continue };
        let pick = rand::random::<u32>() as usize;
        let plan = if delta > 0 {
            plan_take(shards, delta, pick)
        } else {
            plan_give(shards, -delta, pick)
        };
        match plan {
            Plan::On(index) => {
                picks.insert(code.clone(), index);
            }
            Plan::Gather(gather) => {
                app.store.gather_pool_units(org, code, &gather, delta < 0).await?;
                return Ok(None);
            }
            Plan::Short => return Ok(None),
        }
    }
    Ok(Some(picks))
}

fn committed(what: &str, conflicts: &Conflicts) {
    tracing::info!(
        change = what,
        conflicts_retried = conflicts.lost(),
        "allocation committed"
    );
}

/// The host of a host route must be the caller; any other host is not found.
fn own_host(call: &Call, host: &str) -> ApiResult<()> {
    (call.principal_id() == host)
        .then_some(())
        .ok_or_else(ApiError::host_license_not_found)
}

pub struct HostTerms {
    pub products: Quantities,
    pub start_date: Option<i64>,
    pub end_date: Option<i64>,
    pub grace_period: Option<i64>,
    pub subscription_plan: Option<allocation::SubscriptionPlan>,
}

pub async fn set_host_license(app: &App, call: &Call, host: &str, terms: HostTerms) -> ApiResult<Reply> {
    own_host(call, host)?;
    if terms.grace_period.is_some_and(|g| g < 0) {
        return Err(ApiError::validation("gracePeriod", "must not be negative"));
    }
    until_done!(|conflicts| {
        let current = app.store.host_license(host).await?;
        let pools = current.as_ref().map(|h| h.products.clone()).unwrap_or_default();
        let short = allocation::below_allocated(&pools, &terms.products);
        if !short.is_empty() {
            return Err(ApiError::host_license_below_allocated(&short));
        }
        let next = HostLicense {
            host_account_id: host.to_string(),
            license_code: current
                .as_ref()
                .map_or_else(|| ids::new_id("lic"), |h| h.license_code.clone()),
            start_date: terms.start_date,
            end_date: terms.end_date,
            grace_period: terms.grace_period,
            subscription_plan: terms.subscription_plan.as_deref().map(str::to_string),
            products: allocation::with_quantities(&pools, &terms.products),
        };
        let record = audit(
            host,
            call,
            "host".into(),
            json!(allocation::pool_quantities(&pools)),
            json!(allocation::pool_quantities(&next.products)),
        );
        let reply = Reply::ok(&wire::host_view(&next, clock::now().unix_timestamp()))?;
        match app
            .store
            .put_host_license(current.as_ref(), &next, &record, call.answer(&reply).as_ref())
            .await?
        {
            Written::Done => {
                committed("host", conflicts);
                Ok(Attempt::Done(reply))
            }
            Written::Refused { .. } | Written::Conflict => Ok(Attempt::Lost),
        }
    })
    .await
}

async fn host_license(app: &App, host: &str) -> ApiResult<HostLicense> {
    app.store
        .host_license(host)
        .await?
        .ok_or_else(ApiError::host_license_not_found)
}

pub async fn get_host_license(app: &App, call: &Call, host: &str) -> ApiResult<Reply> {
    own_host(call, host)?;
    let license = host_license(app, host).await?;
    Reply::ok(&wire::host_view(&license, clock::now().unix_timestamp()))
}

pub async fn allocate_org(
    app: &App,
    call: &Call,
    host: &str,
    account: &str,
    quantities: Quantities,
) -> ApiResult<Reply> {
    own_host(call, host)?;
    check_id("organizationId", account)?;
    let a_host = || {
        ApiError::validation(
            "organizationId",
            "is a host's account id, which cannot be an organization",
        )
    };
    if account == host {
        return Err(a_host());
    }
    until_done!(|conflicts| {
        let host_license = host_license(app, host).await?;
        let current = app.store.org_license(account).await?;
        if current.as_ref().is_some_and(|o| o.host_account_id != host) {
            return Err(ApiError::account_license_not_found());
        }
        let pools = current.as_ref().map(|o| o.products.clone()).unwrap_or_default();
        let short = allocation::below_allocated(&pools, &quantities);
        if !short.is_empty() {
            return Err(ApiError::allocation_below_consumed(&short));
        }
        let host_deltas = allocation::deltas(&allocation::pool_quantities(&pools), &quantities);
        let over = allocation::overdrawn(&host_license.products, &host_deltas);
        if !over.is_empty() {
            return Err(ApiError::allocation_exceeds(
                AllocationExceeds::HostLicense,
                "the host license",
                &over,
            ));
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
            shards: current.as_ref().map(|o| o.shards.clone()).unwrap_or_default(),
        };
        let record = audit(
            account,
            call,
            "organization".into(),
            json!(allocation::pool_quantities(&pools)),
            json!(allocation::pool_quantities(&next.products)),
        );
        let reply = Reply::ok(&wire::org_view(&next, clock::now().unix_timestamp()))?;
        match app
            .store
            .allocate_to_org(
                &host_license,
                current.as_ref(),
                &next,
                &host_deltas,
                &record,
                call.answer(&reply).as_ref(),
            )
            .await?
        {
            Written::Done => {
                committed("organization", conflicts);
                Ok(Attempt::Done(reply))
            }
            Written::Refused { at: 0, .. } if current.is_none() => Err(a_host()),
            Written::Refused { .. } | Written::Conflict => Ok(Attempt::Lost),
        }
    })
    .await
}

/// The organization license as the caller may see it: its own, or one under its host.
async fn visible_org(app: &App, call: &Call, account: &str) -> ApiResult<OrgLicense> {
    visible(caller(call)?, app.store.org_license_terms(account).await?)
}

/// `org` if `principal` may see it; otherwise, or if there is none, 404.
fn visible(principal: &Principal, org: Option<OrgLicense>) -> ApiResult<OrgLicense> {
    let org = org.ok_or_else(ApiError::account_license_not_found)?;
    let visible = match principal.kind {
        PrincipalKind::Host => org.host_account_id == principal.id,
        PrincipalKind::Organization => org.account_id == principal.id,
        PrincipalKind::Business => false,
    };
    visible.then_some(org).ok_or_else(ApiError::account_license_not_found)
}

pub async fn get_org_license(app: &App, call: &Call, host: &str, account: &str) -> ApiResult<Reply> {
    let license = visible(caller(call)?, app.store.org_license(account).await?)?;
    if license.host_account_id != host {
        return Err(ApiError::account_license_not_found());
    }
    Reply::ok(&wire::org_view(&license, clock::now().unix_timestamp()))
}

pub struct TenantRequest {
    pub scope: String,
    pub service_type: String,
    pub tenant_name: Option<String>,
    pub products: Quantities,
}

pub async fn allocate_tenant(app: &App, call: &Call, account: &str, request: TenantRequest) -> ApiResult<Reply> {
    check_id("serviceScopeId", &request.scope)?;
    check_service_type(&request.service_type)?;
    let read_both = || {
        app.store
            .org_and_tenant(account, &request.scope, &request.service_type, true)
    };
    // What the last attempt leaves to decide from; none: read afresh.
    let mut kept = None;
    until_done!(|conflicts| {
        let (org, current) = match kept.take() {
            Some(read) => read,
            None => read_both().await?,
        };
        let org = visible(caller(call)?, org)?;
        let old = current.as_ref().map(|t| t.products.clone()).unwrap_or_default();
        let deltas = allocation::deltas(&old, &request.products);
        let over = allocation::overdrawn(&org.products, &deltas);
        if !over.is_empty() {
            return Err(ApiError::allocation_exceeds(
                AllocationExceeds::AccountLicense,
                "the organization",
                &over,
            ));
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
        let record = audit(account, call, target, json!(old), json!(next.products));
        let org_after = OrgLicense {
            products: allocation::with_allocations(&org.products, &deltas),
            ..org.clone()
        };
        let reply = Reply::ok(&wire::tenant_view(&org_after, &next, clock::now().unix_timestamp()))?;
        conflicts.before_write()?;
        let Some(picks) = shard_picks(app, &org, &deltas).await? else {
            return Ok(Attempt::Lost);
        };
        let written = app
            .store
            .allocate_to_tenant(
                &org,
                current.as_ref(),
                &next,
                &deltas,
                &picks,
                &record,
                call.answer(&reply).as_ref(),
            )
            .await?;
        if let Written::Done = written {
            committed("tenant", conflicts);
            return Ok(Attempt::Done(reply));
        }
        match written.pool_that_refused(&deltas)? {
            // Only the pool moved: decide again from it as it refused, the tenant as read
            // (the transaction held it), all one instant. A split pool's shards
            // were not in that instant: read everything afresh.
            Some(org_now) => {
                conflicts.again();
                if !org_now.has_split_pool() {
                    kept = Some((Some(org_now), current));
                }
                Ok(Attempt::Retry)
            }
            None => Ok(Attempt::Lost),
        }
    })
    .await
}

pub async fn get_tenant(app: &App, call: &Call, account: &str, scope: &str, service_type: &str) -> ApiResult<Reply> {
    // Every tenant was allocated with ids that pass these checks; others name
    // none, and two path ids together could pass a sort key's 1,024 bytes.
    if check_id("serviceScopeId", scope).is_err() || check_service_type(service_type).is_err() {
        return Err(ApiError::service_license_not_found());
    }
    let (org, tenant) = app.store.org_and_tenant(account, scope, service_type, false).await?;
    let org = visible(caller(call)?, org)?;
    let tenant = tenant.ok_or_else(ApiError::service_license_not_found)?;
    Reply::ok(&wire::tenant_view(&org, &tenant, clock::now().unix_timestamp()))
}

/// A group's license rule: codes the account holds; it consumes no unit.
pub async fn put_group_rule(app: &App, call: &Call, rule: GroupRule) -> ApiResult<Reply> {
    check_id("groupId", &rule.group_id)?;
    let org = visible_org(app, call, &rule.account_id).await?;
    let missing = allocation::codes_not_held(&org.products, &rule.user_bundle_codes);
    if !missing.is_empty() {
        return Err(ApiError::account_holds_none_of(&missing));
    }
    let reply = Reply::ok(&wire::group_view(&rule))?;
    until_done!(|_| {
        match app.store.put_group_rule(&rule, call.answer(&reply).as_ref()).await? {
            Written::Done => Ok(Attempt::Done(())),
            Written::Refused { .. } => Err(ApiError::account_holds_none_of(&rule.user_bundle_codes)),
            Written::Conflict => Ok(Attempt::Lost),
        }
    })
    .await?;
    Ok(reply)
}

pub async fn get_group_rule(app: &App, call: &Call, account: &str, group: &str) -> ApiResult<Reply> {
    let (org, rule) = app.store.org_and_group(account, group).await?;
    visible(caller(call)?, org)?;
    let rule = rule.ok_or_else(ApiError::group_license_not_found)?;
    Reply::ok(&wire::group_view(&rule))
}

/// Each listed user holds exactly `codes`, all or nothing.
pub async fn assign_users(
    app: &App,
    call: &Call,
    account: &str,
    users: &[LrmId],
    codes: &[String],
    use_external_license: bool,
) -> ApiResult<Reply> {
    if !(1..=allocation::MAX_USERS).contains(&users.len()) {
        let rule = format!("must list 1 to {} users", allocation::MAX_USERS);
        return Err(ApiError::validation("userIds", &rule));
    }
    let users: Vec<String> = users.iter().map(ToString::to_string).collect();
    let users = users.as_slice();
    // A user listed twice would be one transaction touching one item twice.
    if let Some(i) = allocation::first_repeat(users) {
        return Err(ApiError::validation(&format!("userIds[{i}]"), "appears twice"));
    }
    // What the last attempt leaves to decide from; none: read afresh.
    let mut kept = None;
    until_done!(|conflicts| {
        let (org, current) = match kept.take() {
            Some(read) => read,
            None => app.store.org_and_seats(account, users).await?,
        };
        let org = visible(caller(call)?, org)?;
        let held = users.iter().map(|u| {
            current
                .iter()
                .find(|s| &s.user_id == u)
                .map_or(&[][..], |s| s.user_bundle_codes.as_slice())
        });
        let deltas = allocation::seat_deltas(held, codes);
        let over = allocation::overdrawn(&org.products, &deltas);
        if !over.is_empty() {
            return Err(ApiError::allocation_exceeds(
                AllocationExceeds::AccountLicense,
                "the organization",
                &over,
            ));
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
            call,
            "users".into(),
            Value::Object(before),
            Value::Object(after),
        );
        let reply = Reply::ok(&next.iter().map(wire::seat_view).collect::<Vec<_>>())?;
        conflicts.before_write()?;
        let Some(picks) = shard_picks(app, &org, &deltas).await? else {
            return Ok(Attempt::Lost);
        };
        let written = app
            .store
            .assign_seats(
                &org,
                &current,
                &next,
                &deltas,
                &picks,
                &record,
                call.answer(&reply).as_ref(),
            )
            .await?;
        if let Written::Done = written {
            committed("users", conflicts);
            return Ok(Attempt::Done(reply));
        }
        match written.pool_that_refused(&deltas)? {
            // Only the pool moved: decide again from it as it refused, the seats as read
            // (the transaction held it), all one instant. A split pool's shards
            // were not in that instant: read everything afresh.
            Some(org_now) => {
                conflicts.again();
                if !org_now.has_split_pool() {
                    kept = Some((Some(org_now), current));
                }
                Ok(Attempt::Retry)
            }
            None => Ok(Attempt::Lost),
        }
    })
    .await
}

pub async fn get_user_seat(app: &App, call: &Call, account: &str, user: &str) -> ApiResult<Reply> {
    let (org, seats) = app.store.org_terms_and_seats(account, &[user.to_string()]).await?;
    visible(caller(call)?, org)?;
    let seat = seats.into_iter().next().ok_or_else(ApiError::user_license_not_found)?;
    Reply::ok(&wire::seat_view(&seat))
}

/// The user gives back every unit it holds.
pub async fn release_user(app: &App, call: &Call, account: &str, user: &str) -> ApiResult<Reply> {
    let reply = Reply::no_content()?;
    until_done!(|conflicts| {
        let (org, seats) = app.store.org_and_seats(account, &[user.to_string()]).await?;
        let org = visible(caller(call)?, org)?;
        let seat = seats.into_iter().next().ok_or_else(ApiError::user_license_not_found)?;
        let deltas = allocation::seat_deltas([seat.user_bundle_codes.as_slice()], &[]);
        let mut before = serde_json::Map::new();
        before.insert(user.to_string(), json!(seat.user_bundle_codes));
        let mut after = serde_json::Map::new();
        after.insert(user.to_string(), json!([]));
        let record = audit(
            account,
            call,
            "users".into(),
            Value::Object(before),
            Value::Object(after),
        );
        let Some(picks) = shard_picks(app, &org, &deltas).await? else {
            return Ok(Attempt::Lost);
        };
        match app
            .store
            .release_seat(&org, &seat, &deltas, &picks, &record, call.answer(&reply).as_ref())
            .await?
        {
            Written::Done => {
                committed("release", conflicts);
                Ok(Attempt::Done(()))
            }
            Written::Refused { .. } | Written::Conflict => Ok(Attempt::Lost),
        }
    })
    .await?;
    Ok(reply)
}

/// An account's audit records, newest first: the host's own, or an organization's
/// for that organization or its host.
pub async fn audit_page(app: &App, call: &Call, account: &str, page: &PageRequest) -> ApiResult<Reply> {
    let principal = caller(call)?;
    // A host reads its own license's records by its own id; anyone else, an organization's.
    let of_host = principal.kind == PrincipalKind::Host && principal.id == account;
    if !of_host {
        visible_org(app, call, account).await?;
    }
    let page = app.store.audit_page(of_host, account, page).await?;
    Reply::page(
        &page.items.iter().map(wire::audit_view).collect::<Vec<_>>(),
        page.next_cursor,
    )
}

/// The host's organizations, each with what it holds, consumed and has left per code.
pub async fn list_host_orgs(app: &App, call: &Call, host: &str, page: &PageRequest) -> ApiResult<Reply> {
    own_host(call, host)?;
    let page = app.store.host_orgs_page(host, page).await?;
    Reply::page(
        &page.items.iter().map(wire::org_inventory_view).collect::<Vec<_>>(),
        page.next_cursor,
    )
}

/// An organization's tenant services, for its host or itself.
pub async fn list_tenants(app: &App, call: &Call, account: &str, page: &PageRequest) -> ApiResult<Reply> {
    // Both at once: the license says who may see the page, and every item shows its terms.
    let (org, tenants) = tokio::join!(visible_org(app, call, account), app.store.tenants_page(account, page));
    let (org, tenants) = (org?, tenants?);
    let now = clock::now().unix_timestamp();
    Reply::page(
        &tenants
            .items
            .iter()
            .map(|tenant| wire::tenant_view(&org, tenant, now))
            .collect::<Vec<_>>(),
        tenants.next_cursor,
    )
}

/// The users of an organization holding seats; with `code`, those holding that code.
pub async fn list_seat_holders(
    app: &App,
    call: &Call,
    account: &str,
    code: Option<&str>,
    page: &PageRequest,
) -> ApiResult<Reply> {
    if code.is_some_and(|c| !allocation::valid_code(c)) {
        let rule = format!("must match {}", allocation::CODE_PATTERN);
        return Err(ApiError::validation("userBundleCode", &rule));
    }
    let (org, seats) = tokio::join!(
        visible_org(app, call, account),
        app.store.seat_holders_page(account, code, page)
    );
    org?;
    let seats = seats?;
    Reply::page(
        &seats.items.iter().map(wire::seat_holder_view).collect::<Vec<_>>(),
        seats.next_cursor,
    )
}

/// An id in a path (an account, tenant or group), by the rule a body's ids
/// keep as they are read.
pub fn check_id(field: &str, value: &str) -> ApiResult<()> {
    LrmId::new(field, value)?;
    Ok(())
}

fn check_service_type(service_type: &str) -> ApiResult<()> {
    let valid = (2..=32).contains(&service_type.len())
        && service_type.starts_with(|c: char| c.is_ascii_lowercase())
        && service_type
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    valid
        .then_some(())
        .ok_or_else(|| ApiError::validation("serviceType", "must match ^[a-z][a-z0-9-]{1,31}$"))
}

/// Splits an organization's pool of `code` over `shards` shard items, or
/// merges it back (None): what the `pool-shards` tool does for an operator
/// (`actor` in the audit). Answers the pool as it then is.
pub async fn set_pool_shards(
    app: &App,
    account: &str,
    code: &str,
    wanted: Option<u32>,
    actor: &str,
) -> ApiResult<allocation::Pool> {
    use crate::domain::shards::{split, MAX_SHARDS, MIN_SHARDS};
    if wanted.is_some_and(|n| !(MIN_SHARDS..=MAX_SHARDS).contains(&n)) {
        let rule = format!("must be from {MIN_SHARDS} to {MAX_SHARDS}, or off");
        return Err(ApiError::validation("shards", &rule));
    }
    until_done!(|_| {
        let org = app
            .store
            .org_license(account)
            .await?
            .ok_or_else(ApiError::account_license_not_found)?;
        // A pool the host took to 0 is not split, but may still be merged back.
        let pool = org
            .products
            .get(code)
            .copied()
            .filter(|p| p.quantity > 0 || wanted.is_none())
            .ok_or_else(ApiError::product_not_found)?;
        if pool.shards == wanted {
            return Ok(Attempt::Done(pool));
        }
        let beside = allocation::shards_beside(&org.products, code);
        if wanted.is_some_and(|n| beside + n > allocation::MAX_ORG_SHARDS) {
            let rule = format!(
                "with the {beside} shards of its other pools, at most {} for one organization",
                allocation::MAX_ORG_SHARDS
            );
            return Err(ApiError::validation("shards", &rule));
        }
        let record = AuditRecord {
            id: ids::new_id("aud"),
            account_id: account.to_string(),
            actor: actor.to_string(),
            route: "pool-shards".into(),
            of_host: false,
            target: format!("pool:{code}"),
            timestamp: clock::now().unix_timestamp(),
            before: json!({ "shards": pool.shards }),
            after: json!({ "shards": wanted }),
        };
        let written = match (pool.shards, wanted) {
            (None, Some(count)) => {
                let shards = split(Some(pool.quantity), pool.allocated, count);
                app.store.split_pool(&org, code, &shards, &record).await?
            }
            // Merged first; another number splits again on the next turn.
            _ => app.store.merge_pool(&org, code, &record).await?,
        };
        match written {
            // Read again at once: done, or merged and to be split.
            Written::Done => Ok(Attempt::Retry),
            Written::Refused { .. } | Written::Conflict => Ok(Attempt::Lost),
        }
    })
    .await
}
