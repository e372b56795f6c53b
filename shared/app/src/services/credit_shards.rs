//! A hot balance split over shards (`domain::credit::shards`): the debit a
//! shard covers alone, reads that add what the shards spent, and the
//! operator's switch. Every other change is a fence, made by
//! `credits::make_change` like any change of a balance.

use crate::app::App;
use crate::call::Call;
use crate::clock;
use crate::domain::credit::shards::{rebalance, MAX_BALANCE_SHARDS, MIN_BALANCE_SHARDS};
use crate::domain::credit::{Balance, CreditEntitlement, CreditGrant, EntryInput, EntryType, GrantStatus};
use crate::domain::timestamp::rfc3339;
use crate::error::{ApiError, ApiResult};
use crate::ids;
use crate::reply::Reply;
use crate::retry::{until_done, Attempt, Conflicts};
use crate::services::events::Events;
use crate::store::{EntryOnce, Fence, Page, PageRequest, Written};
use rand::Rng;

/// What a debit made on a shard came to.
pub enum OnShard {
    Entry(Reply),
    /// Its `idempotency_key` made an entry before.
    KeyUsed,
}

/// Allowance moves one debit may make before a fence decides it instead.
const MOVES_MAX: u32 = 2;

/// A debit of a split balance that one shard covers: one write to that shard,
/// none to the balance. None when the balance is not split or no shard can
/// cover it alone: then a fence decides it from a consistent read. Whether the
/// balance is split is read eventually consistent (half a strong read, for
/// every debit): a shard read strongly decides, and a stale answer only sends
/// the debit to a fence.
pub(super) async fn debit_on_a_shard(
    app: &App,
    call: &Call,
    entitlement: &CreditEntitlement,
    customer_id: &str,
    input: &EntryInput,
    once: Option<EntryOnce<'_>>,
) -> ApiResult<Option<OnShard>> {
    if input.entry_type != EntryType::Debit {
        return Ok(None);
    }
    let Some(balance) = app
        .store
        .credit_balance_as_split(&entitlement.business_id, &entitlement.id, customer_id)
        .await?
        .filter(|b| b.split.is_some())
    else {
        return Ok(None);
    };
    let balance = &balance;
    let count = balance.split.as_ref().map_or(1, |split| split.count);
    let pick = || rand::thread_rng().gen_range(0..count);
    let mut index = pick();
    let mut moves = 0;
    let budget = Conflicts::hot_item();
    let deadline = budget.deadline();
    until_done!(budget, |conflicts| {
        // Requests of this process at one shard take turns (`turns.rs`).
        let _turn = crate::turns::take(format!("{}#{index}", balance.id), deadline).await?;
        // Switched off since the balance was read: a fence decides.
        let Some(shard) = app.store.balance_shard(balance, index).await? else {
            return Ok(Attempt::Done(None));
        };
        let now = clock::now();
        let Some(debit) = shard.debit(balance, input, ids::new_id("cle"), now) else {
            if shard.past_expiry(now) || moves == MOVES_MAX {
                return Ok(Attempt::Done(None));
            }
            // Short: allowance from another shard, or a fence when none has enough.
            let shards = app.store.balance_shards(balance).await?;
            let Some((giver, taker)) = rebalance(&shards, index, input.amount) else {
                return Ok(Attempt::Done(None));
            };
            let read = |i: u32| shards.iter().find(|s| s.index == i);
            let (Some(giver_read), Some(taker_read)) = (read(giver.index), read(taker.index)) else {
                return Ok(Attempt::Done(None));
            };
            conflicts.before_write()?;
            moves += 1;
            return Ok(
                match app
                    .store
                    .commit_shard_move(balance, [giver_read, taker_read], [&giver, &taker])
                    .await?
                {
                    Written::Done => {
                        conflicts.again();
                        Attempt::Retry
                    }
                    Written::Refused { .. } => {
                        conflicts.again();
                        Attempt::Retry
                    }
                    Written::Conflict => Attempt::Lost,
                },
            );
        };
        // Each shard's events are a subject of their own, so they spread as its writes do.
        let subject = format!("{}#{index}", balance.id);
        let event_type = debit.entry.transaction_type.event_type();
        let events = Events::new(&balance.business_id, now)
            .credit(event_type, &subject, &debit.entry)
            .build();
        let reply = Reply::created(&debit.entry)?;
        conflicts.before_write()?;
        let answer = call.answer(&reply);
        let written = app
            .store
            .commit_shard_debit(balance, &shard, &debit, once, &events, answer.as_ref())
            .await?;
        Ok(match written {
            Written::Done => Attempt::Done(Some(OnShard::Entry(reply))),
            Written::Refused { at: 1, alone: true, .. } if once.is_some() => Attempt::Done(Some(OnShard::KeyUsed)),
            // Another debit of this shard came first (or a fence): decide again from a shard read afresh.
            Written::Refused { .. } => {
                conflicts.again();
                index = pick();
                Attempt::Retry
            }
            // Throttled or cancelled: pause before the next attempt.
            Written::Conflict => Attempt::Lost,
        })
    })
    .await
}

/// `balance` as it is: a split one with what its shards spent since the fence.
pub(super) async fn current(app: &App, balance: Balance) -> ApiResult<Balance> {
    if balance.split.is_none() {
        return Ok(balance);
    }
    let mut stored = balance;
    until_done!(|_| {
        let shards = app.store.balance_shards(&stored).await?;
        match stored.settled(&shards) {
            Ok(settled) => Ok(Attempt::Done(settled.balance)),
            // A fence came between the reads: read the balance again.
            Err(_) => {
                let again = app
                    .store
                    .credit_balance(&stored.business_id, &stored.credit_entitlement_id, &stored.customer_id)
                    .await?;
                stored = again.ok_or_else(|| ApiError::internal("a split balance disappeared"))?;
                Ok(Attempt::Lost)
            }
        }
    })
    .await
}

/// A page of a balance's grants, for a split one with what its shards spent
/// from them since the fence (their `remaining_amount` as a fence would leave
/// it). `status` is decided from what is stored, where a grant the shards
/// spent to nothing is still active until the next fence: such a grant is
/// left out of `active`.
pub(super) async fn grants_page(
    app: &App,
    keys: (&str, &str, &str),
    status: Option<GrantStatus>,
    page: &PageRequest,
) -> ApiResult<Page<CreditGrant>> {
    let (business_id, entitlement_id, customer_id) = keys;
    until_done!(|_| {
        let balance = app
            .store
            .credit_balance(business_id, entitlement_id, customer_id)
            .await?;
        let Some(balance) = balance.filter(|b| b.split.is_some()) else {
            return Ok(Attempt::Done(app.store.list_credit_grants(keys, status, page).await?));
        };
        let shards = app.store.balance_shards(&balance).await?;
        let Ok(settled) = balance.settled(&shards) else {
            return Ok(Attempt::Lost);
        };
        let mut grants = app.store.list_credit_grants(keys, status, page).await?;
        // A fence between the reads wrote the grants past what was settled here: read again.
        let now = app
            .store
            .credit_balance(business_id, entitlement_id, customer_id)
            .await?;
        if now.map(|b| b.version) != Some(balance.version) {
            return Ok(Attempt::Lost);
        }
        for grant in grants.items.iter_mut() {
            if let Some((_, remaining)) = settled.spent.iter().find(|(id, _)| *id == grant.id) {
                grant.remaining_amount = *remaining;
            }
        }
        if status == Some(GrantStatus::Active) {
            grants.items.retain(|g| !g.remaining_amount.is_zero());
        }
        Ok(Attempt::Done(grants))
    })
    .await
}

/// What `split` did: the balance's shards and its numbers as it left them.
#[derive(Debug, serde::Serialize)]
pub struct SplitDone {
    pub shards: Option<u32>,
    pub balance: String,
    pub overage: String,
    pub version: u64,
}

/// The operator's switch (`make credit-shards`): splits a customer's balance
/// over `count` shards, or merges it back (None), settling what the shards
/// spent first; the balance's numbers are unchanged by it.
pub async fn split(
    app: &App,
    (business_id, entitlement_id, customer_id): (&str, &str, &str),
    count: Option<u32>,
) -> ApiResult<SplitDone> {
    if count.is_some_and(|n| !(MIN_BALANCE_SHARDS..=MAX_BALANCE_SHARDS).contains(&n)) {
        return Err(ApiError::validation(
            "shards",
            format!("must be from {MIN_BALANCE_SHARDS} to {MAX_BALANCE_SHARDS}, or off"),
        ));
    }
    until_done!(Conflicts::hot_item(), |conflicts| {
        let stored = app
            .store
            .credit_balance(business_id, entitlement_id, customer_id)
            .await?
            .ok_or_else(|| ApiError::not_found("credit balance"))?;
        let shards = app.store.balance_shards(&stored).await?;
        let Ok(settled) = stored.settled(&shards) else {
            return Ok(Attempt::Lost);
        };
        let at = rfc3339(clock::now());
        let (after, next) = settled.balance.next_version(&at).split_over(count, &shards, &at);
        conflicts.before_write()?;
        let fence = Fence {
            read: &shards,
            next: &next,
        };
        match app
            .store
            .commit_balance_split(&stored, &after, &settled.spent, fence)
            .await?
        {
            Written::Done => Ok(Attempt::Done(SplitDone {
                shards: count,
                balance: after.balance.to_string(),
                overage: after.overage.to_string(),
                version: after.version,
            })),
            _ => Ok(Attempt::Lost),
        }
    })
    .await
}
