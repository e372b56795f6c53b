//! GET /appsmarket/v2/customerLicense/{applicationId}/{customerId}: is this customer licensed for this application?
use licensing::domain::grant::LicenseKeyStatus;
use licensing::{clock, Access, ApiError, ApiResult, App, ErrorStyle, Reply, Request};
use serde_json::json;

async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    let application = req.path("applicationId")?;
    let customer = req.path("customerId")?;
    let business = req.principal_id();
    // Both at once: the grants answer the question, the entitlement says whether it may be asked.
    let (entitlement, grants) = tokio::join!(
        app.store.entitlement(business, &application),
        app.store.delivered_grants(business, &application, &customer),
    );
    if !entitlement?.is_some_and(|e| e.is_active) {
        return Err(ApiError::not_found("application"));
    }
    let now = clock::now();
    let active = grants?.into_iter().map(|g| g.presented(now)).any(|grant| {
        grant
            .license_key
            .as_ref()
            .is_none_or(|key| key.status == LicenseKeyStatus::Active)
    });
    Reply::ok(&json!({
        "kind": "appsmarket#customerLicense",
        "state": if active { "ACTIVE" } else { "UNLICENSED" },
        "applicationId": application,
        "customerId": customer,
        "id": format!("{application}:{customer}"),
        "editions": [],
    }))
}

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    licensing::serve_with(Access::Business, ErrorStyle::Google, handle).await
}
