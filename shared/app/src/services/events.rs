//! The webhook events a change reports, built beside the change so the store
//! writes them in its transaction (SPEC §1.5). Each carries the resource as
//! its own GET route answers it.

use crate::clock;
use crate::domain::credit::{BalanceLow, LedgerEntry};
use crate::domain::grant::Grant;
use crate::domain::license_key::{Instance, LicenseKey};
use crate::domain::webhook::{self, Event};
use serde_json::Value;
use time::OffsetDateTime;

pub struct Events {
    business_id: String,
    now: OffsetDateTime,
    changes: Vec<(&'static str, String, Value)>,
}

impl Events {
    pub fn new(business_id: &str, now: OffsetDateTime) -> Self {
        Self {
            business_id: business_id.to_string(),
            now,
            changes: Vec::new(),
        }
    }

    /// An `entitlement_grant.*` event, in the grant's order.
    pub fn grant(mut self, event_type: &'static str, grant: &Grant) -> Self {
        let data = serde_json::to_value(grant.clone().presented(self.now)).unwrap_or(Value::Null);
        self.changes.push((event_type, grant.id.clone(), data));
        self
    }

    /// A `license_key.*` event, in the key's order.
    pub fn key(mut self, event_type: &'static str, key: &LicenseKey) -> Self {
        let data = serde_json::to_value(key.view(self.now)).unwrap_or(Value::Null);
        self.changes.push((event_type, key.id.clone(), data));
        self
    }

    /// A `license_key_instance.*` event, in its key's order (a sharded key's:
    /// in the instance's own).
    pub fn instance(mut self, event_type: &'static str, instance: &Instance) -> Self {
        let data = serde_json::to_value(instance).unwrap_or(Value::Null);
        let subject = instance
            .event_subject
            .clone()
            .unwrap_or_else(|| instance.license_key_id.clone());
        self.changes.push((event_type, subject, data));
        self
    }

    /// A `credit.*` event: its ledger entry, in its balance's order.
    pub fn credit(mut self, event_type: &'static str, balance_id: &str, entry: &LedgerEntry) -> Self {
        let data = serde_json::to_value(entry).unwrap_or(Value::Null);
        self.changes.push((event_type, balance_id.to_string(), data));
        self
    }

    /// `credit.balance_low`, in its balance's order.
    pub fn balance_low(mut self, balance_id: &str, low: &BalanceLow) -> Self {
        let data = serde_json::to_value(low).unwrap_or(Value::Null);
        self.changes
            .push((webhook::CREDIT_BALANCE_LOW, balance_id.to_string(), data));
        self
    }

    /// The events, with ids that sort in the order they were added.
    pub fn build(self) -> Vec<Event> {
        let timestamp = clock::rfc3339(self.now);
        let ids = crate::ids::new_ordered_ids("evt", self.changes.len());
        self.changes
            .into_iter()
            .zip(ids)
            .map(|((event_type, subject, data), id)| {
                Event::new(id, &self.business_id, event_type, &subject, &timestamp, &data)
            })
            .collect()
    }
}
