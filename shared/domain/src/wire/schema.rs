//! OpenAPI schemas that a derive cannot state: bounds taken from the constants
//! the rules check against, and shapes whose rule depends on another field.

use crate::allocation::{ProductQuantity, CODE_PATTERN, MAX_CODES, MAX_QUANTITY, MAX_USERS};
use crate::json::LrmId;
use crate::schema::{int64, or_null, string, Extended};
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Schema, Type};
use utoipa::openapi::RefOr;
use utoipa::{PartialSchema, ToSchema};

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
pub fn product_quantities_shape() -> ArrayBuilder {
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
        .items(LrmId::schema())
        .min_items(Some(1))
        .max_items(Some(MAX_USERS))
        .unique_items(true)
}

pub fn nullable(array: ArrayBuilder) -> ArrayBuilder {
    array.schema_type(or_null(Type::Array))
}

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

/// What an operation's path parameter names (`#/components/schemas/PathSegment`);
/// the component itself is [`path_segment`], whose `not` a schema cannot hold.
pub struct PathSegment;

impl PartialSchema for PathSegment {
    fn schema() -> RefOr<Schema> {
        path_segment().schema
    }
}

impl ToSchema for PathSegment {
    fn name() -> std::borrow::Cow<'static, str> {
        "PathSegment".into()
    }
}

/// An id in a path as `Request::path` takes it.
pub fn path_segment() -> Extended {
    let (max, bytes) = (crate::json::MAX_PATH_ID, crate::json::MAX_PATH_ID_BYTES);
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
