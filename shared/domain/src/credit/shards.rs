//! A hot balance split over shard items, so its debits are not bound by one
//! item's writes a second (DynamoDB takes about 1,000).
//!
//! The balance item keeps its grants, overage and cycle. A *fence* (every
//! change but a debit one shard covers: a credit, expiry, rollover, reset, a
//! debit into overage, switching) settles what the shards spent onto the
//! grants, oldest first, decides the change by the balance's own rule as if it
//! were never split, and hands each shard an allowance again: together at most
//! what the balance can spend without going below zero, below its cycle's
//! low-balance threshold or past a grant's expiry. A debit within its shard's
//! allowance is one write to that shard alone, so never-below-zero holds with
//! no read of the balance, and a refusal (400) is only ever decided by a fence
//! from a consistent read.

use super::{Balance, Credits, EntryInput, EntryType, LedgerEntry, TransactionType};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// A fence writes the balance, every shard and each grant it settles (up to
/// `LIVE_GRANTS_MAX`) in one transaction of at most 100 actions.
pub const MAX_BALANCE_SHARDS: u32 = 16;
/// Fewer than this is no split.
pub const MIN_BALANCE_SHARDS: u32 = 2;

/// What the balance records of its split.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Split {
    pub count: u32,
    /// The balance's version at the fence that made it; every shard carries it.
    pub epoch: u64,
    /// What was handed out and from which grants, oldest first: what the
    /// shards spend is settled from these, in this order.
    pub handed: Vec<(String, Credits)>,
}

/// One shard of a split balance: its allowance of this epoch and what it spent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BalanceShard {
    pub index: u32,
    pub epoch: u64,
    pub allowance: Credits,
    pub spent: Credits,
    /// Debits it made in this epoch: every write is conditioned on it.
    pub seq: u64,
    /// No debit here from this time on (the earliest expiry handed out).
    pub spend_until: Option<String>,
    /// Its newest debit's time: the next is never earlier, so its ledger reads in order.
    pub last_at: String,
    /// The balance and overage the fence left: a debit here answers with the
    /// balance as this shard knows it (that less what it spent since).
    pub balance_at_fence: Credits,
    pub overage_at_fence: Credits,
}

/// A debit one shard covers: the shard after it and the ledger entry.
#[derive(Clone, Debug)]
pub struct ShardDebit {
    pub shard: BalanceShard,
    pub entry: LedgerEntry,
}

/// The shards read do not belong to the balance's split (a fence committed
/// between the reads): read again.
#[derive(Debug, PartialEq, Eq)]
pub struct Stale;

/// A split balance with its shards' spending applied.
#[derive(Clone, Debug, PartialEq)]
pub struct Settled {
    /// As if never split: the grants and numbers the rules decide from; its
    /// version is the stored balance's, which a fence is conditioned on.
    pub balance: Balance,
    /// The grants the shards spent from and what each has left.
    pub spent: Vec<(String, Credits)>,
}

impl BalanceShard {
    fn free(&self) -> Credits {
        self.allowance.minus(self.spent)
    }

    /// Whether a grant handed out has reached its expiry by `now`: then only a fence may debit.
    pub fn past_expiry(&self, now: OffsetDateTime) -> bool {
        let at = crate::timestamp::rfc3339(now);
        self.spend_until.as_deref().is_some_and(|until| at.as_str() >= until)
    }

    /// A debit of `input.amount` this shard covers alone at `now`; None when
    /// it cannot (past its allowance, or a grant handed out reached its
    /// expiry): a fence decides it. The entry's numbers are the balance as
    /// this shard knows it (the fence's, less what this shard spent since):
    /// exact but for the other shards' debits since the fence, which a read of
    /// the ledger chains in (`chain`).
    pub fn debit(&self, of: &Balance, input: &EntryInput, entry_id: String, now: OffsetDateTime) -> Option<ShardDebit> {
        let at = crate::timestamp::rfc3339(now).max(self.last_at.clone());
        if input.entry_type != EntryType::Debit
            || input.amount > self.free()
            || self.spend_until.as_deref().is_some_and(|until| at.as_str() >= until)
        {
            return None;
        }
        let mut shard = self.clone();
        shard.spent = self.spent.plus(input.amount);
        shard.seq += 1;
        shard.last_at = at.clone();
        let entry = LedgerEntry {
            id: entry_id,
            business_id: of.business_id.clone(),
            brand_id: of.business_id.clone(),
            credit_entitlement_id: of.credit_entitlement_id.clone(),
            customer_id: of.customer_id.clone(),
            amount: input.amount,
            is_credit: false,
            entry_type: EntryType::Debit,
            transaction_type: TransactionType::CreditDeducted,
            balance_before: self.balance_at_fence.minus(self.spent),
            balance_after: self.balance_at_fence.minus(shard.spent),
            overage_before: self.overage_at_fence,
            overage_after: self.overage_at_fence,
            grant_id: None,
            reason: input.reason.clone(),
            description: input.reason.clone(),
            reference_id: None,
            reference_type: None,
            metadata: input.metadata.clone(),
            created_at: at,
        };
        Some(ShardDebit { shard, entry })
    }
}

/// For a debit of `need` that shard `to` cannot cover: allowance moved to it
/// from the shard with the most free (what it lacks, or half that shard's
/// free if more, so a burst spreads again), both shards as they are after.
/// None when it covers the debit already or no one shard can make up the lack:
/// a fence decides then.
pub fn rebalance(shards: &[BalanceShard], to: u32, need: Credits) -> Option<(BalanceShard, BalanceShard)> {
    let taker = shards.iter().find(|s| s.index == to)?;
    let lack = need.0 - taker.free().0;
    if lack <= Decimal::ZERO {
        return None;
    }
    let giver = shards
        .iter()
        .filter(|s| s.index != to)
        .max_by_key(|s| (s.free(), std::cmp::Reverse(s.index)))?;
    let free = giver.free().0;
    if free < lack {
        return None;
    }
    let half = Decimal::from_i128_with_scale((free.mantissa() + 1) / 2, free.scale());
    let moved = Credits(lack.max(half).min(free));
    let (mut giver, mut taker) = (giver.clone(), taker.clone());
    giver.allowance = giver.allowance.minus(moved);
    taker.allowance = taker.allowance.plus(moved);
    giver.seq += 1;
    taker.seq += 1;
    Some((giver, taker))
}

impl Balance {
    /// The balance with what `shards` spent taken from the grants handed out,
    /// in the order handed (as debits here would have taken them), and the
    /// split cleared. `Stale` unless `shards` are exactly the split's.
    pub fn settled(&self, shards: &[BalanceShard]) -> Result<Settled, Stale> {
        let Some(split) = &self.split else {
            return match shards.is_empty() {
                true => Ok(Settled {
                    balance: self.clone(),
                    spent: Vec::new(),
                }),
                false => Err(Stale),
            };
        };
        let ours = shards.len() == split.count as usize
            && shards
                .iter()
                .enumerate()
                .all(|(i, s)| s.index as usize == i && s.epoch == split.epoch);
        if !ours {
            return Err(Stale);
        }
        let zero = self.balance.zeroed();
        let total = shards.iter().fold(zero, |sum, s| sum.plus(s.spent));
        let mut balance = self.clone();
        balance.split = None;
        balance.balance = self.balance.minus(total);
        if let Some(last) = shards.iter().filter(|s| s.seq > 0).map(|s| &s.last_at).max() {
            balance.last_transaction_at = balance.last_transaction_at.max(Some(last.clone()));
            balance.updated_at = balance.updated_at.clone().max(last.clone());
        }
        let mut left = total;
        let mut spent = Vec::new();
        for (id, handed) in &split.handed {
            if left.is_zero() {
                break;
            }
            let take = left.min(*handed);
            left = left.minus(take);
            let grant = balance.live.get_mut(id).ok_or(Stale)?;
            grant.remaining = grant.remaining.minus(take);
            spent.push((id.clone(), grant.remaining));
            if grant.remaining.is_zero() {
                balance.live.remove(id);
            }
        }
        // The shards never spend more than was handed out.
        if !left.is_zero() {
            return Err(Stale);
        }
        Ok(Settled { balance, spent })
    }

    /// This balance (as a fence leaves it) split over `count` shards again
    /// (None: not split), with the shards to write. What is handed out is
    /// what debits may take without a fence: the spendable grants, oldest
    /// first, but never below the cycle's low-balance threshold while it is
    /// unreported (the debit crossing it is a fence, which reports it).
    pub fn split_over(
        mut self,
        count: Option<u32>,
        shards_before: &[BalanceShard],
        at: &str,
    ) -> (Balance, Vec<BalanceShard>) {
        let Some(count) = count else {
            self.split = None;
            return (self, Vec::new());
        };
        let zero = self.balance.zeroed();
        let spendable = self
            .live
            .values()
            .filter(|g| g.spendable_at(at))
            .fold(zero, |sum, g| sum.plus(g.remaining));
        let mut room = spendable;
        if let Some(threshold) = self.unreported_threshold() {
            let above = (self.balance.0 - threshold).max(Decimal::ZERO);
            room = room.min(Credits(above.trunc_with_scale(zero.0.scale())));
        }
        let mut handed = Vec::new();
        let mut spend_until: Option<String> = None;
        let mut left = room;
        for (id, grant) in self.live.iter().filter(|(_, g)| g.spendable_at(at)) {
            if left.is_zero() {
                break;
            }
            let take = left.min(grant.remaining);
            left = left.minus(take);
            handed.push((id.clone(), take));
            if let Some(expiry) = &grant.expires_at {
                spend_until = Some(spend_until.map_or(expiry.clone(), |u| u.min(expiry.clone())));
            }
        }
        let epoch = self.version;
        let shares = shares(room, count);
        let last_at = shards_before
            .iter()
            .map(|s| s.last_at.clone())
            .max()
            .map_or(at.to_string(), |last| last.max(at.to_string()));
        let shards = shares
            .into_iter()
            .enumerate()
            .map(|(i, allowance)| BalanceShard {
                index: i as u32,
                epoch,
                allowance,
                spent: zero,
                seq: 0,
                spend_until: spend_until.clone(),
                last_at: last_at.clone(),
                balance_at_fence: self.balance,
                overage_at_fence: self.overage,
            })
            .collect();
        self.ledger_shards = self.ledger_shards.max(count);
        self.split = Some(Split { count, epoch, handed });
        (self, shards)
    }

    /// The same balance at the next version, changed only in how it is
    /// split (a switch, which writes no ledger entry).
    pub fn next_version(&self, at: &str) -> Balance {
        let mut next = self.clone();
        next.version += 1;
        next.updated_at = at.to_string();
        next
    }

    /// The cycle's low-balance amount while `credit.balance_low` is unsent.
    fn unreported_threshold(&self) -> Option<Decimal> {
        let cycle = self.cycle.as_ref().filter(|c| !c.low_reported)?;
        Some(cycle.credits.0 * Decimal::from(cycle.threshold_percent?) / Decimal::ONE_HUNDRED)
    }
}

/// `total` in `count` shares at its scale, as even as the smallest unit allows.
fn shares(total: Credits, count: u32) -> Vec<Credits> {
    let scale = total.0.scale();
    let units = total.0.mantissa();
    let n = i128::from(count);
    (0..n)
        .map(|i| {
            Credits(Decimal::from_i128_with_scale(
                units / n + i128::from(i < units % n),
                scale,
            ))
        })
        .collect()
}

/// A split balance's ledger as read, fences' entries and shards' in order:
/// each shard's entry gets its balance and overage before and after from the
/// entry before it (`running`: the last one's after). Returns the running
/// numbers after the last entry.
pub fn chain(
    entries: &mut [(LedgerEntry, bool)],
    mut running: Option<(Credits, Credits)>,
) -> Option<(Credits, Credits)> {
    for (entry, from_shard) in entries.iter_mut() {
        if let (true, Some((balance, overage))) = (*from_shard, running) {
            entry.balance_before = balance;
            entry.balance_after = balance.minus(entry.amount);
            entry.overage_before = overage;
            entry.overage_after = overage;
        }
        running = Some((entry.balance_after, entry.overage_after));
    }
    running
}

#[cfg(test)]
mod tests {
    use super::super::tests::{credited, entitlement, input};
    use super::*;
    use crate::credit::CreditEntitlement;

    fn funded(e: &CreditEntitlement, amounts: &[&str]) -> Balance {
        credited(Balance::opened("cbal".into(), e, "cus", NOW), e, amounts)
    }

    fn at(text: &str) -> OffsetDateTime {
        crate::timestamp::parse_rfc3339(text).unwrap()
    }

    const NOW: &str = "2026-06-01T00:00:00.000Z";

    #[test]
    fn shares_add_up_to_the_whole_in_the_smallest_unit() {
        let e = entitlement(2, None);
        let total = input("10.01", EntryType::Credit, &e).amount;
        let parts = shares(total, 3);
        assert_eq!(
            parts.iter().map(|p| p.to_string()).collect::<Vec<_>>(),
            ["3.34", "3.34", "3.33"]
        );
        let zero = total.zeroed();
        assert_eq!(parts.iter().fold(zero, |s, p| s.plus(*p)), total);
    }

    #[test]
    fn a_split_hands_out_the_spendable_credits_and_settles_oldest_first() {
        let e = entitlement(0, None);
        let balance = funded(&e, &["5", "7"]);
        let (split, shards) = balance.clone().split_over(Some(4), &[], NOW);
        assert_eq!(
            shards.iter().map(|s| s.allowance.to_string()).collect::<Vec<_>>(),
            ["3", "3", "3", "3"]
        );
        assert_eq!(split.split.as_ref().unwrap().epoch, balance.version);
        // Shard 3 spends 3 and shard 0 spends 2: the oldest grant gives 5.
        let mut shards = shards;
        for (i, k) in [(3usize, "3"), (0, "2")] {
            let debit = shards[i]
                .debit(&split, &input(k, EntryType::Debit, &e), "cle".into(), at(NOW))
                .unwrap();
            shards[i] = debit.shard;
        }
        let settled = split.settled(&shards).unwrap();
        assert_eq!(settled.balance.balance.to_string(), "7");
        assert_eq!(settled.balance.live.len(), 1);
        assert_eq!(settled.spent.len(), 1);
        assert!(settled.spent[0].1.is_zero());
        assert_eq!(settled.balance.split, None);
    }

    #[test]
    fn a_shard_refuses_what_it_does_not_hold_and_after_an_expiry() {
        let e = entitlement(0, None);
        let mut balance = funded(&e, &["4"]);
        balance.live.values_mut().next().unwrap().expires_at = Some("2026-06-02T00:00:00.000Z".into());
        let (split, shards) = balance.split_over(Some(2), &[], NOW);
        let two = input("2", EntryType::Debit, &e);
        let three = input("3", EntryType::Debit, &e);
        assert!(shards[0].debit(&split, &three, "a".into(), at(NOW)).is_none());
        let first = shards[0].debit(&split, &two, "a".into(), at(NOW)).unwrap();
        assert_eq!(first.entry.balance_before.to_string(), "4");
        assert_eq!(first.entry.balance_after.to_string(), "2");
        assert!(first
            .shard
            .debit(&split, &input("1", EntryType::Debit, &e), "b".into(), at(NOW))
            .is_none());
        assert!(shards[1]
            .debit(&split, &two, "c".into(), at("2026-06-02T00:00:00Z"))
            .is_none());
    }

    #[test]
    fn a_shard_short_of_a_debit_takes_allowance_from_the_one_with_most() {
        let e = entitlement(0, None);
        let (split, mut shards) = funded(&e, &["12"]).split_over(Some(3), &[], NOW);
        let three = input("3", EntryType::Debit, &e).amount;
        shards[1] = shards[1]
            .debit(&split, &input("3", EntryType::Debit, &e), "a".into(), at(NOW))
            .unwrap()
            .shard;
        // Shard 1 has 1 free of 4; shard 0 has 4: it gives 2 (half), enough for 3.
        let (giver, taker) = rebalance(&shards, 1, three).unwrap();
        assert_eq!((giver.index, taker.index), (0, 1));
        assert_eq!(
            (giver.free().to_string(), taker.free().to_string()),
            ("2".into(), "3".into())
        );
        assert_eq!((giver.seq, taker.seq), (shards[0].seq + 1, shards[1].seq + 1));
        assert_eq!(rebalance(&shards, 0, three), None, "it covers it already");
        let seven = input("7", EntryType::Debit, &e).amount;
        assert_eq!(rebalance(&shards, 1, seven), None, "no one shard makes up 6");
    }

    #[test]
    fn shards_of_another_split_are_stale() {
        let e = entitlement(0, None);
        let (split, shards) = funded(&e, &["4"]).split_over(Some(2), &[], NOW);
        assert_eq!(split.settled(&shards[..1]), Err(Stale));
        let mut later = split.clone();
        later.split.as_mut().unwrap().epoch += 1;
        assert_eq!(later.settled(&shards), Err(Stale));
        assert_eq!(split.clone().split_over(None, &shards, NOW).0.split, None);
    }

    #[test]
    fn nothing_is_handed_out_below_an_unreported_threshold() {
        let e = entitlement(2, None);
        let mut balance = funded(&e, &["10"]);
        balance.cycle = Some(super::super::Cycle {
            subscription_id: "sub".into(),
            began: None,
            credits: input("10", EntryType::Credit, &e).amount,
            threshold_percent: Some(25),
            low_reported: false,
        });
        let (_, shards) = balance.split_over(Some(2), &[], NOW);
        let handed = shards.iter().fold(Decimal::ZERO, |s, x| s + x.allowance.decimal());
        assert_eq!(handed.to_string(), "7.50");
    }

    #[test]
    fn a_read_chains_shard_entries_between_fences() {
        let e = entitlement(0, None);
        let (split, shards) = funded(&e, &["9"]).split_over(Some(3), &[], NOW);
        let debit = |i: usize| {
            shards[i]
                .debit(&split, &input("2", EntryType::Debit, &e), "x".into(), at(NOW))
                .unwrap()
                .entry
        };
        let mut fence = debit(0);
        fence.balance_before = input("5", EntryType::Credit, &e).amount;
        fence.balance_after = input("3", EntryType::Credit, &e).amount;
        let mut entries = vec![(debit(1), true), (debit(2), true), (fence, false), (debit(0), true)];
        let running = chain(
            &mut entries,
            Some((input("9", EntryType::Credit, &e).amount, split.overage)),
        );
        let numbers: Vec<_> = entries
            .iter()
            .map(|(x, _)| format!("{}>{}", x.balance_before, x.balance_after))
            .collect();
        assert_eq!(numbers, ["9>7", "7>5", "5>3", "3>1"]);
        assert_eq!(running.unwrap().0.to_string(), "1");
    }
}
