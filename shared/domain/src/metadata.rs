//! Metadata on entitlements and grants: its bounds, the rule and its schema.

use crate::json::Text;
use crate::refusal::{Refusal, RuleResult};
use crate::schema::object_of;
use serde_json::{Map, Value};
use utoipa::openapi::schema::{AdditionalProperties, AnyOfBuilder, ObjectBuilder, Schema, SchemaType, Type};
use utoipa::openapi::RefOr;
use utoipa::{PartialSchema, ToSchema};

/// Metadata values are strings, numbers or booleans, as the Dodo SDK types them.
pub type Metadata = Map<String, Value>;

pub const METADATA_MAX_KEYS: usize = 50;
pub type MetadataKey = Text<1, 40>;
pub type MetadataText = Text<0, 500>;

pub fn validate_metadata(metadata: &Metadata) -> RuleResult<()> {
    if metadata.len() > METADATA_MAX_KEYS {
        return Err(Refusal::invalid(
            "metadata",
            format!("at most {METADATA_MAX_KEYS} keys"),
        ));
    }
    for (key, value) in metadata {
        MetadataKey::check("metadata key", key)?;
        match value {
            Value::String(text) => MetadataText::check(&format!("metadata.{key}"), text)?,
            Value::Number(_) => crate::json::check_storable(&format!("metadata.{key}"), value)?,
            Value::Bool(_) => {}
            _ => {
                return Err(Refusal::invalid(
                    &format!("metadata.{key}"),
                    "must be a string, number or boolean",
                ))
            }
        }
    }
    Ok(())
}

/// Metadata as the rules take it (`validate_metadata`).
pub struct MetadataInput;

impl PartialSchema for MetadataInput {
    fn schema() -> RefOr<Schema> {
        let value = AnyOfBuilder::new()
            .item(MetadataText::schema())
            .item(ObjectBuilder::new().schema_type(Type::Number))
            .item(ObjectBuilder::new().schema_type(Type::Boolean));
        let key = Schema::Object(object_of::<MetadataKey>());
        ObjectBuilder::new()
            .max_properties(Some(METADATA_MAX_KEYS))
            .property_names(Some(key))
            .additional_properties(Some(AdditionalProperties::RefOr(value.into())))
            .description(Some(format!(
                "Up to {METADATA_MAX_KEYS} keys of 1 to 40 characters; values are strings \
                 (at most 500 characters), numbers or booleans."
            )))
            .into()
    }
}

impl ToSchema for MetadataInput {
    fn name() -> std::borrow::Cow<'static, str> {
        "Metadata".into()
    }
}

/// Metadata as shown: whatever was stored.
pub fn metadata_shown() -> ObjectBuilder {
    let value = ObjectBuilder::new().schema_type(SchemaType::Array(vec![Type::String, Type::Number, Type::Boolean]));
    ObjectBuilder::new().additional_properties(Some(AdditionalProperties::RefOr(value.into())))
}
