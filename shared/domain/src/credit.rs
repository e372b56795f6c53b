//! Credit entitlements (metered usage, SPEC §1.8): exact decimal amounts, a
//! customer's balance over its credit grants, and what one ledger entry does
//! to them. A balance is the sum of its live grants' remaining amounts; a
//! debit takes from the oldest live grant first, never below zero, and a
//! shortfall goes to `overage` only when the entitlement allows it, within
//! its limit. Every change is one ledger entry whose before and after are the
//! balance the change was decided on, so the entries chain exactly.

use crate::calendar::DurationInterval;
use crate::json::{Line, Prose};
use crate::metadata::{Metadata, MetadataInput};
use crate::refusal::{Refusal, RuleResult};
use crate::translation::{Locale, Translation};
use crate::webhook;
use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeMap;
use std::str::FromStr;

pub mod shards;
use time::OffsetDateTime;
use utoipa::ToSchema;

/// Decimal places an entitlement may count in.
pub const PRECISION_MAX: u32 = 10;
/// Digits of an amount's integer part: Dodo's `NUMERIC(38,28)` with an integer part below 10^10.
pub const INTEGER_DIGITS_MAX: usize = 10;
/// Digits of an amount's fraction that parse at all (`NUMERIC(38,28)`); past the
/// entitlement's precision they are refused, never rounded.
pub const FRACTION_DIGITS_MAX: usize = 28;
/// Live (unspent, unexpired) grants a balance holds at once: a debit touches
/// each grant it takes from in its one transaction (at most 100 actions).
pub const LIVE_GRANTS_MAX: usize = 50;
/// The most a balance (or an overage limit) may reach: below 10^10, as an amount.
pub fn amount_ceiling() -> Decimal {
    Decimal::from(10_000_000_000i64)
}

/// A non-negative exact decimal at a fixed scale: the entitlement's precision,
/// so it reads back with exactly that many decimals (`"12.50"` at precision 2).
/// Stored and shown as that string; there is no floating point anywhere.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Credits(Decimal);

impl Credits {
    pub fn zero(precision: u32) -> Self {
        let mut zero = Decimal::ZERO;
        zero.rescale(precision);
        Self(zero)
    }

    /// `text` as a client sends an amount: digits with an optional point and
    /// fraction, more than zero, the integer part below 10^10, at most
    /// `precision` decimals (more is refused, never rounded).
    pub fn parse(field: &str, text: &str, precision: u32) -> RuleResult<Self> {
        let invalid = |problem: &str| Refusal::invalid(field, problem);
        let (integer, fraction) = text.split_once('.').unwrap_or((text, ""));
        let digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
        if integer.is_empty() || !digits(integer) || !digits(fraction) || (text.contains('.') && fraction.is_empty()) {
            return Err(invalid("must be a decimal number such as \"12.5\""));
        }
        if integer.trim_start_matches('0').len() > INTEGER_DIGITS_MAX {
            return Err(invalid("must be below 10000000000 (10^10)"));
        }
        if fraction.len() > FRACTION_DIGITS_MAX {
            return Err(invalid("must have at most 28 decimal places"));
        }
        let significant = fraction.trim_end_matches('0').len();
        if significant > precision as usize {
            return Err(invalid(&format!(
                "has more decimal places than this credit entitlement's precision ({precision})"
            )));
        }
        let exact = match significant {
            0 => integer.to_string(),
            _ => format!("{integer}.{}", &fraction[..significant]),
        };
        let mut value =
            Decimal::from_str_exact(&exact).map_err(|_| invalid("must be a decimal number such as \"12.5\""))?;
        if value.is_zero() {
            return Err(invalid("must be greater than 0"));
        }
        value.rescale(precision);
        Ok(Self(value))
    }

    pub fn is_zero(&self) -> bool {
        self.0.is_zero()
    }

    /// Zero at this amount's scale.
    pub fn zeroed(&self) -> Self {
        Self::zero(self.0.scale())
    }

    pub fn decimal(&self) -> Decimal {
        self.0
    }

    fn plus(self, other: Self) -> Self {
        Self(self.0 + other.0)
    }

    /// `self − other`; callers take at most what is there.
    fn minus(self, other: Self) -> Self {
        Self(self.0 - other.0)
    }
}

impl std::fmt::Display for Credits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl Serialize for Credits {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Credits {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Decimal::from_str(&text).map(Self).map_err(serde::de::Error::custom)
    }
}

impl utoipa::PartialSchema for Credits {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .description(Some(
                "An exact decimal with the credit entitlement's `precision` decimal places, e.g. \"12.50\".",
            ))
            .pattern(Some("^[0-9]{1,10}(\\.[0-9]{1,28})?$"))
            .into()
    }
}

impl ToSchema for Credits {}

/// `overage_behavior`: what happens to overage at the end of a billing cycle.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OverageBehavior {
    #[default]
    ForgiveAtReset,
    InvoiceAtBilling,
    CarryDeficit,
    CarryDeficitAutoRepay,
}

pub const NAME_MAX: usize = 255;
pub const UNIT_MAX: usize = 100;
pub const DESCRIPTION_MAX: usize = 2500;
pub type Name = Line<1, NAME_MAX>;
pub type Unit = Line<1, UNIT_MAX>;
pub type Description = Prose<0, DESCRIPTION_MAX>;

/// A credit entitlement as stored and as `GET /credit-entitlements/{id}` answers it
/// (the SDK's `CreditEntitlement`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CreditEntitlement {
    pub id: String,
    pub business_id: String,
    pub name: String,
    pub description: Option<String>,
    pub unit: String,
    /// Decimal places of every amount (0 to 10); fixed at creation.
    pub precision: u32,
    pub currency: Option<String>,
    /// A decimal string.
    pub price_per_unit: Option<String>,
    pub expires_after_days: Option<i64>,
    pub overage_enabled: bool,
    pub overage_limit: Option<i64>,
    pub overage_behavior: OverageBehavior,
    pub rollover_enabled: bool,
    pub rollover_percentage: Option<i64>,
    pub max_rollover_count: Option<i64>,
    pub rollover_timeframe_count: Option<i64>,
    pub rollover_timeframe_interval: Option<DurationInterval>,
    /// False once deleted (soft; `undelete` brings it back).
    pub is_active: bool,
    pub created_at: String,
    pub updated_at: String,
}

/// The body of `POST /credit-entitlements` (the SDK's `CreditEntitlementCreateParams`).
#[derive(Debug, Deserialize, ToSchema)]
pub struct NewCreditEntitlement {
    #[schema(inline)]
    pub name: Name,
    #[schema(inline)]
    pub unit: Unit,
    pub precision: i64,
    pub overage_enabled: bool,
    pub rollover_enabled: bool,
    #[serde(default)]
    #[schema(inline)]
    pub description: Option<Description>,
    #[serde(default)]
    pub currency: Option<String>,
    #[serde(default)]
    pub price_per_unit: Option<String>,
    #[serde(default)]
    pub expires_after_days: Option<i64>,
    #[serde(default)]
    pub overage_limit: Option<i64>,
    #[serde(default)]
    pub overage_behavior: Option<OverageBehavior>,
    #[serde(default)]
    pub rollover_percentage: Option<i64>,
    #[serde(default)]
    pub max_rollover_count: Option<i64>,
    #[serde(default)]
    pub rollover_timeframe_count: Option<i64>,
    #[serde(default)]
    pub rollover_timeframe_interval: Option<DurationInterval>,
}

impl NewCreditEntitlement {
    pub fn into_entitlement(self, id: String, business_id: &str, now: &str) -> RuleResult<CreditEntitlement> {
        if !(0..=PRECISION_MAX as i64).contains(&self.precision) {
            return Err(Refusal::invalid("precision", "must be 0 to 10"));
        }
        let entitlement = CreditEntitlement {
            id,
            business_id: business_id.to_string(),
            name: self.name.into_inner(),
            description: self.description.map(Description::into_inner),
            unit: self.unit.into_inner(),
            precision: self.precision as u32,
            currency: self.currency,
            price_per_unit: self.price_per_unit,
            expires_after_days: self.expires_after_days,
            overage_enabled: self.overage_enabled,
            overage_limit: self.overage_limit,
            overage_behavior: self.overage_behavior.unwrap_or_default(),
            rollover_enabled: self.rollover_enabled,
            rollover_percentage: self.rollover_percentage,
            max_rollover_count: self.max_rollover_count,
            rollover_timeframe_count: self.rollover_timeframe_count,
            rollover_timeframe_interval: self.rollover_timeframe_interval,
            is_active: true,
            created_at: now.to_string(),
            updated_at: now.to_string(),
        };
        entitlement.checked()
    }
}

/// The body of `PATCH /credit-entitlements/{id}`: a field left out keeps its
/// value; `null` clears an optional one (and keeps a required one). The result
/// is checked as a new one is; `precision` is fixed and not taken.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
pub struct CreditEntitlementPatch {
    #[serde(default)]
    #[schema(inline)]
    pub name: Option<Name>,
    #[serde(default)]
    #[schema(inline)]
    pub unit: Option<Unit>,
    #[serde(default, deserialize_with = "crate::json::nullable")]
    #[schema(inline, value_type = Option<Description>)]
    pub description: Option<Option<Description>>,
    #[serde(default)]
    pub overage_enabled: Option<bool>,
    #[serde(default)]
    pub rollover_enabled: Option<bool>,
    #[serde(default)]
    pub overage_behavior: Option<OverageBehavior>,
    #[serde(default, deserialize_with = "crate::json::nullable")]
    #[schema(value_type = Option<String>)]
    pub currency: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::json::nullable")]
    #[schema(value_type = Option<String>)]
    pub price_per_unit: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::json::nullable")]
    #[schema(value_type = Option<i64>)]
    pub expires_after_days: Option<Option<i64>>,
    #[serde(default, deserialize_with = "crate::json::nullable")]
    #[schema(value_type = Option<i64>)]
    pub overage_limit: Option<Option<i64>>,
    #[serde(default, deserialize_with = "crate::json::nullable")]
    #[schema(value_type = Option<i64>)]
    pub rollover_percentage: Option<Option<i64>>,
    #[serde(default, deserialize_with = "crate::json::nullable")]
    #[schema(value_type = Option<i64>)]
    pub max_rollover_count: Option<Option<i64>>,
    #[serde(default, deserialize_with = "crate::json::nullable")]
    #[schema(value_type = Option<i64>)]
    pub rollover_timeframe_count: Option<Option<i64>>,
    #[serde(default, deserialize_with = "crate::json::nullable")]
    #[schema(value_type = Option<DurationInterval>)]
    pub rollover_timeframe_interval: Option<Option<DurationInterval>>,
}

impl CreditEntitlementPatch {
    /// `current` with the patch applied at `now`, checked whole.
    pub fn applied_to(&self, current: &CreditEntitlement, now: &str) -> RuleResult<CreditEntitlement> {
        let mut next = current.clone();
        let patch = self.clone();
        fn set<T>(field: &mut T, value: Option<T>) {
            if let Some(value) = value {
                *field = value;
            }
        }
        set(&mut next.name, patch.name.map(Name::into_inner));
        set(&mut next.unit, patch.unit.map(Unit::into_inner));
        set(
            &mut next.description,
            patch.description.map(|d| d.map(Description::into_inner)),
        );
        set(&mut next.overage_enabled, patch.overage_enabled);
        set(&mut next.rollover_enabled, patch.rollover_enabled);
        set(&mut next.overage_behavior, patch.overage_behavior);
        set(&mut next.currency, patch.currency);
        set(&mut next.price_per_unit, patch.price_per_unit);
        set(&mut next.expires_after_days, patch.expires_after_days);
        set(&mut next.overage_limit, patch.overage_limit);
        set(&mut next.rollover_percentage, patch.rollover_percentage);
        set(&mut next.max_rollover_count, patch.max_rollover_count);
        set(&mut next.rollover_timeframe_count, patch.rollover_timeframe_count);
        set(&mut next.rollover_timeframe_interval, patch.rollover_timeframe_interval);
        next.updated_at = now.to_string();
        next.checked()
    }
}

impl CreditEntitlement {
    /// The rules every stored credit entitlement meets (Dodo's, from its SDK's
    /// docstrings): a price needs a currency, overage needs a price, a rollover
    /// timeframe is a count and an interval together; counts in range.
    fn checked(mut self) -> RuleResult<Self> {
        if let Some(currency) = &self.currency {
            if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_uppercase()) {
                return Err(Refusal::invalid("currency", "must be an ISO 4217 code such as \"USD\""));
            }
        }
        if let Some(price) = &self.price_per_unit {
            let parsed = Credits::parse("price_per_unit", price, FRACTION_DIGITS_MAX as u32).map_err(|_| {
                Refusal::invalid("price_per_unit", "must be a decimal number above 0, such as \"0.01\"")
            })?;
            self.price_per_unit = Some(parsed.0.normalize().to_string());
            if self.currency.is_none() {
                return Err(Refusal::invalid("currency", "is required when price_per_unit is set"));
            }
        }
        if self.overage_enabled && self.price_per_unit.is_none() {
            return Err(Refusal::invalid(
                "price_per_unit",
                "is required when overage_enabled is true",
            ));
        }
        if self.rollover_timeframe_count.is_some() != self.rollover_timeframe_interval.is_some() {
            return Err(Refusal::invalid(
                "rollover_timeframe_count",
                "and rollover_timeframe_interval must be given together",
            ));
        }
        let ranges: [(&str, Option<i64>, i64, i64); 5] = [
            ("expires_after_days", self.expires_after_days, 1, 36_525),
            ("overage_limit", self.overage_limit, 0, 9_999_999_999),
            ("rollover_percentage", self.rollover_percentage, 0, 100),
            ("max_rollover_count", self.max_rollover_count, 0, 1_000),
            ("rollover_timeframe_count", self.rollover_timeframe_count, 1, 1_000),
        ];
        for (field, value, min, max) in ranges {
            if value.is_some_and(|v| !(min..=max).contains(&v)) {
                return Err(Refusal::invalid(field, format!("must be {min} to {max}")));
            }
        }
        Ok(self)
    }

    /// Where its amounts stop: the overage a balance may owe, if any.
    fn overage_room(&self) -> Option<Decimal> {
        self.overage_enabled
            .then(|| self.overage_limit.map_or_else(amount_ceiling, Decimal::from))
    }
}

/// `proration_behavior` of a product's credit entitlement (the SDK's `CbbProrationBehavior`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = CbbProrationBehavior)]
pub enum ProrationBehavior {
    #[default]
    Prorate,
    NoProrate,
}

/// What a product sets for one of its credit entitlements over the
/// entitlement's own settings (the optional fields of the SDK's
/// `AttachCreditEntitlementParam`); a field left out keeps the entitlement's.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CreditOverrides {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_after_days: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub low_balance_threshold_percent: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_rollover_count: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overage_behavior: Option<OverageBehavior>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overage_enabled: Option<bool>,
    /// A whole number of credits, as a decimal string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overage_limit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price_per_unit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proration_behavior: Option<ProrationBehavior>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollover_enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollover_percentage: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollover_timeframe_count: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollover_timeframe_interval: Option<DurationInterval>,
    /// A decimal string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trial_credits: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trial_credits_expire_after_trial: Option<bool>,
}

impl CreditOverrides {
    /// `entitlement` as these overrides leave it, unchecked: what a grant
    /// follows even when a later change to the entitlement no longer agrees
    /// with them (a payment's credits are owed all the same).
    pub fn over(&self, entitlement: &CreditEntitlement) -> CreditEntitlement {
        let o = self.clone();
        let mut next = entitlement.clone();
        next.currency = o.currency.or(next.currency);
        next.expires_after_days = o.expires_after_days.or(next.expires_after_days);
        next.max_rollover_count = o.max_rollover_count.or(next.max_rollover_count);
        next.overage_behavior = o.overage_behavior.unwrap_or(next.overage_behavior);
        next.overage_enabled = o.overage_enabled.unwrap_or(next.overage_enabled);
        next.overage_limit = o.overage_limit.and_then(|l| l.parse().ok()).or(next.overage_limit);
        next.price_per_unit = o.price_per_unit.or(next.price_per_unit);
        next.rollover_enabled = o.rollover_enabled.unwrap_or(next.rollover_enabled);
        next.rollover_percentage = o.rollover_percentage.or(next.rollover_percentage);
        next.rollover_timeframe_count = o.rollover_timeframe_count.or(next.rollover_timeframe_count);
        next.rollover_timeframe_interval = o.rollover_timeframe_interval.or(next.rollover_timeframe_interval);
        next
    }

    /// `entitlement` as these overrides leave it, checked by the rules every
    /// credit entitlement meets; the overrides with their amounts in canonical form.
    pub fn applied_to(&self, entitlement: &CreditEntitlement) -> RuleResult<(CreditEntitlement, CreditOverrides)> {
        let mut canonical = self.clone();
        if let Some(limit) = &self.overage_limit {
            let whole = Credits::parse("overage_limit", limit, 0)?;
            i64::try_from(whole.0).map_err(|_| Refusal::invalid("overage_limit", "is too large"))?;
            canonical.overage_limit = Some(whole.to_string());
        }
        if let Some(trial) = &self.trial_credits {
            canonical.trial_credits = Some(Credits::parse("trial_credits", trial, entitlement.precision)?.to_string());
        }
        if let Some(percent) = self.low_balance_threshold_percent {
            if !(0..=100).contains(&percent) {
                return Err(Refusal::invalid("low_balance_threshold_percent", "must be 0 to 100"));
            }
        }
        let next = canonical.over(entitlement).checked()?;
        canonical.price_per_unit = self.price_per_unit.as_ref().and(next.price_per_unit.clone());
        Ok((next, canonical))
    }
}

/// `PUT /credit-entitlements/{id}/translations/{locale}`: the locale's
/// translation, replaced whole; a field left out or null has none.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[schema(as = CreditEntitlementTranslationInput)]
pub struct CreditTranslationInput {
    #[serde(default)]
    #[schema(inline)]
    pub name: Option<Name>,
    #[serde(default)]
    #[schema(inline)]
    pub unit: Option<Unit>,
}

/// The translation of a credit entitlement in one locale (the SDK's `CreditEntitlementTranslation`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CreditEntitlementTranslation {
    pub locale: Locale,
    #[schema(required = true)]
    pub name: Option<String>,
    #[schema(required = true)]
    pub unit: Option<String>,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

/// `GET /credit-entitlements/{id}/translations`.
#[derive(Serialize, ToSchema)]
pub struct CreditEntitlementTranslationList {
    pub items: Vec<CreditEntitlementTranslation>,
}

impl CreditTranslationInput {
    pub fn into_translation(self, locale: Locale, now: &str) -> CreditEntitlementTranslation {
        CreditEntitlementTranslation {
            locale,
            name: self.name.map(Name::into_inner),
            unit: self.unit.map(Unit::into_inner),
            updated_at: now.to_string(),
        }
    }
}

impl Translation for CreditEntitlementTranslation {
    fn locale(&self) -> Locale {
        self.locale
    }

    fn updated_at(&self) -> &str {
        &self.updated_at
    }

    fn written_at(self, now: &str) -> Self {
        Self {
            updated_at: now.to_string(),
            ..self
        }
    }
}

impl CreditEntitlement {
    /// As a read in the translation's locale shows it: name and unit over the base text, field by field.
    pub fn translated(mut self, translation: Option<&CreditEntitlementTranslation>) -> Self {
        if let Some(translation) = translation {
            if let Some(name) = &translation.name {
                self.name = name.clone();
            }
            if let Some(unit) = &translation.unit {
                self.unit = unit.clone();
            }
        }
        self
    }
}

/// `source_type` of a credit grant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum GrantSource {
    Subscription,
    OneTime,
    Addon,
    Api,
    Rollover,
}

/// A credit grant (the SDK's `BalanceListGrantsResponse`), as stored and shown.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CreditGrant {
    pub id: String,
    pub credit_entitlement_id: String,
    pub customer_id: String,
    pub initial_amount: Credits,
    pub remaining_amount: Credits,
    pub is_expired: bool,
    pub is_rolled_over: bool,
    pub rollover_count: i64,
    pub source_type: GrantSource,
    pub source_id: Option<String>,
    pub parent_grant_id: Option<String>,
    pub expires_at: Option<String>,
    #[schema(value_type = Object)]
    pub metadata: Metadata,
    pub created_at: String,
    pub updated_at: String,
}

/// `status` of `balances.list_grants`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, ToSchema)]
#[schema(as = CreditGrantStatus)]
#[serde(rename_all = "snake_case")]
pub enum GrantStatus {
    Active,
    Expired,
    Depleted,
}

impl GrantStatus {
    pub fn filter(text: Option<&str>) -> RuleResult<Option<Self>> {
        text.map(|t| match t {
            "active" => Ok(Self::Active),
            "expired" => Ok(Self::Expired),
            "depleted" => Ok(Self::Depleted),
            _ => Err(Refusal::invalid("status", "must be active, expired or depleted")),
        })
        .transpose()
    }

    pub fn of(grant: &CreditGrant) -> Self {
        if grant.is_expired {
            Self::Expired
        } else if grant.remaining_amount.is_zero() {
            Self::Depleted
        } else {
            Self::Active
        }
    }
}

/// `entry_type` of a ledger entry the API makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EntryType {
    Credit,
    Debit,
}

/// `transaction_type` of a ledger entry (the SDK's `CreditLedgerEntry`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TransactionType {
    CreditAdded,
    CreditDeducted,
    CreditExpired,
    CreditRolledOver,
    RolloverForfeited,
    OverageCharged,
    OverageReset,
    AutoTopUp,
    ManualAdjustment,
    Refund,
}

impl TransactionType {
    pub const ALL: [Self; 10] = [
        Self::CreditAdded,
        Self::CreditDeducted,
        Self::CreditExpired,
        Self::CreditRolledOver,
        Self::RolloverForfeited,
        Self::OverageCharged,
        Self::OverageReset,
        Self::AutoTopUp,
        Self::ManualAdjustment,
        Self::Refund,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::CreditAdded => "credit_added",
            Self::CreditDeducted => "credit_deducted",
            Self::CreditExpired => "credit_expired",
            Self::CreditRolledOver => "credit_rolled_over",
            Self::RolloverForfeited => "rollover_forfeited",
            Self::OverageCharged => "overage_charged",
            Self::OverageReset => "overage_reset",
            Self::AutoTopUp => "auto_top_up",
            Self::ManualAdjustment => "manual_adjustment",
            Self::Refund => "refund",
        }
    }

    /// A `transaction_type` filter, if one was given.
    pub fn filter(text: Option<&str>) -> RuleResult<Option<Self>> {
        text.map(|t| {
            Self::ALL
                .into_iter()
                .find(|k| k.as_str() == t)
                .ok_or_else(|| Refusal::invalid("transaction_type", "is not a known transaction type"))
        })
        .transpose()
    }

    /// The webhook event a ledger entry of this type is reported by.
    pub fn event_type(self) -> &'static str {
        match self {
            Self::CreditAdded | Self::AutoTopUp | Self::Refund => webhook::CREDIT_ADDED,
            Self::CreditDeducted => webhook::CREDIT_DEDUCTED,
            Self::CreditExpired => webhook::CREDIT_EXPIRED,
            Self::CreditRolledOver => webhook::CREDIT_ROLLED_OVER,
            Self::RolloverForfeited => webhook::CREDIT_ROLLOVER_FORFEITED,
            Self::OverageCharged => webhook::CREDIT_OVERAGE_CHARGED,
            Self::OverageReset => webhook::CREDIT_OVERAGE_RESET,
            Self::ManualAdjustment => webhook::CREDIT_MANUAL_ADJUSTMENT,
        }
    }
}

/// One ledger entry, as stored and shown: the fields of the SDK's
/// `CreditLedgerEntry` and of `BalanceCreateLedgerEntryResponse` together.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = CreditLedgerEntry)]
pub struct LedgerEntry {
    pub id: String,
    pub business_id: String,
    /// The business: this service has one brand per business.
    pub brand_id: String,
    pub credit_entitlement_id: String,
    pub customer_id: String,
    pub amount: Credits,
    pub is_credit: bool,
    pub entry_type: EntryType,
    pub transaction_type: TransactionType,
    pub balance_before: Credits,
    pub balance_after: Credits,
    pub overage_before: Credits,
    pub overage_after: Credits,
    pub grant_id: Option<String>,
    pub reason: Option<String>,
    pub description: Option<String>,
    pub reference_id: Option<String>,
    pub reference_type: Option<String>,
    #[schema(value_type = Object)]
    pub metadata: Metadata,
    pub created_at: String,
}

/// A grant a balance can still spend from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LiveGrant {
    pub remaining: Credits,
    pub expires_at: Option<String>,
    /// A subscription's credits: the cycle that granted them (or that they
    /// were rolled over into), closed at the next renewal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cycle: Option<GrantCycle>,
    /// A rolled grant's initial amount, which what rolls over later in the
    /// same closing adds to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initial: Option<Credits>,
}

/// The subscription billing cycle a live grant belongs to.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GrantCycle {
    pub subscription_id: String,
    /// When the cycle began (`previous_billing_date`, RFC 3339 in UTC).
    pub began: String,
    pub rollover_count: u32,
    /// Its share past the rollover percentage was forfeited at the closing
    /// under way; what is left rolls over next.
    #[serde(default)]
    pub forfeited: bool,
}

impl LiveGrant {
    fn spendable_at(&self, now: &str) -> bool {
        self.expires_at.as_deref().is_none_or(|at| at > now)
    }
}

/// A customer's balance of one credit entitlement, as stored: the numbers, the
/// live grants it is the sum of (by id, which is creation order), and the
/// version every change is conditioned on and moves.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Balance {
    pub id: String,
    pub business_id: String,
    pub credit_entitlement_id: String,
    pub customer_id: String,
    pub balance: Credits,
    pub overage: Credits,
    pub created_at: String,
    pub updated_at: String,
    pub last_transaction_at: Option<String>,
    /// How many changes it has seen; 0 before the first is stored.
    pub version: u64,
    pub live: BTreeMap<String, LiveGrant>,
    /// The subscription billing cycle its credits last came from.
    #[serde(default)]
    pub cycle: Option<Cycle>,
    /// Split over shard items (`shards.rs`): what was handed out to them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split: Option<shards::Split>,
    /// How many shard ledgers it has had: where its ledger is read (0: never split).
    #[serde(default)]
    pub ledger_shards: u32,
}

/// A subscription's billing cycle at a balance: what it granted, and whether
/// `credit.balance_low` was sent in it (once per cycle).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Cycle {
    pub subscription_id: String,
    /// When it began (`previous_billing_date`).
    #[serde(default)]
    pub began: Option<String>,
    pub credits: Credits,
    pub threshold_percent: Option<i64>,
    pub low_reported: bool,
}

/// The data of `credit.balance_low` (the SDK's `CreditBalanceLowWebhookEvent`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BalanceLow {
    pub brand_id: String,
    pub customer_id: String,
    pub subscription_id: String,
    pub credit_entitlement_id: String,
    pub credit_entitlement_name: String,
    pub available_balance: Credits,
    pub subscription_credits_amount: Credits,
    pub threshold_percent: i64,
    pub threshold_amount: Credits,
}

/// A balance as `balances.retrieve` answers it (the SDK's `CustomerCreditBalance`).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = CustomerCreditBalance)]
pub struct BalanceView<'a> {
    pub id: &'a str,
    pub credit_entitlement_id: &'a str,
    pub customer_id: &'a str,
    pub balance: Credits,
    pub overage: Credits,
    pub created_at: &'a str,
    pub updated_at: &'a str,
    pub last_transaction_at: Option<&'a str>,
}

/// One row of `GET /customers/{customer_id}/credit-entitlements` (the SDK's
/// `CustomerListCreditEntitlementsResponse` item).
#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerCreditEntitlement {
    pub credit_entitlement_id: String,
    pub name: String,
    pub unit: String,
    pub description: Option<String>,
    pub balance: Credits,
    pub overage: Credits,
}

/// What `POST .../ledger-entries` takes (the SDK's `BalanceCreateLedgerEntryParams`).
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = NewCreditLedgerEntry)]
pub struct LedgerEntryRequest {
    /// A decimal string with at most the entitlement's `precision` decimals.
    pub amount: String,
    pub entry_type: EntryType,
    /// Credits only: when the new grant expires (wins over `expires_after_days`).
    #[serde(default)]
    pub expires_at: Option<String>,
    /// The same key again for this business is refused with 409.
    #[serde(default)]
    #[schema(inline, value_type = Option<String>)]
    pub idempotency_key: Option<Line<1, 255>>,
    #[serde(default)]
    pub metadata: Option<MetadataInput>,
    #[serde(default)]
    #[schema(inline, value_type = Option<String>)]
    pub reason: Option<Prose<0, 1000>>,
}

/// What a request's entry is, checked against its entitlement: the rules take
/// this, never the raw body.
#[derive(Clone, Debug)]
pub struct EntryInput {
    pub amount: Credits,
    pub entry_type: EntryType,
    pub expires_at: Option<String>,
    pub idempotency_key: Option<String>,
    pub metadata: Metadata,
    pub reason: Option<String>,
}

impl LedgerEntryRequest {
    pub fn checked(self, entitlement: &CreditEntitlement, now: OffsetDateTime) -> RuleResult<EntryInput> {
        let amount = Credits::parse("amount", &self.amount, entitlement.precision)?;
        let expires_at = match (self.entry_type, self.expires_at) {
            (_, None) => None,
            (EntryType::Debit, Some(_)) => return Err(Refusal::invalid("expires_at", "is only for credits")),
            (EntryType::Credit, Some(text)) => {
                let at = crate::calendar::parse_client_time(&text)
                    .ok_or_else(|| Refusal::invalid("expires_at", "must be an RFC 3339 time"))?;
                if at <= now {
                    return Err(Refusal::invalid("expires_at", "must be in the future"));
                }
                Some(crate::timestamp::rfc3339(at))
            }
        };
        Ok(EntryInput {
            amount,
            entry_type: self.entry_type,
            expires_at,
            idempotency_key: self.idempotency_key.map(Line::into_inner),
            metadata: self.metadata.map(MetadataInput::into_inner).unwrap_or_default(),
            reason: self.reason.map(Prose::into_inner),
        })
    }
}

/// Where a credit comes from.
#[derive(Clone, Debug)]
pub struct CreditSource {
    pub source_type: GrantSource,
    pub source_id: Option<String>,
    pub transaction_type: TransactionType,
    /// A subscription's cycle: the share of its credits below which the
    /// balance is reported low (`credit.balance_low`).
    pub low_balance_threshold_percent: Option<i64>,
    /// A subscription's cycle: when it began (`previous_billing_date`).
    pub cycle_began: Option<String>,
}

/// What one change is: the balance after it, its ledger entry, and the grants
/// it creates (`new_grant`) or changes (`spent`: id and remaining amount).
#[derive(Clone, Debug)]
pub struct BalanceChange {
    pub balance: Balance,
    pub entry: LedgerEntry,
    pub new_grant: Option<CreditGrant>,
    pub spent: Vec<(String, Credits)>,
    /// The grant this change expires (its remaining amount leaves the balance).
    pub expired: Option<String>,
    /// The balance fell below its cycle's threshold with this change.
    pub low: Option<BalanceLow>,
    /// The grant this change rolls over (into `new_grant`, or the grant it `joined`).
    pub rolled_over: Option<String>,
    /// A rolled grant of the new cycle that what rolls over joins.
    pub joined: Option<JoinedGrant>,
}

/// A grant that credits rolling over joined: what it holds after.
#[derive(Clone, Debug, PartialEq)]
pub struct JoinedGrant {
    pub id: String,
    pub initial_amount: Credits,
    pub remaining: Credits,
    pub rollover_count: u32,
}

impl BalanceChange {
    /// The webhook events it is reported by, in order.
    pub fn event_types(&self) -> Vec<&'static str> {
        let mut types = vec![self.entry.transaction_type.event_type()];
        if self.entry.overage_after > self.entry.overage_before {
            types.push(webhook::CREDIT_OVERAGE_CHARGED);
        }
        types
    }
}

/// Ids the change writes, made by the caller (the rules make none).
pub struct ChangeIds {
    pub entry_id: String,
    pub grant_id: String,
}

impl Balance {
    /// A customer's balance before any change: zero, no grants.
    pub fn opened(id: String, entitlement: &CreditEntitlement, customer_id: &str, now: &str) -> Self {
        Self {
            id,
            business_id: entitlement.business_id.clone(),
            credit_entitlement_id: entitlement.id.clone(),
            customer_id: customer_id.to_string(),
            balance: Credits::zero(entitlement.precision),
            overage: Credits::zero(entitlement.precision),
            created_at: now.to_string(),
            updated_at: now.to_string(),
            last_transaction_at: None,
            version: 0,
            live: BTreeMap::new(),
            cycle: None,
            split: None,
            ledger_shards: 0,
        }
    }

    pub fn view(&self) -> BalanceView<'_> {
        BalanceView {
            id: &self.id,
            credit_entitlement_id: &self.credit_entitlement_id,
            customer_id: &self.customer_id,
            balance: self.balance,
            overage: self.overage,
            created_at: &self.created_at,
            updated_at: &self.updated_at,
            last_transaction_at: self.last_transaction_at.as_deref(),
        }
    }

    /// A credit: a new grant of `input.amount`, expiring at `input.expires_at`
    /// or `expires_after_days` after `now`.
    pub fn credit(
        &self,
        entitlement: &CreditEntitlement,
        input: &EntryInput,
        source: CreditSource,
        ids: ChangeIds,
        now: OffsetDateTime,
    ) -> RuleResult<BalanceChange> {
        let at = crate::timestamp::rfc3339(now);
        if self.live.len() >= LIVE_GRANTS_MAX {
            return Err(Refusal::unprocessable(
                "TOO_MANY_CREDIT_GRANTS",
                format!("this balance already holds {LIVE_GRANTS_MAX} unspent grants; spend or let some expire first"),
            ));
        }
        // `carry_deficit_auto_repay`: a credit first pays back the overage owed.
        let repaid = match entitlement.overage_behavior {
            OverageBehavior::CarryDeficitAutoRepay => input.amount.min(self.overage),
            _ => Credits::zero(entitlement.precision),
        };
        let kept = input.amount.minus(repaid);
        let after = self.balance.plus(kept);
        if after.0 >= amount_ceiling() {
            return Err(Refusal::unprocessable(
                "BALANCE_LIMIT",
                "the balance would reach 10^10, the most it may hold",
            ));
        }
        let expires_at = input.expires_at.clone().or_else(|| {
            entitlement
                .expires_after_days
                .map(|days| crate::timestamp::rfc3339(now + time::Duration::days(days)))
        });
        // A payment's or a subscription's credits name it in their entry.
        let reference_type = match source.source_type {
            GrantSource::OneTime => Some("payment"),
            GrantSource::Subscription => Some("subscription"),
            _ => None,
        };
        let reference = source.source_id.clone().zip(reference_type);
        let grant = CreditGrant {
            id: ids.grant_id,
            credit_entitlement_id: self.credit_entitlement_id.clone(),
            customer_id: self.customer_id.clone(),
            initial_amount: input.amount,
            remaining_amount: kept,
            is_expired: false,
            is_rolled_over: false,
            rollover_count: 0,
            source_type: source.source_type,
            source_id: source.source_id.clone(),
            parent_grant_id: None,
            expires_at: expires_at.clone(),
            metadata: input.metadata.clone(),
            created_at: at.clone(),
            updated_at: at.clone(),
        };
        let mut balance = self.changed(&at);
        balance.balance = after;
        balance.overage = self.overage.minus(repaid);
        if let (GrantSource::Subscription, Some(subscription_id)) = (source.source_type, &source.source_id) {
            balance.cycle = Some(Cycle {
                subscription_id: subscription_id.clone(),
                began: source.cycle_began.clone(),
                credits: input.amount,
                threshold_percent: source.low_balance_threshold_percent,
                low_reported: false,
            });
        }
        if !kept.is_zero() {
            let cycle = match (source.source_type, &source.source_id, &source.cycle_began) {
                (GrantSource::Subscription, Some(subscription_id), Some(began)) => Some(GrantCycle {
                    subscription_id: subscription_id.clone(),
                    began: began.clone(),
                    rollover_count: 0,
                    forfeited: false,
                }),
                _ => None,
            };
            balance.live.insert(
                grant.id.clone(),
                LiveGrant {
                    remaining: kept,
                    expires_at,
                    cycle,
                    initial: None,
                },
            );
        }
        let mut entry = self.entry(
            &balance,
            ids.entry_id,
            input,
            source.transaction_type,
            Some(grant.id.clone()),
            &at,
        );
        if let Some((id, kind)) = reference {
            entry.reference_id = Some(id);
            entry.reference_type = Some(kind.to_string());
        }
        Ok(BalanceChange {
            balance,
            entry,
            new_grant: Some(grant),
            spent: Vec::new(),
            expired: None,
            low: None,
            rolled_over: None,
            joined: None,
        })
    }

    /// A debit: from the oldest spendable grant first; what they cannot cover
    /// goes to overage when the entitlement allows it and its limit holds, and
    /// is refused otherwise (nothing changes).
    pub fn debit(
        &self,
        entitlement: &CreditEntitlement,
        input: &EntryInput,
        entry_id: String,
        now: OffsetDateTime,
    ) -> RuleResult<BalanceChange> {
        let at = crate::timestamp::rfc3339(now);
        let mut left = input.amount;
        let mut spent = Vec::new();
        for (id, grant) in &self.live {
            if left.is_zero() {
                break;
            }
            if !grant.spendable_at(&at) {
                continue;
            }
            let take = left.min(grant.remaining);
            left = left.minus(take);
            spent.push((id.clone(), grant.remaining.minus(take)));
        }
        let overage = self.overage.plus(left);
        if !left.is_zero() {
            match entitlement.overage_room() {
                None => {
                    return Err(Refusal::insufficient(
                        "INSUFFICIENT_CREDITS",
                        format!(
                            "amount: more than the balance available ({}); nothing was deducted",
                            self.balance.minus(self.unspendable(&at))
                        ),
                    ))
                }
                Some(limit) if overage.0 > limit => {
                    return Err(Refusal::insufficient(
                        "OVERAGE_LIMIT_REACHED",
                        format!(
                        "amount: would take the overage to {overage}, past its limit of {limit}; nothing was deducted"
                    ),
                    ))
                }
                Some(_) => {}
            }
        }
        let mut balance = self.changed(&at);
        balance.balance = self.balance.minus(input.amount.minus(left));
        balance.overage = overage;
        for (id, remaining) in &spent {
            if remaining.is_zero() {
                balance.live.remove(id);
            } else if let Some(grant) = balance.live.get_mut(id) {
                grant.remaining = *remaining;
            }
        }
        let first = spent.first().map(|(id, _)| id.clone());
        let entry = self.entry(&balance, entry_id, input, TransactionType::CreditDeducted, first, &at);
        let low = balance.reported_low(entitlement);
        Ok(BalanceChange {
            balance,
            entry,
            new_grant: None,
            spent,
            expired: None,
            low,
            rolled_over: None,
            joined: None,
        })
    }

    /// The next step of closing a subscription's earlier cycles as its cycle
    /// `began` starts, oldest grant first; None when none is left open. With
    /// rollover (and the grant under `max_rollover_count`), the share past
    /// `rollover_percentage` is forfeited (`rollover_forfeited`), then what is
    /// left rolls over into a new grant of the cycle (`credit_rolled_over`,
    /// `source_type` `rollover`, expiring after the rollover timeframe);
    /// without, all of it is forfeited.
    pub fn close_cycle(
        &self,
        entitlement: &CreditEntitlement,
        subscription_id: &str,
        began: &str,
        ids: ChangeIds,
        now: OffsetDateTime,
    ) -> Option<BalanceChange> {
        let at = crate::timestamp::rfc3339(now);
        // A grant past its expiry is the expiry schedule's, never rolled over.
        let (id, grant, cycle) = self.live.iter().find_map(|(id, g)| {
            let c = g.cycle.as_ref()?;
            let earlier = c.subscription_id == subscription_id && c.began.as_str() < began;
            (earlier && g.spendable_at(&at)).then_some((id, g, c))
        })?;
        let rolls = entitlement.rollover_enabled
            && entitlement
                .max_rollover_count
                .is_none_or(|max| i64::from(cycle.rollover_count) < max);
        let kept = match rolls {
            true => {
                let percent = entitlement.rollover_percentage.unwrap_or(100);
                let share = grant.remaining.0 * Decimal::from(percent) / Decimal::ONE_HUNDRED;
                let mut share =
                    share.round_dp_with_strategy(entitlement.precision, rust_decimal::RoundingStrategy::ToZero);
                share.rescale(entitlement.precision);
                Credits(share)
            }
            false => Credits::zero(entitlement.precision),
        };
        let mut balance = self.changed(&at);
        let one = |amount: Credits, entry_type| EntryInput {
            amount,
            entry_type,
            expires_at: None,
            idempotency_key: None,
            metadata: Metadata::default(),
            reason: Some("billing cycle closed".into()),
        };
        if cycle.forfeited || kept == grant.remaining {
            // What is left rolls over: the same amount, in a grant of the new cycle.
            balance.live.remove(id);
            let count = cycle.rollover_count + 1;
            let input = one(grant.remaining, EntryType::Credit);
            // Into the grant this closing already rolled into at the same count
            // (at any count when counts have no limit): a subscription then
            // holds one rolled grant per count, not one more each cycle.
            let joins = balance.live.iter_mut().find(|(_, g)| {
                g.initial.is_some()
                    && g.spendable_at(&at)
                    && g.cycle.as_ref().is_some_and(|c| {
                        c.subscription_id == subscription_id
                            && c.began == began
                            && c.rollover_count > 0
                            && (entitlement.max_rollover_count.is_none() || c.rollover_count == count)
                    })
            });
            if let Some((into_id, into)) = joins {
                let into_id = into_id.clone();
                into.remaining = into.remaining.plus(grant.remaining);
                let initial = into.initial.map(|i| i.plus(grant.remaining)).unwrap_or(into.remaining);
                into.initial = Some(initial);
                let cycle = into.cycle.as_mut().expect("found by its cycle");
                cycle.rollover_count = cycle.rollover_count.max(count);
                let joined = JoinedGrant {
                    id: into_id.clone(),
                    initial_amount: initial,
                    remaining: into.remaining,
                    rollover_count: cycle.rollover_count,
                };
                let entry = self.entry(
                    &balance,
                    ids.entry_id,
                    &input,
                    TransactionType::CreditRolledOver,
                    Some(into_id),
                    &at,
                );
                return Some(BalanceChange {
                    balance,
                    entry,
                    new_grant: None,
                    spent: vec![(id.clone(), grant.remaining.zeroed())],
                    expired: None,
                    low: None,
                    rolled_over: Some(id.clone()),
                    joined: Some(joined),
                });
            }
            let expires_at = crate::calendar::expiry_after(
                now,
                entitlement.rollover_timeframe_count,
                entitlement.rollover_timeframe_interval,
            )
            .map(crate::timestamp::rfc3339);
            let rolled = CreditGrant {
                id: ids.grant_id,
                credit_entitlement_id: self.credit_entitlement_id.clone(),
                customer_id: self.customer_id.clone(),
                initial_amount: grant.remaining,
                remaining_amount: grant.remaining,
                is_expired: false,
                is_rolled_over: false,
                rollover_count: i64::from(count),
                source_type: GrantSource::Rollover,
                source_id: Some(subscription_id.to_string()),
                parent_grant_id: Some(id.clone()),
                expires_at: expires_at.clone(),
                metadata: Metadata::default(),
                created_at: at.clone(),
                updated_at: at.clone(),
            };
            balance.live.insert(
                rolled.id.clone(),
                LiveGrant {
                    remaining: grant.remaining,
                    expires_at,
                    cycle: Some(GrantCycle {
                        subscription_id: subscription_id.to_string(),
                        began: began.to_string(),
                        rollover_count: count,
                        forfeited: false,
                    }),
                    initial: Some(grant.remaining),
                },
            );
            let entry = self.entry(
                &balance,
                ids.entry_id,
                &input,
                TransactionType::CreditRolledOver,
                Some(rolled.id.clone()),
                &at,
            );
            return Some(BalanceChange {
                balance,
                entry,
                new_grant: Some(rolled),
                spent: vec![(id.clone(), grant.remaining.zeroed())],
                expired: None,
                low: None,
                rolled_over: Some(id.clone()),
                joined: None,
            });
        }
        // The share past the rollover percentage (all of it without rollover) is forfeited.
        let forfeited = grant.remaining.minus(kept);
        balance.balance = self.balance.minus(forfeited);
        if kept.is_zero() {
            balance.live.remove(id);
        } else if let Some(left) = balance.live.get_mut(id) {
            left.remaining = kept;
            if let Some(c) = left.cycle.as_mut() {
                c.forfeited = true;
            }
        }
        let input = one(forfeited, EntryType::Debit);
        let entry = self.entry(
            &balance,
            ids.entry_id,
            &input,
            TransactionType::RolloverForfeited,
            Some(id.clone()),
            &at,
        );
        Some(BalanceChange {
            balance,
            entry,
            new_grant: None,
            spent: vec![(id.clone(), kept)],
            expired: None,
            low: None,
            rolled_over: None,
            joined: None,
        })
    }

    /// A new billing cycle's reset of the overage owed, as the entitlement's
    /// `overage_behavior` says: forgiven (or invoiced by the provider) and
    /// set to zero (`overage_reset`), or carried into the cycle. None when
    /// nothing changes.
    pub fn reset_overage(
        &self,
        entitlement: &CreditEntitlement,
        subscription_id: &str,
        began: &str,
        entry_id: String,
        now: OffsetDateTime,
    ) -> Option<BalanceChange> {
        let resets = matches!(
            entitlement.overage_behavior,
            OverageBehavior::ForgiveAtReset | OverageBehavior::InvoiceAtBilling
        );
        // Only at the end of a cycle of this subscription the balance had:
        // never at a first activation, nor again once the new cycle began.
        let ends_a_cycle = self
            .cycle
            .as_ref()
            .is_some_and(|c| c.subscription_id == subscription_id && c.began.as_deref().is_some_and(|b| b < began));
        if !resets || !ends_a_cycle || self.overage.is_zero() {
            return None;
        }
        let at = crate::timestamp::rfc3339(now);
        let mut balance = self.changed(&at);
        balance.overage = Credits::zero(entitlement.precision);
        let input = EntryInput {
            amount: self.overage,
            entry_type: EntryType::Credit,
            expires_at: None,
            idempotency_key: None,
            metadata: Metadata::default(),
            reason: Some("billing cycle reset".into()),
        };
        let entry = self.entry(&balance, entry_id, &input, TransactionType::OverageReset, None, &at);
        Some(BalanceChange {
            balance,
            entry,
            new_grant: None,
            spent: Vec::new(),
            expired: None,
            low: None,
            rolled_over: None,
            joined: None,
        })
    }

    /// `credit.balance_low` when this balance is below its cycle's threshold
    /// and it was not yet reported in the cycle; marks it reported.
    fn reported_low(&mut self, entitlement: &CreditEntitlement) -> Option<BalanceLow> {
        let cycle = self.cycle.as_mut().filter(|c| !c.low_reported)?;
        let percent = cycle.threshold_percent?;
        let threshold = cycle.credits.0 * Decimal::from(percent) / Decimal::ONE_HUNDRED;
        if self.balance.0 >= threshold {
            return None;
        }
        // Shown at the meter's precision, rounded up: the balance is below it.
        let mut shown =
            threshold.round_dp_with_strategy(entitlement.precision, rust_decimal::RoundingStrategy::AwayFromZero);
        shown.rescale(entitlement.precision);
        cycle.low_reported = true;
        Some(BalanceLow {
            brand_id: self.business_id.clone(),
            customer_id: self.customer_id.clone(),
            subscription_id: cycle.subscription_id.clone(),
            credit_entitlement_id: self.credit_entitlement_id.clone(),
            credit_entitlement_name: entitlement.name.clone(),
            available_balance: self.balance,
            subscription_credits_amount: cycle.credits,
            threshold_percent: percent,
            threshold_amount: Credits(shown),
        })
    }

    /// The earliest expiry of a live grant: when the schedule is next due here.
    pub fn next_expiry(&self) -> Option<&str> {
        self.live.values().filter_map(|g| g.expires_at.as_deref()).min()
    }

    /// The oldest live grant past its expiry at `now`, expired: what it still
    /// held leaves the balance (`credit_expired`). None when no grant is due.
    pub fn expire(&self, entry_id: String, now: OffsetDateTime) -> Option<BalanceChange> {
        let at = crate::timestamp::rfc3339(now);
        let (id, grant) = self.live.iter().find(|(_, g)| !g.spendable_at(&at))?;
        let mut balance = self.changed(&at);
        balance.balance = self.balance.minus(grant.remaining);
        balance.live.remove(id);
        let input = EntryInput {
            amount: grant.remaining,
            entry_type: EntryType::Debit,
            expires_at: None,
            idempotency_key: None,
            metadata: Metadata::new(),
            reason: Some("expired".into()),
        };
        let entry = self.entry(
            &balance,
            entry_id,
            &input,
            TransactionType::CreditExpired,
            Some(id.clone()),
            &at,
        );
        Some(BalanceChange {
            balance,
            entry,
            new_grant: None,
            spent: Vec::new(),
            expired: Some(id.clone()),
            low: None,
            rolled_over: None,
            joined: None,
        })
    }

    /// What live grants past their expiry still hold (not yet expired by the schedule).
    fn unspendable(&self, at: &str) -> Credits {
        self.live
            .values()
            .filter(|g| !g.spendable_at(at))
            .fold(Credits::zero(self.balance.0.scale()), |sum, g| sum.plus(g.remaining))
    }

    fn changed(&self, at: &str) -> Self {
        let mut next = self.clone();
        next.version = self.version + 1;
        next.updated_at = at.to_string();
        next.last_transaction_at = Some(at.to_string());
        next
    }

    fn entry(
        &self,
        after: &Balance,
        id: String,
        input: &EntryInput,
        transaction_type: TransactionType,
        grant_id: Option<String>,
        at: &str,
    ) -> LedgerEntry {
        LedgerEntry {
            id,
            business_id: self.business_id.clone(),
            brand_id: self.business_id.clone(),
            credit_entitlement_id: self.credit_entitlement_id.clone(),
            customer_id: self.customer_id.clone(),
            amount: input.amount,
            is_credit: input.entry_type == EntryType::Credit,
            entry_type: input.entry_type,
            transaction_type,
            balance_before: self.balance,
            balance_after: after.balance,
            overage_before: self.overage,
            overage_after: after.overage,
            grant_id,
            reason: input.reason.clone(),
            description: input.reason.clone(),
            reference_id: None,
            reference_type: None,
            metadata: input.metadata.clone(),
            created_at: at.to_string(),
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    pub(crate) fn entitlement(precision: u32, overage_limit: Option<i64>) -> CreditEntitlement {
        let body = serde_json::json!({
            "name": "API calls", "unit": "calls", "precision": precision,
            "overage_enabled": overage_limit.is_some(), "rollover_enabled": false,
            "currency": "USD", "price_per_unit": "0.01", "overage_limit": overage_limit,
        });
        serde_json::from_value::<NewCreditEntitlement>(body)
            .unwrap()
            .into_entitlement("cde_1".into(), "bus_1", "2026-01-01T00:00:00.000Z")
            .unwrap()
    }

    fn now() -> OffsetDateTime {
        crate::timestamp::parse_rfc3339("2026-06-01T00:00:00Z").unwrap()
    }

    pub(crate) fn input(amount: &str, entry_type: EntryType, e: &CreditEntitlement) -> EntryInput {
        LedgerEntryRequest {
            amount: amount.into(),
            entry_type,
            expires_at: None,
            idempotency_key: None,
            metadata: None,
            reason: None,
        }
        .checked(e, now())
        .unwrap()
    }

    fn api() -> CreditSource {
        CreditSource {
            source_type: GrantSource::Api,
            source_id: None,
            transaction_type: TransactionType::CreditAdded,
            low_balance_threshold_percent: None,
            cycle_began: None,
        }
    }

    pub(crate) fn credited(balance: Balance, e: &CreditEntitlement, amounts: &[&str]) -> Balance {
        amounts.iter().enumerate().fold(balance, |b, (i, a)| {
            let ids = ChangeIds {
                entry_id: format!("cle_{i}"),
                grant_id: format!("cgr_{i}"),
            };
            b.credit(e, &input(a, EntryType::Credit, e), api(), ids, now())
                .unwrap()
                .balance
        })
    }

    #[test]
    fn a_translation_shows_over_the_base_text_field_by_field() {
        let e = entitlement(0, None);
        let input: CreditTranslationInput = serde_json::from_value(serde_json::json!({"unit": "appels"})).unwrap();
        let fr = input.into_translation(Locale::Fr, "t");
        let shown = e.clone().translated(Some(&fr));
        assert_eq!((shown.name.as_str(), shown.unit.as_str()), ("API calls", "appels"));
        assert_eq!(e.clone().translated(None), e);
        assert_eq!(fr.written_at("later").updated_at, "later");
    }

    #[test]
    fn amounts_are_exact_at_the_entitlements_precision() {
        assert_eq!(Credits::parse("amount", "12.5", 2).unwrap().to_string(), "12.50");
        assert_eq!(Credits::parse("amount", "7", 0).unwrap().to_string(), "7");
        assert_eq!(Credits::parse("amount", "0.1000", 1).unwrap().to_string(), "0.1");
        assert_eq!(
            Credits::parse("amount", "9999999999.9999999999", 10)
                .unwrap()
                .to_string(),
            "9999999999.9999999999"
        );
        let sum = Credits::parse("a", "0.1", 2)
            .unwrap()
            .plus(Credits::parse("a", "0.2", 2).unwrap());
        assert_eq!(sum.to_string(), "0.30");
        for bad in [
            "",
            "-1",
            "1e3",
            "1.",
            ".5",
            "0",
            "0.00",
            "10000000000",
            " 1",
            "1,5",
            "NaN",
            "0x10",
        ] {
            assert!(Credits::parse("amount", bad, 2).is_err(), "{bad}");
        }
        let refused = Credits::parse("amount", "1.005", 2).unwrap_err();
        assert!(refused.message.contains("precision (2)"), "{}", refused.message);
    }

    #[test]
    fn a_new_entitlement_meets_dodos_rules() {
        let base = serde_json::json!({"name": "n", "unit": "u", "precision": 2, "overage_enabled": false, "rollover_enabled": false});
        let with = |extra: serde_json::Value| {
            let mut body = base.clone();
            body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
            serde_json::from_value::<NewCreditEntitlement>(body)
                .unwrap()
                .into_entitlement("cde".into(), "b", "t")
        };
        assert!(with(serde_json::json!({})).is_ok());
        assert_eq!(
            with(serde_json::json!({})).unwrap().overage_behavior,
            OverageBehavior::ForgiveAtReset
        );
        for (extra, field) in [
            (serde_json::json!({"precision": 11}), "precision"),
            (serde_json::json!({"price_per_unit": "1"}), "currency"),
            (serde_json::json!({"overage_enabled": true}), "price_per_unit"),
            (
                serde_json::json!({"rollover_timeframe_count": 2}),
                "rollover_timeframe_count",
            ),
            (serde_json::json!({"rollover_percentage": 101}), "rollover_percentage"),
            (serde_json::json!({"currency": "usd"}), "currency"),
            (
                serde_json::json!({"currency": "USD", "price_per_unit": "-1"}),
                "price_per_unit",
            ),
        ] {
            let refused = with(extra.clone()).unwrap_err();
            assert!(refused.message.starts_with(field), "{extra}: {}", refused.message);
        }
    }

    #[test]
    fn a_patch_keeps_what_it_leaves_out_and_clears_nulls() {
        let e = entitlement(2, Some(25));
        let patch: CreditEntitlementPatch =
            serde_json::from_value(serde_json::json!({"name": "Tokens", "overage_limit": null, "precision": 5}))
                .unwrap();
        let next = patch.applied_to(&e, "later").unwrap();
        assert_eq!(
            (next.name.as_str(), next.unit.as_str(), next.precision),
            ("Tokens", "calls", 2)
        );
        assert_eq!(next.overage_limit, None);
        assert_eq!(next.updated_at, "later");
        let off: CreditEntitlementPatch = serde_json::from_value(serde_json::json!({"price_per_unit": null})).unwrap();
        assert!(off.applied_to(&e, "later").is_err(), "overage without a price");
    }

    #[test]
    fn debits_take_from_the_oldest_grant_first_and_never_below_zero() {
        let e = entitlement(2, None);
        let b = credited(Balance::opened("cb".into(), &e, "cus", "t"), &e, &["100", "50", "50.5"]);
        assert_eq!(b.balance.to_string(), "200.50");
        let change = b
            .debit(&e, &input("120.25", EntryType::Debit, &e), "cle_d".into(), now())
            .unwrap();
        assert_eq!(
            change.spent,
            vec![
                ("cgr_0".to_string(), Credits::zero(2)),
                ("cgr_1".to_string(), Credits::parse("a", "29.75", 2).unwrap())
            ]
        );
        assert_eq!(change.balance.balance.to_string(), "80.25");
        assert_eq!(change.balance.live.len(), 2, "the depleted grant is no longer live");
        let entry = &change.entry;
        assert_eq!(
            (entry.balance_before.to_string(), entry.balance_after.to_string()),
            ("200.50".into(), "80.25".into())
        );
        assert_eq!(entry.grant_id.as_deref(), Some("cgr_0"));
        assert_eq!(change.balance.version, b.version + 1);
        let refused = change
            .balance
            .debit(&e, &input("80.26", EntryType::Debit, &e), "x".into(), now())
            .unwrap_err();
        assert_eq!(refused.code, "INSUFFICIENT_CREDITS");
        let all = change
            .balance
            .debit(&e, &input("80.25", EntryType::Debit, &e), "x".into(), now())
            .unwrap();
        assert_eq!(all.balance.balance, Credits::zero(2));
        assert!(all.balance.live.is_empty());
    }

    #[test]
    fn overage_takes_the_shortfall_up_to_its_limit() {
        let e = entitlement(0, Some(25));
        let b = credited(Balance::opened("cb".into(), &e, "cus", "t"), &e, &["10"]);
        let change = b
            .debit(&e, &input("30", EntryType::Debit, &e), "d".into(), now())
            .unwrap();
        assert_eq!(
            (change.balance.balance.to_string(), change.balance.overage.to_string()),
            ("0".into(), "20".into())
        );
        assert_eq!(change.event_types(), vec!["credit.deducted", "credit.overage_charged"]);
        let more = change
            .balance
            .debit(&e, &input("5", EntryType::Debit, &e), "d".into(), now())
            .unwrap();
        assert_eq!(more.balance.overage.to_string(), "25");
        let refused = more
            .balance
            .debit(&e, &input("1", EntryType::Debit, &e), "d".into(), now())
            .unwrap_err();
        assert_eq!(refused.code, "OVERAGE_LIMIT_REACHED");
    }

    #[test]
    fn an_expired_grant_is_never_spent() {
        let e = entitlement(0, None);
        let b = Balance::opened("cb".into(), &e, "cus", "t");
        let mut soon = input("10", EntryType::Credit, &e);
        soon.expires_at = Some("2026-06-01T00:00:01.000Z".into());
        let ids = ChangeIds {
            entry_id: "e0".into(),
            grant_id: "g0".into(),
        };
        let b = b.credit(&e, &soon, api(), ids, now()).unwrap().balance;
        let b = credited(b, &e, &["5"]);
        let later = now() + time::Duration::seconds(2);
        let refused = b
            .debit(&e, &input("6", EntryType::Debit, &e), "d".into(), later)
            .unwrap_err();
        assert_eq!(refused.code, "INSUFFICIENT_CREDITS");
        assert!(refused.message.contains("(5)"), "{}", refused.message);
        let change = b
            .debit(&e, &input("5", EntryType::Debit, &e), "d".into(), later)
            .unwrap();
        assert_eq!(change.spent, vec![("cgr_0".to_string(), Credits::zero(0))]);
    }

    #[test]
    fn the_schedule_expires_the_oldest_due_grant_with_what_it_still_held() {
        let e = entitlement(0, None);
        let mut soon = input("10", EntryType::Credit, &e);
        soon.expires_at = Some("2026-06-01T00:00:01.000Z".into());
        let ids = ChangeIds {
            entry_id: "e0".into(),
            grant_id: "a0".into(),
        };
        let b = Balance::opened("cb".into(), &e, "cus", "t")
            .credit(&e, &soon, api(), ids, now())
            .unwrap()
            .balance;
        let b = credited(b, &e, &["5"]);
        let b = b
            .debit(&e, &input("3", EntryType::Debit, &e), "d".into(), now())
            .unwrap()
            .balance;
        assert_eq!(b.next_expiry(), Some("2026-06-01T00:00:01.000Z"));
        assert!(b.expire("x".into(), now()).is_none(), "not yet due");
        let later = now() + time::Duration::seconds(2);
        let change = b.expire("x".into(), later).unwrap();
        assert_eq!(change.expired.as_deref(), Some("a0"));
        let entry = &change.entry;
        assert_eq!(
            (entry.amount.to_string(), entry.transaction_type),
            ("7".into(), TransactionType::CreditExpired)
        );
        assert_eq!(
            (entry.balance_before.to_string(), entry.balance_after.to_string()),
            ("12".into(), "5".into())
        );
        assert_eq!(change.balance.next_expiry(), None);
        assert!(change.balance.expire("y".into(), later).is_none());
        assert_eq!(change.event_types(), vec!["credit.expired"]);
    }

    #[test]
    fn a_credit_expires_after_the_entitlements_days_unless_told_when() {
        let mut e = entitlement(0, None);
        e.expires_after_days = Some(30);
        let b = Balance::opened("cb".into(), &e, "cus", "t");
        let ids = || ChangeIds {
            entry_id: "e".into(),
            grant_id: "g".into(),
        };
        let grant = b
            .credit(&e, &input("1", EntryType::Credit, &e), api(), ids(), now())
            .unwrap()
            .new_grant
            .unwrap();
        assert_eq!(grant.expires_at.as_deref(), Some("2026-07-01T00:00:00.000Z"));
        let mut told = input("1", EntryType::Credit, &e);
        told.expires_at = Some("2027-01-01T00:00:00.000Z".into());
        let grant = b.credit(&e, &told, api(), ids(), now()).unwrap().new_grant.unwrap();
        assert_eq!(grant.expires_at.as_deref(), Some("2027-01-01T00:00:00.000Z"));
        let debit_with_expiry = LedgerEntryRequest {
            amount: "1".into(),
            entry_type: EntryType::Debit,
            expires_at: Some("2027-01-01T00:00:00Z".into()),
            idempotency_key: None,
            metadata: None,
            reason: None,
        };
        assert!(debit_with_expiry.checked(&e, now()).is_err());
    }

    fn in_overage(e: &CreditEntitlement, owed: &str) -> Balance {
        let b = subscribed(e, &[("1", MAY)]);
        let spent = Credits::parse("x", "1", e.precision)
            .unwrap()
            .plus(Credits::parse("x", owed, e.precision).unwrap());
        b.debit(
            e,
            &input(&spent.to_string(), EntryType::Debit, e),
            "cle_d".into(),
            now(),
        )
        .unwrap()
        .balance
    }

    #[test]
    fn a_new_cycle_forgives_the_overage_unless_the_entitlement_carries_it() {
        let mut e = entitlement(2, Some(50));
        let owing = in_overage(&e, "7.25");
        assert_eq!(
            (owing.balance.to_string(), owing.overage.to_string()),
            ("0.00".into(), "7.25".into())
        );
        for behavior in [OverageBehavior::ForgiveAtReset, OverageBehavior::InvoiceAtBilling] {
            e.overage_behavior = behavior;
            let reset = owing.reset_overage(&e, "sub_1", JUNE, "cle_r".into(), now()).unwrap();
            assert!(
                owing.reset_overage(&e, "sub_1", MAY, "cle_r".into(), now()).is_none(),
                "not within the cycle"
            );
            assert!(
                owing.reset_overage(&e, "sub_2", JUNE, "cle_r".into(), now()).is_none(),
                "another subscription's"
            );
            assert_eq!(reset.balance.overage.to_string(), "0.00");
            assert_eq!(reset.balance.version, owing.version + 1);
            let entry = &reset.entry;
            assert_eq!(
                (
                    entry.transaction_type,
                    entry.amount.to_string(),
                    entry.overage_before.to_string()
                ),
                (TransactionType::OverageReset, "7.25".into(), "7.25".into())
            );
            assert_eq!(reset.event_types(), ["credit.overage_reset"]);
        }
        for behavior in [OverageBehavior::CarryDeficit, OverageBehavior::CarryDeficitAutoRepay] {
            e.overage_behavior = behavior;
            assert!(owing.reset_overage(&e, "sub_1", JUNE, "cle_r".into(), now()).is_none());
        }
        e.overage_behavior = OverageBehavior::ForgiveAtReset;
        let clear = subscribed(&e, &[("3", MAY)]);
        assert!(
            clear.reset_overage(&e, "sub_1", JUNE, "cle_r".into(), now()).is_none(),
            "nothing owed, nothing to reset"
        );
    }

    #[test]
    fn with_auto_repay_a_credit_pays_the_overage_back_first() {
        let mut e = entitlement(2, Some(50));
        e.overage_behavior = OverageBehavior::CarryDeficitAutoRepay;
        let owing = in_overage(&e, "7.25");
        let ids = |n: &str| ChangeIds {
            entry_id: format!("cle_{n}"),
            grant_id: format!("cgr_{n}"),
        };
        let part = owing
            .credit(&e, &input("5", EntryType::Credit, &e), api(), ids("a"), now())
            .unwrap();
        assert_eq!(
            (part.balance.balance.to_string(), part.balance.overage.to_string()),
            ("0.00".into(), "2.25".into())
        );
        let grant = part.new_grant.as_ref().unwrap();
        assert_eq!(
            (grant.initial_amount.to_string(), grant.remaining_amount.to_string()),
            ("5.00".into(), "0.00".into())
        );
        assert!(
            !part.balance.live.contains_key(&grant.id),
            "a grant spent on the deficit is not live"
        );
        let rest = part
            .balance
            .credit(&e, &input("10", EntryType::Credit, &e), api(), ids("b"), now())
            .unwrap();
        assert_eq!(
            (rest.balance.balance.to_string(), rest.balance.overage.to_string()),
            ("7.75".into(), "0.00".into())
        );
        assert_eq!(
            (
                rest.entry.overage_before.to_string(),
                rest.entry.balance_after.to_string()
            ),
            ("2.25".into(), "7.75".into())
        );
        e.overage_behavior = OverageBehavior::CarryDeficit;
        let carried = owing
            .credit(&e, &input("5", EntryType::Credit, &e), api(), ids("c"), now())
            .unwrap();
        assert_eq!(
            (carried.balance.balance.to_string(), carried.balance.overage.to_string()),
            ("5.00".into(), "7.25".into())
        );
    }

    #[test]
    fn a_balance_below_its_cycles_threshold_is_reported_low_once_per_cycle() {
        let e = entitlement(2, None);
        let cycle = |sub: &str| CreditSource {
            source_type: GrantSource::Subscription,
            source_id: Some(sub.into()),
            transaction_type: TransactionType::CreditAdded,
            low_balance_threshold_percent: Some(20),
            cycle_began: Some("2026-05-01T00:00:00.000Z".into()),
        };
        let ids = |n: &str| ChangeIds {
            entry_id: format!("cle_{n}"),
            grant_id: format!("cgr_{n}"),
        };
        let opened = Balance::opened("cbl_1".into(), &e, "cus_1", "t");
        let b = opened
            .credit(
                &e,
                &input("100", EntryType::Credit, &e),
                cycle("sub_1"),
                ids("1"),
                now(),
            )
            .unwrap()
            .balance;
        let debit = |b: &Balance, amount: &str| {
            b.debit(&e, &input(amount, EntryType::Debit, &e), "cle_d".into(), now())
                .unwrap()
        };
        let above = debit(&b, "80");
        assert!(above.low.is_none(), "20.00 is not below 20% of 100");
        let low = debit(&above.balance, "0.01");
        let reported = low.low.clone().unwrap();
        assert_eq!(
            (
                reported.available_balance.to_string(),
                reported.threshold_amount.to_string(),
                reported.threshold_percent
            ),
            ("19.99".into(), "20.00".into(), 20)
        );
        assert_eq!(
            (
                reported.subscription_id.as_str(),
                reported.subscription_credits_amount.to_string()
            ),
            ("sub_1", "100.00".into())
        );
        assert!(debit(&low.balance, "1").low.is_none(), "once per cycle");
        let renewed = low
            .balance
            .credit(&e, &input("10", EntryType::Credit, &e), cycle("sub_1"), ids("2"), now())
            .unwrap()
            .balance;
        assert!(
            debit(&renewed, "28").low.is_some(),
            "a new cycle reports again: 1.99 is below 2.00"
        );
        let api_only = credited(Balance::opened("cbl_2".into(), &e, "cus_1", "t"), &e, &["100"]);
        assert!(debit(&api_only, "99").low.is_none(), "no subscription, no threshold");
    }

    fn subscribed(e: &CreditEntitlement, amounts: &[(&str, &str)]) -> Balance {
        amounts.iter().enumerate().fold(
            Balance::opened("cbl_s".into(), e, "cus_1", "t"),
            |b, (i, (amount, began))| {
                let source = CreditSource {
                    source_type: GrantSource::Subscription,
                    source_id: Some("sub_1".into()),
                    transaction_type: TransactionType::CreditAdded,
                    low_balance_threshold_percent: None,
                    cycle_began: Some(began.to_string()),
                };
                let ids = ChangeIds {
                    entry_id: format!("cle_s{i}"),
                    grant_id: format!("cgr_s{i}"),
                };
                b.credit(e, &input(amount, EntryType::Credit, e), source, ids, now())
                    .unwrap()
                    .balance
            },
        )
    }

    /// Every step of closing the cycles before `began`, with what each entry was.
    fn closed(b: &Balance, e: &CreditEntitlement, began: &str, tag: &str) -> (Balance, Vec<(TransactionType, String)>) {
        let mut b = b.clone();
        let mut steps = Vec::new();
        for i in 0.. {
            let ids = ChangeIds {
                entry_id: format!("cle_{tag}{i}"),
                grant_id: format!("cgr_{tag}{i}"),
            };
            let Some(change) = b.close_cycle(e, "sub_1", began, ids, now()) else {
                break;
            };
            assert_eq!(change.balance.version, b.version + 1);
            steps.push((change.entry.transaction_type, change.entry.amount.to_string()));
            b = change.balance;
        }
        (b, steps)
    }

    const MAY: &str = "2026-05-01T00:00:00.000Z";
    const JUNE: &str = "2026-06-01T00:00:00.000Z";
    const JULY: &str = "2026-07-01T00:00:00.000Z";

    #[test]
    fn without_rollover_a_cycles_unspent_credits_are_forfeited_at_the_next() {
        let e = entitlement(2, None);
        let b = subscribed(&e, &[("10", MAY)]);
        let b = b
            .debit(&e, &input("3.5", EntryType::Debit, &e), "cle_d".into(), now())
            .unwrap()
            .balance;
        let api = credited(b, &e, &["4"]);
        let (after, steps) = closed(&api, &e, JUNE, "a");
        assert_eq!(steps, [(TransactionType::RolloverForfeited, "6.50".to_string())]);
        assert_eq!(after.balance.to_string(), "4.00", "the API's credits stay");
        assert!(closed(&after, &e, JUNE, "b").1.is_empty(), "closed once");
    }

    #[test]
    fn with_rollover_the_share_past_the_percentage_is_forfeited_and_the_rest_rolls_until_the_max() {
        let mut e = entitlement(2, None);
        e.rollover_enabled = true;
        e.rollover_percentage = Some(50);
        e.max_rollover_count = Some(1);
        e.rollover_timeframe_count = Some(2);
        e.rollover_timeframe_interval = Some(DurationInterval::Month);
        let b = subscribed(&e, &[("10.01", MAY)]);
        let (june, steps) = closed(&b, &e, JUNE, "a");
        assert_eq!(
            steps,
            [
                (TransactionType::RolloverForfeited, "5.01".to_string()),
                (TransactionType::CreditRolledOver, "5.00".to_string())
            ]
        );
        assert_eq!(june.balance.to_string(), "5.00");
        let rolled = june.live.values().next().unwrap();
        assert_eq!(
            rolled.expires_at.as_deref(),
            Some("2026-08-01T00:00:00.000Z"),
            "two months from now"
        );
        assert_eq!(
            rolled.cycle.as_ref().map(|c| (c.began.as_str(), c.rollover_count)),
            Some((JUNE, 1))
        );
        // June's own credits join it; at July the rolled grant is at its max and goes, June's rolls.
        let june = subscribed_into(june, &e, "8", JUNE, "cgr_b");
        let (july, steps) = closed(&june, &e, JULY, "c");
        assert_eq!(
            steps,
            [
                (TransactionType::RolloverForfeited, "5.00".to_string()),
                (TransactionType::RolloverForfeited, "4.00".to_string()),
                (TransactionType::CreditRolledOver, "4.00".to_string()),
            ]
        );
        assert_eq!(july.balance.to_string(), "4.00");
    }

    #[test]
    fn what_rolls_over_joins_one_grant_per_count_so_live_grants_stay_few() {
        const MONTHS: [&str; 6] = [
            "2026-01-01T00:00:00.000Z",
            "2026-02-01T00:00:00.000Z",
            "2026-03-01T00:00:00.000Z",
            "2026-04-01T00:00:00.000Z",
            "2026-05-01T00:00:00.000Z",
            "2026-06-01T00:00:00.000Z",
        ];
        for (max, most) in [(None, 2), (Some(2), 3)] {
            let mut e = entitlement(0, None);
            e.rollover_enabled = true;
            e.max_rollover_count = max;
            // Ids in creation order: month i's rolled grants (`cgr_<i>a<j>`), then its own (`cgr_<i>b`).
            let grant = |b: Balance, i: usize| subscribed_into(b, &e, "10", MONTHS[i], &format!("cgr_{i}b"));
            let mut b = grant(Balance::opened("cbl_s".into(), &e, "cus_1", "t"), 0);
            for (i, month) in MONTHS.iter().enumerate().skip(1) {
                let (closed, steps) = closed(&b, &e, month, &format!("{i}a"));
                assert!(steps
                    .iter()
                    .all(|(kind, _)| *kind != TransactionType::RolloverForfeited || max.is_some()));
                b = grant(closed, i);
                assert!(
                    b.live.len() <= most,
                    "max {max:?} month {i}: {} live grants",
                    b.live.len()
                );
            }
            let rolled: Vec<_> = b.live.values().filter(|g| g.initial.is_some()).collect();
            match max {
                // Nothing is ever forfeited: 50 in all, 40 of it in one rolled grant.
                None => {
                    assert_eq!(b.balance.to_string(), "60");
                    assert_eq!(
                        rolled.iter().map(|g| g.remaining.to_string()).collect::<Vec<_>>(),
                        ["50"]
                    );
                    assert_eq!(rolled[0].initial.map(|i| i.to_string()), Some("50".into()));
                }
                // Each credit rolls twice at most: the cycle's 10 and the 10 rolled once stay.
                Some(_) => assert_eq!(b.balance.to_string(), "30"),
            }
        }
    }

    #[test]
    fn a_roll_over_moves_the_grant_and_keeps_the_balance() {
        let mut e = entitlement(0, None);
        e.rollover_enabled = true;
        let b = subscribed(&e, &[("7", MAY)]);
        let change = b
            .close_cycle(
                &e,
                "sub_1",
                JUNE,
                ChangeIds {
                    entry_id: "cle_x".into(),
                    grant_id: "cgr_x".into(),
                },
                now(),
            )
            .unwrap();
        assert_eq!(
            (
                change.entry.balance_before.to_string(),
                change.entry.balance_after.to_string()
            ),
            ("7".into(), "7".into())
        );
        assert_eq!(change.rolled_over.as_deref(), Some("cgr_s0"));
        assert_eq!(change.spent, [("cgr_s0".to_string(), Credits::zero(0))]);
        let grant = change.new_grant.unwrap();
        assert_eq!(
            (
                grant.source_type,
                grant.parent_grant_id.as_deref(),
                grant.rollover_count
            ),
            (GrantSource::Rollover, Some("cgr_s0"), 1)
        );
        assert!(b
            .close_cycle(
                &e,
                "sub_2",
                JUNE,
                ChangeIds {
                    entry_id: "e".into(),
                    grant_id: "g".into()
                },
                now()
            )
            .is_none());
        assert!(b
            .close_cycle(
                &e,
                "sub_1",
                MAY,
                ChangeIds {
                    entry_id: "e".into(),
                    grant_id: "g".into()
                },
                now()
            )
            .is_none());
    }

    fn subscribed_into(b: Balance, e: &CreditEntitlement, amount: &str, began: &str, grant_id: &str) -> Balance {
        let source = CreditSource {
            source_type: GrantSource::Subscription,
            source_id: Some("sub_1".into()),
            transaction_type: TransactionType::CreditAdded,
            low_balance_threshold_percent: None,
            cycle_began: Some(began.to_string()),
        };
        let ids = ChangeIds {
            entry_id: format!("cle_{grant_id}"),
            grant_id: grant_id.into(),
        };
        b.credit(e, &input(amount, EntryType::Credit, e), source, ids, now())
            .unwrap()
            .balance
    }
}
