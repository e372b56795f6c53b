//! Request-body parsing with the contract's split: malformed JSON is 400,
//! well-formed JSON of the wrong shape is 422 naming the field; and the bounds
//! every string and free-form value must keep, as refusals a rule can return.

use crate::domain::refusal::Refusal;
use crate::error::ApiError;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};

pub fn parse_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let body = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}".as_slice()
    } else {
        body
    };
    // serde would also read a struct from a JSON array; the contract speaks of objects only.
    if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        serde_json::from_slice::<serde::de::IgnoredAny>(body).map_err(ApiError::invalid_json)?;
        return Err(ApiError::validation("body", "must be a JSON object"));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let value: T = serde_path_to_error::deserialize(&mut deserializer).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            ApiError::invalid_json(inner)
        } else {
            field_error("", &path, &inner).into()
        }
    })?;
    deserializer.end().map_err(ApiError::invalid_json)?;
    Ok(value)
}

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
/// and at most `crate::http::MAX_PATH_ID_BYTES` bytes, the bound of an id in a path.
pub fn check_id(field: &str, value: &str) -> Result<(), Refusal> {
    check_len(field, value, 1, 255)?;
    if value.len() > crate::http::MAX_PATH_ID_BYTES {
        return Err(Refusal::invalid(
            field,
            format!("must be at most {} bytes of UTF-8", crate::http::MAX_PATH_ID_BYTES),
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

    #[derive(Deserialize, Debug)]
    #[allow(dead_code)]
    struct Sample {
        name: String,
        inner: Option<Inner>,
    }

    #[derive(Deserialize, Debug)]
    #[allow(dead_code)]
    struct Inner {
        count: u32,
    }

    #[test]
    fn malformed_json_is_400() {
        let err = parse_body::<Sample>(b"{\"name\": ").unwrap_err();
        assert_eq!((err.status, err.code), (400, "INVALID_JSON"));
        let err = parse_body::<Sample>(b"{\"name\": \"a\"} trailing").unwrap_err();
        assert_eq!(err.status, 400);
    }

    #[test]
    fn wrong_shape_is_422_naming_the_field() {
        let err = parse_body::<Sample>(br#"{"name": 5}"#).unwrap_err();
        assert_eq!((err.status, err.code), (422, "VALIDATION_ERROR"));
        assert!(err.message.starts_with("name: invalid type"), "{}", err.message);

        let err = parse_body::<Sample>(br#"{"name": "a", "inner": {"count": -1}}"#).unwrap_err();
        assert!(err.message.starts_with("inner.count:"), "{}", err.message);

        let err = parse_body::<Sample>(b"{}").unwrap_err();
        assert_eq!(err.message, "name: is required");

        let err = parse_body::<Sample>(br#"{"name": "a", "inner": {}}"#).unwrap_err();
        assert_eq!(err.message, "inner.count: is required");

        let err = parse_body::<Sample>(b"\"text\"").unwrap_err();
        assert_eq!(err.message, "body: must be a JSON object");
        let err = parse_body::<Sample>(br#"["a", null]"#).unwrap_err();
        assert_eq!((err.status, err.message.as_str()), (422, "body: must be a JSON object"));
        assert_eq!(parse_body::<Sample>(b"[1,").unwrap_err().status, 400);
        assert!(!err.message.contains("line"), "{}", err.message);
    }

    #[test]
    fn unknown_fields_are_ignored() {
        let sample: Sample = parse_body(br#"{"name": "a", "extra": [1, 2]}"#).unwrap();
        assert_eq!(sample.name, "a");
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
