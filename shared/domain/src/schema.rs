//! Building blocks of the OpenAPI schemas that a derive cannot state: every
//! module states its own types' schemas with these, beside the rule they follow.

use utoipa::openapi::schema::{Object, ObjectBuilder, Schema, SchemaFormat, SchemaType, Type};
use utoipa::openapi::{KnownFormat, RefOr};
use utoipa::PartialSchema;

/// The object schema of `T`, to build on: a bound or a derived struct.
pub fn object_of<T: PartialSchema>() -> Object {
    match T::schema() {
        RefOr::T(Schema::Object(object)) => object,
        _ => panic!("{} is not an object schema", std::any::type_name::<T>()),
    }
}

/// A schema and the JSON Schema keywords utoipa's model has no field for
/// (`if`/`then`, `anyOf` beside `properties`), which the document writer adds.
pub struct Extended {
    pub schema: RefOr<Schema>,
    pub keywords: serde_json::Map<String, serde_json::Value>,
}

impl Extended {
    pub fn with(schema: RefOr<Schema>, keyword: &str, value: serde_json::Value) -> Self {
        let mut keywords = serde_json::Map::new();
        keywords.insert(keyword.to_string(), value);
        Self { schema, keywords }
    }
}

impl From<RefOr<Schema>> for Extended {
    fn from(schema: RefOr<Schema>) -> Self {
        Self {
            schema,
            keywords: serde_json::Map::new(),
        }
    }
}

pub fn string(pattern: &str) -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String).pattern(Some(pattern))
}

pub fn or_null(kind: Type) -> SchemaType {
    SchemaType::Array(vec![kind, Type::Null])
}

pub fn int64() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
}
