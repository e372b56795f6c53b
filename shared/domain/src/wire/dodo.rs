//! The Dodo family's wire shapes beside its stored domain types (which derive
//! their own schemas): the bodies and answers of the public license routes,
//! key imports and patches, webhook pages and views; and the schemas a derive
//! cannot state (a `license_key` config's rules, bounds from constants).

use crate::digital_files::{DigitalFilesConfig, DigitalProductDelivery};
use crate::entitlement::{
    ActivationMessage, DurationInterval, Entitlement, FeatureFlagConfig, LicenseKeyConfig, NewEntitlement,
    LEASE_SECONDS, OFFLINE_TTL_SECONDS,
};
use crate::grant_requests::{Id as CustomerId, Limit, SuppliedKey};
use crate::json::KeyId;
use crate::license_key::{
    Fingerprint, Instance, InstanceId, InstanceName, KeyText, LicenseKey, LicenseKeyStatus, LEASED_LIMIT_MAX,
    VALIDATION_CODES,
};
use crate::schema::{int64, object_of, or_null, Extended};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::BTreeMap;
use utoipa::openapi::schema::{AllOfBuilder, AnyOfBuilder, ArrayBuilder, ObjectBuilder, Schema, Type};
use utoipa::openapi::{Ref, RefOr};
use utoipa::{PartialSchema, ToSchema};

fn seconds(bounds: (i64, i64), description: &str) -> ObjectBuilder {
    int64()
        .schema_type(or_null(Type::Integer))
        .minimum(Some(bounds.0))
        .maximum(Some(bounds.1))
        .description(Some(description))
}

/// `integration_config` of a `license_key` entitlement as `normalize_config` takes it.
pub fn license_key_config_input() -> Extended {
    let longest = DurationInterval::Day.max_count();
    let intervals: Vec<_> = [
        DurationInterval::Day,
        DurationInterval::Week,
        DurationInterval::Month,
        DurationInterval::Year,
    ]
    .into_iter()
    .map(|interval| format!("{} {}", interval.max_count(), interval.as_str()))
    .collect();
    let mut message = object_of::<ActivationMessage>();
    message.schema_type = or_null(Type::String);
    let config = ObjectBuilder::new()
        .property(
            "activations_limit",
            int64()
                .schema_type(or_null(Type::Integer))
                .minimum(Some(1))
                .maximum(Some(i64::MAX))
                .description(Some(format!(
                    "null for no limit; with `activation_lease_seconds`, from 1 to {LEASED_LIMIT_MAX}."
                ))),
        )
        .property(
            "duration_count",
            int64()
                .schema_type(or_null(Type::Integer))
                .minimum(Some(1))
                .maximum(Some(longest))
                .description(Some(format!(
                    "At most 100 years: {} (422 beyond).",
                    intervals.join(", ")
                ))),
        )
        .property(
            "duration_interval",
            AnyOfBuilder::new()
                .item(ObjectBuilder::new().schema_type(Type::Null))
                .item(Ref::from_schema_name(DurationInterval::name())),
        )
        .property("activation_message", message)
        .property(
            "fulfillment_mode",
            ObjectBuilder::new()
                .schema_type(or_null(Type::String))
                .enum_values(Some([json!("auto"), json!("manual"), json!(null)])),
        )
        .property(
            "activation_lease_seconds",
            seconds(
                LEASE_SECONDS,
                "Beyond Dodo. An instance lives this long past its activation or last heartbeat (floating \
                 licenses); expired instances no longer count against the limit. null or left out for no lease. \
                 A key takes its entitlement's value when it is made.",
            ),
        )
        .property("features", crate::entitlement::features_schema())
        .property(
            "offline_ttl_seconds",
            seconds(
                OFFLINE_TTL_SECONDS,
                "Beyond Dodo. The longest an offline license (`POST /licenses/checkout`) stays valid; null or \
                 left out for the default, 604800 (7 days). A key takes its entitlement's value when it is made.",
            ),
        )
        .description(Some(
            "`integration_config` of a `license_key` entitlement. `duration_count` and `duration_interval` are \
             given together or both left out / null. An explicit null `fulfillment_mode` means `auto`. Unknown \
             fields are dropped.",
        ))
        .into();
    // Both duration fields or neither.
    Extended::with(
        config,
        "anyOf",
        json!([
            {"properties": {"duration_count": {"type": "null"}, "duration_interval": {"type": "null"}}},
            {
                "required": ["duration_count", "duration_interval"],
                "properties": {
                    "duration_count": {"type": "integer", "minimum": 1},
                    "duration_interval": {"$ref": "#/components/schemas/DurationInterval"},
                },
            },
        ]),
    )
}

/// The `integration_config` of a `license_key` entitlement is `license_key`,
/// of a `feature_flag` one a FeatureFlagConfig.
fn configs_are(schema: RefOr<Schema>, license_key: &str, digital_files: &str) -> Extended {
    let when = |integration_type: &str, config: &str| {
        json!({
            "if": {"properties": {"integration_type": {"const": integration_type}}, "required": ["integration_type"]},
            "then": {"properties": {"integration_config": {"$ref": format!("#/components/schemas/{config}")}}},
        })
    };
    Extended::with(
        schema,
        "allOf",
        json!([
            when("license_key", license_key),
            when("feature_flag", &FeatureFlagConfig::name()),
            when("digital_files", digital_files),
        ]),
    )
}

/// A digital_files entitlement's config as a read shows it: its files resolved.
pub fn resolved_digital_files() -> RefOr<Schema> {
    ObjectBuilder::new()
        .property("digital_files", Ref::from_schema_name(DigitalProductDelivery::name()))
        .required("digital_files")
        .description(Some(
            "`integration_config` of a `digital_files` entitlement as read: each file with a download URL \
             minted by the read.",
        ))
        .into()
}

pub fn entitlement() -> Extended {
    configs_are(
        Entitlement::schema(),
        &LicenseKeyConfig::name(),
        "ResolvedDigitalFilesConfig",
    )
}

pub fn new_entitlement() -> Extended {
    configs_are(
        NewEntitlement::schema(),
        "LicenseKeyConfigInput",
        &DigitalFilesConfig::name(),
    )
}

// ---- license keys and their instances ----

/// The body of `POST /license_keys`.
#[derive(Deserialize, ToSchema)]
pub struct LicenseKeyImport {
    #[schema(inline)]
    pub customer_id: CustomerId,
    /// Printable characters without surrounding white space; unique across all businesses.
    #[schema(schema_with = crate::grant_requests::supplied_key)]
    pub key: SuppliedKey,
    /// An active entitlement of the caller (404 otherwise); 1 to 255 characters and
    /// at most 1000 bytes of UTF-8 (422 otherwise).
    #[schema(value_type = String, min_length = 1, max_length = 255)]
    pub product_id: KeyId,
    /// null for no limit.
    #[serde(default)]
    #[schema(inline, value_type = Option<Limit>)]
    pub activations_limit: Option<i64>,
    /// RFC 3339; a timestamp without an offset (`2027-01-01T00:00:00`) is also
    /// taken, as UTC. A past time is taken too.
    #[serde(default)]
    #[schema(format = DateTime)]
    pub expires_at: Option<String>,
}

/// Fields left out keep their value.
#[derive(Deserialize, ToSchema)]
pub struct LicenseKeyPatch {
    /// null for no limit; may not fall below `instances_count` (422).
    #[serde(default, deserialize_with = "crate::json::nullable")]
    #[schema(inline, value_type = Option<Limit>)]
    pub activations_limit: Option<Option<i64>>,
    /// null keeps the value.
    #[serde(default)]
    pub disabled: Option<bool>,
    /// RFC 3339; a timestamp without an offset (`2027-01-01T00:00:00`) is also
    /// taken, as UTC. A past time is taken too; null removes the expiry.
    #[serde(default, deserialize_with = "crate::json::nullable")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<Option<String>>,
    /// Beyond Dodo: splits the key's activation count over this many items, so
    /// a burst of activations of one key is not bound by one item's write
    /// rate (docs/CAPACITY.md); null merges it back. Sent on its own. A key
    /// with activation leases cannot be split.
    #[serde(default, deserialize_with = "crate::json::nullable")]
    #[schema(inline, value_type = Option<crate::license_key::ShardCount>)]
    pub activation_shards: Option<Option<i64>>,
}

#[derive(Deserialize, ToSchema)]
pub struct InstanceRename {
    #[schema(inline)]
    pub name: InstanceName,
}

/// Dodo's LicenseKey: the stored key's fields and its status.
pub fn license_key() -> RefOr<Schema> {
    ObjectBuilder::from(object_of::<LicenseKey>())
        .property("status", Ref::from_schema_name(LicenseKeyStatus::name()))
        .required("status")
        .into()
}

// ---- the public license routes ----

#[derive(Deserialize, ToSchema)]
pub struct Activation {
    #[schema(inline)]
    pub license_key: KeyText,
    #[schema(inline)]
    pub name: InstanceName,
    /// The device's stable id. The same fingerprint on the same key again
    /// answers its live instance (200) and takes no second slot. Left out or
    /// null, every activation is a new instance.
    #[serde(default)]
    #[schema(inline)]
    pub fingerprint: Option<Fingerprint>,
}

/// A key and one of its instances: the body of deactivate, heartbeat and checkout.
#[derive(Deserialize, ToSchema)]
pub struct InstanceRef {
    #[schema(inline)]
    pub license_key: KeyText,
    #[schema(inline)]
    pub license_key_instance_id: InstanceId,
}

#[derive(Deserialize, ToSchema)]
pub struct Validation {
    #[schema(inline)]
    pub license_key: KeyText,
    /// When given, the instance must belong to the key and be live.
    #[serde(default)]
    #[schema(inline)]
    pub license_key_instance_id: Option<InstanceId>,
    /// Beyond Dodo: features the key must unlock; a key that would be `VALID`
    /// but lacks one answers `FEATURES_MISSING`.
    #[serde(default)]
    #[schema(schema_with = crate::entitlement::features_schema)]
    pub features: Option<crate::entitlement::Features>,
}

#[derive(Serialize, ToSchema)]
pub struct ActivationCustomer {
    pub customer_id: String,
    /// Empty for an imported key.
    pub email: String,
    /// Empty when unknown.
    pub name: String,
    /// Dodo's customer metadata; null, as this service keeps none.
    #[schema(required = true, schema_with = customer_metadata)]
    pub metadata: Option<serde_json::Map<String, serde_json::Value>>,
    /// Null, as this service keeps no phone numbers.
    #[schema(required = true)]
    pub phone_number: Option<String>,
}

fn customer_metadata() -> ObjectBuilder {
    crate::metadata::metadata_shown()
        .schema_type(or_null(Type::Object))
        .description(Some("Dodo's customer metadata; null, as this service keeps none."))
}

#[derive(Serialize, ToSchema)]
pub struct ProductRef {
    pub product_id: String,
    #[schema(required = true)]
    pub name: Option<String>,
}

/// What activate answers: the instance with its customer and product.
#[derive(Serialize, ToSchema)]
pub struct ActivatedInstance {
    pub id: String,
    pub business_id: String,
    #[schema(format = DateTime)]
    pub created_at: String,
    pub license_key_id: String,
    pub name: String,
    #[schema(required = true)]
    pub fingerprint: Option<String>,
    /// When the lease ends; null for a key without a lease.
    #[schema(required = true, format = DateTime)]
    pub expires_at: Option<String>,
    #[schema(inline)]
    pub customer: ActivationCustomer,
    #[schema(inline)]
    pub product: ProductRef,
}

impl ActivatedInstance {
    pub fn new(key: &LicenseKey, instance: &Instance) -> Self {
        Self {
            id: instance.id.clone(),
            business_id: instance.business_id.clone(),
            created_at: instance.created_at.clone(),
            license_key_id: instance.license_key_id.clone(),
            name: instance.name.clone(),
            fingerprint: instance.fingerprint.clone(),
            expires_at: instance.expires_at.clone(),
            customer: ActivationCustomer {
                customer_id: key.customer_id.clone(),
                email: key.customer_email.clone().unwrap_or_default(),
                name: key.customer_name.clone().unwrap_or_default(),
                metadata: None,
                phone_number: None,
            },
            product: ProductRef {
                product_id: key.product_id.clone(),
                name: key.product_name.clone(),
            },
        }
    }
}

/// An instance as heartbeat answers it: the lease's end always shown.
pub fn leased_instance() -> RefOr<Schema> {
    AllOfBuilder::new()
        .item(Ref::from_schema_name(Instance::name()))
        .item(ObjectBuilder::new().required("fingerprint").required("expires_at"))
        .description(Some("An instance as heartbeat answers it."))
        .into()
}

#[derive(Serialize, ToSchema)]
pub struct ValidatedKey {
    pub id: String,
    pub status: LicenseKeyStatus,
    #[schema(required = true, format = DateTime)]
    pub expires_at: Option<String>,
    #[schema(required = true)]
    pub activations_limit: Option<i64>,
    /// Live instances.
    pub instances_count: i64,
    /// Beyond Dodo: the features the key unlocks, as its entitlement names
    /// them now.
    pub features: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ValidatedInstance {
    pub id: String,
    pub name: String,
    #[schema(required = true)]
    pub fingerprint: Option<String>,
    #[schema(required = true, format = DateTime)]
    pub expires_at: Option<String>,
}

/// `{valid, code, license_key, product, instance}`.
#[derive(Serialize, ToSchema)]
pub struct ValidationResult {
    /// True exactly when `code` is `VALID`.
    pub valid: bool,
    #[schema(schema_with = validation_code)]
    pub code: &'static str,
    /// null for `NOT_FOUND`.
    #[schema(inline, required = true)]
    pub license_key: Option<ValidatedKey>,
    /// The entitlement; null for `NOT_FOUND`.
    #[schema(inline, required = true)]
    pub product: Option<ProductRef>,
    /// The instance asked about; null when none was asked about, for
    /// `NOT_FOUND` and for `INSTANCE_NOT_FOUND`.
    #[schema(inline, required = true)]
    pub instance: Option<ValidatedInstance>,
}

fn validation_code() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(VALIDATION_CODES))
}

impl ValidationResult {
    pub fn not_found() -> Self {
        Self {
            valid: false,
            code: "NOT_FOUND",
            license_key: None,
            product: None,
            instance: None,
        }
    }

    pub fn of(
        key: &LicenseKey,
        instance: Option<&Instance>,
        features: Vec<String>,
        code: &'static str,
        now: time::OffsetDateTime,
    ) -> Self {
        Self {
            valid: code == "VALID",
            code,
            license_key: Some(ValidatedKey {
                id: key.id.clone(),
                status: key.status(now),
                expires_at: key.expires_at.clone(),
                activations_limit: key.activations_limit,
                instances_count: key.live_instances(now),
                features,
            }),
            product: Some(ProductRef {
                product_id: key.product_id.clone(),
                name: key.product_name.clone(),
            }),
            instance: instance.map(|i| ValidatedInstance {
                id: i.id.clone(),
                name: i.name.clone(),
                fingerprint: i.fingerprint.clone(),
                expires_at: i.expires_at.clone(),
            }),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct OfflineLicense {
    /// The JWS, compact form (`<header>.<claims>.<signature>`, base64url without padding).
    #[schema(pattern = r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$")]
    pub license: String,
    /// The license's `exp` claim.
    #[schema(format = DateTime)]
    pub expires_at: String,
}

/// What deactivate answers: `{}`.
#[derive(Serialize, ToSchema)]
#[schema(max_properties = 0)]
pub struct Empty {}

// ---- webhooks ----

/// A page as the SDK's cursor pager reads it: it stops when `done` or without `iterator`.
#[derive(Serialize)]
pub struct IteratorPage<'a, T> {
    pub data: &'a [T],
    pub done: bool,
    pub iterator: Option<String>,
}

impl<'a, T> IteratorPage<'a, T> {
    pub fn new(data: &'a [T], next: Option<String>) -> Self {
        Self {
            data,
            done: next.is_none(),
            iterator: next,
        }
    }
}

/// `IteratorPage` of `T`: `done` exactly when there is no `iterator`.
pub fn iterator_page_of<T: ToSchema>() -> Extended {
    let page = ObjectBuilder::new()
        .property("data", ArrayBuilder::new().items(Ref::from_schema_name(T::name())))
        .property(
            "iterator",
            ObjectBuilder::new()
                .schema_type(or_null(Type::String))
                .description(Some("Pass as `iterator` for the next page; null on the last page.")),
        )
        .property(
            "done",
            ObjectBuilder::new()
                .schema_type(Type::Boolean)
                .description(Some("True on the last page.")),
        )
        .required("data")
        .required("iterator")
        .required("done");
    Extended::with(
        page.into(),
        "anyOf",
        json!([
            {"properties": {"done": {"const": true}, "iterator": {"type": "null"}}},
            {"properties": {"done": {"const": false}, "iterator": {"type": "string"}}},
        ]),
    )
}

#[derive(Serialize, ToSchema)]
pub struct WebhookSecret {
    /// `whsec_` and the base64 of 32 random bytes, the Standard Webhooks key.
    #[schema(pattern = "^whsec_[A-Za-z0-9+/]{43}=$")]
    pub secret: String,
}

#[derive(Serialize, ToSchema)]
pub struct WebhookHeadersView<'a> {
    /// The headers that are not sensitive, with their values.
    pub headers: BTreeMap<&'a str, &'a str>,
    /// Names of the headers left out of `headers`: `authorization`,
    /// `proxy-authorization`, `cookie`, `x-api-key` and any name containing
    /// `secret`, `token` or `password`, in any letter case.
    pub sensitive: Vec<&'a str>,
}
