//! Every function has an API Gateway event in `events/` for `cargo lambda invoke`,
//! and each fixture is a valid HTTP API event for the route its function serves.

use lambda_http::request::LambdaRequest;
use std::path::Path;

fn workspace() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

#[test]
fn each_function_has_a_parsable_event_for_its_route() {
    let bins = workspace().join("functions/src/bin");
    let mut checked = 0;
    for entry in std::fs::read_dir(&bins).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_str().unwrap().to_string();
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
