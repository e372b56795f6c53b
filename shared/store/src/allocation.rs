//! License allocation items, one partition per host and per organization:
//!
//! - host license: `pk = HOST#<hostAccountId>`, `sk = LICENSE`
//! - organization license: `pk = ORG#<accountId>`, `sk = LICENSE` (found by
//!   accountId alone; it keeps its hostAccountId), listed under its host by
//!   `gsi1pk = HOST#<hostAccountId>#ORGS`, `gsi1sk = <accountId>`
//! - tenant service: `pk = ORG#<accountId>`, `sk = SVC#<serviceScopeId>#<serviceType>`
//! - user seat: `sk = USER#<userId>`; group rule: `sk = GROUP#<groupId>`
//! - audit record: `pk = AUDIT#HOST#<hostAccountId>` for the host license's
//!   changes, `pk = AUDIT#ORG#<accountId>` for an organization's (and its
//!   tenants' and users'), `sk = <ulid>` (newest first): kept apart, so an id
//!   that names both a host and an organization never mixes the two
//!
//! A pool (`products.<code>.{quantity, allocated}`) is changed with per-code
//! conditions that guard exactly what the bound was computed from: DynamoDB
//! cannot add in a condition, so `allocated + delta <= quantity` is written
//! `allocated <= quantity - delta` with `quantity` pinned to the value read.
//!
//! An organization's pool of one code may be split over shard items
//! (counter_shards.rs, counter `POOL#<accountId>#<code>`; `products.<code>.shards`
//! says how many): its caps add up to the pool's quantity, a change of its
//! units takes them from (or gives them back to) one shard instead of the
//! license item, and a new quantity moves the caps. The stored `allocated`
//! is left as it was at the split; reads add up the shards. Every write of an
//! unsharded pool requires it to be unsharded still.

use super::counter_shards;
use super::paging::{Filter, KeyRange, PageOfItems};
use super::{
    from_item, key, n, put, put_new, s, to_attribute, to_item, AnswerRecord, Item, PageRequest, Store, Written,
};
use crate::domain::allocation::{
    AuditRecord, GroupRule, HostLicense, OrgLicense, Pool, Pools, Quantities, TenantService, UserSeat,
};
use crate::domain::shards::{Gather, Shard};
use crate::error::ApiError;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};
use std::collections::HashMap;

/// One page of a list of allocation items.
pub struct ListPage<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

fn host_key(host: &str) -> Item {
    key(format!("HOST#{host}"), "LICENSE")
}

/// An organization's partition: its license, tenant services, seats and group rules.
fn org_partition(account: &str) -> String {
    format!("ORG#{account}")
}

fn org_key(account: &str) -> Item {
    key(org_partition(account), "LICENSE")
}

fn host_orgs_partition(host: &str) -> String {
    format!("HOST#{host}#ORGS")
}

/// The index entry that lists an organization under its host.
fn org_listing(host: &str, account: &str) -> [(&'static str, AttributeValue); 2] {
    [("gsi1pk", s(host_orgs_partition(host))), ("gsi1sk", s(account))]
}

fn tenant_key(account: &str, scope: &str, service_type: &str) -> Item {
    key(org_partition(account), format!("SVC#{scope}#{service_type}"))
}

fn audit_partition(of_host: bool, account: &str) -> String {
    if of_host {
        format!("AUDIT#HOST#{account}")
    } else {
        format!("AUDIT#ORG#{account}")
    }
}

fn seat_key(account: &str, user: &str) -> Item {
    key(org_partition(account), format!("USER#{user}"))
}

fn group_key(account: &str, group: &str) -> Item {
    key(org_partition(account), format!("GROUP#{group}"))
}

/// The counter an organization's sharded pool of `code` is split from.
fn pool_counter(account: &str, code: &str) -> String {
    format!("POOL#{account}#{code}")
}

/// Which shard takes or gives back each sharded code's change.
pub type ShardPicks = std::collections::BTreeMap<String, u32>;

/// The shard actions of a change of sharded pools: each code's units taken
/// from (or given back to) the shard picked for it.
fn shard_allocations(
    table: &str,
    org: &OrgLicense,
    deltas: &Quantities,
    picks: &ShardPicks,
) -> Result<Vec<TransactWriteItem>, ApiError> {
    let mut actions = Vec::new();
    for (code, delta) in deltas {
        let Some(pool) = org.products.get(code).filter(|p| p.shards.is_some()) else {
            continue;
        };
        let (counter, epoch) = (
            pool_counter(&org.account_id, code),
            pool.shard_epoch.unwrap_or_default(),
        );
        let index = picks.get(code).copied().unwrap_or_default();
        actions.push(if *delta > 0 {
            counter_shards::take(table, &counter, index, epoch, *delta)?
        } else {
            counter_shards::give_back(table, &counter, index, epoch, -delta)?
        });
    }
    Ok(actions)
}

/// The shard actions of new quantities of sharded pools: their caps move to add up to them.
fn shard_quantities(table: &str, org: &OrgLicense, new: &Quantities) -> Result<Vec<TransactWriteItem>, ApiError> {
    let mut actions = Vec::new();
    for (code, pool) in org.products.iter().filter(|(_, p)| p.shards.is_some()) {
        let next = new.get(code).copied().unwrap_or(0);
        if next == pool.quantity {
            continue;
        }
        let shards = org.shards.get(code).map(Vec::as_slice).unwrap_or_default();
        // Below what the shards used: refused on the quantity as read (ALLOCATION_BELOW_CONSUMED).
        let deltas = crate::domain::shards::recap(shards, Some(next))
            .ok_or_else(|| ApiError::internal(format!("{code}: a quantity below what its shards used")))?;
        let epoch = pool.shard_epoch.unwrap_or_default();
        actions.extend(counter_shards::advance(
            table,
            &pool_counter(&org.account_id, code),
            &deltas,
            epoch,
            epoch,
        )?);
    }
    Ok(actions)
}

/// An update of one pool item: its quantities replaced, or units given out or back.
#[derive(Default)]
struct PoolUpdate {
    sets: Vec<String>,
    conditions: Vec<String>,
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
}

impl PoolUpdate {
    fn code(&mut self, i: usize, code: &str) -> String {
        self.names.insert(format!("#c{i}"), code.to_string());
        format!("products.#c{i}")
    }

    /// Replaces quantities; a quantity may not fall below what the pool gave out.
    /// Every quantity is pinned to the value read, the unchanged ones too, so two
    /// replacements racing cannot both commit and leave a mix neither answered.
    fn quantities(mut self, pools: &Pools, new: &Quantities) -> Result<Self, ApiError> {
        let codes: std::collections::BTreeSet<&String> = pools.keys().chain(new.keys()).collect();
        for (i, code) in codes.into_iter().enumerate() {
            let next = new.get(code).copied().unwrap_or(0);
            match pools.get(code) {
                Some(pool) if pool.quantity == next => {
                    let path = self.code(i, code);
                    self.conditions.push(format!("{path}.quantity = :was{i}"));
                    self.values.insert(format!(":was{i}"), n(pool.quantity));
                }
                Some(pool) => {
                    let path = self.code(i, code);
                    self.sets.push(format!("{path}.quantity = :q{i}"));
                    match pool.shards {
                        // Its shards' caps move with it, each guarding what it used.
                        Some(_) => {
                            self.conditions
                                .push(format!("{path}.quantity = :was{i} AND {path}.shard_epoch = :e{i}"));
                            self.values
                                .insert(format!(":e{i}"), n(pool.shard_epoch.unwrap_or_default()));
                        }
                        None => self.conditions.push(format!(
                            "{path}.quantity = :was{i} AND {path}.allocated <= :q{i} \
                             AND attribute_not_exists({path}.shards)"
                        )),
                    }
                    self.values.insert(format!(":q{i}"), n(next));
                    self.values.insert(format!(":was{i}"), n(pool.quantity));
                }
                None => {
                    let path = self.code(i, code);
                    self.sets.push(format!("{path} = :p{i}"));
                    self.conditions.push(format!("attribute_not_exists({path})"));
                    self.values.insert(
                        format!(":p{i}"),
                        to_attribute(&Pool {
                            quantity: next,
                            allocated: 0,
                            ..Default::default()
                        })?,
                    );
                }
            }
        }
        Ok(self)
    }

    fn set(mut self, attribute: &str, value: AttributeValue) -> Self {
        self.sets.push(format!("{attribute} = :{attribute}"));
        self.values.insert(format!(":{attribute}"), value);
        self
    }

    /// The terms a license carries beside its quantities.
    fn terms(self, start: Option<i64>, end: Option<i64>, grace: Option<i64>, plan: Option<&str>) -> Self {
        let number = |v: Option<i64>| v.map_or(AttributeValue::Null(true), n);
        self.set("start_date", number(start))
            .set("end_date", number(end))
            .set("grace_period", number(grace))
            .set("subscription_plan", plan.map_or(AttributeValue::Null(true), s))
    }

    /// Gives out (positive) or takes back (negative) units per code; a sharded
    /// pool's units move on its shards instead (`shard_allocations`).
    fn allocations(mut self, pools: &Pools, deltas: &Quantities) -> Self {
        for (i, (code, delta)) in deltas.iter().enumerate() {
            let i = i + 100;
            let pool = pools.get(code).copied().unwrap_or_default();
            if pool.shards.is_some() {
                continue;
            }
            let path = self.code(i, code);
            self.conditions.push(format!("attribute_not_exists({path}.shards)"));
            self.sets.push(format!("{path}.allocated = {path}.allocated + :d{i}"));
            self.values.insert(format!(":d{i}"), n(*delta));
            if *delta > 0 {
                self.conditions
                    .push(format!("{path}.quantity = :was{i} AND {path}.allocated <= :max{i}"));
                self.values.insert(format!(":was{i}"), n(pool.quantity));
                self.values.insert(format!(":max{i}"), n(pool.quantity - delta));
            } else {
                self.conditions.push(format!("{path}.allocated >= :min{i}"));
                self.values.insert(format!(":min{i}"), n(-delta));
            }
        }
        self
    }

    fn build(self, table: &str, key: Item) -> Result<Option<TransactWriteItem>, ApiError> {
        if self.sets.is_empty() {
            return Ok(None);
        }
        let mut conditions = vec!["attribute_exists(pk)".to_string()];
        conditions.extend(self.conditions);
        let update = Update::builder()
            .table_name(table)
            .set_key(Some(key))
            .update_expression(format!("SET {}", self.sets.join(", ")))
            .condition_expression(conditions.join(" AND "))
            .set_expression_attribute_names((!self.names.is_empty()).then_some(self.names))
            .set_expression_attribute_values((!self.values.is_empty()).then_some(self.values))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .map_err(ApiError::internal)?;
        Ok(Some(TransactWriteItem::builder().update(update).build()))
    }
}

impl Written {
    /// The organization as its pool alone refused a change of `deltas` to a
    /// tenant service or seats (the pool's update comes first in those changes).
    pub fn pool_that_refused(&self, deltas: &Quantities) -> Result<Option<OrgLicense>, ApiError> {
        let license_first = matches!(
            self,
            Written::Refused { item: Some(item), .. }
                if item.get("sk").and_then(|v| v.as_s().ok()).is_some_and(|sk| sk == "LICENSE")
        );
        if deltas.is_empty() || !license_first {
            return Ok(None); // the change did not touch the license item, or a shard refused
        }
        self.refused_only_by(0)
    }
}

/// A put that succeeds only over the version it was computed from (or over nothing).
fn put_versioned(table: &str, mut item: Item, previous_version: Option<u64>) -> Result<TransactWriteItem, ApiError> {
    match previous_version {
        Some(version) => {
            item.insert("version".into(), n(version as i64 + 1));
            put(
                table,
                item,
                Some(("version = :version", vec![(":version", n(version as i64))])),
            )
        }
        None => {
            item.insert("version".into(), n(1));
            put_new(table, item)
        }
    }
}

impl Store {
    fn audit_item(&self, record: &AuditRecord) -> Result<TransactWriteItem, ApiError> {
        let mut item = to_item(record)?;
        item.extend(key(audit_partition(record.of_host, &record.account_id), &record.id));
        put(&self.table, item, None)
    }

    pub async fn host_license(&self, host: &str) -> Result<Option<HostLicense>, ApiError> {
        self.get_as(host_key(host), true).await
    }

    /// The organization's license, a sharded pool's `allocated` added up from its shards.
    pub async fn org_license(&self, account: &str) -> Result<Option<OrgLicense>, ApiError> {
        Ok(self.org_at_once(account, Vec::new()).await?.0)
    }

    /// The license for its terms and owner only: a sharded pool's `allocated`
    /// is left as stored, so nothing may be decided or shown from it.
    pub async fn org_license_terms(&self, account: &str) -> Result<Option<OrgLicense>, ApiError> {
        self.get_as(org_key(account), true).await
    }

    /// A sharded pool's `allocated` is what its shards used (kept in `shards`).
    async fn counted_org(&self, org: Option<OrgLicense>) -> Result<Option<OrgLicense>, ApiError> {
        let Some(mut org) = org else { return Ok(None) };
        let sharded: Vec<(String, u32)> = org
            .products
            .iter()
            .filter_map(|(code, pool)| pool.shards.map(|n| (code.clone(), n)))
            .collect();
        for (code, count) in sharded {
            let shards: Vec<Shard> = self
                .shards(&pool_counter(&org.account_id, &code), count)
                .await?
                .iter()
                .map(|s| s.shard())
                .collect();
            if let Some(pool) = org.products.get_mut(&code) {
                pool.allocated = crate::domain::shards::total_used(&shards);
            }
            org.shards.insert(code, shards);
        }
        Ok(Some(org))
    }

    /// An organization's license and other items of its account (at most 99
    /// keys), in one consistent round trip; absent items are left out.
    /// `counted`: a sharded pool's `allocated` added up from its shards.
    async fn org_with<T: serde::de::DeserializeOwned>(
        &self,
        account: &str,
        keys: impl IntoIterator<Item = Item>,
        counted: bool,
    ) -> Result<(Option<OrgLicense>, Vec<T>), ApiError> {
        if counted {
            let (org, others) = self.org_at_once(account, keys.into_iter().collect()).await?;
            let others = others.into_iter().map(from_item).collect::<Result<_, _>>()?;
            return Ok((org, others));
        }
        let keys: Vec<Item> = std::iter::once(org_key(account)).chain(keys).collect();
        let (mut org, mut others) = (None, Vec::new());
        for item in self.get_many(keys).await? {
            match item.get("sk").and_then(|v| v.as_s().ok()).map(String::as_str) {
                Some("LICENSE") => org = Some(from_item(item)?),
                _ => others.push(from_item(item)?),
            }
        }
        Ok((org, others))
    }

    /// The license and `others` (those present), a sharded pool's `allocated`
    /// summed from its shards, all as they were at one instant: what a
    /// refusal is decided from.
    async fn org_at_once(&self, account: &str, others: Vec<Item>) -> Result<(Option<OrgLicense>, Vec<Item>), ApiError> {
        let read = self
            .with_shards(org_key(account), others, |org: &OrgLicense| {
                org.products
                    .iter()
                    .filter_map(|(code, pool)| pool.shards.map(|count| (pool_counter(account, code), count)))
                    .collect()
            })
            .await?;
        let others = read.others.into_iter().flatten().collect();
        let Some(mut org) = read.item else {
            return Ok((None, others));
        };
        for (code, pool) in org.products.iter_mut() {
            let counter = pool_counter(account, code);
            let Some((_, shards)) = read.shards.iter().find(|(c, _)| *c == counter) else {
                continue;
            };
            let shards: Vec<Shard> = shards.iter().map(|s| s.shard()).collect();
            pool.allocated = crate::domain::shards::total_used(&shards);
            org.shards.insert(code.clone(), shards);
        }
        Ok((Some(org), others))
    }

    /// The account's license (counted) and the seats of `users` (at most 99).
    pub async fn org_and_seats(
        &self,
        account: &str,
        users: &[String],
    ) -> Result<(Option<OrgLicense>, Vec<UserSeat>), ApiError> {
        self.org_with(account, users.iter().map(|u| seat_key(account, u)), true)
            .await
    }

    /// The license's terms (`org_license_terms`) and the seats of `users`.
    pub async fn org_terms_and_seats(
        &self,
        account: &str,
        users: &[String],
    ) -> Result<(Option<OrgLicense>, Vec<UserSeat>), ApiError> {
        self.org_with(account, users.iter().map(|u| seat_key(account, u)), false)
            .await
    }

    pub async fn org_and_group(
        &self,
        account: &str,
        group: &str,
    ) -> Result<(Option<OrgLicense>, Option<GroupRule>), ApiError> {
        let (org, mut rules) = self.org_with(account, [group_key(account, group)], false).await?;
        Ok((org, rules.pop()))
    }

    /// The account's license (counted, or only its terms) and one tenant service.
    pub async fn org_and_tenant(
        &self,
        account: &str,
        scope: &str,
        service_type: &str,
        counted: bool,
    ) -> Result<(Option<OrgLicense>, Option<TenantService>), ApiError> {
        let (org, mut tenants) = self
            .org_with(account, [tenant_key(account, scope, service_type)], counted)
            .await?;
        Ok((org, tenants.pop()))
    }

    /// Sets the host license; quantities may not fall below what organizations hold.
    pub async fn put_host_license(
        &self,
        current: Option<&HostLicense>,
        next: &HostLicense,
        audit: &AuditRecord,
        answer: Option<&AnswerRecord>,
    ) -> Result<Written, ApiError> {
        let mut actions = Vec::new();
        match current {
            None => {
                let mut item = to_item(next)?;
                item.extend(host_key(&next.host_account_id));
                actions.push(put_new(&self.table, item)?);
            }
            Some(current) => {
                let quantities = crate::domain::allocation::pool_quantities(&next.products);
                let update = PoolUpdate::default().quantities(&current.products, &quantities)?.terms(
                    next.start_date,
                    next.end_date,
                    next.grace_period,
                    next.subscription_plan.as_deref(),
                );
                actions.extend(update.build(&self.table, host_key(&next.host_account_id))?);
            }
        }
        actions.push(self.audit_item(audit)?);
        self.commit(actions, answer).await
    }

    /// Replaces an organization's quantities and moves the difference in or out of the host's pool.
    pub async fn allocate_to_org(
        &self,
        host: &HostLicense,
        current: Option<&OrgLicense>,
        next: &OrgLicense,
        host_deltas: &Quantities,
        audit: &AuditRecord,
        answer: Option<&AnswerRecord>,
    ) -> Result<Written, ApiError> {
        let mut actions = Vec::new();
        if current.is_none() {
            // A host's own account cannot become an organization: refused here, first.
            let not_a_host = ConditionCheck::builder()
                .table_name(&self.table)
                .set_key(Some(host_key(&next.account_id)))
                .condition_expression("attribute_not_exists(pk)")
                .build()
                .map_err(ApiError::internal)?;
            actions.push(TransactWriteItem::builder().condition_check(not_a_host).build());
        }
        actions.extend(
            PoolUpdate::default()
                .allocations(&host.products, host_deltas)
                .build(&self.table, host_key(&host.host_account_id))?,
        );
        match current {
            None => {
                let mut item = to_item(next)?;
                item.extend(org_key(&next.account_id));
                let listing = org_listing(&host.host_account_id, &next.account_id);
                item.extend(listing.map(|(name, value)| (name.to_string(), value)));
                actions.push(put_new(&self.table, item)?);
            }
            Some(current) => {
                let quantities = crate::domain::allocation::pool_quantities(&next.products);
                let mut update = PoolUpdate::default().quantities(&current.products, &quantities)?.terms(
                    next.start_date,
                    next.end_date,
                    next.grace_period,
                    next.subscription_plan.as_deref(),
                );
                update = update.set("parent_license_code", s(&next.parent_license_code));
                for (name, value) in org_listing(&host.host_account_id, &next.account_id) {
                    update = update.set(name, value);
                }
                update.conditions.push("host_account_id = :host".into());
                update.values.insert(":host".into(), s(&host.host_account_id));
                actions.extend(update.build(&self.table, org_key(&next.account_id))?);
                actions.extend(shard_quantities(&self.table, current, &quantities)?);
            }
        }
        actions.push(self.audit_item(audit)?);
        self.commit(actions, answer).await
    }

    /// Replaces one tenant service's allocation, moving the difference in or
    /// out of the organization (a sharded pool's on the shard `picks` names).
    #[allow(clippy::too_many_arguments)]
    pub async fn allocate_to_tenant(
        &self,
        org: &OrgLicense,
        current: Option<&TenantService>,
        next: &TenantService,
        org_deltas: &Quantities,
        picks: &ShardPicks,
        audit: &AuditRecord,
        answer: Option<&AnswerRecord>,
    ) -> Result<Written, ApiError> {
        let mut actions = Vec::new();
        actions.extend(
            PoolUpdate::default()
                .allocations(&org.products, org_deltas)
                .build(&self.table, org_key(&org.account_id))?,
        );
        actions.extend(shard_allocations(&self.table, org, org_deltas, picks)?);
        let mut item = to_item(next)?;
        item.extend(tenant_key(&next.account_id, &next.service_scope_id, &next.service_type));
        actions.push(put_versioned(&self.table, item, current.map(|t| t.version))?);
        actions.push(self.audit_item(audit)?);
        self.commit(actions, answer).await
    }

    /// Gives each user exactly its new codes, all or nothing.
    #[allow(clippy::too_many_arguments)]
    pub async fn assign_seats(
        &self,
        org: &OrgLicense,
        current: &[UserSeat],
        next: &[UserSeat],
        org_deltas: &Quantities,
        picks: &ShardPicks,
        audit: &AuditRecord,
        answer: Option<&AnswerRecord>,
    ) -> Result<Written, ApiError> {
        let mut actions = Vec::new();
        actions.extend(
            PoolUpdate::default()
                .allocations(&org.products, org_deltas)
                .build(&self.table, org_key(&org.account_id))?,
        );
        actions.extend(shard_allocations(&self.table, org, org_deltas, picks)?);
        for seat in next {
            let previous = current.iter().find(|c| c.user_id == seat.user_id).map(|c| c.version);
            let mut item = to_item(seat)?;
            item.extend(seat_key(&seat.account_id, &seat.user_id));
            actions.push(put_versioned(&self.table, item, previous)?);
        }
        actions.push(self.audit_item(audit)?);
        self.commit(actions, answer).await
    }

    /// The user gives back every unit it holds.
    pub async fn release_seat(
        &self,
        org: &OrgLicense,
        seat: &UserSeat,
        org_deltas: &Quantities,
        picks: &ShardPicks,
        audit: &AuditRecord,
        answer: Option<&AnswerRecord>,
    ) -> Result<Written, ApiError> {
        let mut actions = Vec::new();
        actions.extend(
            PoolUpdate::default()
                .allocations(&org.products, org_deltas)
                .build(&self.table, org_key(&org.account_id))?,
        );
        actions.extend(shard_allocations(&self.table, org, org_deltas, picks)?);
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(seat_key(&seat.account_id, &seat.user_id)))
            .condition_expression("version = :version")
            .expression_attribute_values(":version", n(seat.version as i64))
            .build()
            .map_err(ApiError::internal)?;
        actions.push(TransactWriteItem::builder().delete(delete).build());
        actions.push(self.audit_item(audit)?);
        self.commit(actions, answer).await
    }

    /// Stores a group rule if the account holds every code it names.
    pub async fn put_group_rule(&self, rule: &GroupRule, answer: Option<&AnswerRecord>) -> Result<Written, ApiError> {
        let mut check = ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(org_key(&rule.account_id)));
        let mut conditions = vec!["attribute_exists(pk)".to_string()];
        for (i, code) in rule.user_bundle_codes.iter().enumerate() {
            conditions.push(format!("products.#c{i}.quantity > :zero"));
            check = check.expression_attribute_names(format!("#c{i}"), code);
        }
        if !rule.user_bundle_codes.is_empty() {
            check = check.expression_attribute_values(":zero", n(0));
        }
        let check = check
            .condition_expression(conditions.join(" AND "))
            .build()
            .map_err(ApiError::internal)?;
        let mut item = to_item(rule)?;
        item.extend(group_key(&rule.account_id, &rule.group_id));
        self.commit(
            vec![
                TransactWriteItem::builder().condition_check(check).build(),
                put(&self.table, item, None)?,
            ],
            answer,
        )
        .await
    }

    async fn list_page<T: serde::de::DeserializeOwned>(
        &self,
        range: KeyRange<'_>,
        page: &PageRequest,
    ) -> Result<ListPage<T>, ApiError> {
        let PageOfItems { items, next_cursor } = self.query_page(range, page).await?;
        Ok(ListPage {
            items: items.into_iter().map(from_item).collect::<Result<_, _>>()?,
            next_cursor,
        })
    }

    /// The audit records of a host's own license (`of_host`) or of an organization.
    pub async fn audit_page(
        &self,
        of_host: bool,
        account: &str,
        page: &PageRequest,
    ) -> Result<ListPage<AuditRecord>, ApiError> {
        self.list_page(KeyRange::table(audit_partition(of_host, account)), page)
            .await
    }

    /// A host's organizations by account id, from the index (eventually consistent).
    pub async fn host_orgs_page(&self, host: &str, page: &PageRequest) -> Result<ListPage<OrgLicense>, ApiError> {
        let range = KeyRange::index("gsi1", host_orgs_partition(host)).ascending_from(None);
        let page: ListPage<OrgLicense> = self.list_page(range, page).await?;
        let mut items = Vec::with_capacity(page.items.len());
        for org in page.items {
            items.extend(self.counted_org(Some(org)).await?);
        }
        Ok(ListPage {
            items,
            next_cursor: page.next_cursor,
        })
    }

    /// Splits an organization's pool of `code` over `shards` (its quantity and
    /// what it gave out as read, split): the license is guarded on both.
    pub async fn split_pool(
        &self,
        org: &OrgLicense,
        code: &str,
        shards: &[Shard],
        audit: &AuditRecord,
    ) -> Result<Written, ApiError> {
        let pool = org.products.get(code).copied().unwrap_or_default();
        let epoch = pool.shard_epoch.unwrap_or_default() + 1;
        let root = Update::builder()
            .table_name(&self.table)
            .set_key(Some(org_key(&org.account_id)))
            .update_expression("SET products.#c.shards = :shards, products.#c.shard_epoch = :epoch")
            .condition_expression(
                "products.#c.quantity = :q AND products.#c.allocated = :a AND attribute_not_exists(products.#c.shards) \
                 AND (attribute_not_exists(products.#c.shard_epoch) OR products.#c.shard_epoch = :was)",
            )
            .expression_attribute_values(":was", n(epoch - 1))
            .expression_attribute_names("#c", code)
            .expression_attribute_values(":shards", n(shards.len()))
            .expression_attribute_values(":epoch", n(epoch))
            .expression_attribute_values(":q", n(pool.quantity))
            .expression_attribute_values(":a", n(pool.allocated))
            .build()
            .map_err(ApiError::internal)?;
        let mut actions = vec![TransactWriteItem::builder().update(root).build()];
        actions.extend(counter_shards::create(
            &self.table,
            &pool_counter(&org.account_id, code),
            shards,
            epoch,
        )?);
        actions.push(self.audit_item(audit)?);
        self.commit(actions, None).await
    }

    /// Merges a sharded pool back: each shard as read is deleted on that
    /// condition and what they used is the pool's `allocated` again.
    pub async fn merge_pool(&self, org: &OrgLicense, code: &str, audit: &AuditRecord) -> Result<Written, ApiError> {
        let pool = org.products.get(code).copied().unwrap_or_default();
        let shards = org.shards.get(code).map(Vec::as_slice).unwrap_or_default();
        let epoch = pool.shard_epoch.unwrap_or_default();
        let root = Update::builder()
            .table_name(&self.table)
            .set_key(Some(org_key(&org.account_id)))
            .update_expression(
                "SET products.#c.allocated = :used, products.#c.shard_epoch = :next REMOVE products.#c.shards",
            )
            .condition_expression("products.#c.shards = :shards AND products.#c.shard_epoch = :epoch")
            .expression_attribute_names("#c", code)
            .expression_attribute_values(":used", n(crate::domain::shards::total_used(shards)))
            .expression_attribute_values(":next", n(epoch + 1))
            .expression_attribute_values(":shards", n(shards.len()))
            .expression_attribute_values(":epoch", n(epoch))
            .build()
            .map_err(ApiError::internal)?;
        let mut actions = vec![TransactWriteItem::builder().update(root).build()];
        actions.extend(counter_shards::delete(
            &self.table,
            &pool_counter(&org.account_id, code),
            shards,
            epoch,
        )?);
        actions.push(self.audit_item(audit)?);
        self.commit(actions, None).await
    }

    /// Gathers units of a sharded pool into one shard (free units, or used ones).
    pub async fn gather_pool_units(
        &self,
        org: &OrgLicense,
        code: &str,
        gather: &Gather,
        used: bool,
    ) -> Result<Written, ApiError> {
        let epoch = org.products.get(code).and_then(|p| p.shard_epoch).unwrap_or_default();
        self.gather_units(&pool_counter(&org.account_id, code), epoch, gather, used)
            .await
    }

    /// An organization's tenant services by scope and type.
    pub async fn tenants_page(&self, account: &str, page: &PageRequest) -> Result<ListPage<TenantService>, ApiError> {
        let range = KeyRange::table(org_partition(account)).ascending_from(Some("SVC#"));
        self.list_page(range, page).await
    }

    /// The users of an organization that hold at least one code (`code`, when given), by user id.
    pub async fn seat_holders_page(
        &self,
        account: &str,
        code: Option<&str>,
        page: &PageRequest,
    ) -> Result<ListPage<UserSeat>, ApiError> {
        let codes = [("#codes", "user_bundle_codes")];
        let mut filter = Filter::default().raw("size(#codes) > :none", &codes, vec![(":none".into(), n(0))]);
        if let Some(code) = code {
            filter = filter.raw("contains(#codes, :code)", &codes, vec![(":code".into(), s(code))]);
        }
        let range = KeyRange::table(org_partition(account))
            .ascending_from(Some("USER#"))
            .filtered_within_one_query(filter);
        self.list_page(range, page).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pools(entries: &[(&str, i64, i64)]) -> Pools {
        entries
            .iter()
            .map(|(code, quantity, allocated)| {
                (
                    code.to_string(),
                    Pool {
                        quantity: *quantity,
                        allocated: *allocated,
                        ..Default::default()
                    },
                )
            })
            .collect()
    }

    fn quantities(entries: &[(&str, i64)]) -> Quantities {
        entries.iter().map(|(c, q)| (c.to_string(), *q)).collect()
    }

    fn number(update: &PoolUpdate, name: &str) -> i64 {
        update.values[name].as_n().unwrap().parse().unwrap()
    }

    #[test]
    fn giving_out_units_pins_the_quantity_and_bounds_allocated_in_code() {
        let update = PoolUpdate::default().allocations(&pools(&[("UNATT", 10, 4)]), &quantities(&[("UNATT", 3)]));
        assert_eq!(update.names["#c100"], "UNATT");
        assert_eq!(
            update.sets,
            ["products.#c100.allocated = products.#c100.allocated + :d100"]
        );
        // allocated + 3 <= 10, written without arithmetic: allocated <= 7, quantity still 10;
        // and the pool is not split meanwhile.
        assert_eq!(
            update.conditions,
            [
                "attribute_not_exists(products.#c100.shards)",
                "products.#c100.quantity = :was100 AND products.#c100.allocated <= :max100"
            ]
        );
        assert_eq!((number(&update, ":was100"), number(&update, ":max100")), (10, 7));
    }

    #[test]
    fn taking_units_back_never_goes_below_zero() {
        let update = PoolUpdate::default().allocations(&pools(&[("UNATT", 10, 4)]), &quantities(&[("UNATT", -4)]));
        assert_eq!(
            update.conditions,
            [
                "attribute_not_exists(products.#c100.shards)",
                "products.#c100.allocated >= :min100"
            ]
        );
        assert_eq!(number(&update, ":min100"), 4);
    }

    #[test]
    fn new_quantities_guard_what_was_given_out_and_new_codes_start_empty() {
        let current = pools(&[("UNATT", 10, 4), ("AIG", 5, 0)]);
        let update = PoolUpdate::default()
            .quantities(&current, &quantities(&[("UNATT", 6), ("AIG", 5), ("TIE", 2)]))
            .unwrap();
        // AIG is unchanged but pinned; UNATT may not fall below its 4 given out.
        assert!(update.conditions.contains(&"products.#c0.quantity = :was0".to_string()));
        assert_eq!(update.names["#c0"], "AIG");
        assert!(update
            .conditions
            .iter()
            .any(|c| c.starts_with("products.#c2.quantity = :was2 AND products.#c2.allocated <= :q2")));
        assert_eq!((number(&update, ":q2"), number(&update, ":was2")), (6, 10));
        assert!(update
            .conditions
            .contains(&"attribute_not_exists(products.#c1)".to_string()));
        assert_eq!(update.names["#c1"], "TIE");
    }

    #[test]
    fn a_sharded_pool_leaves_its_units_to_its_shards_and_its_quantity_guards_their_split() {
        let mut sharded = pools(&[("UNATT", 10, 4)]);
        if let Some(pool) = sharded.get_mut("UNATT") {
            pool.shards = Some(4);
            pool.shard_epoch = Some(2);
        }
        let update = PoolUpdate::default().allocations(&sharded, &quantities(&[("UNATT", 3)]));
        assert!(update.sets.is_empty() && update.conditions.is_empty());
        let update = PoolUpdate::default()
            .quantities(&sharded, &quantities(&[("UNATT", 12)]))
            .unwrap();
        assert_eq!(
            update.conditions,
            ["products.#c0.quantity = :was0 AND products.#c0.shard_epoch = :e0"]
        );
        assert_eq!((number(&update, ":q0"), number(&update, ":e0")), (12, 2));
    }

    #[test]
    fn only_a_refusal_by_the_pool_alone_is_decided_again_without_a_read() {
        let org = OrgLicense {
            account_id: "acme".into(),
            host_account_id: "h".into(),
            license_code: "L".into(),
            parent_license_code: "P".into(),
            start_date: None,
            end_date: None,
            grace_period: None,
            subscription_plan: None,
            products: pools(&[("UNATT", 10, 10)]),
            shards: Default::default(),
        };
        let mut item = to_item(&org).unwrap();
        item.extend(org_key("acme"));
        let refused = |at, alone| Written::Refused {
            at,
            item: Some(item.clone()),
            alone,
        };
        let taking = quantities(&[("UNATT", 1)]);
        assert_eq!(refused(0, true).pool_that_refused(&taking).unwrap(), Some(org));
        // Another condition failed too (a seat changed): read again.
        assert_eq!(refused(0, false).pool_that_refused(&taking).unwrap(), None);
        // The pool was not what refused, or the change did not touch it.
        assert_eq!(refused(1, true).pool_that_refused(&taking).unwrap(), None);
        assert_eq!(refused(0, true).pool_that_refused(&Quantities::new()).unwrap(), None);
        assert_eq!(Written::Conflict.pool_that_refused(&taking).unwrap(), None);
        // A shard of a sharded pool refused: read again.
        let shard = Written::Refused {
            at: 0,
            item: Some(key("SHARD#POOL#acme#UNATT#0", "SHARD")),
            alone: true,
        };
        assert_eq!(shard.pool_that_refused(&taking).unwrap(), None);
    }

    #[test]
    fn an_update_with_nothing_to_change_is_no_action() {
        let same = pools(&[("UNATT", 10, 4)]);
        let update = PoolUpdate::default().allocations(&same, &Quantities::new());
        assert!(update.build("t", key("HOST#h", "LICENSE")).unwrap().is_none());
    }
}
