//! Credit entitlements and customers' balances (SPEC §1.8): the catalogue,
//! ledger entries through the API and from a product's payments and billing
//! cycles, and the reads of balances, grants and ledgers.

use crate::app::App;
use crate::call::Call;
use crate::clock;
use crate::domain::credit::{
    Balance, BalanceChange, ChangeIds, CreditEntitlement, CreditEntitlementPatch, CreditEntitlementTranslation,
    CreditSource, CreditTranslationInput, Credits, CustomerCreditEntitlement, EntryInput, EntryType, GrantSource,
    GrantStatus, LedgerEntry, LedgerEntryRequest, NewCreditEntitlement, TransactionType, LIVE_GRANTS_MAX,
};
use crate::domain::product::CreditMapping;
use crate::domain::refusal::{Refusal, RuleResult};
use crate::domain::timestamp::rfc3339;
use crate::domain::translation::Locale;
use crate::error::{ApiError, ApiResult};
use crate::ids;
use crate::reply::Reply;
use crate::retry::{until_done, Attempt, Conflicts};
use crate::services::credit_shards::{self, OnShard};
use crate::services::events::Events;
use crate::services::translations;
use crate::store::{EntryOnce, Fence, LedgerFilter, Page, PageRequest, Translated, Written};

fn not_found() -> ApiError {
    ApiError::not_found("credit entitlement")
}

/// Balances a customer's list shows at most (one per credit entitlement).
const CUSTOMER_BALANCES_MAX: usize = 100;

pub async fn create(app: &App, call: &Call, new: NewCreditEntitlement) -> ApiResult<Reply> {
    let entitlement = new.into_entitlement(ids::new_id("cde"), call.principal_id(), &clock::now_rfc3339())?;
    let reply = Reply::created(&entitlement)?;
    match app
        .store
        .create_credit_entitlement(&entitlement, call.answer(&reply).as_ref())
        .await?
    {
        Written::Done => Ok(reply),
        // A fresh ULID cannot collide; a refusal here is a bug.
        _ => Err(ApiError::internal("new credit entitlement refused")),
    }
}

/// The business's credit entitlement `id` that is not deleted.
async fn active(app: &App, business_id: &str, id: &str) -> ApiResult<CreditEntitlement> {
    app.store
        .credit_entitlement(business_id, id)
        .await?
        .filter(|e| e.is_active)
        .ok_or_else(not_found)
}

/// `GET /credit-entitlements/{id}?locale=`: name and unit in that locale over the base text.
pub async fn get(app: &App, call: &Call, id: &str, locale: Option<&str>) -> ApiResult<Reply> {
    let locale = Locale::shown(locale)?;
    let entitlement = active(app, call.principal_id(), id).await?;
    let of = Translated::credit_entitlement(call.principal_id(), id);
    let translation: Option<CreditEntitlementTranslation> = translations::shown_in(app, &of, locale).await?;
    Reply::ok(&entitlement.translated(translation.as_ref()))
}

pub async fn list(
    app: &App,
    call: &Call,
    deleted: Option<&str>,
    locale: Option<&str>,
    page: &PageRequest,
) -> ApiResult<Reply> {
    let locale = Locale::shown(locale)?;
    let deleted = match deleted {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => return Err(ApiError::validation("deleted", "must be true or false")),
    };
    let page = app
        .store
        .list_credit_entitlements(call.principal_id(), deleted, page)
        .await?;
    let of: Vec<Translated> = page
        .items
        .iter()
        .map(|e| Translated::credit_entitlement(call.principal_id(), &e.id))
        .collect();
    let shown: Vec<Option<CreditEntitlementTranslation>> = translations::each_shown_in(app, &of, locale).await?;
    let items: Vec<CreditEntitlement> = page
        .items
        .into_iter()
        .zip(shown)
        .map(|(e, t)| e.translated(t.as_ref()))
        .collect();
    Reply::page(&items, page.next_cursor)
}

/// `PUT /credit-entitlements/{id}/translations/{locale}`: 201 new, 200 replaced.
pub async fn put_translation(
    app: &App,
    call: &Call,
    id: &str,
    locale: &str,
    input: CreditTranslationInput,
) -> ApiResult<Reply> {
    let locale = Locale::parse("locale", locale)?;
    active(app, call.principal_id(), id).await?;
    let translation = input.into_translation(locale, &clock::now_rfc3339());
    let of = Translated::credit_entitlement(call.principal_id(), id);
    translations::put_of(app, call, &of, translation, not_found).await
}

/// `GET /credit-entitlements/{id}/translations?locale=fr&locale=de`: `{items}`.
pub async fn list_translations<'a>(
    app: &App,
    call: &Call,
    id: &str,
    locales: impl IntoIterator<Item = &'a str>,
) -> ApiResult<Reply> {
    let wanted = Locale::filter(locales)?;
    active(app, call.principal_id(), id).await?;
    let of = Translated::credit_entitlement(call.principal_id(), id);
    translations::list_of::<CreditEntitlementTranslation>(app, &of, &wanted).await
}

/// `DELETE /credit-entitlements/{id}/translations/{locale}`: 204; none: 404.
pub async fn delete_translation(app: &App, call: &Call, id: &str, locale: &str) -> ApiResult<Reply> {
    let locale = Locale::parse("locale", locale)?;
    let of = Translated::credit_entitlement(call.principal_id(), id);
    translations::delete_of(app, call, &of, locale, not_found).await
}

/// Writes the patched entitlement over the one read, conditioned on it being
/// unchanged, so the answer is exactly what was stored.
pub async fn update(app: &App, call: &Call, id: &str, patch: CreditEntitlementPatch) -> ApiResult<Reply> {
    replace(app, call, id, true, |current| {
        let next = patch.applied_to(current, &clock::now_rfc3339())?;
        let reply = Reply::ok(&next)?;
        Ok((next, reply))
    })
    .await
}

/// Soft delete: out of the list, 404 to reads; `undelete` brings it back.
pub async fn delete(app: &App, call: &Call, id: &str) -> ApiResult<Reply> {
    replace(app, call, id, true, |current| {
        let next = CreditEntitlement {
            is_active: false,
            updated_at: clock::now_rfc3339(),
            ..current.clone()
        };
        Ok((next, Reply::no_content()?))
    })
    .await
}

pub async fn undelete(app: &App, call: &Call, id: &str) -> ApiResult<Reply> {
    replace(app, call, id, false, |current| {
        let next = CreditEntitlement {
            is_active: true,
            updated_at: clock::now_rfc3339(),
            ..current.clone()
        };
        let reply = Reply::ok(&next)?;
        Ok((next, reply))
    })
    .await
}

/// Reads the caller's credit entitlement `id`, which must be active
/// (`was_active`) or deleted, and writes `change` of it over what was read,
/// conditioned on it being unchanged; a lost race reads it again.
async fn replace(
    app: &App,
    call: &Call,
    id: &str,
    was_active: bool,
    change: impl Fn(&CreditEntitlement) -> ApiResult<(CreditEntitlement, Reply)>,
) -> ApiResult<Reply> {
    let business_id = call.principal_id();
    until_done!(|_| {
        let current = app
            .store
            .credit_entitlement(business_id, id)
            .await?
            .ok_or_else(not_found)?;
        match (current.is_active, was_active) {
            (true, false) => {
                return Err(Refusal::conflict("NOT_DELETED", "this credit entitlement is not deleted").into())
            }
            (false, true) => return Err(not_found()),
            _ => {}
        }
        let (next, reply) = change(&current)?;
        match app
            .store
            .replace_credit_entitlement(&current, &next, call.answer(&reply).as_ref())
            .await?
        {
            Written::Done => Ok(Attempt::Done(reply)),
            Written::Refused { .. } | Written::Conflict => Ok(Attempt::Lost),
        }
    })
    .await
}

/// The customer's balance, 404 when the entitlement is not an active one of the
/// caller's or the customer has no balance of it.
pub async fn balance(app: &App, call: &Call, entitlement_id: &str, customer_id: &str) -> ApiResult<Reply> {
    let entitlement = active(app, call.principal_id(), entitlement_id).await?;
    let balance = app
        .store
        .credit_balance(&entitlement.business_id, &entitlement.id, customer_id)
        .await?
        .ok_or_else(|| ApiError::not_found("credit balance"))?;
    let balance = credit_shards::current(app, balance).await?;
    Reply::ok(&balance.view())
}

pub async fn list_balances(
    app: &App,
    call: &Call,
    entitlement_id: &str,
    customer_id: Option<&str>,
    page: &PageRequest,
) -> ApiResult<Reply> {
    let entitlement = active(app, call.principal_id(), entitlement_id).await?;
    let (business_id, id) = (&entitlement.business_id, &entitlement.id);
    let (balances, next_cursor) = match customer_id {
        // One balance at most: on the first page, so an auto-pager's next page is empty.
        Some(_) if !page.is_first() => (Vec::new(), None),
        Some(customer_id) => (
            app.store
                .credit_balance(business_id, id, customer_id)
                .await?
                .into_iter()
                .collect(),
            None,
        ),
        None => {
            let page = app.store.list_credit_balances(business_id, id, page).await?;
            (page.items, page.next_cursor)
        }
    };
    let mut shown = Vec::with_capacity(balances.len());
    for balance in balances {
        shown.push(credit_shards::current(app, balance).await?);
    }
    let views: Vec<_> = shown.iter().map(Balance::view).collect();
    Reply::page(&views, next_cursor)
}

pub async fn list_grants(
    app: &App,
    call: &Call,
    entitlement_id: &str,
    customer_id: &str,
    status: Option<&str>,
    page: &PageRequest,
) -> ApiResult<Reply> {
    let status = GrantStatus::filter(status)?;
    let entitlement = active(app, call.principal_id(), entitlement_id).await?;
    let keys = (entitlement.business_id.as_str(), entitlement.id.as_str(), customer_id);
    let page = credit_shards::grants_page(app, keys, status, page).await?;
    Reply::page(&page.items, page.next_cursor)
}

pub async fn list_ledger(
    app: &App,
    call: &Call,
    entitlement_id: &str,
    customer_id: &str,
    filter: (Option<&str>, Option<&str>, Option<&str>),
    page: &PageRequest,
) -> ApiResult<Reply> {
    let page = ledger_of(app, call.principal_id(), entitlement_id, customer_id, filter, page).await?;
    Reply::page(&page.items, page.next_cursor)
}

/// One page of a customer's ledger of an active credit entitlement of the
/// business, filtered by `(transaction_type, start_date, end_date)`.
pub async fn ledger_of(
    app: &App,
    business_id: &str,
    entitlement_id: &str,
    customer_id: &str,
    filter: (Option<&str>, Option<&str>, Option<&str>),
    page: &PageRequest,
) -> ApiResult<Page<LedgerEntry>> {
    let (transaction_type, start, end) = filter;
    let transaction_type = TransactionType::filter(transaction_type)?.map(TransactionType::as_str);
    let time = |field: &str, text: Option<&str>| {
        text.map(|t| {
            crate::domain::calendar::parse_client_time(t)
                .map(crate::domain::timestamp::rfc3339)
                .ok_or_else(|| ApiError::validation(field, "must be an RFC 3339 time"))
        })
        .transpose()
    };
    let filter = LedgerFilter {
        transaction_type,
        start: time("start_date", start)?,
        end: time("end_date", end)?,
    };
    let entitlement = active(app, business_id, entitlement_id).await?;
    let keys = (entitlement.business_id.as_str(), entitlement.id.as_str(), customer_id);
    match app.store.credit_balance(keys.0, keys.1, keys.2).await? {
        Some(balance) if balance.ledger_shards > 0 => app.store.list_split_ledger(&balance, filter, page).await,
        _ => app.store.list_credit_ledger(keys, filter, page).await,
    }
}

/// One ledger entry from the API: a credit makes a grant, a debit spends the
/// oldest grants first. Its `idempotency_key` used before is 409, as Dodo answers.
pub async fn add_entry(
    app: &App,
    call: &Call,
    entitlement_id: &str,
    customer_id: &str,
    request: LedgerEntryRequest,
) -> ApiResult<Reply> {
    let entitlement = active(app, call.principal_id(), entitlement_id).await?;
    let input = request.checked(&entitlement, clock::now())?;
    let source = CreditSource {
        source_type: GrantSource::Api,
        source_id: None,
        transaction_type: TransactionType::CreditAdded,
        low_balance_threshold_percent: None,
        cycle_began: None,
    };
    let once = input.idempotency_key.as_deref().map(EntryOnce::ClientKey);
    // A split balance's debit is one shard's when that shard covers it.
    match credit_shards::debit_on_a_shard(app, call, &entitlement, customer_id, &input, once).await? {
        Some(OnShard::Entry(reply)) => return answered(Made::Entry(reply)),
        Some(OnShard::KeyUsed) => return answered(Made::Before),
        None => {}
    }
    let decide = |before: &Balance, now| match input.entry_type {
        EntryType::Credit => before
            .credit(&entitlement, &input, source.clone(), change_ids(), now)
            .map(Some),
        EntryType::Debit => before.debit(&entitlement, &input, ids::new_id("cle"), now).map(Some),
    };
    answered(make_change(app, Some(call), &entitlement, customer_id, once, decide).await?)
}

/// What a ledger entry from the API answers.
fn answered(made: Made) -> ApiResult<Reply> {
    match made {
        Made::Entry(reply) => Ok(reply),
        Made::Nothing => Err(ApiError::internal("a ledger entry decided nothing")),
        Made::Before => Err(Refusal::conflict(
            "IDEMPOTENCY_KEY_ALREADY_USED",
            "a ledger entry with this idempotency_key already exists",
        )
        .into()),
    }
}

/// A product's credits for one payment (`source_type` `one_time`) or one
/// billing cycle of a subscription (`subscription`): a grant made once for
/// `cause` however often the provider's event comes, under the settings the
/// product gives it (its `expires_after_days`, its `overage_behavior`). A
/// credit entitlement deleted since it was attached grants nothing.
pub async fn grant_for_cause(
    app: &App,
    business_id: &str,
    mapping: &CreditMapping,
    customer_id: &str,
    source: CreditSource,
    cause: &str,
) -> ApiResult<()> {
    let Some(entitlement) = as_attached(app, business_id, mapping).await? else {
        return Ok(());
    };
    let source = CreditSource {
        low_balance_threshold_percent: mapping.overrides.low_balance_threshold_percent,
        ..source
    };
    let input = EntryInput {
        amount: Credits::parse("credits_amount", &mapping.credits_amount, entitlement.precision)?,
        entry_type: EntryType::Credit,
        expires_at: None,
        idempotency_key: None,
        metadata: Default::default(),
        reason: None,
    };
    let decide = |before: &Balance, now| {
        before
            .credit(&entitlement, &input, source.clone(), change_ids(), now)
            .map(Some)
    };
    make_change(
        app,
        None,
        &entitlement,
        customer_id,
        Some(EntryOnce::Cause(cause)),
        decide,
    )
    .await?;
    Ok(())
}

/// A subscription's billing cycle (its activation or a renewal, whichever
/// comes first) at one of its product's credit entitlements: the earlier cycles' unspent credits rolled over or forfeited
/// (`credit_rolled_over`, `rollover_forfeited`), the overage owed reset as its
/// `overage_behavior` says (`overage_reset`), then the cycle's credits; none
/// of it again once the cycle's credits are granted.
pub async fn renew_for_cycle(
    app: &App,
    business_id: &str,
    mapping: &CreditMapping,
    customer_id: &str,
    source: CreditSource,
    cycle: &str,
) -> ApiResult<()> {
    let Some(entitlement) = as_attached(app, business_id, mapping).await? else {
        return Ok(());
    };
    let granted = EntryOnce::Cause(cycle);
    if app
        .store
        .entry_made(business_id, &entitlement.id, customer_id, granted)
        .await?
    {
        return Ok(());
    }
    let (Some(subscription_id), Some(began)) = (&source.source_id, &source.cycle_began) else {
        return Err(ApiError::internal("a billing cycle without its subscription"));
    };
    // The cycles before it close first: their unspent credits roll over or are forfeited.
    close_cycles(app, &entitlement, customer_id, subscription_id, began).await?;
    // Then the overage of the cycle that ended, once: the reset's own marker,
    // and the balance's cycle, which moves on with the new cycle's credits.
    let reset = format!("reset#{cycle}");
    let decide =
        |before: &Balance, now| Ok(before.reset_overage(&entitlement, subscription_id, began, ids::new_id("cle"), now));
    make_change(
        app,
        None,
        &entitlement,
        customer_id,
        Some(EntryOnce::Cause(&reset)),
        decide,
    )
    .await?;
    grant_for_cause(app, business_id, mapping, customer_id, source, cycle).await
}

/// Closes a subscription's cycles before `began` at one balance, a grant a
/// step (`Balance::close_cycle`), as `entitlement`'s settings say.
async fn close_cycles(
    app: &App,
    entitlement: &CreditEntitlement,
    customer_id: &str,
    subscription_id: &str,
    began: &str,
) -> ApiResult<()> {
    let close = |before: &Balance, now| Ok(before.close_cycle(entitlement, subscription_id, began, change_ids(), now));
    // Two steps a grant at most, so the loop is bounded by the live grants.
    for _ in 0..=2 * LIVE_GRANTS_MAX {
        if let Made::Nothing = make_change(app, None, entitlement, customer_id, None, close).await? {
            break;
        }
    }
    Ok(())
}

/// At a subscription's new cycle `began`, its earlier cycles' credits of
/// meters its product no longer attaches (`attached` are those it does):
/// closed as each meter's own settings say, as they would have been while
/// attached, so credits of a cycle never outlive it because the product changed.
pub async fn close_detached_cycles(
    app: &App,
    business_id: &str,
    attached: &[&str],
    customer_id: &str,
    subscription_id: &str,
    began: &str,
) -> ApiResult<()> {
    let balances = app
        .store
        .customer_credit_balances(business_id, customer_id, CUSTOMER_BALANCES_MAX)
        .await?;
    for balance in balances {
        let open = balance.live.values().any(|g| {
            g.cycle
                .as_ref()
                .is_some_and(|c| c.subscription_id == subscription_id && c.began.as_str() < began)
        });
        if !open || attached.contains(&balance.credit_entitlement_id.as_str()) {
            continue;
        }
        let Some(entitlement) = app
            .store
            .credit_entitlement(business_id, &balance.credit_entitlement_id)
            .await?
            .filter(|e| e.is_active)
        else {
            continue;
        };
        close_cycles(app, &entitlement, customer_id, subscription_id, began).await?;
    }
    Ok(())
}

/// The credit entitlement as the product attaches it (its overrides over the
/// entitlement's settings); None when it was deleted since.
async fn as_attached(app: &App, business_id: &str, mapping: &CreditMapping) -> ApiResult<Option<CreditEntitlement>> {
    let Some(entitlement) = app
        .store
        .credit_entitlement(business_id, &mapping.credit_entitlement_id)
        .await?
        .filter(|e| e.is_active)
    else {
        return Ok(None);
    };
    Ok(Some(mapping.overrides.over(&entitlement)))
}

/// Fresh ids for the entry and the grant a change may write.
fn change_ids() -> ChangeIds {
    ChangeIds {
        entry_id: ids::new_id("cle"),
        grant_id: ids::new_id("cgr"),
    }
}

/// What `make_change` came to.
enum Made {
    Entry(Reply),
    /// Its key or cause made an entry before.
    Before,
    /// The balance as it is needs no change.
    Nothing,
}

/// One change of a balance, decided by `decide` from the balance as read and
/// committed only over that version. When another change came first, it is
/// decided again at once from the balance that refused it (no read: the
/// refusal returns it), for as long as the hot-item budget lasts: one balance
/// takes its changes one at a time, and each lost attempt is another
/// request's change committed.
async fn make_change(
    app: &App,
    call: Option<&Call>,
    entitlement: &CreditEntitlement,
    customer_id: &str,
    once: Option<EntryOnce<'_>>,
    decide: impl Fn(&Balance, time::OffsetDateTime) -> RuleResult<Option<BalanceChange>>,
) -> ApiResult<Made> {
    let (business_id, id) = (entitlement.business_id.as_str(), entitlement.id.as_str());
    let opened = || Balance::opened(ids::new_id("cbal"), entitlement, customer_id, &clock::now_rfc3339());
    // Requests of this process at the same balance take turns (`turns.rs`);
    // the wait for a turn spends the same budget as the attempts after it.
    let budget = Conflicts::hot_item();
    let _turn = crate::turns::take(format!("{business_id}#{id}#{customer_id}"), budget.deadline()).await?;
    // The balance to decide from when the last attempt's refusal returned it.
    let mut newer = None;
    // A fence that lost to a shard's debit takes the shards' free credits back first.
    let mut freeze = false;
    until_done!(budget, |conflicts| {
        let stored = match newer.take() {
            Some(newer) => newer,
            None => app
                .store
                .credit_balance(business_id, id, customer_id)
                .await?
                .unwrap_or_else(opened),
        };
        // A split balance is decided as if never split: what its shards spent settled first.
        let mut shards = app.store.balance_shards(&stored).await?;
        if std::mem::take(&mut freeze) && !shards.is_empty() {
            app.store.freeze_shards(&stored, &shards).await?;
            shards = app.store.balance_shards(&stored).await?;
        }
        // Stale: a fence committed between the two reads.
        let Ok(settled) = stored.settled(&shards) else {
            return Ok(Attempt::Lost);
        };
        let now = clock::now();
        let Some(mut change) = decide(&settled.balance, now)? else {
            return Ok(Attempt::Done(Made::Nothing));
        };
        let count = stored.split.as_ref().map(|split| split.count);
        let (after, next_shards) = change.balance.split_over(count, &shards, &rfc3339(now));
        change.balance = after;
        change.spent = with_settled(settled.spent, &change);
        let events = change
            .event_types()
            .into_iter()
            .fold(Events::new(business_id, now), |events, event_type| {
                events.credit(event_type, &change.balance.id, &change.entry)
            });
        let events = match &change.low {
            Some(low) => events.balance_low(&change.balance.id, low),
            None => events,
        }
        .build();
        let reply = Reply::created(&change.entry)?;
        conflicts.before_write()?;
        let answer = call.and_then(|call| call.answer(&reply));
        let fence = stored.split.is_some().then_some(Fence {
            read: &shards,
            next: &next_shards,
        });
        let written = app
            .store
            .commit_balance_change(&stored, &change, fence, once, &events, answer.as_ref())
            .await?;
        match written {
            Written::Done => Ok(Attempt::Done(Made::Entry(reply))),
            Written::Refused { at: 1, alone: true, .. } if once.is_some() => Ok(Attempt::Done(Made::Before)),
            Written::Refused { .. } if stored.split.is_some() => {
                newer = written.newer_balance()?;
                // Not the balance: a shard moved on (another request's debit committed).
                freeze = newer.is_none();
                conflicts.again();
                Ok(Attempt::Retry)
            }
            refused => {
                newer = refused.newer_balance()?;
                Ok(match newer {
                    Some(_) => {
                        conflicts.again();
                        Attempt::Retry
                    }
                    None => Attempt::Lost,
                })
            }
        }
    })
    .await
}

/// The grants a fence writes: those its settling spent from, then those its
/// change spent from (one write each, the change's amount last); a grant it
/// expires is written as expired only, one it rolls into as joined only.
fn with_settled(settled: Vec<(String, Credits)>, change: &BalanceChange) -> Vec<(String, Credits)> {
    let mut spent: Vec<(String, Credits)> = settled
        .into_iter()
        .filter(|(id, _)| change.spent.iter().all(|(changed, _)| changed != id))
        .chain(change.spent.iter().cloned())
        .collect();
    spent.retain(|(id, _)| change.expired.as_ref() != Some(id) && change.joined.as_ref().is_none_or(|j| j.id != *id));
    spent
}

/// `{items}`: the customer's balances of the business's active credit entitlements.
pub async fn customer_balances(app: &App, call: &Call, customer_id: &str) -> ApiResult<Reply> {
    let items = credit_entitlements_of_customer(app, call.principal_id(), customer_id).await?;
    Reply::ok(&serde_json::json!({ "items": items }))
}

/// The customer's balances of the business's active credit entitlements, as
/// `customers.list_credit_entitlements` and the portal show them.
pub async fn credit_entitlements_of_customer(
    app: &App,
    business_id: &str,
    customer_id: &str,
) -> ApiResult<Vec<CustomerCreditEntitlement>> {
    let balances = app
        .store
        .customer_credit_balances(business_id, customer_id, CUSTOMER_BALANCES_MAX)
        .await?;
    let mut shown = Vec::with_capacity(balances.len());
    for balance in balances {
        shown.push(credit_shards::current(app, balance).await?);
    }
    let balances = shown;
    let ids: Vec<&str> = balances.iter().map(|b| b.credit_entitlement_id.as_str()).collect();
    let entitlements = app.store.credit_entitlements_by_id(business_id, &ids).await?;
    Ok(balances
        .iter()
        .filter_map(|balance| {
            let e = entitlements
                .iter()
                .find(|e| e.id == balance.credit_entitlement_id && e.is_active)?;
            Some(CustomerCreditEntitlement {
                credit_entitlement_id: e.id.clone(),
                name: e.name.clone(),
                unit: e.unit.clone(),
                description: e.description.clone(),
                balance: balance.balance,
                overage: balance.overage,
            })
        })
        .collect())
}

/// What one run of the expiry schedule did.
#[derive(Debug, Default, serde::Serialize)]
pub struct ExpirySummary {
    /// Balances found due.
    pub balances: usize,
    /// Grants expired (one ledger entry each).
    pub expired: usize,
    /// Balances left for the next run (busy past their budget).
    pub left: usize,
}

/// Balances read per shard of the expiry index in one run.
const EXPIRY_BATCH: usize = 100;
/// How long one run starts new balances for.
const EXPIRY_RUN_BUDGET: std::time::Duration = std::time::Duration::from_secs(45);

/// The expiry schedule: every grant past its expiry leaves its balance, one
/// change (and one `credit_expired` entry, one `credit.expired` event) per
/// grant, each conditioned on the balance's version as read, so a debit racing
/// it either spent the grant first (the expiry then takes what is left) or
/// finds it gone; no credit is spent twice or lost. A balance that stays busy
/// past its budget is left for the next run, not the end of this one.
pub async fn expire_due(app: &App) -> ApiResult<ExpirySummary> {
    let started = std::time::Instant::now();
    let mut summary = ExpirySummary::default();
    for due in app
        .store
        .credit_balances_due(&clock::now_rfc3339(), EXPIRY_BATCH)
        .await?
    {
        // Well inside the function's 60 s: the rest is the next run's.
        if started.elapsed() > EXPIRY_RUN_BUDGET {
            break;
        }
        summary.balances += 1;
        match expire_balance(app, &due, started).await {
            Ok(expired) => summary.expired += expired,
            Err(err) if err.is_retryable() => {
                tracing::warn!(balance = %due.id, code = err.code, "balance left for the next expiry run");
                summary.left += 1;
            }
            Err(err) => return Err(err),
        }
    }
    Ok(summary)
}

/// Expires every due grant of one balance; how many.
async fn expire_balance(app: &App, due: &Balance, started: std::time::Instant) -> ApiResult<usize> {
    let Some(entitlement) = app
        .store
        .credit_entitlement(&due.business_id, &due.credit_entitlement_id)
        .await?
    else {
        return Ok(0);
    };
    let expire = |before: &Balance, now| Ok(before.expire(ids::new_id("cle"), now));
    let mut expired = 0;
    // One change a live grant at most, so the loop is bounded by the live grants;
    // what is left past the run's budget is the next run's.
    for _ in 0..LIVE_GRANTS_MAX {
        if started.elapsed() > EXPIRY_RUN_BUDGET {
            break;
        }
        match make_change(app, None, &entitlement, &due.customer_id, None, expire).await? {
            Made::Entry(_) => expired += 1,
            _ => break,
        }
    }
    Ok(expired)
}
