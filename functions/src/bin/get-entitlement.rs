//! GET /entitlements/{entitlement_id}
use licensing::{Access, ApiError, ApiResult, App, Reply, Request};

async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    let id = req.path("entitlement_id")?;
    match app.store.entitlement(req.principal_id(), &id).await? {
        Some(entitlement) if entitlement.is_active => Reply::ok(&entitlement),
        _ => Err(ApiError::not_found("entitlement")),
    }
}

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    licensing::serve(Access::Business, handle).await
}
