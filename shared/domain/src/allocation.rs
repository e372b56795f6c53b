//! License allocation arithmetic (UiPath LRM): a host's purchased units flow to
//! organizations, and an organization's to tenant services and user seats.
//! Everything here is pure; the store turns a plan into one guarded transaction.

use crate::refusal::{Refusal, RuleResult};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Units per product code.
pub type Quantities = BTreeMap<String, i64>;

/// A pool of units: what it holds of each code and how much of that it gave out.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pool {
    pub quantity: i64,
    pub allocated: i64,
    /// An organization's pool split over this many shard items (the
    /// `pool-shards` tool); while it is, `allocated` is what its shards used
    /// and the stored one is left as it was at the split.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shards: Option<u32>,
    /// The split its shards were written under.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard_epoch: Option<i64>,
}

pub type Pools = BTreeMap<String, Pool>;

/// The most product codes one license holds: what one guarded update of a pool
/// can carry within DynamoDB's 4 KB expression limit.
pub const MAX_CODES: usize = 32;
pub const MAX_QUANTITY: i64 = 1_000_000_000;
/// The most shards an organization's pools hold together: a new quantity of
/// every sharded code moves each of its shards' caps in the host's one
/// allocation transaction, which holds at most 100 actions.
pub const MAX_ORG_SHARDS: u32 = 32;
/// What `valid_code` accepts.
pub const CODE_PATTERN: &str = "^[A-Z0-9-]{2,32}$";
/// The most users one assignment names: each is an item of its one transaction.
pub const MAX_USERS: usize = 50;
pub const TENANT_NAME_MAX: usize = 255;
pub const SUBSCRIPTION_PLAN_MAX: usize = 64;
/// A tenant service's name.
pub type TenantName = crate::json::Line<1, TENANT_NAME_MAX>;
/// A host license's plan, e.g. `ENTERPRISE`.
pub type SubscriptionPlan = crate::json::Line<1, SUBSCRIPTION_PLAN_MAX>;
const SECONDS_PER_DAY: i64 = 86_400;

#[derive(Clone, Debug, Deserialize)]
pub struct ProductQuantity {
    pub code: String,
    pub quantity: i64,
}

pub fn valid_code(code: &str) -> bool {
    (2..=32).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-')
}

/// Checks a `[{code, quantity}]` list and makes it a map; a code twice is an error.
pub fn quantities(field: &str, products: &[ProductQuantity]) -> RuleResult<Quantities> {
    if products.len() > MAX_CODES {
        return Err(Refusal::invalid(field, format!("at most {MAX_CODES} products")));
    }
    let mut map = Quantities::new();
    for (i, product) in products.iter().enumerate() {
        if !valid_code(&product.code) {
            return Err(Refusal::invalid(
                &format!("{field}[{i}].code"),
                format!("must match {CODE_PATTERN}"),
            ));
        }
        if !(0..=MAX_QUANTITY).contains(&product.quantity) {
            return Err(Refusal::invalid(
                &format!("{field}[{i}].quantity"),
                format!("must be from 0 to {MAX_QUANTITY}"),
            ));
        }
        if map.insert(product.code.clone(), product.quantity).is_some() {
            return Err(Refusal::invalid(&format!("{field}[{i}].code"), "appears twice"));
        }
    }
    Ok(map)
}

/// Checks a list of bundle codes (user and group rules); duplicates are an error.
pub fn bundle_codes(field: &str, codes: &[String]) -> RuleResult<Vec<String>> {
    let mut seen = std::collections::BTreeSet::new();
    for (i, code) in codes.iter().enumerate() {
        if !valid_code(code) {
            return Err(Refusal::invalid(
                &format!("{field}[{i}]"),
                format!("must match {CODE_PATTERN}"),
            ));
        }
        if !seen.insert(code.clone()) {
            return Err(Refusal::invalid(&format!("{field}[{i}]"), "appears twice"));
        }
    }
    if seen.len() > MAX_CODES {
        return Err(Refusal::invalid(field, format!("at most {MAX_CODES} codes")));
    }
    Ok(seen.into_iter().collect())
}

/// Replace semantics: the change of every code from `old` to `new`, codes left
/// out of `new` going to 0; unchanged codes are left out.
pub fn deltas(old: &Quantities, new: &Quantities) -> Quantities {
    let mut changes = Quantities::new();
    for code in old.keys().chain(new.keys()) {
        let delta = new.get(code).copied().unwrap_or(0) - old.get(code).copied().unwrap_or(0);
        if delta != 0 {
            changes.insert(code.clone(), delta);
        }
    }
    changes
}

/// Codes whose `allocated` would pass `quantity` if `deltas` were given out of `pools`.
pub fn overdrawn(pools: &Pools, deltas: &Quantities) -> Vec<String> {
    deltas
        .iter()
        .filter(|(code, delta)| {
            let pool = pools.get(*code).copied().unwrap_or_default();
            **delta > 0 && pool.allocated + **delta > pool.quantity
        })
        .map(|(code, _)| code.clone())
        .collect()
}

/// The shards the pools other than `code` hold together.
pub fn shards_beside(pools: &Pools, code: &str) -> u32 {
    pools
        .iter()
        .filter(|(other, _)| other.as_str() != code)
        .filter_map(|(_, pool)| pool.shards)
        .sum()
}

/// Codes whose new quantity would fall below what the pool already gave out.
pub fn below_allocated(pools: &Pools, new_quantities: &Quantities) -> Vec<String> {
    pools
        .iter()
        .filter(|(code, pool)| new_quantities.get(*code).copied().unwrap_or(0) < pool.allocated)
        .map(|(code, _)| code.clone())
        .collect()
}

/// The pools after their quantities are replaced by `new_quantities` (allocations kept).
pub fn with_quantities(pools: &Pools, new_quantities: &Quantities) -> Pools {
    let mut next = pools.clone();
    for (code, pool) in next.iter_mut() {
        pool.quantity = new_quantities.get(code).copied().unwrap_or(0);
    }
    for (code, quantity) in new_quantities {
        next.entry(code.clone()).or_insert(Pool {
            quantity: *quantity,
            allocated: 0,
            ..Default::default()
        });
    }
    next
}

pub fn with_allocations(pools: &Pools, deltas: &Quantities) -> Pools {
    let mut next = pools.clone();
    for (code, delta) in deltas {
        next.entry(code.clone()).or_default().allocated += delta;
    }
    next
}

/// Units each code gains or loses when each of `users` moves from the codes it
/// held to `codes`: a user holding a code takes one unit of it.
pub fn seat_deltas<'a>(held: impl IntoIterator<Item = &'a [String]>, codes: &[String]) -> Quantities {
    let mut changes = Quantities::new();
    for old in held {
        for code in old.iter().filter(|c| !codes.contains(c)) {
            *changes.entry(code.clone()).or_default() -= 1;
        }
        for code in codes.iter().filter(|c| !old.contains(c)) {
            *changes.entry(code.clone()).or_default() += 1;
        }
    }
    changes.retain(|_, delta| *delta != 0);
    changes
}

/// The LRM product type of a code: user bundles are `USER`, the rest robots and services.
pub fn product_type(code: &str) -> &'static str {
    const USER_BUNDLES: [&str; 12] = [
        "ACNU",
        "ATTUNU",
        "RPADEVPRONU",
        "AKIT",
        "CTZDEVNU",
        "CTZDEVCU",
        "AXPNU",
        "IDU",
        "PMBU",
        "PMD",
        "TSTNU",
        "RPADEVNU",
    ];
    const SERVICES: [&str; 2] = ["AIG", "TIE"];
    if USER_BUNDLES.contains(&code) {
        "USER"
    } else if SERVICES.contains(&code) {
        "SERVICE"
    } else {
        "ROBOT"
    }
}

pub fn pool_quantities(pools: &Pools) -> Quantities {
    pools
        .iter()
        .filter(|(_, p)| p.quantity > 0)
        .map(|(c, p)| (c.clone(), p.quantity))
        .collect()
}

/// The codes of `codes` that `pools` holds none of.
pub fn codes_not_held(pools: &Pools, codes: &[String]) -> Vec<String> {
    codes
        .iter()
        .filter(|c| pools.get(*c).is_none_or(|p| p.quantity == 0))
        .cloned()
        .collect()
}

/// The index of the first entry that repeats an earlier one.
pub fn first_repeat(items: &[String]) -> Option<usize> {
    let mut seen = std::collections::BTreeSet::new();
    items.iter().position(|item| !seen.insert(item))
}

/// A user's license state for one bundle code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum SeatState {
    Active,
    Expired,
    Unlicensed,
}

/// EXPIRED once `endDate` has passed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum LicenseStatus {
    Active,
    Expired,
}

/// Where a license is in its term at `now` (epoch seconds), by its `endDate`
/// (epoch seconds) and `gracePeriod` (days): running until and at `endDate`
/// (always, without one), then in its grace period for that many days, then over.
/// A negative grace period counts as none; a huge one neither wraps nor ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Term {
    Running,
    InGrace,
    Over,
}

impl Term {
    pub fn at(end_date: Option<i64>, grace_days: Option<i64>, now: i64) -> Self {
        let Some(end) = end_date.filter(|end| now > *end) else {
            return Self::Running;
        };
        let grace = grace_days.unwrap_or(0).max(0).saturating_mul(SECONDS_PER_DAY);
        if now.saturating_sub(end) < grace {
            Self::InGrace
        } else {
            Self::Over
        }
    }

    /// The status a license (host, organization, tenant service) shows of
    /// itself: EXPIRED as soon as `endDate` has passed. The grace period keeps
    /// its users' seats ACTIVE (`seat`), not the license's own status.
    pub fn license_status(self) -> LicenseStatus {
        match self {
            Self::Running => LicenseStatus::Active,
            Self::InGrace | Self::Over => LicenseStatus::Expired,
        }
    }

    /// A user's state for a bundle code it `holds` or not: held is ACTIVE
    /// while the term runs and through its grace period, then EXPIRED.
    pub fn seat(self, holds: bool) -> SeatState {
        match (holds, self) {
            (true, Self::Running | Self::InGrace) => SeatState::Active,
            (true, Self::Over) => SeatState::Expired,
            (false, _) => SeatState::Unlicensed,
        }
    }
}

/// Held and the account license not ended is ACTIVE; held once its `end_date`
/// (epoch seconds) is `grace_days` or more behind, EXPIRED.
pub fn seat_state(holds: bool, end_date: Option<i64>, grace_days: Option<i64>, now: i64) -> SeatState {
    Term::at(end_date, grace_days, now).seat(holds)
}

/// A host's purchased license, each code's pool holding what organizations took.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HostLicense {
    pub host_account_id: String,
    pub license_code: String,
    pub start_date: Option<i64>,
    pub end_date: Option<i64>,
    pub grace_period: Option<i64>,
    pub subscription_plan: Option<String>,
    pub products: Pools,
}

impl HostLicense {
    pub fn term(&self, now: i64) -> Term {
        Term::at(self.end_date, self.grace_period, now)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OrgLicense {
    pub account_id: String,
    pub host_account_id: String,
    pub license_code: String,
    pub parent_license_code: String,
    pub start_date: Option<i64>,
    pub end_date: Option<i64>,
    pub grace_period: Option<i64>,
    pub subscription_plan: Option<String>,
    pub products: Pools,
    /// The shards of each sharded pool as read (never stored with the license).
    #[serde(skip)]
    pub shards: BTreeMap<String, Vec<crate::shards::Shard>>,
}

impl OrgLicense {
    /// The account license's term, which its tenant services and seats share.
    pub fn term(&self, now: i64) -> Term {
        Term::at(self.end_date, self.grace_period, now)
    }

    /// Whether a pool of it is split over shards (items apart from the license).
    pub fn has_split_pool(&self) -> bool {
        self.products.values().any(|pool| pool.shards.is_some())
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TenantService {
    pub account_id: String,
    pub service_scope_id: String,
    pub service_type: String,
    pub tenant_name: Option<String>,
    pub license_code: String,
    pub products: Quantities,
    pub version: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UserSeat {
    pub account_id: String,
    pub user_id: String,
    pub user_bundle_codes: Vec<String>,
    pub use_external_license: bool,
    pub version: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GroupRule {
    pub account_id: String,
    pub group_id: String,
    pub user_bundle_codes: Vec<String>,
    pub use_external_license: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    pub id: String,
    pub account_id: String,
    pub actor: String,
    pub route: String,
    /// A change of the host's own license, kept apart from its organizations'.
    #[serde(default)]
    pub of_host: bool,
    /// What changed: `host`, `organization`, `tenant:<scope>/<type>` or `user:<id>`.
    pub target: String,
    pub timestamp: i64,
    pub before: serde_json::Value,
    pub after: serde_json::Value,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, i64)]) -> Quantities {
        pairs.iter().map(|(c, n)| (c.to_string(), *n)).collect()
    }

    fn pools(pairs: &[(&str, i64, i64)]) -> Pools {
        pairs
            .iter()
            .map(|(c, quantity, allocated)| {
                (
                    c.to_string(),
                    Pool {
                        quantity: *quantity,
                        allocated: *allocated,
                        ..Default::default()
                    },
                )
            })
            .collect()
    }

    #[test]
    fn replace_semantics_zero_what_is_left_out() {
        let old = q(&[("UNATT", 2), ("AIG", 1)]);
        let new = q(&[("UNATT", 5), ("TIE", 2)]);
        assert_eq!(deltas(&old, &new), q(&[("UNATT", 3), ("AIG", -1), ("TIE", 2)]));
        assert_eq!(deltas(&old, &old), Quantities::new());
    }

    #[test]
    fn overdraw_and_underrun_are_found_per_code() {
        let host = pools(&[("UNATT", 10, 8), ("AIG", 1, 0)]);
        assert_eq!(overdrawn(&host, &q(&[("UNATT", 2), ("AIG", 1)])), Vec::<String>::new());
        assert_eq!(
            overdrawn(&host, &q(&[("UNATT", 3), ("TIE", 1)])),
            vec!["TIE".to_string(), "UNATT".to_string()]
        );
        assert_eq!(overdrawn(&host, &q(&[("UNATT", -8)])), Vec::<String>::new());
        assert_eq!(
            below_allocated(&host, &q(&[("UNATT", 7), ("AIG", 0)])),
            vec!["UNATT".to_string()]
        );
        assert_eq!(below_allocated(&host, &q(&[("UNATT", 8)])), Vec::<String>::new());
    }

    #[test]
    fn new_quantities_keep_allocations() {
        let next = with_quantities(&pools(&[("UNATT", 10, 4)]), &q(&[("AIG", 3)]));
        assert_eq!(next, pools(&[("UNATT", 0, 4), ("AIG", 3, 0)]));
        assert_eq!(with_allocations(&next, &q(&[("AIG", 2)]))["AIG"].allocated, 2);
    }

    #[test]
    fn seats_move_one_unit_per_user_and_code() {
        let codes = |c: &[&str]| c.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let held = [codes(&["ACNU"]), codes(&[]), codes(&["ACNU", "AKIT"])];
        let changes = seat_deltas(held.iter().map(Vec::as_slice), &codes(&["ACNU", "IDU"]));
        assert_eq!(changes, q(&[("ACNU", 1), ("IDU", 3), ("AKIT", -1)]));
        assert_eq!(
            seat_deltas([codes(&["IDU"]).as_slice()], &codes(&["IDU"])),
            Quantities::new()
        );
    }

    #[test]
    fn product_lists_are_checked() {
        let list = |v: serde_json::Value| serde_json::from_value::<Vec<ProductQuantity>>(v).unwrap();
        assert!(quantities("products", &list(serde_json::json!([{"code": "UNATT", "quantity": 2}]))).is_ok());
        let err = quantities("products", &list(serde_json::json!([{"code": "unatt", "quantity": 2}]))).unwrap_err();
        assert_eq!(err.message.split(':').next(), Some("products[0].code"));
        let err = quantities("products", &list(serde_json::json!([{"code": "AIG", "quantity": -1}]))).unwrap_err();
        assert!(err.message.starts_with("products[0].quantity"));
        let err = quantities(
            "products",
            &list(serde_json::json!([{"code": "AIG", "quantity": 1}, {"code": "AIG", "quantity": 2}])),
        )
        .unwrap_err();
        assert!(err.message.starts_with("products[1].code"));
        assert!(bundle_codes("userBundleCodes", &["ACNU".into(), "ACNU".into()]).is_err());
    }

    #[test]
    fn types_follow_the_known_codes() {
        assert_eq!(
            (product_type("ACNU"), product_type("TIE"), product_type("UNATT")),
            ("USER", "SERVICE", "ROBOT")
        );
    }

    #[test]
    fn seat_state_by_holding_and_end_date() {
        assert_eq!(seat_state(true, None, None, 100), SeatState::Active);
        assert_eq!(seat_state(true, Some(100), None, 100), SeatState::Active);
        assert_eq!(seat_state(true, Some(99), None, 100), SeatState::Expired);
        assert_eq!(seat_state(true, Some(99), Some(0), 100), SeatState::Expired);
        assert_eq!(seat_state(false, Some(99), None, 100), SeatState::Unlicensed);
        assert_eq!(seat_state(false, None, None, 100), SeatState::Unlicensed);
    }

    #[test]
    fn a_grace_period_keeps_an_ended_license_active_for_its_days() {
        let end = 1_000_000;
        let three_days = 3 * 86_400;
        assert_eq!(
            seat_state(true, Some(end), Some(3), end + three_days - 1),
            SeatState::Active
        );
        assert_eq!(
            seat_state(true, Some(end), Some(3), end + three_days),
            SeatState::Expired
        );
        assert_eq!(seat_state(true, Some(end), Some(3), end + 1), SeatState::Active);
        assert_eq!(seat_state(false, Some(end), Some(3), end + 1), SeatState::Unlicensed);
        // Out-of-range values neither wrap nor extend the license backwards.
        assert_eq!(seat_state(true, Some(end), Some(i64::MAX), i64::MAX), SeatState::Active);
        assert_eq!(seat_state(true, Some(end), Some(-5), end + 1), SeatState::Expired);
    }

    #[test]
    fn a_license_shows_expired_from_its_end_date_and_its_seats_after_the_grace_period() {
        let end = 1_000_000;
        let day = 86_400;
        for (grace, now, term) in [
            (None, end, Term::Running),
            (Some(3), end, Term::Running),
            (None, end + 1, Term::Over),
            (Some(0), end + 1, Term::Over),
            (Some(3), end + 1, Term::InGrace),
            (Some(3), end + 3 * day - 1, Term::InGrace),
            (Some(3), end + 3 * day, Term::Over),
            (Some(-5), end + 1, Term::Over),
            (Some(i64::MAX), i64::MAX, Term::InGrace),
        ] {
            assert_eq!(Term::at(Some(end), grace, now), term, "{grace:?} {now}");
        }
        assert_eq!(Term::at(None, Some(3), i64::MAX), Term::Running);
        assert_eq!(
            [Term::Running, Term::InGrace, Term::Over].map(Term::license_status),
            [LicenseStatus::Active, LicenseStatus::Expired, LicenseStatus::Expired]
        );
        assert_eq!(
            [Term::Running, Term::InGrace, Term::Over].map(|t| t.seat(true)),
            [SeatState::Active, SeatState::Active, SeatState::Expired]
        );
        assert_eq!(Term::Running.seat(false), SeatState::Unlicensed);
    }

    #[test]
    fn codes_not_held_and_repeats() {
        let mut pools = Pools::new();
        pools.insert(
            "IDU".into(),
            Pool {
                quantity: 2,
                allocated: 0,
                ..Default::default()
            },
        );
        pools.insert(
            "AKIT".into(),
            Pool {
                quantity: 0,
                allocated: 0,
                ..Default::default()
            },
        );
        let asked = vec!["IDU".to_string(), "AKIT".into(), "PMD".into()];
        assert_eq!(codes_not_held(&pools, &asked), vec!["AKIT".to_string(), "PMD".into()]);
        assert_eq!(first_repeat(&["a".into(), "b".into(), "a".into()]), Some(2));
        assert_eq!(first_repeat(&["a".into(), "b".into()]), None);
    }

    #[test]
    fn the_shards_of_the_other_pools_count_against_an_organizations_bound() {
        let mut pools = Pools::new();
        for (code, shards) in [("ACNU", Some(8)), ("UNATT", Some(16)), ("AIG", None)] {
            pools.insert(
                code.into(),
                Pool {
                    quantity: 10,
                    shards,
                    ..Default::default()
                },
            );
        }
        assert_eq!(shards_beside(&pools, "ACNU"), 16);
        assert_eq!(shards_beside(&pools, "AIG"), 24);
    }
}
