//! DELETE /entitlements/{entitlement_id}: soft delete; its grants stay.
use licensing::{clock, Access, ApiError, ApiResult, App, Reply, Request};

async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    let id = req.path("entitlement_id")?;
    if !app
        .store
        .deactivate_entitlement(req.principal_id(), &id, &clock::now_rfc3339())
        .await?
    {
        return Err(ApiError::not_found("entitlement"));
    }
    Reply::no_content()
}

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    licensing::serve(Access::Business, handle).await
}
