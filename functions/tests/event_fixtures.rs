//! Every function has an API Gateway event in `events/` for `cargo lambda invoke`,
//! and each fixture is a valid HTTP API event for the route its function serves.

use lambda_http::request::LambdaRequest;
use std::path::Path;

fn workspace() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

#[test]
fn each_function_has_a_parsable_event_for_its_route() {
    let routes = workspace().join("functions/src/routes");
    let mut checked = 0;
    for entry in std::fs::read_dir(&routes).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_str().unwrap().replace('_', "-");
        let first_line = std::fs::read_to_string(&path)
            .unwrap()
            .lines()
            .next()
            .unwrap_or_default()
            .to_string();
        let route = first_line.strip_prefix("//! ").unwrap_or_default();
        let mut words = route.split_whitespace();
        let method = words.next().unwrap_or_default();
        let route_path = words
            .next()
            .unwrap_or_default()
            .split('?')
            .next()
            .unwrap()
            .trim_end_matches(':');

        let fixture = workspace().join("events").join(format!("{name}.json"));
        let text = std::fs::read_to_string(&fixture).unwrap_or_else(|_| panic!("missing {}", fixture.display()));
        if !["GET", "POST", "PUT", "PATCH", "DELETE"].contains(&method) {
            let event: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(event.is_object(), "{name}: a scheduled event is a JSON object");
            continue;
        }
        let event: LambdaRequest = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        let LambdaRequest::ApiGatewayV2(event) = event else {
            panic!("{name}: not an HTTP API (v2) event")
        };
        assert_eq!(event.request_context.http.method.as_str(), method, "{name}");
        assert_eq!(
            event.route_key.as_deref(),
            Some(format!("{method} {route_path}").as_str()),
            "{name}"
        );
        checked += 1;
    }
    assert!(checked >= 5, "only {checked} functions checked");
}

/// The customer-license event with `customerId` as an event source delivers it:
/// API Gateway (`apiId` and `accountId` set) percent-decoded, the local stack's
/// `cargo lambda watch` (neither set) still encoded.
fn customer_event(customer_id: &str, from_api_gateway: bool) -> lambda_http::Request {
    let text = std::fs::read_to_string(workspace().join("events/get-customer-license.json")).unwrap();
    let mut event: serde_json::Value = serde_json::from_str(&text).unwrap();
    let path = format!("/appsmarket/v2/customerLicense/ent_01JD0000000000000000000000/{customer_id}");
    event["rawPath"] = path.clone().into();
    event["requestContext"]["http"]["path"] = path.into();
    event["pathParameters"]["customerId"] = customer_id.into();
    if !from_api_gateway {
        let context = event["requestContext"].as_object_mut().unwrap();
        context.remove("apiId");
        context.remove("accountId");
    }
    let event: LambdaRequest = serde_json::from_value(event).unwrap();
    event.into()
}

#[test]
fn an_api_gateway_event_carries_path_ids_decoded_and_they_are_taken_as_they_are() {
    let seen = |id, aws| licensing::http::path_param(&customer_event(id, aws), "customerId");
    // What API Gateway delivers for `/…/cus%20a%2025%25`: decoded once, never again.
    assert_eq!(seen("cus a 25%", true).as_deref(), Some("cus a 25%"));
    assert_eq!(seen("cus%41", true).as_deref(), Some("cus%41"));
    // What the local stack delivers for the same request: decoded here, once.
    assert_eq!(seen("cus%20a%2025%25", false).as_deref(), Some("cus a 25%"));
    assert_eq!(seen("cus%2541", false).as_deref(), Some("cus%41"));
    // Dot segments and malformed escapes name nothing.
    assert_eq!(seen("..", true), None);
    assert_eq!(seen("%2E%2E", false), None);
    assert_eq!(seen("cus%zz", false), None);
}

/// The route an audit record keeps is API Gateway's route key, and the local
/// stack's events (`routeKey` `$default`, no API id nor account id, ids as the
/// client wrote them) give the same one for every route.
#[test]
fn each_route_key_is_the_same_from_api_gateway_and_from_the_local_stack() {
    let mut checked = 0;
    for entry in std::fs::read_dir(workspace().join("events")).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        let mut event: serde_json::Value = serde_json::from_str(&text).unwrap();
        let Some(key) = event["requestContext"]["routeKey"].as_str().map(String::from) else {
            continue;
        };
        let request: lambda_http::Request = serde_json::from_value::<LambdaRequest>(event.clone()).unwrap().into();
        assert_eq!(licensing::http::route_key(&request), key);
        event["routeKey"] = "$default".into();
        let context = event["requestContext"].as_object_mut().unwrap();
        context.insert("routeKey".into(), "$default".into());
        context.remove("apiId");
        context.remove("accountId");
        let local: lambda_http::Request = serde_json::from_value::<LambdaRequest>(event).unwrap().into();
        assert_eq!(licensing::http::route_key(&local), key);
        checked += 1;
    }
    assert!(checked >= 5, "only {checked} route keys checked");
}

#[test]
fn the_post_alias_keeps_its_own_route_key() {
    let text = std::fs::read_to_string(workspace().join("events/allocate-organization-license.json")).unwrap();
    let mut event: serde_json::Value = serde_json::from_str(&text).unwrap();
    event["requestContext"]["http"]["method"] = "POST".into();
    let context = event["requestContext"].as_object_mut().unwrap();
    context.insert("routeKey".into(), "$default".into());
    context.remove("apiId");
    context.remove("accountId");
    let local: lambda_http::Request = serde_json::from_value::<LambdaRequest>(event).unwrap().into();
    assert_eq!(
        licensing::http::route_key(&local),
        "POST /lrm/api/host/{hostAccountId}/organization/{organizationId}/license"
    );
}
