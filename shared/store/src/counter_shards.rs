//! Shards of a counter (domain::shards): `pk = SHARD#<counter>#<index>`,
//! `sk = SHARD`, holding `units_cap`, `units_used`, `units_free` and
//! `counter_epoch` (names that are not DynamoDB reserved words). `units_free`
//! is kept beside `units_used` (always cap - used) because a condition cannot
//! subtract: taking `k` units is guarded by `units_free >= k`. The epoch is
//! the counter's state the shard was written under: a write that read an
//! older state fails.
//! `<counter>` is the partition key of the item whose count is split.

use super::{from_item, key, n, Item, Store, Written};
use crate::domain::shards::{Gather, Shard};
use crate::error::ApiError;
use aws_sdk_dynamodb::types::{Delete, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update};

fn shard_key(counter: &str, index: u32) -> Item {
    key(format!("SHARD#{counter}#{index}"), "SHARD")
}

/// A shard as stored.
#[derive(serde::Deserialize)]
pub struct ShardItem {
    #[serde(rename = "shard_index")]
    pub index: u32,
    #[serde(rename = "units_cap")]
    pub cap: i64,
    #[serde(rename = "units_used")]
    pub used: i64,
    #[serde(rename = "counter_epoch")]
    pub epoch: i64,
}

impl ShardItem {
    pub fn shard(&self) -> Shard {
        Shard {
            index: self.index,
            cap: self.cap,
            used: self.used,
        }
    }
}

fn update(
    table: &str,
    counter: &str,
    index: u32,
    expression: &str,
    condition: &str,
    values: Vec<(&str, aws_sdk_dynamodb::types::AttributeValue)>,
) -> Result<TransactWriteItem, ApiError> {
    let mut update = Update::builder()
        .table_name(table)
        .set_key(Some(shard_key(counter, index)))
        .update_expression(expression)
        .condition_expression(condition)
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
    for (name, value) in values {
        update = update.expression_attribute_values(name, value);
    }
    Ok(TransactWriteItem::builder()
        .update(update.build().map_err(ApiError::internal)?)
        .build())
}

/// `units` more used on one shard, if it has them free under `epoch`.
pub(super) fn take(
    table: &str,
    counter: &str,
    index: u32,
    epoch: i64,
    units: i64,
) -> Result<TransactWriteItem, ApiError> {
    update(
        table,
        counter,
        index,
        "SET units_used = units_used + :k, units_free = units_free - :k",
        "counter_epoch = :e AND units_free >= :k",
        vec![(":k", n(units)), (":e", n(epoch))],
    )
}

/// `units` given back to one shard that used them, under `epoch`.
pub(super) fn give_back(
    table: &str,
    counter: &str,
    index: u32,
    epoch: i64,
    units: i64,
) -> Result<TransactWriteItem, ApiError> {
    update(
        table,
        counter,
        index,
        "SET units_used = units_used - :k, units_free = units_free + :k",
        "counter_epoch = :e AND units_used >= :k",
        vec![(":k", n(units)), (":e", n(epoch))],
    )
}

/// The shards of a counter being split, none of them there before.
pub(super) fn create(
    table: &str,
    counter: &str,
    shards: &[Shard],
    epoch: i64,
) -> Result<Vec<TransactWriteItem>, ApiError> {
    shards
        .iter()
        .map(|shard| {
            let mut item = shard_key(counter, shard.index);
            item.insert("shard_index".into(), n(shard.index));
            item.insert("units_cap".into(), n(shard.cap));
            item.insert("units_used".into(), n(shard.used));
            item.insert("units_free".into(), n(shard.free()));
            item.insert("counter_epoch".into(), n(epoch));
            super::put_new(table, item)
        })
        .collect()
}

/// The shards of a counter being merged, each as it was read: what they
/// used is then exactly what the merged count takes over.
pub(super) fn delete(
    table: &str,
    counter: &str,
    shards: &[Shard],
    epoch: i64,
) -> Result<Vec<TransactWriteItem>, ApiError> {
    shards
        .iter()
        .map(|shard| {
            let delete = Delete::builder()
                .table_name(table)
                .set_key(Some(shard_key(counter, shard.index)))
                .condition_expression("counter_epoch = :e AND units_used = :u")
                .expression_attribute_values(":e", n(epoch))
                .expression_attribute_values(":u", n(shard.used))
                .build()
                .map_err(ApiError::internal)?;
            Ok(TransactWriteItem::builder().delete(delete).build())
        })
        .collect()
}

/// Every shard moves to epoch `next`, its cap by `deltas[i]` (a shard gives
/// up only units it has free), for a change of the counter's state or bound.
pub(super) fn advance(
    table: &str,
    counter: &str,
    deltas: &[i64],
    epoch: i64,
    next: i64,
) -> Result<Vec<TransactWriteItem>, ApiError> {
    deltas
        .iter()
        .enumerate()
        .map(|(index, &delta)| {
            update(
                table,
                counter,
                index as u32,
                "SET units_cap = units_cap + :d, units_free = units_free + :d, counter_epoch = :next",
                "counter_epoch = :e AND units_free >= :need",
                vec![
                    (":d", n(delta)),
                    (":need", n((-delta).max(0))),
                    (":e", n(epoch)),
                    (":next", n(next)),
                ],
            )
        })
        .collect()
}

/// An item, others beside it and the shards of the counters it splits, as
/// read at one instant (`Store::with_shards`).
pub(super) struct AtOnce<T> {
    pub item: Option<T>,
    /// Each as asked, `None` where absent.
    pub others: Vec<Option<Item>>,
    /// Each counter the item splits, with its shards by index.
    pub shards: Vec<(String, Vec<ShardItem>)>,
}

impl<T> AtOnce<T> {
    /// What the shards of `counter` used, if the item splits it.
    pub fn used(&self, counter: &str) -> Option<i64> {
        self.shards
            .iter()
            .find(|(c, _)| c == counter)
            .map(|(_, shards)| shards.iter().map(|s| s.used).sum())
    }
}

/// The shards to read next: as many of each counter as either split named,
/// or only what the last one named when that would not fit in `room`.
fn wider(read: &[(String, u32)], said: &[(String, u32)], room: u32) -> Vec<(String, u32)> {
    let mut wider = read.to_vec();
    for (counter, count) in said {
        match wider.iter_mut().find(|(c, _)| c == counter) {
            Some((_, n)) => *n = (*n).max(*count),
            None => wider.push((counter.clone(), *count)),
        }
    }
    if wider.iter().map(|(_, n)| n).sum::<u32>() > room {
        return said.to_vec();
    }
    wider
}

impl Written {
    /// The shard as it refused (action `at`), when its condition alone failed.
    pub fn shard_that_refused(&self, at: usize) -> Result<Option<ShardItem>, ApiError> {
        self.refused_only_by(at)
    }
}

impl Store {
    /// Every shard of a counter split in `count`, by index, all as they were
    /// at one instant, so their sum is a count the counter really had; fewer
    /// when the counter was merged meanwhile.
    pub async fn shards(&self, counter: &str, count: u32) -> Result<Vec<ShardItem>, ApiError> {
        let keys = (0..count).map(|i| shard_key(counter, i)).collect();
        self.snapshot_as(keys).await
    }

    /// `first` and `others`, with the shards of every counter `first` splits
    /// (`splits`: each counter and its shard count), all as they were at one
    /// instant: what a refusal or a shown count is decided from. Shards are
    /// read on the word of an earlier read; a shard's key does not change
    /// with the split, so a counter split again into no more shards than were
    /// read is answered from the same read, and only one split into more is
    /// read again. It fits one transaction's 100 items: a key splits into at
    /// most 32 shards, and an organization's pools into 32 in all, read with
    /// at most 50 seats.
    pub(super) async fn with_shards<T: serde::de::DeserializeOwned>(
        &self,
        first: Item,
        others: Vec<Item>,
        splits: impl Fn(&T) -> Vec<(String, u32)>,
    ) -> Result<AtOnce<T>, ApiError> {
        let mut guess: Vec<(String, u32)> = Vec::new();
        for _ in 0..6 {
            let mut keys = vec![first.clone()];
            keys.extend(others.iter().cloned());
            keys.extend(
                guess
                    .iter()
                    .flat_map(|(counter, count)| (0..*count).map(|i| shard_key(counter, i))),
            );
            let mut items = self.snapshot(keys).await?.into_iter();
            let item: Option<T> = items.next().flatten().map(from_item).transpose()?;
            let others: Vec<Option<Item>> = items.by_ref().take(others.len()).collect();
            let said = item.as_ref().map(&splits).unwrap_or_default();
            let read = |counter: &str| guess.iter().find(|(c, _)| c == counter).map_or(0, |(_, n)| *n);
            if said.iter().any(|(counter, count)| *count > read(counter)) {
                guess = wider(&guess, &said, 99 - others.len() as u32);
                continue;
            }
            let mut shards = Vec::with_capacity(said.len());
            for (counter, read) in &guess {
                let block: Vec<Option<Item>> = items.by_ref().take(*read as usize).collect();
                if let Some((_, count)) = said.iter().find(|(c, _)| c == counter) {
                    let of_counter = block.into_iter().take(*count as usize).flatten().map(from_item);
                    shards.push((counter.clone(), of_counter.collect::<Result<_, _>>()?));
                }
            }
            return Ok(AtOnce { item, others, shards });
        }
        Err(ApiError::unavailable(
            "a counter was split into more shards during every read",
        ))
    }

    /// Gathers units into one shard of the counter, under `epoch`: free
    /// units, or (`used`) used units with as much cap, so the free ones stay.
    pub async fn gather_units(
        &self,
        counter: &str,
        epoch: i64,
        gather: &Gather,
        used: bool,
    ) -> Result<Written, ApiError> {
        let moved = if used { "units_used" } else { "units_free" };
        let total: i64 = gather.from.iter().map(|(_, units)| units).sum();
        let mut actions = Vec::with_capacity(gather.from.len() + 1);
        for &(from, units) in &gather.from {
            actions.push(update(
                &self.table,
                counter,
                from,
                &format!("SET units_cap = units_cap - :m, {moved} = {moved} - :m"),
                &format!("counter_epoch = :e AND {moved} >= :m"),
                vec![(":m", n(units)), (":e", n(epoch))],
            )?);
        }
        actions.push(update(
            &self.table,
            counter,
            gather.to,
            &format!("SET units_cap = units_cap + :m, {moved} = {moved} + :m"),
            "counter_epoch = :e",
            vec![(":m", n(total)), (":e", n(epoch))],
        )?);
        self.commit(actions, None).await
    }
}

#[cfg(test)]
mod tests {
    use super::wider;

    fn split(counters: &[(&str, u32)]) -> Vec<(String, u32)> {
        counters.iter().map(|(c, n)| (c.to_string(), *n)).collect()
    }

    #[test]
    fn the_next_read_covers_both_splits_while_they_fit() {
        let read = split(&[("a", 8)]);
        assert_eq!(wider(&read, &split(&[("a", 3)]), 99), split(&[("a", 8)]));
        assert_eq!(
            wider(&read, &split(&[("a", 12), ("b", 4)]), 99),
            split(&[("a", 12), ("b", 4)])
        );
        assert_eq!(wider(&read, &split(&[("b", 32)]), 39), split(&[("b", 32)]));
    }
}
