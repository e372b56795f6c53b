//! The objects' sequential specifications: what one call at a time would
//! answer. Ids the service mints (an instance's) cannot be foreseen, so an
//! activation's answer is valid with any id not already in use, and the model
//! takes that id from then on.

use crate::Model;
use serde::{Deserialize, Serialize};
use stateright::semantics::SequentialSpec;
use std::collections::{BTreeMap, BTreeSet};

/// A license key: its devices (instances, each with the fingerprint it was
/// activated with, if any) and its activations limit (`None`: no limit).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Key {
    pub limit: Option<u32>,
    pub instances: BTreeMap<String, Option<String>>,
    /// Ids this model made up for activations of unknown outcome.
    made_up: u32,
}

impl Key {
    pub fn with_limit(limit: Option<u32>) -> Self {
        Self {
            limit,
            ..Self::default()
        }
    }

    fn full(&self) -> bool {
        self.limit.is_some_and(|limit| self.instances.len() >= limit as usize)
    }

    fn device(&self, fingerprint: &Option<String>) -> Option<String> {
        let fingerprint = fingerprint.as_ref()?;
        self.instances
            .iter()
            .find(|(_, f)| f.as_ref() == Some(fingerprint))
            .map(|(id, _)| id.clone())
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "f", rename_all = "snake_case")]
pub enum KeyOp {
    /// `POST /licenses/activate`, with the device's fingerprint or without.
    Activate { fingerprint: Option<String> },
    /// `POST /licenses/deactivate`.
    Deactivate { instance: String },
    /// `POST /licenses/validate` with the instance: whether it is one of the
    /// key's, and the key's `instances_count` in the same answer.
    Validate { instance: String },
    /// The key's `instances_count` (`GET /license_keys/{id}`).
    Count,
    /// `PATCH /license_keys/{id}` `{activations_limit}`.
    SetLimit { limit: Option<u32> },
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "r", rename_all = "snake_case")]
pub enum KeyRet {
    Activated { instance: String },
    LimitReached,
    Deactivated,
    NotFound,
    Valid { valid: bool, count: u32 },
    Count { count: u32 },
    LimitSet,
    LimitBelowUsed,
}

impl SequentialSpec for Key {
    type Op = KeyOp;
    type Ret = KeyRet;

    fn invoke(&mut self, op: &KeyOp) -> KeyRet {
        match op {
            KeyOp::Activate { fingerprint } => {
                if let Some(instance) = self.device(fingerprint) {
                    return KeyRet::Activated { instance };
                }
                if self.full() {
                    return KeyRet::LimitReached;
                }
                self.made_up += 1;
                let instance = format!("?{}", self.made_up);
                self.instances.insert(instance.clone(), fingerprint.clone());
                KeyRet::Activated { instance }
            }
            KeyOp::Deactivate { instance } => match self.instances.remove(instance) {
                Some(_) => KeyRet::Deactivated,
                None => KeyRet::NotFound,
            },
            KeyOp::Validate { instance } => KeyRet::Valid {
                valid: self.instances.contains_key(instance),
                count: self.instances.len() as u32,
            },
            KeyOp::Count => KeyRet::Count {
                count: self.instances.len() as u32,
            },
            KeyOp::SetLimit { limit } => {
                if limit.is_some_and(|limit| (limit as usize) < self.instances.len()) {
                    KeyRet::LimitBelowUsed
                } else {
                    self.limit = *limit;
                    KeyRet::LimitSet
                }
            }
        }
    }

    fn is_valid_step(&mut self, op: &KeyOp, ret: &KeyRet) -> bool {
        match (op, ret) {
            // A new device takes a free slot under an id not in use; a known one gets its own id back.
            (KeyOp::Activate { fingerprint }, KeyRet::Activated { instance }) => match self.device(fingerprint) {
                Some(known) => known == *instance,
                None if self.full() || self.instances.contains_key(instance) => false,
                None => {
                    self.instances.insert(instance.clone(), fingerprint.clone());
                    true
                }
            },
            _ => self.invoke(op) == *ret,
        }
    }
}

/// An organization's pool of one product code: its quantity and the users
/// holding a unit (a user holds at most one).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Pool {
    pub quantity: u32,
    pub holders: BTreeSet<String>,
}

impl Pool {
    pub fn of(quantity: u32) -> Self {
        Self {
            quantity,
            holders: BTreeSet::new(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "f", rename_all = "snake_case")]
pub enum PoolOp {
    /// `PUT /lease_/api/account/{accountId}/user-license` for one user and the code.
    Assign { user: String },
    /// `DELETE /lease_/api/account/{accountId}/user-license/{userId}`: 404 when the user holds nothing.
    Release { user: String },
    /// The code's `allocated` units.
    Used,
    /// The organization's quantity of the code set by its host.
    SetQuantity { quantity: u32 },
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "r", rename_all = "snake_case")]
pub enum PoolRet {
    Assigned,
    Exceeded,
    Released,
    NotHeld,
    Used { used: u32 },
    QuantitySet,
    BelowConsumed,
}

impl SequentialSpec for Pool {
    type Op = PoolOp;
    type Ret = PoolRet;

    fn invoke(&mut self, op: &PoolOp) -> PoolRet {
        match op {
            PoolOp::Assign { user } if self.holders.contains(user) => PoolRet::Assigned,
            PoolOp::Assign { .. } if self.holders.len() >= self.quantity as usize => PoolRet::Exceeded,
            PoolOp::Assign { user } => {
                self.holders.insert(user.clone());
                PoolRet::Assigned
            }
            PoolOp::Release { user } => match self.holders.remove(user) {
                true => PoolRet::Released,
                false => PoolRet::NotHeld,
            },
            PoolOp::Used => PoolRet::Used {
                used: self.holders.len() as u32,
            },
            PoolOp::SetQuantity { quantity } if (*quantity as usize) < self.holders.len() => PoolRet::BelowConsumed,
            PoolOp::SetQuantity { quantity } => {
                self.quantity = *quantity;
                PoolRet::QuantitySet
            }
        }
    }
}

/// A customer's credit balance of one meter, in whole units (the tests' meters
/// have precision 0), with overage up to `overage_limit` when it has one.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Balance {
    pub balance: i64,
    pub overage: i64,
    pub overage_limit: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "f", rename_all = "snake_case")]
pub enum BalanceOp {
    Credit {
        amount: i64,
    },
    Debit {
        amount: i64,
    },
    /// `balances.retrieve`.
    Read,
}

/// `after` is the `balance_after` a change answered; `None` where the
/// service does not promise it (a split balance's shard answers what it knows).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "r", rename_all = "snake_case")]
pub enum BalanceRet {
    Credited { after: Option<i64> },
    Debited { after: Option<i64> },
    Insufficient,
    OverageLimitReached,
    Balance { balance: i64, overage: i64 },
}

impl SequentialSpec for Balance {
    type Op = BalanceOp;
    type Ret = BalanceRet;

    fn invoke(&mut self, op: &BalanceOp) -> BalanceRet {
        match *op {
            BalanceOp::Credit { amount } => {
                self.balance += amount;
                BalanceRet::Credited {
                    after: Some(self.balance),
                }
            }
            BalanceOp::Debit { amount } if amount <= self.balance => {
                self.balance -= amount;
                BalanceRet::Debited {
                    after: Some(self.balance),
                }
            }
            BalanceOp::Debit { amount } => match self.overage_limit {
                None => BalanceRet::Insufficient,
                Some(limit) if self.overage + (amount - self.balance) > limit => BalanceRet::OverageLimitReached,
                Some(_) => {
                    self.overage += amount - self.balance;
                    self.balance = 0;
                    BalanceRet::Debited { after: Some(0) }
                }
            },
            BalanceOp::Read => BalanceRet::Balance {
                balance: self.balance,
                overage: self.overage,
            },
        }
    }

    fn is_valid_step(&mut self, op: &BalanceOp, ret: &BalanceRet) -> bool {
        let answer = self.invoke(op);
        match (answer, ret) {
            (BalanceRet::Credited { .. }, BalanceRet::Credited { after: None }) => true,
            (BalanceRet::Debited { .. }, BalanceRet::Debited { after: None }) => true,
            (answer, ret) => answer == *ret,
        }
    }
}

impl Model for Key {
    fn changes_nothing(op: &KeyOp, ret: Option<&KeyRet>) -> bool {
        matches!(
            (op, ret),
            (KeyOp::Validate { .. } | KeyOp::Count, _)
                | (KeyOp::Activate { .. }, Some(KeyRet::LimitReached))
                | (KeyOp::Deactivate { .. }, Some(KeyRet::NotFound))
                | (KeyOp::SetLimit { .. }, Some(KeyRet::LimitBelowUsed))
        )
    }
}

impl Model for Pool {
    fn changes_nothing(op: &PoolOp, ret: Option<&PoolRet>) -> bool {
        matches!(
            (op, ret),
            (PoolOp::Used, _)
                | (PoolOp::Assign { .. }, Some(PoolRet::Exceeded))
                | (PoolOp::Release { .. }, Some(PoolRet::NotHeld))
                | (PoolOp::SetQuantity { .. }, Some(PoolRet::BelowConsumed))
        )
    }
}

impl Model for Balance {
    fn changes_nothing(op: &BalanceOp, ret: Option<&BalanceRet>) -> bool {
        matches!(
            (op, ret),
            (BalanceOp::Read, _)
                | (
                    BalanceOp::Debit { .. },
                    Some(BalanceRet::Insufficient | BalanceRet::OverageLimitReached)
                )
        )
    }
}
