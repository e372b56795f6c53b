//! Credit entitlements and balances.
//!
//! - A credit entitlement: `pk = BIZ#<business>`, `sk = CENT#<id>`, listed in
//!   `gsi1` under `BIZ#<business>#CENT` while active and `...#CENT#DELETED` once
//!   deleted, so both lists read only their own.
//! - A customer's balance and everything of it share one partition,
//!   `pk = CBAL#<business>#<credit entitlement>#<customer>`: the balance
//!   (`sk = BALANCE`, in `gsi1` by entitlement and `gsi2` by customer), its
//!   grants (`GRANT#<id>`, ids sort by creation) and its ledger
//!   (`LEDGER#<version>`: the balance's version the entry made, so the ledger
//!   reads in the order the changes committed).
//! - Its translations beside it (`translations.rs`).
//! - A balance with a grant that will expire is also in the sparse index
//!   `gsi3` under `CEXP#<shard>`, sorted by its earliest expiry, so the
//!   expiry schedule reads only the balances that are due.
//! - A ledger entry's `idempotency_key`: `pk = CIDEM#<business>#<key>`, written
//!   with the entry, refused when it exists. A product's credits for one
//!   payment or billing cycle likewise: `pk = CSRC#<business>#<credit
//!   entitlement>#<customer>#<cause>`.
//!
//! - A balance split over shards has its shard items and their ledgers in
//!   partitions of their own (`credit_shards.rs`).
//!
//! Every change of a balance is one transaction conditioned on the balance's
//! version as read (its grants change only with it), and for a split balance
//! on every shard as read (a fence), so a decision made from one read commits
//! only over that state.

use super::paging::{Filter, KeyRange, PageOfItems};
use super::webhooks::event_puts;
use super::{from_item, key, put, s, to_item, AnswerRecord, Item, PageRequest, Store, Written};
use crate::domain::credit::shards::BalanceShard;
use crate::domain::credit::{
    Balance, BalanceChange, CreditEntitlement, CreditGrant, Credits, GrantStatus, LedgerEntry,
};
use crate::domain::webhook::Event;
use crate::error::ApiError;
use aws_sdk_dynamodb::types::{AttributeValue, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update};

pub(super) fn entitlement_sort(id: &str) -> String {
    format!("CENT#{id}")
}

pub(super) fn entitlement_key(business_id: &str, id: &str) -> Item {
    key(format!("BIZ#{business_id}"), entitlement_sort(id))
}

fn entitlement_list(business_id: &str, deleted: bool) -> String {
    match deleted {
        false => format!("BIZ#{business_id}#CENT"),
        true => format!("BIZ#{business_id}#CENT#DELETED"),
    }
}

pub(super) fn balance_partition(business_id: &str, entitlement_id: &str, customer_id: &str) -> String {
    format!("CBAL#{business_id}#{entitlement_id}#{customer_id}")
}

fn balances_of_entitlement(business_id: &str, entitlement_id: &str) -> String {
    format!("BIZ#{business_id}#CBAL#{entitlement_id}")
}

fn balances_of_customer(business_id: &str, customer_id: &str) -> String {
    format!("BIZ#{business_id}#CUST#{customer_id}#CBAL")
}

/// What makes a ledger entry happen once only: a marker item written with it,
/// its transaction refused when the marker exists.
#[derive(Clone, Copy, Debug)]
pub enum EntryOnce<'a> {
    /// The client's `idempotency_key`, unique in the business.
    ClientKey(&'a str),
    /// What granted a product's credits (a payment and product, or a
    /// subscription's billing cycle), unique per balance.
    Cause(&'a str),
}

pub(super) fn once_key(business_id: &str, entitlement_id: &str, customer_id: &str, once: EntryOnce) -> Item {
    match once {
        EntryOnce::ClientKey(k) => key(format!("CIDEM#{business_id}#{k}"), "CIDEM"),
        EntryOnce::Cause(c) => key(format!("CSRC#{business_id}#{entitlement_id}#{customer_id}#{c}"), "CSRC"),
    }
}

/// Shards of the expiry index: each a partition of `gsi3` the schedule reads.
const EXPIRY_SHARDS: u32 = 4;

fn expiry_shard(partition: &str) -> String {
    let spread = partition
        .bytes()
        .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(b as u32));
    format!("CEXP#{}", spread % EXPIRY_SHARDS)
}

fn ledger_sort(version: u64) -> String {
    format!("LEDGER#{version:020}")
}

/// A page of one kind of item.
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

fn page_of<T: serde::de::DeserializeOwned>(page: PageOfItems) -> Result<Page<T>, ApiError> {
    Ok(Page {
        items: page.items.into_iter().map(from_item).collect::<Result<_, _>>()?,
        next_cursor: page.next_cursor,
    })
}

/// The shards a fence read (its conditions) and those it leaves (none: the
/// balance is no longer split); written by `credit_shards.rs`.
pub struct Fence<'a> {
    pub read: &'a [BalanceShard],
    pub next: &'a [BalanceShard],
}

/// A ledger's filters (`balances.list_ledger`).
#[derive(Default)]
pub struct LedgerFilter<'a> {
    pub transaction_type: Option<&'a str>,
    pub start: Option<String>,
    pub end: Option<String>,
}

impl Store {
    pub async fn create_credit_entitlement(
        &self,
        entitlement: &CreditEntitlement,
        answer: Option<&AnswerRecord>,
    ) -> Result<Written, ApiError> {
        self.commit(vec![self.entitlement_put(entitlement, None)?], answer)
            .await
    }

    /// The credit entitlement, deleted or not.
    pub async fn credit_entitlement(&self, business_id: &str, id: &str) -> Result<Option<CreditEntitlement>, ApiError> {
        self.get_as(entitlement_key(business_id, id), true).await
    }

    /// The business's credit entitlements of `ids` (deleted ones included), 100 to a read.
    pub async fn credit_entitlements_by_id(
        &self,
        business_id: &str,
        ids: &[&str],
    ) -> Result<Vec<CreditEntitlement>, ApiError> {
        let keys = ids.iter().map(|id| entitlement_key(business_id, id)).collect();
        self.get_all_as(keys).await
    }

    /// Writes `next` over `current` if it is unchanged since it was read
    /// (`updated_at` and `is_active` as read); `Refused` otherwise. Also how a
    /// delete and an undelete are written (`is_active` moves the item between lists).
    pub async fn replace_credit_entitlement(
        &self,
        current: &CreditEntitlement,
        next: &CreditEntitlement,
        answer: Option<&AnswerRecord>,
    ) -> Result<Written, ApiError> {
        self.commit(vec![self.entitlement_put(next, Some(current))?], answer)
            .await
    }

    fn entitlement_put(
        &self,
        entitlement: &CreditEntitlement,
        current: Option<&CreditEntitlement>,
    ) -> Result<TransactWriteItem, ApiError> {
        let mut item = to_item(entitlement)?;
        item.extend(entitlement_key(&entitlement.business_id, &entitlement.id));
        item.insert(
            "gsi1pk".into(),
            s(entitlement_list(&entitlement.business_id, !entitlement.is_active)),
        );
        item.insert("gsi1sk".into(), s(&entitlement.id));
        let condition = match current {
            None => ("attribute_not_exists(pk)", vec![]),
            Some(current) => (
                "updated_at = :seen AND is_active = :active",
                vec![
                    (":seen", s(&current.updated_at)),
                    (":active", AttributeValue::Bool(current.is_active)),
                ],
            ),
        };
        put(&self.table, item, Some(condition))
    }

    /// The business's credit entitlements, active or deleted, newest first.
    pub async fn list_credit_entitlements(
        &self,
        business_id: &str,
        deleted: bool,
        page: &PageRequest,
    ) -> Result<Page<CreditEntitlement>, ApiError> {
        let range = KeyRange::index("gsi1", entitlement_list(business_id, deleted));
        page_of(self.query_page(range, page).await?)
    }

    /// Whether an entry was made once for this key or cause (read strongly).
    pub async fn entry_made(
        &self,
        business_id: &str,
        entitlement_id: &str,
        customer_id: &str,
        once: EntryOnce<'_>,
    ) -> Result<bool, ApiError> {
        let marker = once_key(business_id, entitlement_id, customer_id, once);
        Ok(self.get_item(marker, true).await?.is_some())
    }

    /// A customer's balance of one credit entitlement, if it has ever changed.
    pub async fn credit_balance(
        &self,
        business_id: &str,
        entitlement_id: &str,
        customer_id: &str,
    ) -> Result<Option<Balance>, ApiError> {
        self.balance_read(business_id, entitlement_id, customer_id, true).await
    }

    /// The balance read eventually consistent: enough to learn whether it is
    /// split (`credit_shards.rs` reads the shard strongly).
    pub async fn credit_balance_as_split(
        &self,
        business_id: &str,
        entitlement_id: &str,
        customer_id: &str,
    ) -> Result<Option<Balance>, ApiError> {
        self.balance_read(business_id, entitlement_id, customer_id, false).await
    }

    async fn balance_read(
        &self,
        business_id: &str,
        entitlement_id: &str,
        customer_id: &str,
        consistent: bool,
    ) -> Result<Option<Balance>, ApiError> {
        let partition = balance_partition(business_id, entitlement_id, customer_id);
        self.get_as(key(partition, "BALANCE"), consistent).await
    }

    /// The balances of one credit entitlement, by customer id.
    pub async fn list_credit_balances(
        &self,
        business_id: &str,
        entitlement_id: &str,
        page: &PageRequest,
    ) -> Result<Page<Balance>, ApiError> {
        let range = KeyRange::index("gsi1", balances_of_entitlement(business_id, entitlement_id)).ascending_from(None);
        page_of(self.query_page(range, page).await?)
    }

    /// A customer's balances across credit entitlements (at most `limit`).
    pub async fn customer_credit_balances(
        &self,
        business_id: &str,
        customer_id: &str,
        limit: usize,
    ) -> Result<Vec<Balance>, ApiError> {
        let range = KeyRange::index("gsi2", balances_of_customer(business_id, customer_id)).ascending_from(None);
        Ok(page_of(self.query_page(range, &PageRequest::first(limit)).await?)?.items)
    }

    /// A balance's grants, oldest first, optionally of one status.
    pub async fn list_credit_grants(
        &self,
        balance: (&str, &str, &str),
        status: Option<GrantStatus>,
        page: &PageRequest,
    ) -> Result<Page<CreditGrant>, ApiError> {
        let (business_id, entitlement_id, customer_id) = balance;
        let mut range =
            KeyRange::table(balance_partition(business_id, entitlement_id, customer_id)).ascending_from(Some("GRANT#"));
        if let Some(status) = status {
            let filter = match status {
                GrantStatus::Expired => Filter::default().eq("is_expired", AttributeValue::Bool(true)),
                GrantStatus::Active => Filter::default()
                    .eq("is_expired", AttributeValue::Bool(false))
                    .eq("depleted", AttributeValue::Bool(false)),
                GrantStatus::Depleted => Filter::default()
                    .eq("is_expired", AttributeValue::Bool(false))
                    .eq("depleted", AttributeValue::Bool(true)),
            };
            range = range.filtered(filter);
        }
        page_of(self.query_page(range, page).await?)
    }

    /// A balance's ledger in the order its entries committed.
    pub async fn list_credit_ledger(
        &self,
        balance: (&str, &str, &str),
        filter: LedgerFilter<'_>,
        page: &PageRequest,
    ) -> Result<Page<LedgerEntry>, ApiError> {
        let (business_id, entitlement_id, customer_id) = balance;
        let mut conditions = Filter::default();
        if let Some(kind) = filter.transaction_type {
            conditions = conditions.eq("transaction_type", s(kind));
        }
        if let Some(start) = filter.start {
            conditions = conditions.raw("created_at >= :start", &[], vec![(":start".into(), s(start))]);
        }
        if let Some(end) = filter.end {
            conditions = conditions.raw("created_at <= :end", &[], vec![(":end".into(), s(end))]);
        }
        let range = KeyRange::table(balance_partition(business_id, entitlement_id, customer_id))
            .ascending_from(Some("LEDGER#"))
            .filtered(conditions);
        page_of(self.query_page(range, page).await?)
    }

    /// Balances with a grant whose expiry is at or before `now`, at most
    /// `limit` of each shard of the expiry index (read as the index has them:
    /// the caller reads each again before changing it).
    pub async fn credit_balances_due(&self, now: &str, limit: usize) -> Result<Vec<Balance>, ApiError> {
        let mut due = Vec::new();
        for shard in 0..EXPIRY_SHARDS {
            let output = self
                .db
                .query()
                .table_name(&self.table)
                .index_name("gsi3")
                .key_condition_expression("gsi3pk = :shard AND gsi3sk <= :due")
                .expression_attribute_values(":shard", s(format!("CEXP#{shard}")))
                .expression_attribute_values(":due", s(format!("{now}#~")))
                .limit(limit as i32)
                .send()
                .await
                .map_err(super::sdk_error)?;
            for item in output.items.unwrap_or_default() {
                due.push(from_item(item)?);
            }
        }
        Ok(due)
    }

    /// Commits one change of a balance: the balance conditioned on the version
    /// it was decided from (absent for a first change), the grant it creates or
    /// those it spends from, its ledger entry, the entry's `idempotency_key`
    /// or cause when given, its events, and for a split balance every shard
    /// (`Fence`). `Refused` at 0 (with the balance as it is now) when another
    /// change came first; at 1 when the key or cause was used before.
    pub async fn commit_balance_change(
        &self,
        before: &Balance,
        change: &BalanceChange,
        fence: Option<Fence<'_>>,
        once: Option<EntryOnce<'_>>,
        events: &[Event],
        answer: Option<&AnswerRecord>,
    ) -> Result<Written, ApiError> {
        let after = &change.balance;
        let partition = balance_partition(&after.business_id, &after.credit_entitlement_id, &after.customer_id);
        let mut actions = vec![self.balance_put(before, after)?];
        if let Some(once) = once {
            let mut marker = once_key(
                &after.business_id,
                &after.credit_entitlement_id,
                &after.customer_id,
                once,
            );
            marker.insert("entry_id".into(), s(&change.entry.id));
            actions.push(super::put_new(&self.table, marker)?);
        }
        if let Some(grant) = &change.new_grant {
            actions.push(super::put_new(&self.table, grant_item(&partition, grant)?)?);
        }
        for (grant_id, remaining) in &change.spent {
            // A grant rolled over is marked so in the same update (one action per item).
            let rolled = change.rolled_over.as_ref() == Some(grant_id);
            actions.push(self.grant_spent(&partition, grant_id, remaining, rolled, &change.entry.created_at)?);
        }
        if let Some(joined) = &change.joined {
            let update = Update::builder()
                .table_name(&self.table)
                .set_key(Some(key(partition.clone(), format!("GRANT#{}", joined.id))))
                .update_expression(
                    "SET initial_amount = :initial, remaining_amount = :remaining, rollover_count = :count, depleted = :false, updated_at = :now",
                )
                .expression_attribute_values(":initial", s(joined.initial_amount.to_string()))
                .expression_attribute_values(":remaining", s(joined.remaining.to_string()))
                .expression_attribute_values(":count", AttributeValue::N(joined.rollover_count.to_string()))
                .expression_attribute_values(":false", AttributeValue::Bool(false))
                .expression_attribute_values(":now", s(&change.entry.created_at))
                .build()
                .map_err(ApiError::internal)?;
            actions.push(TransactWriteItem::builder().update(update).build());
        }
        if let Some(grant_id) = &change.expired {
            let update = Update::builder()
                .table_name(&self.table)
                .set_key(Some(key(partition.clone(), format!("GRANT#{grant_id}"))))
                .update_expression(
                    "SET remaining_amount = :zero, is_expired = :true, depleted = :false, updated_at = :now",
                )
                .expression_attribute_values(":zero", s(change.balance.balance.zeroed().to_string()))
                .expression_attribute_values(":true", AttributeValue::Bool(true))
                .expression_attribute_values(":false", AttributeValue::Bool(false))
                .expression_attribute_values(":now", s(&change.entry.created_at))
                .build()
                .map_err(ApiError::internal)?;
            actions.push(TransactWriteItem::builder().update(update).build());
        }
        let mut entry = to_item(&change.entry)?;
        entry.extend(key(partition, ledger_sort(after.version)));
        actions.push(super::put_new(&self.table, entry)?);
        actions.extend(event_puts(&self.table, events)?);
        if let Some(fence) = fence {
            actions.extend(self.fence_actions(after, &fence)?);
        }
        self.commit(actions, answer).await
    }

    /// A grant's remaining amount after a change spent from it.
    pub(super) fn grant_spent(
        &self,
        partition: &str,
        grant_id: &str,
        remaining: &Credits,
        rolled: bool,
        at: &str,
    ) -> Result<TransactWriteItem, ApiError> {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(partition, format!("GRANT#{grant_id}"))))
            .update_expression(
                "SET remaining_amount = :remaining, depleted = :depleted, updated_at = :now, is_rolled_over = :rolled",
            )
            .expression_attribute_values(":rolled", AttributeValue::Bool(rolled))
            .expression_attribute_values(":remaining", s(remaining.to_string()))
            .expression_attribute_values(":depleted", AttributeValue::Bool(remaining.is_zero()))
            .expression_attribute_values(":now", s(at))
            .build()
            .map_err(ApiError::internal)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// The balance written as `after`, conditioned on the version `before`
    /// was read at (absent for a first change); it answers a refusal with the
    /// balance as it is.
    pub(super) fn balance_put(&self, before: &Balance, after: &Balance) -> Result<TransactWriteItem, ApiError> {
        let partition = balance_partition(&after.business_id, &after.credit_entitlement_id, &after.customer_id);
        let mut item = to_item(after)?;
        item.extend(key(partition.clone(), "BALANCE"));
        item.insert(
            "gsi1pk".into(),
            s(balances_of_entitlement(
                &after.business_id,
                &after.credit_entitlement_id,
            )),
        );
        item.insert("gsi1sk".into(), s(&after.customer_id));
        item.insert(
            "gsi2pk".into(),
            s(balances_of_customer(&after.business_id, &after.customer_id)),
        );
        item.insert("gsi2sk".into(), s(&after.credit_entitlement_id));
        if let Some(due) = after.next_expiry() {
            item.insert("gsi3pk".into(), s(expiry_shard(&partition)));
            item.insert("gsi3sk".into(), s(format!("{due}#{}", after.id)));
        }
        let mut guard = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        guard = match before.version {
            0 => guard.condition_expression("attribute_not_exists(pk)"),
            seen => guard
                .condition_expression("version = :seen")
                .expression_attribute_values(":seen", AttributeValue::N(seen.to_string())),
        };
        Ok(TransactWriteItem::builder()
            .put(guard.build().map_err(ApiError::internal)?)
            .build())
    }
}

fn grant_item(partition: &str, grant: &CreditGrant) -> Result<Item, ApiError> {
    let mut item = to_item(grant)?;
    item.extend(key(partition, format!("GRANT#{}", grant.id)));
    item.insert(
        "depleted".into(),
        AttributeValue::Bool(grant.remaining_amount.is_zero()),
    );
    Ok(item)
}

impl Written {
    /// The balance as it refused a change at action 0 (another change came first).
    pub fn newer_balance(&self) -> Result<Option<Balance>, ApiError> {
        self.refused_only_by(0)
    }
}
