//! OpenAPI schemas that a derive cannot state: bounds taken from the constants
//! the rules check against, and shapes whose rule depends on another field.

use crate::domain::allocation::{
    ProductQuantity, CODE_PATTERN, ID_PATTERN, MAX_CODES, MAX_QUANTITY, MAX_USERS, TENANT_NAME_MAX,
};
use crate::domain::entitlement::{MetadataKey, MetadataText, METADATA_MAX_KEYS};
use crate::json::{Bounded, Line, Prose, Text, LINE_PATTERN, PROSE_PATTERN};
use crate::wire::lrm::ServiceAllocation;
use utoipa::openapi::schema::{
    AdditionalProperties, AnyOfBuilder, ArrayBuilder, Object, ObjectBuilder, Schema, SchemaFormat, SchemaType, Type,
};
use utoipa::openapi::{KnownFormat, RefOr};
use utoipa::{PartialSchema, ToSchema};

impl<const MIN: usize, const MAX: usize> PartialSchema for Text<MIN, MAX> {
    fn schema() -> RefOr<Schema> {
        let min = (MIN > 0).then_some(MIN);
        ObjectBuilder::new()
            .schema_type(Type::String)
            .min_length(min)
            .max_length(Some(MAX))
            .into()
    }
}

impl<const MIN: usize, const MAX: usize> ToSchema for Text<MIN, MAX> {}

impl<const MIN: usize, const MAX: usize> PartialSchema for Line<MIN, MAX> {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::from(object_of::<Text<MIN, MAX>>())
            .pattern(Some(LINE_PATTERN))
            .description(Some("No control characters."))
            .into()
    }
}

impl<const MIN: usize, const MAX: usize> ToSchema for Line<MIN, MAX> {}

impl<const MIN: usize, const MAX: usize> PartialSchema for Prose<MIN, MAX> {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::from(object_of::<Text<MIN, MAX>>())
            .pattern(Some(PROSE_PATTERN))
            .description(Some("Line breaks and tabs, but no other control characters."))
            .into()
    }
}

impl<const MIN: usize, const MAX: usize> ToSchema for Prose<MIN, MAX> {}

impl<const MIN: i64, const MAX: i64> PartialSchema for Bounded<MIN, MAX> {
    fn schema() -> RefOr<Schema> {
        int64().minimum(Some(MIN)).maximum(Some(MAX)).into()
    }
}

impl<const MIN: i64, const MAX: i64> ToSchema for Bounded<MIN, MAX> {}

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

/// A customer's email as `NewGrant::validate` takes it.
pub fn email() -> ObjectBuilder {
    string(crate::domain::grant_requests::EMAIL_PATTERN)
        .min_length(Some(3))
        .max_length(Some(254))
}

/// A supplied license key as `Fulfilment::check_key` takes it.
pub fn supplied_key() -> ObjectBuilder {
    ObjectBuilder::from(object_of::<crate::domain::grant_requests::SuppliedKey>())
        .pattern(Some(crate::domain::grant_requests::KEY_PATTERN))
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

fn string(pattern: &str) -> ObjectBuilder {
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

/// A date as the allocation family takes it: any `i64` (serde's own bound), or null.
pub fn unix_seconds() -> ObjectBuilder {
    int64()
        .schema_type(or_null(Type::Integer))
        .minimum(Some(i64::MIN))
        .maximum(Some(i64::MAX))
        .description(Some("Unix time in seconds."))
}

pub fn grace_days() -> ObjectBuilder {
    int64()
        .schema_type(or_null(Type::Integer))
        .minimum(Some(0))
        .maximum(Some(i64::MAX))
        .description(Some(
            "Days past `endDate` during which the seats of its organizations' users stay `ACTIVE` \
             (userLicense); an organization takes it when (re)allocated.",
        ))
}

impl PartialSchema for ProductQuantity {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .property("code", string(CODE_PATTERN))
            .property("quantity", int64().minimum(Some(0)).maximum(Some(MAX_QUANTITY)))
            .required("code")
            .required("quantity")
            .into()
    }
}

impl ToSchema for ProductQuantity {}

/// A product list as the rules take it: at most `MAX_CODES`, each code once.
pub fn product_quantities() -> ArrayBuilder {
    ArrayBuilder::new()
        .items(ProductQuantity::schema())
        .max_items(Some(MAX_CODES))
        .description(Some(format!(
            "At most {MAX_CODES} products; a code may appear only once (422 otherwise). \
             Replace semantics: a code left out goes to 0."
        )))
}

/// What a product list that is ignored must still look like to be read.
fn product_quantities_shape() -> ArrayBuilder {
    let item = ObjectBuilder::new()
        .property("code", ObjectBuilder::new().schema_type(Type::String))
        .property("quantity", int64())
        .required("code")
        .required("quantity");
    ArrayBuilder::new().items(item)
}

pub fn bundle_codes() -> ArrayBuilder {
    ArrayBuilder::new()
        .items(string(CODE_PATTERN))
        .max_items(Some(MAX_CODES))
        .unique_items(true)
        .description(Some(format!("At most {MAX_CODES} distinct codes; answered sorted.")))
}

pub fn user_ids() -> ArrayBuilder {
    ArrayBuilder::new()
        .items(string(ID_PATTERN))
        .min_items(Some(1))
        .max_items(Some(MAX_USERS))
        .unique_items(true)
}

fn nullable(array: ArrayBuilder) -> ArrayBuilder {
    array.schema_type(or_null(Type::Array))
}

impl PartialSchema for ServiceAllocation {
    /// Either `products` is given and checked (`productQuantities` then only
    /// read), or it is left out or null and `productQuantities` is checked.
    fn schema() -> RefOr<Schema> {
        let tenant_name = || {
            ObjectBuilder::new()
                .schema_type(or_null(Type::String))
                .min_length(Some(1))
                .max_length(Some(TENANT_NAME_MAX))
                .pattern(Some(LINE_PATTERN))
                .description(Some("Left out or null: kept as it was. No control characters."))
        };
        let products_given = ObjectBuilder::new()
            .property("tenantName", tenant_name())
            .property("products", product_quantities())
            .property("productQuantities", nullable(product_quantities_shape()))
            .required("products");
        let quantities_given = ObjectBuilder::new()
            .property("tenantName", tenant_name())
            .property("products", ObjectBuilder::new().schema_type(Type::Null))
            .property("productQuantities", product_quantities())
            .required("productQuantities");
        AnyOfBuilder::new()
            .item(products_given)
            .item(quantities_given)
            .description(Some(
                "The products go in `products`, or (as seed 002 sends them) in `productQuantities`, \
                 which is read only when `products` is left out or null.",
            ))
            .into()
    }
}

impl ToSchema for ServiceAllocation {}

/// `Page` of `T`.
pub fn page_of<T: ToSchema>() -> ObjectBuilder {
    let items = ArrayBuilder::new().items(utoipa::openapi::Ref::from_schema_name(T::name()));
    let cursor = ObjectBuilder::new()
        .schema_type(or_null(Type::String))
        .description(Some("Pass as `cursor` for the next page; null on the last page."));
    ObjectBuilder::new()
        .property("items", items)
        .property("next_cursor", cursor)
        .required("items")
        .required("next_cursor")
}

/// An id in a path as `Request::path` takes it.
pub fn path_segment() -> Extended {
    let (max, bytes) = (crate::http::MAX_PATH_ID, crate::http::MAX_PATH_ID_BYTES);
    let segment = ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(1))
        .max_length(Some(max))
        .description(Some(format!(
            "One non-empty path segment, percent-decoded once, not `.` nor `..`; no id is longer than {max} \
             characters nor {bytes} bytes of UTF-8, so a longer one is 404."
        )));
    Extended::with(segment.into(), "not", serde_json::json!({"enum": [".", ".."]}))
}
