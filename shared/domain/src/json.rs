//! The bounds every string and free-form value of a body must keep, as
//! refusals a rule can return, and the field a wrongly shaped value names.

use crate::refusal::Refusal;
use crate::schema::{int64, object_of};
use serde::{Deserialize, Deserializer};
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
    if let Some(name) = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.strip_suffix('`'))
    {
        return Refusal::invalid(&join(&join(prefix, path), name), "is required");
    }
    let field = join(prefix, path);
    Refusal::invalid(if field.is_empty() { "body" } else { &field }, message)
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

/// A string of `MIN` to `MAX` characters: the bound `check` applies is the one
/// the OpenAPI document states (`wire::schema`).
pub struct Text<const MIN: usize, const MAX: usize>;

impl<const MIN: usize, const MAX: usize> Text<MIN, MAX> {
    pub fn check(field: &str, value: &str) -> Result<(), Refusal> {
        check_len(field, value, MIN, MAX)
    }
}

/// A one-line string of `MIN` to `MAX` characters with no control character
/// (a name: it may reach an email's subject or a log line verbatim).
pub struct Line<const MIN: usize, const MAX: usize>;

impl<const MIN: usize, const MAX: usize> Line<MIN, MAX> {
    pub fn check(field: &str, value: &str) -> Result<(), Refusal> {
        check_len(field, value, MIN, MAX)?;
        if value.chars().any(char::is_control) {
            return Err(Refusal::invalid(field, "must not contain control characters"));
        }
        Ok(())
    }
}

/// Free text of `MIN` to `MAX` characters: line breaks and tabs, but no other
/// control character.
pub struct Prose<const MIN: usize, const MAX: usize>;

impl<const MIN: usize, const MAX: usize> Prose<MIN, MAX> {
    pub fn check(field: &str, value: &str) -> Result<(), Refusal> {
        check_len(field, value, MIN, MAX)?;
        if value
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
        {
            return Err(Refusal::invalid(
                field,
                "must not contain control characters other than line breaks and tabs",
            ));
        }
        Ok(())
    }
}

/// The pattern `Line` states in the OpenAPI document: no character of Unicode's Cc.
pub const LINE_PATTERN: &str = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$";
/// The pattern `Prose` states: Cc but tab, line feed and carriage return.
pub const PROSE_PATTERN: &str = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$";

/// An id from a body that becomes part of a DynamoDB key: 1 to 255 characters
/// and at most `MAX_PATH_ID_BYTES` bytes, the bound of an id in a path.
pub fn check_id(field: &str, value: &str) -> Result<(), Refusal> {
    check_len(field, value, 1, 255)?;
    if value.len() > MAX_PATH_ID_BYTES {
        return Err(Refusal::invalid(
            field,
            format!("must be at most {} bytes of UTF-8", MAX_PATH_ID_BYTES),
        ));
    }
    Ok(())
}

/// An integer from `MIN` to `MAX`, stated the same way.
pub struct Bounded<const MIN: i64, const MAX: i64>;

impl<const MIN: i64, const MAX: i64> Bounded<MIN, MAX> {
    pub fn contains(value: i64) -> bool {
        (MIN..=MAX).contains(&value)
    }
}

/// Checks a string's length in characters.
pub fn check_len(field: &str, value: &str, min: usize, max: usize) -> Result<(), Refusal> {
    let len = value.chars().count();
    if len < min || len > max {
        let rule = if min == max {
            format!("must be {min} characters")
        } else if min == 0 {
            format!("must be at most {max} characters")
        } else {
            format!("must be {min} to {max} characters")
        };
        return Err(Refusal::invalid(field, rule));
    }
    Ok(())
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

impl<const MIN: i64, const MAX: i64> PartialSchema for Bounded<MIN, MAX> {
    fn schema() -> RefOr<Schema> {
        int64().minimum(Some(MIN)).maximum(Some(MAX)).into()
    }
}

impl<const MIN: i64, const MAX: i64> ToSchema for Bounded<MIN, MAX> {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_prose_refuse_control_characters() {
        type Name = Line<1, 10>;
        type Note = Prose<0, 20>;
        assert!(Name::check("name", "Pro & Co").is_ok());
        for bad in ["a\r\nb", "a\tb", "a\u{0}", "a\u{7f}", "a\u{85}"] {
            let refusal = Name::check("name", bad).unwrap_err();
            assert_eq!(refusal.message, "name: must not contain control characters", "{bad:?}");
        }
        assert!(Name::check("name", "").is_err());
        assert!(Note::check("note", "one\r\ntwo\n\tthree").is_ok());
        for bad in ["bell\u{7}", "esc\u{1b}[31m", "nul\u{0}"] {
            assert!(Note::check("note", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn ids_for_keys_are_bounded_in_characters_and_bytes() {
        assert!(check_id("product_id", "ent_1").is_ok());
        assert!(check_id("product_id", &"x".repeat(255)).is_ok());
        assert!(check_id("product_id", &"x".repeat(256)).is_err());
        assert!(check_id("product_id", &"\u{1F600}".repeat(250)).is_ok());
        let wide = check_id("product_id", &"\u{1F600}".repeat(251)).unwrap_err();
        assert!(
            wide.message.starts_with("product_id: must be at most 1000 bytes"),
            "{}",
            wide.message
        );
        assert!(check_id("product_id", "").is_err());
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
