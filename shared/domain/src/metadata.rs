//! Metadata on entitlements and grants: its bounds, the rule and its schema.

use crate::json::{part_problem, Text};
use crate::schema::object_of;
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};
use utoipa::openapi::schema::{AdditionalProperties, AnyOfBuilder, ObjectBuilder, Schema, SchemaType, Type};
use utoipa::openapi::RefOr;
use utoipa::{PartialSchema, ToSchema};

/// Metadata values are strings, numbers or booleans, as the Dodo SDK types them.
pub type Metadata = Map<String, Value>;

pub const METADATA_MAX_KEYS: usize = 50;
pub type MetadataKey = Text<1, 40>;
pub type MetadataText = Text<0, 500>;

/// Metadata as a body gives it, checked as it is parsed: at most
/// `METADATA_MAX_KEYS` keys of `MetadataKey`, each a `MetadataText`, a
/// storable number or a boolean. A refusal names `metadata key` or `metadata.<key>`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MetadataInput(Metadata);

impl MetadataInput {
    pub fn into_inner(self) -> Metadata {
        self.0
    }

    /// The part at fault (as a suffix of the field) and the problem.
    fn problem(metadata: &Metadata) -> Option<(String, String)> {
        if metadata.len() > METADATA_MAX_KEYS {
            return Some((String::new(), format!("at most {METADATA_MAX_KEYS} keys")));
        }
        for (key, value) in metadata {
            if let Some(problem) = MetadataKey::problem(key) {
                return Some((" key".into(), problem));
            }
            let problem = match value {
                Value::String(text) => MetadataText::problem(text),
                Value::Number(_) => crate::json::check_storable("", value).err().map(|refusal| {
                    // The refusal names the empty field: keep only its problem.
                    refusal.message.trim_start_matches(": ").to_string()
                }),
                Value::Bool(_) => None,
                _ => Some("must be a string, number or boolean".into()),
            };
            if let Some(problem) = problem {
                return Some((format!(".{key}"), problem));
            }
        }
        None
    }
}

impl<'de> Deserialize<'de> for MetadataInput {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let metadata = Metadata::deserialize(deserializer)?;
        match Self::problem(&metadata) {
            Some((part, problem)) => Err(serde::de::Error::custom(part_problem(&part, problem))),
            None => Ok(Self(metadata)),
        }
    }
}

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
