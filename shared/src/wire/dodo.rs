//! OpenAPI schemas of the Dodo family that need more than a derive: what a
//! `license_key` entitlement's config takes, and the config's dependence on the
//! integration type. Dodo's objects themselves are the domain types.

use crate::domain::entitlement::{
    ActivationMessage, DurationInterval, Entitlement, LicenseKeyConfig, NewEntitlement, LEASE_SECONDS,
    OFFLINE_TTL_SECONDS,
};
use crate::domain::license_key::LEASED_LIMIT_MAX;
use crate::wire::schema::{int64, or_null, Extended};
use serde_json::json;
use utoipa::openapi::schema::{AnyOfBuilder, ObjectBuilder, Schema, Type};
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
    let mut message = match ActivationMessage::schema() {
        RefOr::T(Schema::Object(object)) => object,
        _ => unreachable!("a text bound is an object schema"),
    };
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

/// A `license_key` entitlement's `integration_config` is `config`.
fn license_key_config_is(schema: RefOr<Schema>, config: &str) -> Extended {
    let mut extended = Extended::with(
        schema,
        "if",
        json!({"properties": {"integration_type": {"const": "license_key"}}, "required": ["integration_type"]}),
    );
    let then = json!({"properties": {"integration_config": {"$ref": format!("#/components/schemas/{config}")}}});
    extended.keywords.insert("then".into(), then);
    extended
}

pub fn entitlement() -> Extended {
    license_key_config_is(Entitlement::schema(), &LicenseKeyConfig::name())
}

pub fn new_entitlement() -> Extended {
    license_key_config_is(NewEntitlement::schema(), "LicenseKeyConfigInput")
}
