//! The license status family's wire shapes (Google Workspace Marketplace, appsmarket v2).

use serde_json::{json, Value};

pub fn customer_license(application: &str, customer: &str, active: bool) -> Value {
    json!({
        "kind": "appsmarket#customerLicense",
        "state": if active { "ACTIVE" } else { "UNLICENSED" },
        "applicationId": application,
        "customerId": customer,
        "id": format!("{application}:{customer}"),
        "editions": [],
    })
}

pub fn user_license(code: &str, account: &str, user: &str, state: &str) -> Value {
    json!({
        "kind": "appsmarket#userLicense",
        "enabled": state == "ACTIVE",
        "state": state,
        "applicationId": code,
        "customerId": account,
        "userId": user,
        "id": format!("{account}:{user}:{code}"),
    })
}
