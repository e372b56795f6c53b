//! Grants, and the grant side of the license keys they deliver.
//!
//! - grant: `pk = BIZ#<business>`, `sk = GRANT#<id>`; in `gsi1` under its
//!   entitlement and in `gsi2` under its customer, both newest first; while its
//!   email is queued, in the sparse outbox index `gsi3` by due time.
//! - grant uniqueness: `pk = GRANTFOR#<digest of entitlement, customer, payment>`.
//!
//! The grant's item key is `store::grant_key`, below this module and
//! license_keys.rs, whose changes of a key also write its copy on the grant.
//! A delivered key's items are license_keys.rs's (`license_key_items`).

use super::entitlements::entitlement_key;
use super::license_keys::{activation_counter, change_guard, license_key_items, license_key_key};
use super::paging::{Filter, KeyRange, PageOfItems, PageStart};
use super::provider_events::{cause_action, cause_guard, GrantCause};
use super::webhooks::event_puts;
use super::{
    from_item, grant_key, key, n, put_new, s, sdk_error, to_attribute, to_item, unless_refused, AnswerRecord, Item,
    PageRequest, Store, Written,
};
use crate::domain::entitlement::Entitlement;
use crate::domain::grant::{Grant, GrantStatus};
use crate::domain::license_key::{key_digest, LicenseKey};
use crate::domain::webhook::Event;
use crate::error::ApiError;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};

const OUTBOX_SHARDS: u32 = 4;

fn uniqueness_key(entitlement_id: &str, customer_id: &str, uniqueness: &str) -> Item {
    let hex = crate::digest::sha256_hex(serde_json::json!([entitlement_id, customer_id, uniqueness]).to_string());
    key(format!("GRANTFOR#{hex}"), "GRANTFOR")
}

fn outbox_shard(grant_id: &str) -> String {
    let spread = grant_id
        .bytes()
        .fold(0u32, |acc, b| acc.wrapping_mul(31).wrapping_add(b as u32));
    format!("OUTBOX#{}", spread % OUTBOX_SHARDS)
}

/// Every shard once, starting at `first`.
fn shard_order(first: u32) -> impl Iterator<Item = u32> {
    (0..OUTBOX_SHARDS).map(move |i| (first % OUTBOX_SHARDS + i) % OUTBOX_SHARDS)
}

/// Sort key of a queued email: due time first, so "due now" is a key range.
fn outbox_due(due_ms: u64, grant_id: &str) -> String {
    format!("{due_ms:015}#{grant_id}")
}

fn grant_item(grant: &Grant, email_due_ms: Option<u64>) -> Result<Item, ApiError> {
    let mut item = to_item(grant)?;
    item.extend(grant_key(&grant.business_id, &grant.id));
    item.insert("gsi1pk".into(), s(format!("ENT#{}#GRANT", grant.entitlement_id)));
    item.insert("gsi1sk".into(), s(&grant.id));
    item.insert(
        "gsi2pk".into(),
        s(format!("BIZ#{}#CUST#{}#GRANT", grant.business_id, grant.customer_id)),
    );
    item.insert("gsi2sk".into(), s(&grant.id));
    if let Some(due) = email_due_ms {
        item.insert("gsi3pk".into(), s(outbox_shard(&grant.id)));
        item.insert("gsi3sk".into(), s(outbox_due(due, &grant.id)));
        // The request that queued it makes the first attempt: no run takes it before `due`.
        item.insert("lease_until_ms".into(), n(due));
    }
    Ok(item)
}

/// A grant to create, with what is created with it.
#[derive(Clone, Copy)]
pub struct GrantIssue<'a> {
    pub grant: &'a Grant,
    /// As read: the grant and its key's terms were computed from it.
    pub entitlement: &'a Entitlement,
    /// What makes the grant unique for its entitlement and customer.
    pub uniqueness: &'a str,
    /// The grant the uniqueness marker points to, which this one replaces
    /// (while the marker still points to it).
    pub replaces: Option<&'a str>,
    /// What the grant hangs off when an event issued it.
    pub cause: Option<&'a GrantCause<'a>>,
    /// The key delivered with it (auto fulfilment) and when its email comes due.
    pub delivered: Option<(&'a LicenseKey, u64)>,
    pub events: &'a [Event],
}

/// A grant's revocation or restoration, as read and as written.
#[derive(Clone, Copy)]
pub struct GrantChange<'a> {
    pub current: &'a Grant,
    pub changed: &'a Grant,
    /// Its key as read, flagged with the grant.
    pub key: Option<&'a LicenseKey>,
    /// The event behind it, which must still be its subscription's newest.
    pub guard: Option<&'a GrantCause<'a>>,
    pub events: &'a [Event],
}

pub enum IssueOutcome {
    Created,
    /// A grant for this entitlement, customer and payment exists already.
    Existing(String),
    /// The entitlement was deleted or changed since it was read.
    EntitlementChanged,
    /// The grant's cause no longer admits it (its payment was refunded).
    CauseRefused,
    KeyInUse,
    Conflict,
}

pub enum FulfilOutcome {
    Fulfilled,
    /// The grant changed since it was read; this is what it is now.
    GrantChanged(Box<Grant>),
    GrantGone,
    /// The entitlement changed since it was read: decide again.
    EntitlementChanged,
    KeyInUse,
    Conflict,
}

pub struct GrantPage {
    pub items: Vec<Grant>,
    pub next_cursor: Option<String>,
}

impl Store {
    /// The grant as stored: a sharded key's count on it is as of the split
    /// (`counted_grant` adds it up, for what shows it).
    pub async fn grant(&self, business_id: &str, grant_id: &str) -> Result<Option<Grant>, ApiError> {
        self.get_as(grant_key(business_id, grant_id), false).await
    }

    /// A grant whose key's count is sharded shows what the shards used.
    pub async fn counted_grant(&self, mut grant: Grant) -> Result<Grant, ApiError> {
        if let Some(copy) = grant.license_key.as_mut() {
            if let Some(count) = copy.activation_shards {
                let counter = activation_counter(&key_digest(&copy.key));
                copy.activations_used = self.shards(&counter, count).await?.iter().map(|s| s.used).sum();
            }
        }
        Ok(grant)
    }

    /// Creates the grant if no grant exists for its entitlement, customer and
    /// payment, and the entitlement is active; with `delivered_key`, in the same
    /// transaction as the key's records (auto fulfilment).
    pub async fn issue_grant(
        &self,
        issue: &GrantIssue<'_>,
        answer: Option<&AnswerRecord>,
    ) -> Result<IssueOutcome, ApiError> {
        let GrantIssue {
            grant,
            entitlement,
            uniqueness,
            replaces,
            cause,
            delivered,
            events,
        } = *issue;
        let unique = uniqueness_key(&grant.entitlement_id, &grant.customer_id, uniqueness);
        let mut marker = unique.clone();
        marker.insert("grant_id".into(), s(&grant.id));
        // The grant (and its key's terms) were computed from the entitlement as read.
        let entitlement_active = ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(entitlement_key(&grant.business_id, &grant.entitlement_id)))
            .condition_expression("is_active = :true AND updated_at = :seen")
            .expression_attribute_values(":true", AttributeValue::Bool(true))
            .expression_attribute_values(":seen", s(&entitlement.updated_at))
            .build()
            .map_err(ApiError::internal)?;
        let mut actions = vec![
            TransactWriteItem::builder().condition_check(entitlement_active).build(),
            match replaces {
                None => put_new(&self.table, marker)?,
                Some(old) => super::put(&self.table, marker, Some(("grant_id = :old", vec![(":old", s(old))])))?,
            },
            put_new(&self.table, grant_item(grant, delivered.map(|(_, due)| due))?)?,
        ];
        if let Some(cause) = cause {
            actions.push(cause_action(&self.table, &grant.business_id, cause, &grant.id)?);
        }
        if let Some((license_key, _)) = delivered {
            for item in license_key_items(license_key)? {
                actions.push(put_new(&self.table, item)?);
            }
        }
        actions.extend(event_puts(&self.table, events)?);
        match self.commit(actions, answer).await? {
            Written::Done => Ok(IssueOutcome::Created),
            Written::Refused { at: 0, .. } => Ok(IssueOutcome::EntitlementChanged),
            Written::Refused { at: 1, .. } => {
                let existing = self.get_item(unique, true).await?;
                let grant_id = existing
                    .as_ref()
                    .and_then(|i| i.get("grant_id"))
                    .and_then(|v| v.as_s().ok())
                    .cloned();
                grant_id
                    .map(IssueOutcome::Existing)
                    .ok_or_else(|| ApiError::internal("grant marker lost"))
            }
            Written::Refused { at: 3, .. } if cause.is_some() => Ok(IssueOutcome::CauseRefused),
            Written::Refused { .. } => Ok(IssueOutcome::KeyInUse),
            Written::Conflict => Ok(IssueOutcome::Conflict),
        }
    }

    /// Fulfils a Pending grant without a key, in one transaction: the grant becomes
    /// `delivered` (Delivered, key attached, email queued) and the key's records are
    /// created, unless the key is already in use anywhere.
    pub async fn fulfil_grant(
        &self,
        delivered: &Grant,
        entitlement: &Entitlement,
        license_key: &LicenseKey,
        email_due_ms: u64,
        events: &[Event],
        answer: Option<&AnswerRecord>,
    ) -> Result<FulfilOutcome, ApiError> {
        let grant_update = Put::builder()
            .table_name(&self.table)
            .set_item(Some(grant_item(delivered, Some(email_due_ms))?))
            .condition_expression("#status = :pending AND (attribute_not_exists(license_key) OR license_key = :null)")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":pending", s(GrantStatus::Pending.as_str()))
            .expression_attribute_values(":null", AttributeValue::Null(true))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .map_err(ApiError::internal)?;
        let [key_item, pointer] = license_key_items(license_key)?;
        // The mode and the key's default terms come from the entitlement as read.
        let entitlement_unchanged = ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(entitlement_key(&entitlement.business_id, &entitlement.id)))
            .condition_expression("updated_at = :seen")
            .expression_attribute_values(":seen", s(&entitlement.updated_at))
            .build()
            .map_err(ApiError::internal)?;
        let mut actions = vec![
            TransactWriteItem::builder().put(grant_update).build(),
            put_new(&self.table, key_item)?,
            put_new(&self.table, pointer)?,
            TransactWriteItem::builder()
                .condition_check(entitlement_unchanged)
                .build(),
        ];
        actions.extend(event_puts(&self.table, events)?);
        match self.commit(actions, answer).await? {
            Written::Done => Ok(FulfilOutcome::Fulfilled),
            Written::Refused { at: 0, item, .. } => match item {
                Some(now) => Ok(FulfilOutcome::GrantChanged(Box::new(from_item(now)?))),
                None => Ok(FulfilOutcome::GrantGone),
            },
            Written::Refused { at: 3, .. } => Ok(FulfilOutcome::EntitlementChanged),
            Written::Refused { .. } => Ok(FulfilOutcome::KeyInUse),
            Written::Conflict => Ok(FulfilOutcome::Conflict),
        }
    }

    /// Records the outcome of the email attempt numbered `attempt` as `after`
    /// (the grant as the attempt left it), if no other attempt has started since;
    /// still queued, it comes due again at `retry_at_ms`.
    pub async fn record_email_attempt(
        &self,
        after: &Grant,
        attempt: u32,
        retry_at_ms: Option<u64>,
        events: &[Event],
    ) -> Result<bool, ApiError> {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(grant_key(&after.business_id, &after.id)))
            .condition_expression("email_delivery.#status = :queued AND email_delivery.attempts = :attempt")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#grant_status", "status")
            .expression_attribute_values(":queued", s("queued"))
            .expression_attribute_values(":attempt", n(attempt))
            .expression_attribute_values(":delivery", to_attribute(&after.email_delivery)?)
            .expression_attribute_values(":grant_status", s(after.status.as_str()))
            .expression_attribute_values(":code", to_attribute(&after.error_code)?)
            .expression_attribute_values(":error", to_attribute(&after.error_message)?)
            .expression_attribute_values(":now", s(&after.updated_at));
        let set = "SET email_delivery = :delivery, #grant_status = :grant_status, error_code = :code, error_message = :error, updated_at = :now";
        let update = match retry_at_ms {
            Some(due) => update
                .update_expression(format!("{set}, gsi3sk = :due REMOVE lease_until_ms"))
                .expression_attribute_values(":due", s(outbox_due(due, &after.id))),
            None => update.update_expression(format!("{set} REMOVE gsi3pk, gsi3sk, lease_until_ms")),
        };
        let mut actions = vec![TransactWriteItem::builder()
            .update(update.build().map_err(ApiError::internal)?)
            .build()];
        // A grant that turns Failed says so in the same write.
        actions.extend(event_puts(&self.table, events)?);
        Ok(matches!(self.commit(actions, None).await?, Written::Done))
    }

    /// Claims the next attempt of a queued email seen with `attempts` attempts, and
    /// keeps other runs off it until `lease_until_ms`. False when another run got it.
    pub async fn claim_email_attempt(
        &self,
        grant: &Grant,
        attempts: u32,
        now_ms: u64,
        lease_until_ms: u64,
        now: &str,
    ) -> Result<bool, ApiError> {
        let result = self
            .db
            .update_item()
            .table_name(&self.table)
            .set_key(Some(grant_key(&grant.business_id, &grant.id)))
            .update_expression(
                "SET email_delivery.attempts = :next, gsi3sk = :lease, lease_until_ms = :lease_ms, updated_at = :now",
            )
            .expression_attribute_values(":now", s(now))
            .expression_attribute_values(":lease_ms", n(lease_until_ms))
            .expression_attribute_values(":now_ms", n(now_ms))
            // Not while another run (or the request that queued it) holds its attempt.
            .condition_expression(
                "email_delivery.#status = :queued AND email_delivery.attempts = :seen \
                 AND (attribute_not_exists(lease_until_ms) OR lease_until_ms < :now_ms)",
            )
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":queued", s("queued"))
            .expression_attribute_values(":seen", n(attempts))
            .expression_attribute_values(":next", n(attempts + 1))
            .expression_attribute_values(":lease", s(outbox_due(lease_until_ms, &grant.id)))
            .send()
            .await;
        Ok(unless_refused(result)?.is_some())
    }

    /// Queued emails due by `due_by_ms` and not held by a run at `now_ms`, at most
    /// `limit`, oldest first within each shard; the shards are read from
    /// `first_shard` on, so a full batch from one never starves the others.
    pub async fn due_emails(
        &self,
        due_by_ms: u64,
        now_ms: u64,
        limit: usize,
        first_shard: u32,
    ) -> Result<Vec<Grant>, ApiError> {
        let mut due = Vec::new();
        for shard in shard_order(first_shard) {
            let output = self
                .db
                .query()
                .table_name(&self.table)
                .index_name("gsi3")
                .key_condition_expression("gsi3pk = :shard AND gsi3sk <= :due")
                .filter_expression("attribute_not_exists(lease_until_ms) OR lease_until_ms < :now_ms")
                .expression_attribute_values(":shard", s(format!("OUTBOX#{shard}")))
                .expression_attribute_values(":due", s(outbox_due(due_by_ms, "~")))
                .expression_attribute_values(":now_ms", n(now_ms))
                .limit(limit as i32)
                .send()
                .await
                .map_err(sdk_error)?;
            for item in output.items.unwrap_or_default() {
                due.push(from_item(item)?);
            }
        }
        due.truncate(limit);
        Ok(due)
    }

    /// Writes `after` over `current` if the grant is still as it was read: the
    /// one way a grant changes outside fulfilment and the email outbox. `queued_due_ms`
    /// puts it in the outbox; `None` takes it out. `also` is written in the same
    /// transaction (a revocation disables the key).
    pub async fn replace_grant(
        &self,
        current: &Grant,
        after: &Grant,
        queued_due_ms: Option<u64>,
        also: Vec<TransactWriteItem>,
        events: &[Event],
        answer: Option<&AnswerRecord>,
    ) -> Result<Written, ApiError> {
        // `updated_at` tells changes apart only to the millisecond; `rev` counts
        // the frequent writes to the key's copy exactly.
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(grant_item(after, queued_due_ms)?));
        let put = match current.rev {
            Some(rev) => put
                .condition_expression("updated_at = :seen AND rev = :rev")
                .expression_attribute_values(":rev", n(rev)),
            None => put.condition_expression("updated_at = :seen AND attribute_not_exists(rev)"),
        };
        let put = put
            .expression_attribute_values(":seen", s(&current.updated_at))
            .build()
            .map_err(ApiError::internal)?;
        let mut actions = vec![TransactWriteItem::builder().put(put).build()];
        actions.extend(also);
        actions.extend(event_puts(&self.table, events)?);
        self.commit(actions, answer).await
    }

    /// Revokes the grant as read (`changed`), its key disabled with it; with
    /// a guard, only while the event behind it is still its subscription's newest.
    pub async fn revoke_grant(
        &self,
        change: &GrantChange<'_>,
        answer: Option<&AnswerRecord>,
    ) -> Result<Written, ApiError> {
        self.set_key_revoked(change, true, answer).await
    }

    /// A grant a provider's event revoked, restored as read (`changed`), its
    /// key enabled again, while the event behind it is its subscription's newest.
    pub async fn restore_grant(&self, change: &GrantChange<'_>) -> Result<Written, ApiError> {
        self.set_key_revoked(change, false, None).await
    }

    /// Writes the grant as changed with its key's `grant_revoked` set to
    /// `revoked`; the guard's check, when given, comes last.
    async fn set_key_revoked(
        &self,
        change: &GrantChange<'_>,
        revoked: bool,
        answer: Option<&AnswerRecord>,
    ) -> Result<Written, ApiError> {
        let GrantChange {
            current,
            changed,
            key,
            guard,
            events,
        } = *change;
        let mut also = Vec::new();
        if let Some(key) = key {
            let guard = change_guard(&self.table, key, None)?;
            let mut flag = Update::builder()
                .table_name(&self.table)
                .set_key(Some(license_key_key(&key_digest(&key.key))))
                .update_expression(match guard.set {
                    Some(set) => format!("SET grant_revoked = :revoked, {set}"),
                    None => "SET grant_revoked = :revoked".into(),
                })
                .condition_expression(guard.condition)
                .expression_attribute_values(":revoked", AttributeValue::Bool(revoked));
            for (name, value) in guard.values {
                flag = flag.expression_attribute_values(name, value);
            }
            also.push(
                TransactWriteItem::builder()
                    .update(flag.build().map_err(ApiError::internal)?)
                    .build(),
            );
            also.extend(guard.shards);
        }
        if let Some(guard) = guard {
            also.extend(cause_guard(&self.table, &changed.business_id, guard)?);
        }
        self.replace_grant(current, changed, None, also, events, answer).await
    }

    /// Delivered grants of one entitlement to one customer: one Query on the
    /// customer's grants (a customer has few).
    pub async fn delivered_grants(
        &self,
        business_id: &str,
        entitlement_id: &str,
        customer_id: &str,
    ) -> Result<Vec<Grant>, ApiError> {
        let output = self
            .db
            .query()
            .table_name(&self.table)
            .index_name("gsi2")
            .key_condition_expression("gsi2pk = :customer")
            .filter_expression("entitlement_id = :entitlement AND #status = :delivered")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":customer", s(format!("BIZ#{business_id}#CUST#{customer_id}#GRANT")))
            .expression_attribute_values(":entitlement", s(entitlement_id))
            .expression_attribute_values(":delivered", s(GrantStatus::Delivered.as_str()))
            .send()
            .await
            .map_err(sdk_error)?;
        output.items.unwrap_or_default().into_iter().map(from_item).collect()
    }

    pub async fn list_grants_of_entitlement(
        &self,
        entitlement_id: &str,
        customer_id: Option<&str>,
        status: Option<GrantStatus>,
        page: &PageRequest,
    ) -> Result<GrantPage, ApiError> {
        let mut filter = Filter::default();
        if let Some(customer) = customer_id {
            filter = filter.eq("customer_id", s(customer));
        }
        if let Some(status) = status {
            filter = filter.eq("status", s(status.as_str()));
        }
        let range = KeyRange::index("gsi1", format!("ENT#{entitlement_id}#GRANT")).filtered(filter);
        let page = self.grant_page(range, page).await?;
        self.counted_page(page).await
    }

    pub async fn list_grants_of_customer(
        &self,
        business_id: &str,
        customer_id: &str,
        integration_type: Option<crate::domain::entitlement::IntegrationType>,
        status: Option<GrantStatus>,
        page: &PageRequest,
    ) -> Result<GrantPage, ApiError> {
        let mut filter = Filter::default();
        if let Some(integration_type) = integration_type {
            filter = filter.eq("integration_type", s(integration_type.as_str()));
        }
        if let Some(status) = status {
            filter = filter.eq("status", s(status.as_str()));
        }
        let range = KeyRange::index("gsi2", format!("BIZ#{business_id}#CUST#{customer_id}#GRANT")).filtered(filter);
        let page = self.grant_page(range, page).await?;
        self.counted_page(page).await
    }

    /// The grants of one customer not revoked, up to `max`, page after page.
    pub async fn all_grants_of_customer(
        &self,
        business_id: &str,
        customer_id: &str,
        max: usize,
    ) -> Result<Vec<Grant>, ApiError> {
        let mut grants = Vec::new();
        let mut page = PageRequest::first(100);
        loop {
            let held = Filter::default().raw(
                "#held_status <> :revoked",
                &[("#held_status", "status")],
                vec![(":revoked".into(), s(GrantStatus::Revoked.as_str()))],
            );
            let range = KeyRange::index("gsi2", format!("BIZ#{business_id}#CUST#{customer_id}#GRANT")).filtered(held);
            let found = self.grant_page(range, &page).await?;
            grants.extend(found.items);
            match found.next_cursor {
                Some(cursor) if grants.len() < max => page.start = PageStart::After(super::Cursor::decode(&cursor)?),
                _ => break,
            }
        }
        grants.truncate(max);
        Ok(grants)
    }

    async fn grant_page(&self, range: KeyRange<'_>, page: &PageRequest) -> Result<GrantPage, ApiError> {
        let PageOfItems { items, next_cursor } = self.query_page(range, page).await?;
        let items = items.into_iter().map(from_item).collect::<Result<_, _>>()?;
        Ok(GrantPage { items, next_cursor })
    }

    /// A page of grants as shown: sharded keys' counts added up.
    async fn counted_page(&self, page: GrantPage) -> Result<GrantPage, ApiError> {
        let mut items = Vec::with_capacity(page.items.len());
        for grant in page.items {
            items.push(self.counted_grant(grant).await?);
        }
        Ok(GrantPage {
            items,
            next_cursor: page.next_cursor,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_run_reads_every_shard_once_from_its_own_start() {
        for first in [0, 1, 3, 7, u32::MAX] {
            let order: Vec<u32> = shard_order(first).collect();
            let mut sorted = order.clone();
            sorted.sort();
            assert_eq!(sorted, (0..OUTBOX_SHARDS).collect::<Vec<_>>());
            assert_eq!(order[0], first % OUTBOX_SHARDS);
        }
    }
}
