//! Grants: issue (and, in auto mode, generate and deliver a key), fulfil a
//! manual grant with a supplied key, revoke, resend the key email, read, list.
//! Each change is one guarded transaction with its answer; the email goes out
//! after it commits.

use crate::app::App;
use crate::call::Call;
use crate::clock;
use crate::domain::entitlement::{Entitlement, FulfillmentMode, IntegrationType};
use crate::domain::grant::{
    fulfilment_blocker, grant_state_blocker, key_in_use, Grant, GrantStatus, KeyToDeliver, Resend,
};
use crate::domain::grant_requests::{Fulfilment, NewGrant, SuppliedKey};
use crate::domain::key_generation::format_license_key;
use crate::domain::license_key::{KeySource, LicenseKey};
use crate::domain::webhook::{GRANT_CREATED, GRANT_DELIVERED, GRANT_REVOKED, KEY_CREATED, KEY_UPDATED};
use crate::error::{ApiError, ApiResult};
use crate::ids;
use crate::reply::Reply;
use crate::retry::{until_done, Attempt};
use crate::services::events::Events;
use crate::services::{digital_files, key_email};
use crate::store::{FulfilOutcome, GrantChange, GrantIssue, IssueOutcome, PageRequest, Written};

fn not_found() -> ApiError {
    ApiError::not_found("grant")
}

fn entitlement_inactive() -> ApiError {
    ApiError::entitlement_inactive()
}

/// The business's grant `id`.
pub async fn own(app: &App, business_id: &str, id: &str) -> ApiResult<Grant> {
    app.store.grant(business_id, id).await?.ok_or_else(not_found)
}

pub async fn get(app: &App, call: &Call, id: &str) -> ApiResult<Reply> {
    let grant = app
        .store
        .counted_grant(own(app, call.principal_id(), id).await?)
        .await?;
    Reply::ok(&shown(app, grant.presented(clock::now())).await?)
}

/// A grant as a read shows it: a Delivered digital_files grant with its files.
async fn shown(app: &App, grant: Grant) -> ApiResult<Grant> {
    let mut one = digital_files::delivered(app, vec![grant]).await?;
    one.pop().ok_or_else(|| ApiError::internal("a grant went missing"))
}

/// `POST /entitlements/{id}/grants`: a new grant, or the existing one for the
/// same customer and payment. In auto mode its key is generated and delivered
/// in the same transaction.
pub async fn issue(app: &App, call: &Call, entitlement_id: &str, new: NewGrant) -> ApiResult<Reply> {
    new.validate()?;
    let id = ids::new_id("entg");
    // A feature flag revoked by hand that this issue's cause never conferred: replaced.
    let mut replaces: Option<String> = None;
    until_done!(|_| {
        let entitlement = app
            .store
            .entitlement(call.principal_id(), entitlement_id)
            .await?
            .ok_or_else(|| ApiError::not_found("entitlement"))?;
        if !entitlement.is_active {
            return Err(entitlement_inactive());
        }
        let now = clock::now();
        let uniqueness = new.uniqueness_key(entitlement.integration_type);
        let (grant, key, events) = new_grant(&entitlement, &new, id.clone(), now)?;
        let reply = Reply::created(&shown(app, grant.clone().presented(now)).await?)?;
        let issue = GrantIssue {
            grant: &grant,
            entitlement: &entitlement,
            uniqueness: &uniqueness,
            replaces: replaces.as_deref(),
            cause: None,
            delivered: key.as_ref().map(|key| (key, key_email::first_attempt_due_ms())),
            events: &events,
        };
        match app.store.issue_grant(&issue, call.answer(&reply).as_ref()).await? {
            IssueOutcome::Created if key.is_some() => {
                let grant = key_email::attempt(app, &grant, &entitlement, 1).await;
                Ok(Attempt::Done(Reply::created(&grant.presented(clock::now()))?))
            }
            IssueOutcome::Created => Ok(Attempt::Done(reply)),
            IssueOutcome::Existing(grant_id) => {
                if reissuable(app, call.principal_id(), &grant_id, &new.cause()).await? {
                    replaces = Some(grant_id);
                    return Ok(Attempt::Retry);
                }
                // A feature flag the customer holds is conferred by this issue too.
                if entitlement.feature().is_some() {
                    change_for_cause(app, call.principal_id(), &grant_id, &new.cause(), None, None).await?;
                }
                let existing = app.store.grant(call.principal_id(), &grant_id).await?;
                let existing = existing.ok_or_else(|| ApiError::internal("grant marker without grant"))?;
                let existing = app.store.counted_grant(existing).await?;
                Ok(Attempt::Done(Reply::ok(
                    &shown(app, existing.presented(clock::now())).await?,
                )?))
            }
            // Deleted or changed since read (the next read says which); a
            // generated key that collides is drawn again.
            IssueOutcome::EntitlementChanged | IssueOutcome::KeyInUse | IssueOutcome::Conflict => Ok(Attempt::Lost),
            IssueOutcome::CauseRefused => Err(ApiError::internal("a grant issued by API has no cause")),
        }
    })
    .await
}

/// The grant `new` makes of `entitlement` at `now`: in auto mode delivered at
/// once with a generated key; with the events its creation sends.
fn new_grant(
    entitlement: &Entitlement,
    new: &NewGrant,
    id: String,
    now: time::OffsetDateTime,
) -> ApiResult<(Grant, Option<LicenseKey>, Vec<crate::domain::webhook::Event>)> {
    let mut grant = new.to_grant(id, entitlement, &clock::rfc3339(now));
    let auto = entitlement
        .license_key_config()
        .is_some_and(|c| c.fulfillment_mode == FulfillmentMode::Auto);
    let key = if auto {
        let request = Fulfilment {
            key: SuppliedKey::new("key", format_license_key(ids::random_bytes()))?,
            activations_limit: None,
            expires_at: None,
        };
        let (limit, expires_at) = request.resolve(entitlement, now)?;
        let created_at = grant.created_at.clone();
        let delivered = KeyToDeliver {
            id: ids::new_id("lk"),
            key: request.key.into_inner(),
            source: KeySource::Auto,
            activations_limit: limit,
            expires_at,
        };
        Some(grant.deliver(entitlement, delivered, &created_at))
    } else {
        None
    };
    // Delivered at once (an auto key, a feature flag): created, then delivered.
    let mut events = Events::new(&grant.business_id, now);
    if grant.status == GrantStatus::Delivered {
        let mut created = grant.clone();
        created.status = GrantStatus::Pending;
        created.license_key = None;
        created.delivered_at = None;
        events = events.grant(GRANT_CREATED, &created).grant(GRANT_DELIVERED, &grant);
    } else {
        events = events.grant(GRANT_CREATED, &grant);
    }
    if let Some(key) = &key {
        events = events.key(KEY_CREATED, key);
    }
    Ok((grant, key, events.build()))
}

/// Whether the grant a uniqueness marker points to gives way to a new one for
/// `cause` (`Grant::reissuable_for`: a feature flag revoked by hand).
async fn reissuable(app: &App, business_id: &str, grant_id: &str, cause: &str) -> ApiResult<bool> {
    let existing = app.store.grant(business_id, grant_id).await?;
    Ok(existing.is_some_and(|g| g.reissuable_for(cause)))
}

/// What issuing a grant for a provider's event came to.
pub enum EventGrant {
    Created,
    Existing(String),
    /// Its cause no longer admits it (its payment was refunded, a newer
    /// event of its subscription took over).
    CauseRefused,
    /// The entitlement was deleted meanwhile: nothing to issue.
    EntitlementGone,
}

/// Issues the grant of `entitlement` that an event causes, unless one exists
/// for the same customer and payment or subscription; an auto key's email is
/// sent after the commit, as for a grant issued by API.
pub async fn issue_for_event(
    app: &App,
    entitlement: &Entitlement,
    new: &NewGrant,
    cause: &crate::store::GrantCause<'_>,
) -> ApiResult<EventGrant> {
    let uniqueness = new.uniqueness_key(entitlement.integration_type);
    let id = ids::new_id("entg");
    let mut read = Some(entitlement.clone());
    let mut replaces: Option<String> = None;
    until_done!(|_| {
        let entitlement = match read.take() {
            Some(entitlement) => entitlement,
            None => match app.store.entitlement(&entitlement.business_id, &entitlement.id).await? {
                Some(current) if current.is_active => current,
                _ => return Ok(Attempt::Done(EventGrant::EntitlementGone)),
            },
        };
        let (grant, key, events) = new_grant(&entitlement, new, id.clone(), clock::now())?;
        let issue = GrantIssue {
            grant: &grant,
            entitlement: &entitlement,
            uniqueness: &uniqueness,
            replaces: replaces.as_deref(),
            cause: Some(cause),
            delivered: key.as_ref().map(|key| (key, key_email::first_attempt_due_ms())),
            events: &events,
        };
        match app.store.issue_grant(&issue, None).await? {
            IssueOutcome::Created => {
                if key.is_some() {
                    key_email::attempt(app, &grant, &entitlement, 1).await;
                }
                Ok(Attempt::Done(EventGrant::Created))
            }
            // Issued before, by this cause or by API for the same payment or subscription.
            IssueOutcome::Existing(grant_id) => {
                if reissuable(app, &entitlement.business_id, &grant_id, &cause.tag()).await? {
                    replaces = Some(grant_id);
                    return Ok(Attempt::Retry);
                }
                match app
                    .store
                    .attach_to_cause(&entitlement.business_id, cause, &grant_id)
                    .await?
                {
                    Written::Done => Ok(Attempt::Done(EventGrant::Existing(grant_id))),
                    Written::Refused { .. } => Ok(Attempt::Done(EventGrant::CauseRefused)),
                    Written::Conflict => Ok(Attempt::Lost),
                }
            }
            IssueOutcome::CauseRefused => Ok(Attempt::Done(EventGrant::CauseRefused)),
            IssueOutcome::EntitlementChanged | IssueOutcome::KeyInUse | IssueOutcome::Conflict => Ok(Attempt::Lost),
        }
    })
    .await
}

/// `POST /grants/{id}/license-key`: a Pending manual grant gets the supplied
/// key, becomes Delivered, and its email is sent.
pub async fn fulfil(app: &App, call: &Call, grant_id: &str, body: Fulfilment) -> ApiResult<Reply> {
    body.check_key()?;
    app.admit_key_supplier(call.principal_id()).await?;
    until_done!(|_| {
        // The key is looked up before the grant, so a fulfilment that lost the race
        // for this grant reads it as no longer Pending, which the contract ranks first.
        let key_owner = app.store.license_key_owner(&body.key).await?;
        let grant = own(app, call.principal_id(), grant_id).await?;
        let entitlement = app
            .store
            .entitlement(call.principal_id(), &grant.entitlement_id)
            .await?
            .ok_or_else(not_found)?;
        if let Some(blocker) = fulfilment_blocker(&grant, &entitlement) {
            return Err(blocker.into());
        }
        if let Some(owner) = key_owner {
            return Err(key_taken(app, call.principal_id(), Some(&owner)).await);
        }
        let now = clock::now();
        let (limit, expires_at) = body.resolve(&entitlement, now)?;
        body.check_strength()?;
        let mut delivered = grant.clone();
        let terms = KeyToDeliver {
            id: ids::new_id("lk"),
            key: body.key.to_string(),
            source: KeySource::Manual,
            activations_limit: limit,
            expires_at,
        };
        let key = delivered.deliver(&entitlement, terms, &clock::rfc3339(now));
        key.check_limit(key.activations_limit, now)?;
        let reply = Reply::ok(&delivered.clone().presented(now))?;
        let events = Events::new(&delivered.business_id, now)
            .grant(GRANT_DELIVERED, &delivered)
            .key(KEY_CREATED, &key)
            .build();
        match app
            .store
            .fulfil_grant(
                &delivered,
                &entitlement,
                &key,
                key_email::first_attempt_due_ms(),
                &events,
                call.answer(&reply).as_ref(),
            )
            .await?
        {
            FulfilOutcome::Fulfilled => {
                let delivered = key_email::attempt(app, &delivered, &entitlement, 1).await;
                Ok(Attempt::Done(Reply::ok(&delivered.presented(clock::now()))?))
            }
            FulfilOutcome::GrantChanged(current) => match grant_state_blocker(&current) {
                Some(blocker) => Err(blocker.into()),
                None => Ok(Attempt::Lost),
            },
            FulfilOutcome::GrantGone => Err(not_found()),
            FulfilOutcome::KeyInUse => Err(supplied_key_taken(app, call.principal_id(), &body.key).await),
            FulfilOutcome::EntitlementChanged | FulfilOutcome::Conflict => Ok(Attempt::Lost),
        }
    })
    .await
}

/// 409 `LICENSE_KEY_ALREADY_EXISTS` for a supplied key already in use. One that
/// another business holds tells the caller it exists, so such refusals are
/// counted against the caller, and past their limit the answer is 429
/// (`App::key_held_elsewhere`); its own keys it may meet again freely.
pub(crate) async fn key_taken(app: &App, business_id: &str, owner: Option<&str>) -> ApiError {
    if owner == Some(business_id) {
        return key_in_use().into();
    }
    app.key_held_elsewhere(business_id, key_in_use().into()).await
}

/// `key_taken` for a key the write found taken, its holder read now.
pub(crate) async fn supplied_key_taken(app: &App, business_id: &str, key: &str) -> ApiError {
    match app.store.license_key_owner(key).await {
        Ok(owner) => key_taken(app, business_id, owner.as_deref()).await,
        Err(err) => err,
    }
}

/// `DELETE /entitlements/{id}/grants/{grant_id}`: Revoked, and its key disabled.
/// Revoking a Revoked grant answers it unchanged.
pub async fn revoke(app: &App, call: &Call, entitlement_id: &str, grant_id: &str, reason: &str) -> ApiResult<Reply> {
    until_done!(|_| {
        let grant = app
            .store
            .counted_grant(own(app, call.principal_id(), grant_id).await?)
            .await?;
        if grant.entitlement_id != entitlement_id {
            return Err(not_found());
        }
        revoke_as_read(app, grant, reason, |reply| call.answer(reply)).await
    })
    .await
}

/// What a provider's event's change to one grant came to.
#[derive(Debug, PartialEq)]
pub enum EventChange {
    Done,
    /// A newer event of the subscription took over: this one stops.
    Superseded,
}

/// Whether the event behind `cause` still holds: its subscription's newest,
/// or its payment not refunded.
async fn still_newest(app: &App, business_id: &str, cause: &crate::store::GrantCause<'_>) -> ApiResult<bool> {
    match cause {
        crate::store::GrantCause::Subscription { subscription_id, at_ns } => {
            let record = app.store.subscription(business_id, subscription_id).await?;
            Ok(record.is_some_and(|r| r.at_ns == *at_ns))
        }
        crate::store::GrantCause::Payment { payment_id } => {
            let record = app.store.payment(business_id, payment_id).await?;
            Ok(!record.is_some_and(|r| r.refunded))
        }
    }
}

/// `cause` no longer confers the grant of `grant_id`, for `reason`: revoked,
/// restorable by a later event (a feature flag another cause confers stays);
/// one already Revoked stays as it is.
pub async fn revoke_for_event(
    app: &App,
    business_id: &str,
    grant_id: &str,
    reason: &str,
    cause: &crate::store::GrantCause<'_>,
) -> ApiResult<EventChange> {
    // A refund withdraws its payment unguarded: the payment is refunded by then.
    let guard = match cause {
        crate::store::GrantCause::Payment { .. } => None,
        crate::store::GrantCause::Subscription { .. } => Some(cause),
    };
    change_for_cause(app, business_id, grant_id, &cause.tag(), Some(reason), guard).await
}

/// `cause` confers the grant (again): one the provider's events revoked is
/// restored, the same grant and key, Delivered again, the key enabled. One
/// revoked by hand, or not revoked, stays as it is.
pub async fn restore_for_event(
    app: &App,
    business_id: &str,
    grant_id: &str,
    cause: &crate::store::GrantCause<'_>,
) -> ApiResult<EventChange> {
    change_for_cause(app, business_id, grant_id, &cause.tag(), None, Some(cause)).await
}

/// Withdraws `cause` from the grant for `revoke`'s reason, or confers it when
/// `None`, its key flagged with the grant's status; with a guard, while the
/// event behind it is still its subscription's newest.
async fn change_for_cause(
    app: &App,
    business_id: &str,
    grant_id: &str,
    cause: &str,
    revoke: Option<&str>,
    guard: Option<&crate::store::GrantCause<'_>>,
) -> ApiResult<EventChange> {
    until_done!(|_| {
        let Some(grant) = app.store.grant(business_id, grant_id).await? else {
            return Ok(Attempt::Done(EventChange::Done));
        };
        let grant = app.store.counted_grant(grant).await?;
        let now = clock::now();
        let changed = match revoke {
            Some(reason) => grant.withdrawn(cause, reason, &clock::rfc3339(now)),
            None => grant.conferred(cause, &clock::rfc3339(now)),
        };
        let Some(changed) = changed else {
            return Ok(Attempt::Done(EventChange::Done));
        };
        let mut events = Events::new(business_id, now);
        let revoked = changed.status == GrantStatus::Revoked;
        if changed.status != grant.status {
            if revoked {
                events = events.grant(GRANT_REVOKED, &changed);
            } else if changed.status == GrantStatus::Delivered {
                events = events.grant(GRANT_DELIVERED, &changed);
            }
        }
        let key = key_of(app, &grant).await?;
        if let Some(key) = &key {
            let flagged = LicenseKey {
                grant_revoked: revoked,
                ..key.clone()
            };
            events = events.key(KEY_UPDATED, &flagged);
        }
        let change = GrantChange {
            current: &grant,
            changed: &changed,
            key: key.as_ref(),
            guard,
            events: &events.build(),
        };
        let written = if revoked {
            app.store.revoke_grant(&change, None).await?
        } else {
            app.store.restore_grant(&change).await?
        };
        match (written, guard) {
            (Written::Done, _) => Ok(Attempt::Done(EventChange::Done)),
            (_, Some(cause)) if !still_newest(app, business_id, cause).await? => {
                Ok(Attempt::Done(EventChange::Superseded))
            }
            _ => Ok(Attempt::Lost),
        }
    })
    .await
}

/// The grant's key as stored, read for a change made with the grant's.
async fn key_of(app: &App, grant: &Grant) -> ApiResult<Option<LicenseKey>> {
    match &grant.license_key {
        Some(view) => app.store.license_key_by_value(&view.key).await,
        None => Ok(None),
    }
}

/// One attempt at revoking `grant` as read, its key disabled with it.
async fn revoke_as_read(
    app: &App,
    grant: Grant,
    reason: &str,
    answer: impl Fn(&Reply) -> Option<crate::store::AnswerRecord>,
) -> ApiResult<Attempt<Reply>> {
    let now = clock::now();
    let Some(revoked) = grant.revoked(reason, &clock::rfc3339(now)) else {
        return Ok(Attempt::Done(Reply::ok(&grant.presented(now))?));
    };
    let reply = Reply::ok(&revoked.clone().presented(now))?;
    let mut events = Events::new(&revoked.business_id, now).grant(GRANT_REVOKED, &revoked);
    // The key is disabled with the grant, conditioned on being as read, so
    // its event carries it as it then is.
    let key = key_of(app, &grant).await?;
    if let Some(key) = &key {
        let disabled = LicenseKey {
            grant_revoked: true,
            ..key.clone()
        };
        events = events.key(KEY_UPDATED, &disabled);
    }
    let change = GrantChange {
        current: &grant,
        changed: &revoked,
        key: key.as_ref(),
        guard: None,
        events: &events.build(),
    };
    match app.store.revoke_grant(&change, answer(&reply).as_ref()).await? {
        Written::Done => Ok(Attempt::Done(reply)),
        // The grant changed under us (an activation, an email): read it again.
        Written::Refused { .. } | Written::Conflict => Ok(Attempt::Lost),
    }
}

/// `POST /grants/{id}/resend-email`: the key email queued again and sent, 202;
/// while one is queued already, 202 with nothing more done.
pub async fn resend_email(app: &App, call: &Call, grant_id: &str) -> ApiResult<Reply> {
    until_done!(|_| {
        let grant = app
            .store
            .counted_grant(own(app, call.principal_id(), grant_id).await?)
            .await?;
        let requeued = match grant.resend(clock::now())? {
            Resend::Queue(requeued) => *requeued,
            Resend::AlreadyQueued => return Ok(Attempt::Done(Reply::json(202, &grant.presented(clock::now()))?)),
        };
        let reply = Reply::json(202, &requeued.clone().presented(clock::now()))?;
        let due = Some(key_email::first_attempt_due_ms());
        // A Failed grant whose email goes out again is Delivered again.
        let events = if grant.status != requeued.status && requeued.status == GrantStatus::Delivered {
            Events::new(&requeued.business_id, clock::now())
                .grant(GRANT_DELIVERED, &requeued)
                .build()
        } else {
            Vec::new()
        };
        match app
            .store
            .replace_grant(
                &grant,
                &requeued,
                due,
                Vec::new(),
                &events,
                call.answer(&reply).as_ref(),
            )
            .await?
        {
            Written::Done => {
                let Ok(entitlement) = entitlements_of(app, &requeued).await else {
                    return Ok(Attempt::Done(reply));
                };
                let sent = key_email::attempt(app, &requeued, &entitlement, 1).await;
                Ok(Attempt::Done(Reply::json(202, &sent.presented(clock::now()))?))
            }
            Written::Refused { .. } | Written::Conflict => Ok(Attempt::Lost),
        }
    })
    .await
}

/// The entitlement a grant was issued from, deleted or not.
async fn entitlements_of(app: &App, grant: &Grant) -> ApiResult<Entitlement> {
    app.store
        .entitlement(&grant.business_id, &grant.entitlement_id)
        .await?
        .ok_or_else(|| ApiError::not_found("entitlement"))
}

pub async fn list_of_entitlement(
    app: &App,
    call: &Call,
    entitlement_id: &str,
    customer_id: Option<&str>,
    status: Option<&str>,
    page: &PageRequest,
) -> ApiResult<Reply> {
    let status = GrantStatus::filter(status)?;
    // Grants hang off the entitlement; reading it first keeps another business's out.
    if app
        .store
        .entitlement(call.principal_id(), entitlement_id)
        .await?
        .is_none()
    {
        return Err(ApiError::not_found("entitlement"));
    }
    let page = app
        .store
        .list_grants_of_entitlement(entitlement_id, customer_id, status, page)
        .await?;
    let now = clock::now();
    let items: Vec<_> = page.items.into_iter().map(|g| g.presented(now)).collect();
    Reply::page(&digital_files::delivered(app, items).await?, page.next_cursor)
}

pub async fn list_of_customer(
    app: &App,
    call: &Call,
    customer_id: &str,
    integration_type: Option<&str>,
    status: Option<&str>,
    page: &PageRequest,
) -> ApiResult<Reply> {
    let status = GrantStatus::filter(status)?;
    let integration_type = IntegrationType::filter(integration_type)?;
    let page = app
        .store
        .list_grants_of_customer(call.principal_id(), customer_id, integration_type, status, page)
        .await?;
    let now = clock::now();
    let items: Vec<_> = page.items.into_iter().map(|g| g.presented(now)).collect();
    Reply::page(&digital_files::delivered(app, items).await?, page.next_cursor)
}

/// A customer holds at most this many grants in `customers.list_entitlements`.
const CUSTOMER_ENTITLEMENTS_MAX: usize = 1000;

/// `GET /customers/{customer_id}/entitlements`: what the customer is entitled to now.
pub async fn entitlements_of_customer(app: &App, call: &Call, customer_id: &str) -> ApiResult<Reply> {
    crate::json::check_len("customer_id", customer_id, 1, 255)?;
    let business = call.principal_id();
    let grants = app
        .store
        .all_grants_of_customer(business, customer_id, CUSTOMER_ENTITLEMENTS_MAX)
        .await?;
    let mut ids: Vec<&str> = grants.iter().map(|g| g.entitlement_id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    let entitlements = app.store.entitlements_by_id(business, &ids).await?;
    Reply::ok(&crate::domain::customer_entitlements::customer_entitlements(
        &grants,
        &entitlements,
    ))
}
