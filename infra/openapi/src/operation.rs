//! Finishes an operation a route's code states: adds what every route of its
//! kind answers, so no route writes it and none can forget it, and orders the
//! keys as the rest of the document does.

use functions::openapi::Documented;
use licensing::error::google_status;
use licensing::{Access, ErrorStyle};
use utoipa::openapi::path::HttpMethod;
use yaml_serde::{Mapping, Value};

/// The operation of `route` under each of its methods, finished, as
/// openapi.yaml holds them. A route that answers several methods (a POST alias
/// of a PUT) states one operation; the copy of each method after the first
/// has that method appended to its `operationId`, which must be unique, and
/// takes the fields its `x-<method>` extension gives (e.g. its own summary).
pub fn finish(route: &Documented) -> Vec<(Value, Value)> {
    let mut operation = yaml_serde::to_value(&route.operation).expect("an operation is plain data");
    let write = route.methods.iter().any(|method| {
        matches!(
            method,
            HttpMethod::Post | HttpMethod::Put | HttpMethod::Patch | HttpMethod::Delete
        )
    });
    let methods: Vec<Value> = route
        .methods
        .iter()
        .map(|method| yaml_serde::to_value(method).expect("a method is a word"))
        .collect();
    let map = operation.as_mapping_mut().expect("an operation is a mapping");
    let own: Vec<Option<Value>> = methods
        .iter()
        .map(|method| map.shift_remove(format!("x-{}", method.as_str().unwrap_or_default()).as_str()))
        .collect();
    let mut finished = Vec::new();
    for (index, (method, own)) in methods.into_iter().zip(own).enumerate() {
        let mut copy = operation.clone();
        let fields = copy.as_mapping_mut().expect("an operation is a mapping");
        if index > 0 {
            let word = method.as_str().unwrap_or_default();
            let suffix = word[..1].to_uppercase() + &word[1..];
            if let Some(Value::String(id)) = fields.get_mut("operationId") {
                id.push_str(&suffix);
            }
        }
        if let Some(own) = own {
            let Value::Mapping(own) = own else {
                panic!("x-{} holds an operation's fields", method.as_str().unwrap_or_default());
            };
            fields.extend(own);
        }
        finished.push((method, finish_operation(copy, route.access, route.errors, write)));
    }
    finished
}

fn finish_operation(mut operation: Value, access: Access, errors: ErrorStyle, write: bool) -> Value {
    let google = errors == ErrorStyle::Google;
    // Which components.responses a route answers with, by its error form.
    let named = |coded: &'static str, google_form: &'static str| if google { google_form } else { coded };
    let public = matches!(access, Access::Public | Access::Published);
    // A signed delivery states its own 401; its id, not a header, makes it idempotent.
    let signed = access == Access::Signed;
    // The portal's changes are made once by their own condition, not a header.
    let portal = matches!(access, Access::Portal | Access::PortalPage);
    let write = write && !signed && !portal;
    let body = operation.get("requestBody").is_some();
    let map = operation.as_mapping_mut().expect("an operation is a mapping");
    let mut derived: Vec<(&str, &str)> = Vec::new();
    if public || signed {
        map.insert("security".into(), Value::Sequence(Vec::new()));
    }
    if access == Access::Portal {
        let scheme = Mapping::from_iter([("portalToken".into(), Value::Sequence(Vec::new()))]);
        map.insert("security".into(), Value::Sequence(vec![Value::Mapping(scheme)]));
    }
    if public {
        // No API key: the public limit applies instead of 401/403.
        assert!(!google, "the Google form has no public rate limit answer yet");
        derived.push(("429", "PublicRateLimited"));
    } else if signed {
        derived.push(("422", "BodyInvalid"));
    } else if portal {
        // A portal session, never an API key: no principal to refuse.
        derived.push(("401", "PortalUnauthorized"));
    } else {
        derived.push(("401", named("Unauthorized", "GoogleUnauthenticated")));
        derived.push(("403", named("Forbidden", "GooglePermissionDenied")));
    }
    derived.push(("413", named("PayloadTooLarge", "GooglePayloadTooLarge")));
    derived.push(("503", named("ServiceUnavailable", "GoogleUnavailable")));
    if write {
        // Every write takes an Idempotency-Key (shared/app/src/http.rs).
        assert!(!google, "the Google form has no idempotency answers yet");
        let parameters = map
            .entry("parameters".into())
            .or_insert_with(|| Value::Sequence(Vec::new()))
            .as_sequence_mut()
            .expect("parameters are a list");
        // After the route's own, as the document lists it.
        parameters.push(reference("parameters", "IdempotencyKey"));
        derived.push(("409", "IdempotencyConflict"));
        derived.push(("422", if body { "BodyInvalid" } else { "IdempotencyInvalid" }));
        if body {
            derived.push(("400", "InvalidJson"));
        }
    }
    let responses = map
        .get_mut("responses")
        .and_then(Value::as_mapping_mut)
        .expect("an operation has responses");
    for (status, component) in derived {
        // A route may say more than the common answer (e.g. its own 409 codes).
        if !responses.contains_key(status) {
            responses.insert(status.into(), reference("responses", component));
        }
    }
    for (status, response) in responses.iter_mut() {
        let status: u16 = status.as_str().and_then(|s| s.parse().ok()).expect("a status code");
        let Some(response) = response.as_mapping_mut().filter(|r| !r.contains_key("$ref")) else {
            continue;
        };
        finish_response(response, status, google, write, access);
        if signed {
            if let Some(Value::Mapping(headers)) = response.get_mut("headers") {
                headers.shift_remove("Idempotent-Replayed");
            }
        }
        *response = ordered(response, &["description", "headers", "content"]);
    }
    let mut sorted: Vec<(Value, Value)> = std::mem::take(responses).into_iter().collect();
    sorted.sort_by(|(a, _), (b, _)| a.as_str().cmp(&b.as_str()));
    responses.extend(sorted);
    if let Some(Value::Sequence(parameters)) = map.get_mut("parameters") {
        for parameter in parameters.iter_mut() {
            if let Value::Mapping(fields) = parameter {
                if let Some(reference) = fields.get("$ref").cloned() {
                    // A component (functions' `parameter_components!`): utoipa
                    // also gives it a name and place, which a `$ref` may not have.
                    *fields = Mapping::from_iter([("$ref".into(), reference)]);
                    continue;
                }
                if let Some(Value::Mapping(schema)) = fields.get_mut("schema") {
                    // The document writes a parameter's pattern beside its type,
                    // before its bounds, and a lower bound before an upper one;
                    // utoipa writes the bounds first, the upper one first.
                    *schema = ordered(schema, &["type", "format", "pattern", "minLength", "maxLength"]);
                }
                *fields = ordered(fields, &["name", "in", "required", "schema", "description"]);
            }
        }
    }
    if let Some(Value::Mapping(body)) = map.get_mut("requestBody") {
        optional_body(body);
        *body = ordered(body, &["description", "required", "content"]);
    }
    let order = [
        "operationId",
        "summary",
        "tags",
        "description",
        "parameters",
        "requestBody",
        "security",
        "responses",
    ];
    Value::Mapping(ordered(map, &order))
}

/// Headers every answer of its kind carries, and a Google error's body, which
/// follows from its status.
fn finish_response(response: &mut Mapping, status: u16, google: bool, write: bool, access: Access) {
    let headers = |response: &mut Mapping| -> Mapping {
        match response.shift_remove("headers") {
            Some(Value::Mapping(headers)) => headers,
            _ => Mapping::new(),
        }
    };
    if status == 200 && access == Access::Published {
        // A published document may be cached a while (shared/app/src/http.rs).
        let mut all = Mapping::new();
        all.insert("Cache-Control".into(), cache_control());
        all.extend(headers(response));
        response.insert("headers".into(), Value::Mapping(all));
    } else if (200..300).contains(&status) && write {
        let mut all = Mapping::new();
        all.insert("Idempotent-Replayed".into(), reference("headers", "IdempotentReplayed"));
        all.extend(headers(response));
        response.insert("headers".into(), Value::Mapping(all));
    } else if (400..500).contains(&status) && status != 429 {
        // A final answer; kept for an Idempotency-Key like any other.
        let mut all = Mapping::new();
        all.insert("x-should-retry".into(), reference("headers", "XShouldRetry"));
        all.insert("Idempotent-Replayed".into(), reference("headers", "IdempotentReplayed"));
        all.extend(headers(response));
        response.insert("headers".into(), Value::Mapping(all));
    } else if status == 429 {
        // Every rate-limited answer says when to try again.
        let mut all = Mapping::new();
        all.insert("Retry-After".into(), reference("headers", "RetryAfter"));
        all.extend(headers(response));
        response.insert("headers".into(), Value::Mapping(all));
    }
    if google && status >= 400 && !response.contains_key("content") {
        response.insert("content".into(), google_error(status));
    }
    if let Some(Value::Mapping(content)) = response.get_mut("content") {
        for media in content.values_mut() {
            if let Some(Value::Mapping(schema)) = media.get_mut("schema") {
                lift_refinement(schema);
            }
        }
    }
}

/// `request_body = Option<T>` is a body that may be left out (read as `{}`),
/// not a `null` one: utoipa writes it as `T` or `null` without `required`,
/// OpenAPI as `required: false` and `T`.
fn optional_body(body: &mut Mapping) {
    if body.contains_key("required") {
        return;
    }
    body.insert("required".into(), Value::Bool(false));
    let Some(Value::Mapping(content)) = body.get_mut("content") else {
        return;
    };
    let null: Value = yaml_serde::from_str("type: 'null'").expect("YAML");
    for media in content.values_mut().filter_map(Value::as_mapping_mut) {
        let inner = match media.get("schema").and_then(|schema| schema.get("oneOf")) {
            Some(Value::Sequence(one_of)) if one_of.len() == 2 && one_of[1] == null => one_of[0].clone(),
            _ => continue,
        };
        media.insert("schema".into(), inner);
    }
}

/// `allOf: [A, {properties: P}]` as `allOf: [A]` with `properties: P` beside
/// it, as the document writes a refined error body (functions'
/// `coded_errors!`): utoipa's `allOf` cannot hold sibling keywords.
fn lift_refinement(schema: &mut Mapping) {
    if schema.contains_key("properties") {
        return;
    }
    let Some(Value::Sequence(items)) = schema.get_mut("allOf") else {
        return;
    };
    let Some(Value::Mapping(last)) = items.last() else {
        return;
    };
    if items.len() < 2 || last.len() != 1 || !last.contains_key("properties") {
        return;
    }
    let Some(Value::Mapping(mut last)) = items.pop() else {
        return;
    };
    let properties = last.shift_remove("properties").expect("checked above");
    schema.insert("properties".into(), properties);
}

/// `{"error": {"code": status, "status": ...}}`, as `GoogleError` spells it.
fn google_error(status: u16) -> Value {
    let schema = format!(
        "application/json:\n  schema:\n    allOf:\n    - $ref: '#/components/schemas/GoogleError'\n    properties:\n      \
         error:\n        properties:\n          code:\n            const: {status}\n          status:\n            const: {}\n",
        google_status(status)
    );
    yaml_serde::from_str(&schema).expect("the Google error body is YAML")
}

/// The `Cache-Control` a published document's 200 carries.
fn cache_control() -> Value {
    let header = "description: '`public, max-age=300`.'\nschema:\n  type: string\n";
    yaml_serde::from_str(header).expect("the Cache-Control header is YAML")
}

fn reference(kind: &str, name: &str) -> Value {
    let mut map = Mapping::new();
    map.insert("$ref".into(), format!("#/components/{kind}/{name}").into());
    Value::Mapping(map)
}

/// `map` with the keys of `order` first, in that order, then the rest as they were.
fn ordered(map: &Mapping, order: &[&str]) -> Mapping {
    let mut result = Mapping::new();
    for key in order {
        if let Some(value) = map.get(*key) {
            result.insert((*key).into(), value.clone());
        }
    }
    for (key, value) in map {
        if !key.as_str().is_some_and(|key| order.contains(&key)) {
            result.insert(key.clone(), value.clone());
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finished(operation: &str, access: Access, errors: ErrorStyle, write: bool) -> Value {
        finish_operation(yaml_serde::from_str(operation).unwrap(), access, errors, write)
    }

    fn statuses(operation: &Value) -> Vec<(String, String)> {
        let responses = operation["responses"].as_mapping().unwrap();
        responses
            .iter()
            .map(|(status, response)| {
                let target = response["$ref"].as_str().unwrap_or("own");
                (
                    status.as_str().unwrap().to_string(),
                    target.rsplit('/').next().unwrap().to_string(),
                )
            })
            .collect()
    }

    const OWN_200: &str = "responses: {'200': {description: The thing.}}";

    #[test]
    fn a_business_read_answers_401_403_413_503_and_takes_no_idempotency_key() {
        let operation = finished(OWN_200, Access::Business, ErrorStyle::Coded, false);
        let expected = [
            ("200", "own"),
            ("401", "Unauthorized"),
            ("403", "Forbidden"),
            ("413", "PayloadTooLarge"),
            ("503", "ServiceUnavailable"),
        ];
        assert_eq!(statuses(&operation), expected.map(|(s, t)| (s.into(), t.into())));
        assert!(operation.get("parameters").is_none());
        assert!(operation.get("security").is_none());
    }

    #[test]
    fn a_public_write_with_a_body_is_rate_limited_and_idempotent_without_an_api_key() {
        let body = "requestBody: {content: {application/json: {schema: {type: object}}}}";
        let operation = finished(
            &format!("{{{OWN_200}, {body}}}"),
            Access::Public,
            ErrorStyle::Coded,
            true,
        );
        let expected = [
            ("200", "own"),
            ("400", "InvalidJson"),
            ("409", "IdempotencyConflict"),
            ("413", "PayloadTooLarge"),
            ("422", "BodyInvalid"),
            ("429", "PublicRateLimited"),
            ("503", "ServiceUnavailable"),
        ];
        assert_eq!(statuses(&operation), expected.map(|(s, t)| (s.into(), t.into())));
        assert_eq!(operation["security"], Value::Sequence(Vec::new()));
        assert_eq!(
            operation["parameters"][0]["$ref"],
            "#/components/parameters/IdempotencyKey"
        );
        assert_eq!(
            operation["responses"]["200"]["headers"]["Idempotent-Replayed"]["$ref"],
            "#/components/headers/IdempotentReplayed"
        );
    }

    #[test]
    fn a_routes_own_answer_is_kept_and_a_google_route_answers_in_its_form() {
        let own_409 = "responses: {'200': {description: Done.}, '409': {description: Its own codes.}}";
        let operation = finished(own_409, Access::Business, ErrorStyle::Coded, true);
        assert_eq!(operation["responses"]["409"]["description"], "Its own codes.");
        assert_eq!(
            operation["responses"]["422"]["$ref"],
            "#/components/responses/IdempotencyInvalid"
        );

        let operation = finished(OWN_200, Access::Business, ErrorStyle::Google, false);
        let google: Vec<String> = statuses(&operation).into_iter().map(|(_, target)| target).collect();
        assert_eq!(
            google,
            [
                "own",
                "GoogleUnauthenticated",
                "GooglePermissionDenied",
                "GooglePayloadTooLarge",
                "GoogleUnavailable"
            ]
        );
    }
}
