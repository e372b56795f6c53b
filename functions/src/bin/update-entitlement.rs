//! PATCH /entitlements/{entitlement_id}
use licensing::domain::entitlement::EntitlementPatch;
use licensing::{clock, Access, ApiError, ApiResult, App, Reply, Request};

async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    let id = req.path("entitlement_id")?;
    let patch: EntitlementPatch = req.json()?;
    let not_found = || ApiError::not_found("entitlement");
    // The type is immutable, so reading it first cannot race with another write.
    let current = app
        .store
        .entitlement(req.principal_id(), &id)
        .await?
        .filter(|e| e.is_active)
        .ok_or_else(not_found)?;
    let changes = patch.validate(current.integration_type)?;
    let updated = app
        .store
        .update_entitlement(req.principal_id(), &id, &changes, &clock::now_rfc3339())
        .await?;
    Reply::ok(&updated.ok_or_else(not_found)?)
}

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    licensing::serve(Access::Business, handle).await
}
