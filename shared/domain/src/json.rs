//! The bounds every string and free-form value of a body must keep, as
//! refusals a rule can return, and the field a wrongly shaped value names.

use crate::refusal::Refusal;
use crate::schema::{int64, object_of, string};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::RefOr;
use utoipa::{PartialSchema, ToSchema};

/// No id in a path or a body is longer, in characters.
pub const MAX_PATH_ID: usize = 255;
/// The bytes an id may take: DynamoDB keys a sort key of at most 1,024
/// bytes, and an id goes into one behind a prefix of at most 24 bytes.
pub const MAX_PATH_ID_BYTES: usize = 1000;

/// A 422 for a value that does not fit, naming the field by its path under `prefix`;
/// a missing field is named itself rather than its parent.
pub fn field_error(prefix: &str, path: &str, err: &serde_json::Error) -> Refusal {
    let message = strip_position(err);
    let join = |a: &str, b: &str| match (a, b) {
        ("", b) => b.to_string(),
        (a, "") => a.to_string(),
        (a, b) => format!("{a}.{b}"),
    };
    let path = if path == "." { "" } else { path };
    if let Some((suffix, problem)) = message.strip_prefix(PART).and_then(|rest| rest.split_once(PART)) {
        return Refusal::invalid(&format!("{}{suffix}", join(prefix, path)), problem);
    }
    if let Some(name) = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.strip_suffix('`'))
    {
        return Refusal::invalid(&join(&join(prefix, path), name), "is required");
    }
    let field = join(prefix, path);
    Refusal::invalid(if field.is_empty() { "body" } else { &field }, message)
}

/// Marks a problem that a value's own `Deserialize` finds in a part of it the
/// path does not reach (a map's key, or an entry checked once the whole map is
/// read): `field_error` adds the part's suffix to the value's field.
const PART: char = '\u{1}';

/// The message for a problem with the part `suffix` (e.g. `.key` or ` key`) of the value.
pub fn part_problem(suffix: &str, problem: impl std::fmt::Display) -> String {
    format!("{PART}{suffix}{PART}{problem}")
}

/// serde's messages end in " at line 1 column 17", which says nothing to an API user.
fn strip_position(err: &serde_json::Error) -> String {
    let text = err.to_string();
    match text.find(" at line ") {
        Some(cut) => text[..cut].to_string(),
        None => text,
    }
}

/// For PATCH bodies: tells a field that is absent (`None`) from one set to null (`Some(None)`).
pub fn nullable<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// Checks that free-form JSON can be stored as a DynamoDB item: no empty keys,
/// numbers within DynamoDB's range, and bounded nesting.
pub fn check_storable(field: &str, value: &serde_json::Value) -> Result<(), Refusal> {
    fn walk(field: &str, value: &serde_json::Value, depth: usize) -> Result<(), Refusal> {
        use serde_json::Value;
        if depth > 16 {
            return Err(Refusal::invalid(field, "is nested too deeply"));
        }
        match value {
            Value::Object(map) => {
                for (key, inner) in map {
                    if key.is_empty() {
                        return Err(Refusal::invalid(field, "keys must not be empty"));
                    }
                    walk(&format!("{field}.{key}"), inner, depth + 1)?;
                }
                Ok(())
            }
            Value::Array(items) => items.iter().try_for_each(|inner| walk(field, inner, depth + 1)),
            Value::Number(number) => {
                let magnitude = number.as_f64().unwrap_or(0.0).abs();
                let representable =
                    number.is_i64() || number.is_u64() || magnitude == 0.0 || (1e-130..1e125).contains(&magnitude);
                if representable {
                    Ok(())
                } else {
                    Err(Refusal::invalid(field, "number is out of range"))
                }
            }
            _ => Ok(()),
        }
    }
    walk(field, value, 0)
}

/// A string of `MIN` to `MAX` characters, checked as it is parsed: a body
/// field of this type is refused by name, so no rule has to remember it. The
/// bound it keeps is the one the OpenAPI document states (`wire::schema`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Text<const MIN: usize, const MAX: usize>(String);

impl<const MIN: usize, const MAX: usize> Text<MIN, MAX> {
    pub(crate) fn problem(value: &str) -> Option<String> {
        len_problem(value, MIN, MAX)
    }
}

/// A one-line string of `MIN` to `MAX` characters with no control character
/// (a name: it may reach an email's subject or a log line verbatim).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Line<const MIN: usize, const MAX: usize>(String);

impl<const MIN: usize, const MAX: usize> Line<MIN, MAX> {
    pub(crate) fn problem(value: &str) -> Option<String> {
        len_problem(value, MIN, MAX).or_else(|| {
            value
                .chars()
                .any(char::is_control)
                .then(|| "must not contain control characters".to_string())
        })
    }
}

/// Free text of `MIN` to `MAX` characters: line breaks and tabs, but no other
/// control character.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Prose<const MIN: usize, const MAX: usize>(String);

impl<const MIN: usize, const MAX: usize> Prose<MIN, MAX> {
    pub(crate) fn problem(value: &str) -> Option<String> {
        len_problem(value, MIN, MAX).or_else(|| {
            value
                .chars()
                .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
                .then(|| "must not contain control characters other than line breaks and tabs".to_string())
        })
    }
}

/// An id from a body that becomes part of a DynamoDB key: 1 to 255 characters
/// and at most `MAX_PATH_ID_BYTES` bytes, the bound of an id in a path.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct KeyId(String);

impl KeyId {
    pub(crate) fn problem(value: &str) -> Option<String> {
        len_problem(value, 1, MAX_PATH_ID).or_else(|| {
            (value.len() > MAX_PATH_ID_BYTES).then(|| format!("must be at most {MAX_PATH_ID_BYTES} bytes of UTF-8"))
        })
    }
}

/// An id of the UiPath LRM routes (an account, tenant, user or group): 1 to 128
/// ASCII letters, digits, `-`, `_`, `.` or `@`, as `LRM_ID_PATTERN` states it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct LrmId(String);

/// What `LrmId` accepts, as the OpenAPI document states it.
pub const LRM_ID_PATTERN: &str = "^[A-Za-z0-9._@-]{1,128}$";

impl LrmId {
    pub(crate) fn problem(value: &str) -> Option<String> {
        let valid = (1..=128).contains(&value.len())
            && value.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.@".contains(&b));
        (!valid).then(|| "must be 1 to 128 letters, digits, '-', '_', '.' or '@'".to_string())
    }
}

/// The string impls every checked string shares: built only through its check,
/// read as a `str`, written as the plain string.
macro_rules! checked_string {
    ($name:ident $(<$min:ident, $max:ident>)?) => {
        impl$(<const $min: usize, const $max: usize>)? $name$(<$min, $max>)? {
            /// `value` checked, refused as `field`: for values that come from
            /// elsewhere than a body (a path, a query, a field named at run time).
            pub fn new(field: &str, value: impl Into<String>) -> Result<Self, Refusal> {
                Self::try_from(value.into()).map_err(|problem| Refusal::invalid(field, problem))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_inner(self) -> String {
                self.0
            }
        }

        /// The error is the problem alone; the caller knows the field.
        impl$(<const $min: usize, const $max: usize>)? TryFrom<String> for $name$(<$min, $max>)? {
            type Error = String;

            fn try_from(value: String) -> Result<Self, String> {
                match Self::problem(&value) {
                    Some(problem) => Err(problem),
                    None => Ok(Self(value)),
                }
            }
        }

        impl$(<const $min: usize, const $max: usize>)? std::ops::Deref for $name$(<$min, $max>)? {
            type Target = str;

            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl$(<const $min: usize, const $max: usize>)? AsRef<str> for $name$(<$min, $max>)? {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl$(<const $min: usize, const $max: usize>)? std::fmt::Display for $name$(<$min, $max>)? {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl$(<const $min: usize, const $max: usize>)? From<$name$(<$min, $max>)?> for String {
            fn from(value: $name$(<$min, $max>)?) -> String {
                value.0
            }
        }

        impl$(<const $min: usize, const $max: usize>)? Serialize for $name$(<$min, $max>)? {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }

        impl<'de, $(const $min: usize, const $max: usize)?> Deserialize<'de> for $name$(<$min, $max>)? {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                Self::try_from(String::deserialize(deserializer)?).map_err(serde::de::Error::custom)
            }
        }
    };
}

checked_string!(Text<MIN, MAX>);
checked_string!(Line<MIN, MAX>);
checked_string!(Prose<MIN, MAX>);
checked_string!(KeyId);
checked_string!(LrmId);

/// The pattern `Line` states in the OpenAPI document: no character of Unicode's Cc.
pub const LINE_PATTERN: &str = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$";
/// The pattern `Prose` states: Cc but tab, line feed and carriage return.
pub const PROSE_PATTERN: &str = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$";

/// An integer from `MIN` to `MAX`, stated the same way.
pub struct Bounded<const MIN: i64, const MAX: i64>;

impl<const MIN: i64, const MAX: i64> Bounded<MIN, MAX> {
    pub fn contains(value: i64) -> bool {
        (MIN..=MAX).contains(&value)
    }
}

/// What is wrong with a string's length in characters, if anything.
fn len_problem(value: &str, min: usize, max: usize) -> Option<String> {
    let len = value.chars().count();
    if len >= min && len <= max {
        return None;
    }
    Some(if min == max {
        format!("must be {min} characters")
    } else if min == 0 {
        format!("must be at most {max} characters")
    } else {
        format!("must be {min} to {max} characters")
    })
}

/// Checks a string's length in characters.
pub fn check_len(field: &str, value: &str, min: usize, max: usize) -> Result<(), Refusal> {
    match len_problem(value, min, max) {
        Some(problem) => Err(Refusal::invalid(field, problem)),
        None => Ok(()),
    }
}

/// At most `MAX` items, checked as the list is parsed (the 422 names the
/// field) and stated as `maxItems` in the OpenAPI document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct List<T, const MAX: usize>(Vec<T>);

impl<T, const MAX: usize> List<T, MAX> {
    pub fn into_inner(self) -> Vec<T> {
        self.0
    }
}

impl<T, const MAX: usize> std::ops::Deref for List<T, MAX> {
    type Target = [T];

    fn deref(&self) -> &[T] {
        &self.0
    }
}

impl<T: Serialize, const MAX: usize> Serialize for List<T, MAX> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de, T: Deserialize<'de>, const MAX: usize> Deserialize<'de> for List<T, MAX> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let items = Vec::<T>::deserialize(deserializer)?;
        if items.len() > MAX {
            return Err(serde::de::Error::custom(format!("must have at most {MAX} items")));
        }
        Ok(Self(items))
    }
}

// The schema each bound states in the OpenAPI document.

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

impl PartialSchema for LrmId {
    fn schema() -> RefOr<Schema> {
        string(LRM_ID_PATTERN).into()
    }
}

impl ToSchema for LrmId {}

impl<T: PartialSchema, const MAX: usize> PartialSchema for List<T, MAX> {
    fn schema() -> RefOr<Schema> {
        utoipa::openapi::schema::ArrayBuilder::new()
            .items(T::schema())
            .max_items(Some(MAX))
            .into()
    }
}

impl<T: PartialSchema, const MAX: usize> ToSchema for List<T, MAX> {}

impl<const MIN: i64, const MAX: i64> PartialSchema for Bounded<MIN, MAX> {
    fn schema() -> RefOr<Schema> {
        int64().minimum(Some(MIN)).maximum(Some(MAX)).into()
    }
}

impl<const MIN: i64, const MAX: i64> ToSchema for Bounded<MIN, MAX> {}

#[cfg(test)]
mod tests {
    use super::*;

    /// As the edge parses a body (`parse_body`): a refusal names the field's path.
    fn parse<T: serde::de::DeserializeOwned>(body: &str) -> Result<T, String> {
        let mut deserializer = serde_json::Deserializer::from_str(body);
        serde_path_to_error::deserialize(&mut deserializer)
            .map_err(|err| field_error("", &err.path().to_string(), err.inner()).message)
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Body {
        name: Line<1, 3>,
        #[serde(default)]
        note: Option<Prose<0, 4>>,
        #[serde(default, deserialize_with = "nullable")]
        text: Option<Option<Text<2, 2>>>,
        #[serde(default)]
        inner: Option<Inner>,
        #[serde(default)]
        ids: Option<List<KeyId, 2>>,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Inner {
        id: KeyId,
    }

    #[test]
    fn bounds_are_kept_as_a_body_is_parsed_and_name_the_field() {
        for (body, message) in [
            (r#"{"name": ""}"#, "name: must be 1 to 3 characters"),
            (r#"{"name": "abcd"}"#, "name: must be 1 to 3 characters"),
            (r#"{"name": "a\nb"}"#, "name: must not contain control characters"),
            (r#"{"name": 7}"#, "name: invalid type: integer `7`, expected a string"),
            (
                r#"{"name": "a", "note": "abcde"}"#,
                "note: must be at most 4 characters",
            ),
            (
                r#"{"name": "a", "note": "\u0007"}"#,
                "note: must not contain control characters other than line breaks and tabs",
            ),
            (r#"{"name": "a", "text": "abc"}"#, "text: must be 2 characters"),
            (
                r#"{"name": "a", "inner": {"id": ""}}"#,
                "inner.id: must be 1 to 255 characters",
            ),
            (
                r#"{"name": "a", "ids": ["x", "y", "z"]}"#,
                "ids: must have at most 2 items",
            ),
            (
                r#"{"name": "a", "ids": ["x", ""]}"#,
                "ids[1]: must be 1 to 255 characters",
            ),
        ] {
            assert_eq!(parse::<Body>(body).unwrap_err(), message, "{body}");
        }
    }

    #[test]
    fn bounds_are_counted_in_characters_and_taken_exactly() {
        let body: Body = parse(r#"{"name": "ééé", "note": "\r\n\té", "text": "ßß"}"#).unwrap();
        assert_eq!((body.name.as_str(), body.name.len()), ("ééé", 6));
        assert_eq!(body.note.as_deref(), Some("\r\n\té"));
        assert_eq!(body.text.unwrap().unwrap().to_string(), "ßß");
        let body: Body = parse(r#"{"name": "a", "note": "", "text": null}"#).unwrap();
        assert_eq!((&*body.name, body.note.unwrap().into_inner()), ("a", String::new()));
        assert!(matches!(body.text, Some(None)));
        assert!(parse::<Body>(r#"{"name": "a"}"#).unwrap().text.is_none());
        assert_eq!(
            serde_json::to_string(&Line::<1, 3>::new("name", "é").unwrap()).unwrap(),
            r#""é""#
        );
    }

    #[test]
    fn checked_constructors_refuse_as_the_field_they_are_given() {
        type Name = Line<1, 10>;
        type Note = Prose<0, 20>;
        assert_eq!(Name::new("name", "Pro & Co").unwrap().as_str(), "Pro & Co");
        for bad in ["a\r\nb", "a\tb", "a\u{0}", "a\u{7f}", "a\u{85}"] {
            let refusal = Name::new("name", bad).unwrap_err();
            assert_eq!(refusal.message, "name: must not contain control characters", "{bad:?}");
        }
        assert_eq!(
            Name::new("name", "").unwrap_err().message,
            "name: must be 1 to 10 characters"
        );
        assert!(Note::new("note", "one\r\ntwo\n\tthree").is_ok());
        for bad in ["bell\u{7}", "esc\u{1b}[31m", "nul\u{0}"] {
            assert!(Note::new("note", bad).is_err(), "{bad:?}");
        }
        assert!(Text::<1, 2>::try_from("abc".to_string()).is_err());
    }

    #[test]
    fn ids_for_keys_are_bounded_in_characters_and_bytes() {
        assert!(KeyId::new("product_id", "ent_1").is_ok());
        assert!(KeyId::new("product_id", "x".repeat(255)).is_ok());
        assert!(KeyId::new("product_id", "x".repeat(256)).is_err());
        assert!(KeyId::new("product_id", "\u{1F600}".repeat(250)).is_ok());
        let wide = KeyId::new("product_id", "\u{1F600}".repeat(251)).unwrap_err();
        assert_eq!(wide.message, "product_id: must be at most 1000 bytes of UTF-8");
        assert!(KeyId::new("product_id", "").is_err());
        let body = format!(r#"{{"name": "a", "inner": {{"id": "{}"}}}}"#, "\u{1F600}".repeat(251));
        assert_eq!(
            parse::<Body>(&body).unwrap_err(),
            "inner.id: must be at most 1000 bytes of UTF-8"
        );
    }

    #[test]
    fn lrm_ids_are_ascii_words_of_1_to_128_characters() {
        assert!(LrmId::new("groupId", "a.b@c_d-1").is_ok());
        assert!(LrmId::new("groupId", "x".repeat(128)).is_ok());
        let rule = "groupId: must be 1 to 128 letters, digits, '-', '_', '.' or '@'";
        for bad in [String::new(), "x".repeat(129), "a/b".into(), "é".into(), "a\nb".into()] {
            assert_eq!(LrmId::new("groupId", bad.clone()).unwrap_err().message, rule, "{bad:?}");
        }
    }

    #[test]
    fn a_part_of_a_value_is_named_after_the_value() {
        let err = serde_json::from_str::<Inner>(r#"{"id": 1}"#).unwrap_err();
        assert!(field_error("", "id", &err).message.starts_with("id: invalid type"));
        let err = <serde_json::Error as serde::de::Error>::custom(part_problem(".k", "must be short"));
        assert_eq!(field_error("", "metadata", &err).message, "metadata.k: must be short");
        let err = <serde_json::Error as serde::de::Error>::custom(part_problem(" key", "must be short"));
        assert_eq!(field_error("", "metadata", &err).message, "metadata key: must be short");
    }

    #[test]
    fn storable_json_has_keys_and_sane_numbers() {
        use serde_json::json;
        assert!(check_storable("c", &json!({"a": [1, 2.5, {"b": null}], "n": -3})).is_ok());
        assert_eq!(
            check_storable("c", &json!({"a": {"": 1}})).unwrap_err().message,
            "c.a: keys must not be empty"
        );
        assert!(check_storable("c", &json!({"big": 1e300}))
            .unwrap_err()
            .message
            .starts_with("c.big"));
        assert!(check_storable("c", &json!({"tiny": 1e-200})).is_err());
        let mut deep = json!(1);
        for _ in 0..20 {
            deep = json!([deep]);
        }
        assert!(check_storable("c", &deep).is_err());
    }

    #[test]
    fn length_rule_counts_characters() {
        assert!(check_len("name", "ééé", 1, 3).is_ok());
        let err = check_len("name", "", 1, 3).unwrap_err();
        assert_eq!(err.message, "name: must be 1 to 3 characters");
    }
}
