//! POST /license_keys: import a key for a customer, with no grant and no email.
use licensing::domain::grant::{key_in_use, parse_client_time, Fulfilment};
use licensing::domain::license_key::{KeySource, LicenseKey};
use licensing::json::check_len;
use licensing::store::Written;
use licensing::{clock, ids, retry, Access, ApiError, ApiResult, App, Reply, Request};
use serde::Deserialize;

#[derive(Deserialize)]
struct Import {
    customer_id: String,
    key: String,
    product_id: String,
    #[serde(default)]
    activations_limit: Option<i64>,
    #[serde(default)]
    expires_at: Option<String>,
}

async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    let body: Import = req.json()?;
    check_len("customer_id", &body.customer_id, 1, 255)?;
    Fulfilment {
        key: body.key.clone(),
        activations_limit: None,
        expires_at: None,
    }
    .check_key()?;
    if body.activations_limit.is_some_and(|n| n < 1) {
        return Err(ApiError::validation(
            "activations_limit",
            "must be at least 1, or null for no limit",
        ));
    }
    let expires_at = body
        .expires_at
        .as_deref()
        .map(|t| {
            parse_client_time(t).ok_or_else(|| ApiError::validation("expires_at", "must be an RFC 3339 timestamp"))
        })
        .transpose()?;
    let entitlement = app
        .store
        .entitlement(req.principal_id(), &body.product_id)
        .await?
        .filter(|e| e.is_active)
        .ok_or_else(|| ApiError::not_found("product"))?;
    let now = clock::now();
    let key = LicenseKey {
        id: ids::new_id("lk"),
        business_id: entitlement.business_id.clone(),
        brand_id: entitlement.business_id.clone(),
        customer_id: body.customer_id,
        key: body.key,
        product_id: entitlement.id.clone(),
        entitlement_id: entitlement.id.clone(),
        grant_id: None,
        source: KeySource::Import,
        activations_limit: body.activations_limit,
        expires_at: expires_at.map(clock::rfc3339),
        disabled: false,
        grant_revoked: false,
        instances_count: 0,
        created_at: clock::rfc3339(now),
        payment_id: None,
        subscription_id: None,
        customer_email: None,
        customer_name: None,
        product_name: Some(entitlement.name),
    };
    for attempt in 0..retry::MAX_CONFLICT_RETRIES {
        match app.store.import_license_key(&key).await? {
            Written::Done => return Reply::created(&key.view(now)),
            Written::Refused(_) => return Err(key_in_use()),
            Written::Conflict => retry::pause(attempt).await,
        }
    }
    Err(ApiError::conflict(
        "LICENSE_KEY_BUSY",
        "this license key is being written concurrently; try again",
    ))
}

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    licensing::serve(Access::Business, handle).await
}
