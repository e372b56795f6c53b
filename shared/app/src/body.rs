//! Request-body parsing with the contract's split: malformed JSON is 400,
//! well-formed JSON of the wrong shape is 422 naming the field.

use crate::domain::json::field_error;
use crate::error::ApiError;
use serde::de::DeserializeOwned;

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

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

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
}
