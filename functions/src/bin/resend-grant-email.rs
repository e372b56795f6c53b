//! POST /grants/{grant_id}/resend-email: queue the key email again, 202.
use licensing::delivery::{attempt_key_email, ATTEMPT_LEASE_MS};
use licensing::{clock, Access, ApiError, ApiResult, App, Reply, Request};

async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    let grant_id = req.path("grant_id")?;
    let grant = app
        .store
        .grant(req.principal_id(), &grant_id)
        .await?
        .ok_or_else(|| ApiError::not_found("grant"))?;
    let now = clock::now_rfc3339();
    let Some(mut grant) = app
        .store
        .requeue_email(&grant, clock::now_millis() + ATTEMPT_LEASE_MS, &now)
        .await?
    else {
        return Err(ApiError::conflict(
            "GRANT_NOT_DELIVERED",
            "only a Delivered or Failed grant with a license key has an email to resend",
        ));
    };
    if let Some(entitlement) = app.store.entitlement(req.principal_id(), &grant.entitlement_id).await? {
        attempt_key_email(app, &mut grant, &entitlement, 1).await?;
    }
    Reply::json(202, &grant.presented(clock::now()))
}

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    licensing::serve(Access::Business, handle).await
}
