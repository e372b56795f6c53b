//! A split balance's shards (`domain::credit::shards`).
//!
//! - Shard `i` of a balance: `pk = CBALS#<business>#<credit entitlement>#<customer>#<i>`,
//!   `sk = SHARD`, a partition of its own so that the shards' writes spread.
//! - The ledger entries of the debits it made in a partition of their own,
//!   `pk = CBALS#…#<i>#LEDGER`, `sk = LEDGER#<epoch>#<created_at>#<seq>`, with
//!   `epoch` and `seq` as attributes; the balance's own ledger (`credits.rs`)
//!   holds every other entry.
//!
//! A debit on a shard is one transaction conditioned on the shard's epoch and
//! sequence as read; a fence (`credits.rs::commit_balance_change` with a
//! `Fence`) rewrites every shard under the same condition, so no debit commits
//! over an allowance a fence has taken back.

use super::credits::{balance_partition, once_key, EntryOnce, Fence, LedgerFilter, Page};
use super::paging::{Cursor, PageStart};
use super::webhooks::event_puts;
use super::{from_item, key, s, sdk_error, to_item, AnswerRecord, Item, PageRequest, Store, Written};
use crate::domain::credit::shards::{chain, BalanceShard, ShardDebit};
use crate::domain::credit::{Balance, Credits, LedgerEntry};
use crate::domain::webhook::Event;
use crate::error::ApiError;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem};
use std::collections::{BTreeMap, VecDeque};

fn shard_partition(balance: &Balance, index: u32) -> String {
    format!(
        "CBALS#{}#{}#{}#{index}",
        balance.business_id, balance.credit_entitlement_id, balance.customer_id
    )
}

/// A shard's ledger: a partition of its own, so that a debit's two writes
/// (the shard, its entry) land on two partitions.
fn shard_ledger_partition(balance: &Balance, index: u32) -> String {
    format!("{}#LEDGER", shard_partition(balance, index))
}

fn shard_key(balance: &Balance, index: u32) -> Item {
    key(shard_partition(balance, index), "SHARD")
}

fn shard_ledger_sort(shard: &BalanceShard, created_at: &str) -> String {
    format!("LEDGER#{:020}#{created_at}#{:020}", shard.epoch, shard.seq)
}

/// The condition every write of a shard holds: its epoch and sequence as read.
fn as_read(shard: &BalanceShard) -> (&'static str, [(&'static str, AttributeValue); 2]) {
    (
        "epoch = :epoch AND seq = :seq",
        [
            (":epoch", AttributeValue::N(shard.epoch.to_string())),
            (":seq", AttributeValue::N(shard.seq.to_string())),
        ],
    )
}

impl Store {
    /// The shards of `balance`'s split, by index (those absent left out), all
    /// as they were at one instant.
    pub async fn balance_shards(&self, balance: &Balance) -> Result<Vec<BalanceShard>, ApiError> {
        let Some(split) = &balance.split else {
            return Ok(Vec::new());
        };
        let keys = (0..split.count).map(|i| shard_key(balance, i)).collect();
        self.snapshot_as(keys).await
    }

    /// Shard `index` of `balance`, if it exists.
    pub async fn balance_shard(&self, balance: &Balance, index: u32) -> Result<Option<BalanceShard>, ApiError> {
        self.get_as(shard_key(balance, index), true).await
    }

    /// Commits a debit one shard covers: the shard conditioned on its epoch
    /// and sequence as read, its marker, its ledger entry and events.
    /// `Refused` at 0 when the shard moved on; at 1 when the key was used.
    pub async fn commit_shard_debit(
        &self,
        of: &Balance,
        before: &BalanceShard,
        debit: &ShardDebit,
        once: Option<EntryOnce<'_>>,
        events: &[Event],
        answer: Option<&AnswerRecord>,
    ) -> Result<Written, ApiError> {
        let (after, entry) = (&debit.shard, &debit.entry);
        let mut actions = vec![self.shard_put(of, after, Some(before))?];
        if let Some(once) = once {
            let mut marker = once_key(&of.business_id, &of.credit_entitlement_id, &of.customer_id, once);
            marker.insert("entry_id".into(), s(&entry.id));
            actions.push(super::put_new(&self.table, marker)?);
        }
        let mut item = to_item(entry)?;
        item.extend(key(
            shard_ledger_partition(of, after.index),
            shard_ledger_sort(after, &entry.created_at),
        ));
        item.insert("epoch".into(), AttributeValue::N(after.epoch.to_string()));
        item.insert("seq".into(), AttributeValue::N(after.seq.to_string()));
        actions.push(super::put_new(&self.table, item)?);
        actions.extend(event_puts(&self.table, events)?);
        self.commit(actions, answer).await
    }

    /// Takes back what `shards` still hold free (allowance set to what each
    /// spent, its sequence moved), each under its epoch only: a fence that
    /// lost to their debits then reads them at rest. A shard a fence already
    /// moved on is left as it is.
    pub async fn freeze_shards(&self, of: &Balance, shards: &[BalanceShard]) -> Result<(), ApiError> {
        let freezes = shards.iter().map(|shard| async move {
            let result = self
                .db
                .update_item()
                .table_name(&self.table)
                .set_key(Some(shard_key(of, shard.index)))
                .update_expression("SET allowance = spent, seq = seq + :one")
                .condition_expression("epoch = :epoch")
                .expression_attribute_values(":one", AttributeValue::N("1".into()))
                .expression_attribute_values(":epoch", AttributeValue::N(shard.epoch.to_string()))
                .send()
                .await;
            super::unless_refused(result).map(|_| ())
        });
        futures_util::future::try_join_all(freezes).await?;
        Ok(())
    }

    /// Moves allowance between two shards (`shards::rebalance`), each as read.
    pub async fn commit_shard_move(
        &self,
        of: &Balance,
        read: [&BalanceShard; 2],
        after: [&BalanceShard; 2],
    ) -> Result<Written, ApiError> {
        let actions = vec![
            self.shard_put(of, after[0], Some(read[0]))?,
            self.shard_put(of, after[1], Some(read[1]))?,
        ];
        self.commit(actions, None).await
    }

    /// The writes of a fence's shards: each one read is rewritten (or
    /// removed) only as read, each new one only where none is.
    pub(super) fn fence_actions(&self, of: &Balance, fence: &Fence<'_>) -> Result<Vec<TransactWriteItem>, ApiError> {
        let mut actions = Vec::new();
        for next in fence.next {
            let read = fence.read.iter().find(|r| r.index == next.index);
            actions.push(self.shard_put(of, next, read)?);
        }
        for gone in fence
            .read
            .iter()
            .filter(|r| fence.next.iter().all(|n| n.index != r.index))
        {
            let (condition, values) = as_read(gone);
            let mut delete = Delete::builder()
                .table_name(&self.table)
                .set_key(Some(shard_key(of, gone.index)))
                .condition_expression(condition);
            for (name, value) in values {
                delete = delete.expression_attribute_values(name, value);
            }
            actions.push(
                TransactWriteItem::builder()
                    .delete(delete.build().map_err(ApiError::internal)?)
                    .build(),
            );
        }
        Ok(actions)
    }

    fn shard_put(
        &self,
        of: &Balance,
        shard: &BalanceShard,
        read: Option<&BalanceShard>,
    ) -> Result<TransactWriteItem, ApiError> {
        let mut item = to_item(shard)?;
        item.extend(shard_key(of, shard.index));
        let mut put = Put::builder().table_name(&self.table).set_item(Some(item));
        put = match read {
            None => put.condition_expression("attribute_not_exists(pk)"),
            Some(read) => {
                let (condition, values) = as_read(read);
                values
                    .into_iter()
                    .fold(put.condition_expression(condition), |put, (name, value)| {
                        put.expression_attribute_values(name, value)
                    })
            }
        };
        Ok(TransactWriteItem::builder()
            .put(put.build().map_err(ApiError::internal)?)
            .build())
    }

    /// Switches how `before` is split (`after` at the next version, its
    /// `split` as wanted, what the shards spent settled onto the grants
    /// `spent`): the balance as read and every shard as read.
    pub async fn commit_balance_split(
        &self,
        before: &Balance,
        after: &Balance,
        spent: &[(String, Credits)],
        fence: Fence<'_>,
    ) -> Result<Written, ApiError> {
        let mut actions = vec![self.balance_put(before, after)?];
        let partition = balance_partition(&after.business_id, &after.credit_entitlement_id, &after.customer_id);
        for (grant_id, remaining) in spent {
            actions.push(self.grant_spent(&partition, grant_id, remaining, false, &after.updated_at)?);
        }
        actions.extend(self.fence_actions(after, &fence)?);
        self.commit(actions, None).await
    }

    /// A split balance's ledger: its own entries and its shards', merged in
    /// the order they were made (a fence's entry, then the debits of the
    /// epoch it began, by time), each shard entry's numbers chained from the
    /// entry before it. The cursor holds where each ledger was left and the
    /// numbers there; a numbered page starts from the nearest page end
    /// remembered (a bookmark, as every list).
    pub async fn list_split_ledger(
        &self,
        balance: &Balance,
        filter: LedgerFilter<'_>,
        page: &PageRequest,
    ) -> Result<Page<LedgerEntry>, ApiError> {
        let mut sources: Vec<Source> = std::iter::once(balance_partition(
            &balance.business_id,
            &balance.credit_entitlement_id,
            &balance.customer_id,
        ))
        .chain((0..balance.ledger_shards).map(|i| shard_ledger_partition(balance, i)))
        .enumerate()
        .map(|(i, partition)| Source::new(partition, i > 0))
        .collect();
        // A numbered page starts where the nearest page before it was remembered to end.
        let bookmarks = match page.start {
            PageStart::Number(_) => Some(format!(
                "PAGES#{}",
                crate::digest::sha256_hex(format!(
                    "split ledger\n{}\n{:?}\n{:?}\n{:?}\n{}",
                    sources[0].partition, filter.transaction_type, filter.start, filter.end, page.size
                ))
            )),
            _ => None,
        };
        let (mut skip, mut from) = (0, None);
        match (&page.start, bookmarks.as_deref()) {
            (PageStart::After(cursor), _) => from = Some(cursor.clone()),
            (PageStart::Number(n @ 2..), Some(partition)) => match self.nearest_bookmark(partition, n - 1).await? {
                Some((ended, cursor)) => {
                    skip = usize::try_from(n - 1 - ended)
                        .unwrap_or(usize::MAX)
                        .saturating_mul(page.size);
                    from = Some(cursor);
                }
                None => skip = page.items_before(),
            },
            _ => {}
        }
        let mut running = None;
        if let Some(cursor) = from {
            running = self.start_after(&mut sources, balance, &cursor).await?;
        }
        let matches = |e: &LedgerEntry| {
            filter.transaction_type.is_none_or(|t| e.transaction_type.as_str() == t)
                && filter
                    .start
                    .as_deref()
                    .is_none_or(|start| e.created_at.as_str() >= start)
                && filter.end.as_deref().is_none_or(|end| e.created_at.as_str() <= end)
        };
        let mut items = Vec::new();
        loop {
            for source in sources.iter_mut() {
                source.fill(self).await?;
            }
            let Some(next) = sources
                .iter()
                .enumerate()
                .filter_map(|(i, s)| s.head().map(|h| (h, i)))
                .min()
                .map(|(_, i)| i)
            else {
                break;
            };
            let (sort, mut entry) = sources[next].pop();
            let mut one = [(entry, sources[next].from_shard)];
            running = chain(&mut one, running);
            [(entry, _)] = one;
            sources[next].after = Some(sort);
            if !matches(&entry) {
                continue;
            }
            if skip > 0 {
                skip -= 1;
                continue;
            }
            items.push(entry);
            if items.len() == page.size {
                break;
            }
        }
        for source in sources.iter_mut() {
            source.fill(self).await?;
        }
        let more = sources.iter().any(|s| s.head().is_some());
        let next_cursor = match (more, running) {
            (true, Some((balance, overage))) => {
                let mut at: BTreeMap<String, String> = sources
                    .iter()
                    .enumerate()
                    .filter_map(|(i, s)| Some((format!("l{i}"), s.after.clone()?)))
                    .collect();
                at.insert("balance".into(), balance.to_string());
                at.insert("overage".into(), overage.to_string());
                Some(Cursor::from_map(at))
            }
            _ => None,
        };
        if let (Some(partition), PageStart::Number(n @ 2..), Some(next)) = (&bookmarks, &page.start, &next_cursor) {
            self.remember_page_end(partition, *n, next).await;
        }
        Ok(Page {
            items,
            next_cursor: next_cursor.map(|c| c.encode()),
        })
    }

    /// Puts each ledger where `cursor` left it; the balance and overage there.
    /// A cursor of the ledger before it was split names the balance's own
    /// entry (`sk`), whose numbers are read back.
    async fn start_after(
        &self,
        sources: &mut [Source],
        balance: &Balance,
        cursor: &Cursor,
    ) -> Result<Option<(Credits, Credits)>, ApiError> {
        let invalid = || ApiError::validation("cursor", "is not a cursor this list returned");
        if let (Some(sort), None) = (cursor.get("sk"), cursor.get("l0")) {
            let partition = balance_partition(
                &balance.business_id,
                &balance.credit_entitlement_id,
                &balance.customer_id,
            );
            let entry: LedgerEntry = self.get_as(key(partition, sort), true).await?.ok_or_else(invalid)?;
            sources[0].after = Some(sort.to_string());
            return Ok(Some((entry.balance_after, entry.overage_after)));
        }
        for (i, source) in sources.iter_mut().enumerate() {
            source.after = cursor.get(&format!("l{i}")).map(str::to_string);
        }
        let number = |name: &str| -> Result<Option<Credits>, ApiError> {
            cursor
                .get(name)
                .map(|t| serde_json::from_value(serde_json::Value::String(t.to_string())).map_err(|_| invalid()))
                .transpose()
        };
        Ok(number("balance")?.zip(number("overage")?))
    }
}

/// Where a merged ledger stands in one of its ledgers.
struct Source {
    partition: String,
    from_shard: bool,
    /// The sort key of the last entry taken.
    after: Option<String>,
    read: VecDeque<(String, LedgerEntry, (u64, u64))>,
    /// Where the next read starts, None when the partition has no more.
    next: Option<Option<String>>,
}

/// How many entries one read of a ledger takes.
const LEDGER_READ: i32 = 100;

impl Source {
    fn new(partition: String, from_shard: bool) -> Self {
        Self {
            partition,
            from_shard,
            after: None,
            read: VecDeque::new(),
            next: Some(None),
        }
    }

    /// The order of its next entry among all: (epoch, a fence's entry
    /// first, then by time), None when it has no more.
    fn head(&self) -> Option<(u64, bool, &str, u64)> {
        self.read
            .front()
            .map(|(_, e, (epoch, seq))| (*epoch, self.from_shard, e.created_at.as_str(), *seq))
    }

    fn pop(&mut self) -> (String, LedgerEntry) {
        let (sort, entry, _) = self.read.pop_front().expect("a head was found");
        (sort, entry)
    }

    /// Reads more when nothing read is left and the partition has more.
    async fn fill(&mut self, store: &Store) -> Result<(), ApiError> {
        while self.read.is_empty() {
            let Some(start) = self.next.take() else {
                return Ok(());
            };
            self.read_after(store, start).await?;
        }
        Ok(())
    }

    async fn read_after(&mut self, store: &Store, start: Option<String>) -> Result<(), ApiError> {
        let from = start.or_else(|| self.after.clone());
        let mut query = store
            .db
            .query()
            .table_name(&store.table)
            .consistent_read(true)
            .limit(LEDGER_READ)
            .expression_attribute_values(":pk", s(&self.partition))
            .expression_attribute_values(":to", s("LEDGER#~"));
        query = match &from {
            Some(after) => query
                .key_condition_expression("pk = :pk AND sk BETWEEN :from AND :to")
                .expression_attribute_values(":from", s(after)),
            None => query
                .key_condition_expression("pk = :pk AND sk BETWEEN :from AND :to")
                .expression_attribute_values(":from", s("LEDGER#")),
        };
        let output = query.send().await.map_err(sdk_error)?;
        for mut item in output.items.unwrap_or_default() {
            let sort = item.get("sk").and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
            if Some(&sort) == from.as_ref() {
                continue;
            }
            let number = |item: &mut Item, name: &str| {
                item.remove(name)
                    .and_then(|v| v.as_n().ok().and_then(|n| n.parse::<u64>().ok()))
            };
            // A fence's entry is ordered by the version it made (its sort key).
            let order = match self.from_shard {
                true => (
                    number(&mut item, "epoch").unwrap_or(0),
                    number(&mut item, "seq").unwrap_or(0),
                ),
                false => (sort.trim_start_matches("LEDGER#").parse().unwrap_or(0), 0),
            };
            let entry: LedgerEntry = from_item(item)?;
            self.read.push_back((sort, entry, order));
        }
        self.next = output
            .last_evaluated_key
            .and_then(|k| k.get("sk").and_then(|v| v.as_s().ok()).cloned())
            .map(Some);
        Ok(())
    }
}
