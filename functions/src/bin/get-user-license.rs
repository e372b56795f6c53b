//! GET /lease_/api/account/{accountId}/user-license/{userId}
use licensing::{lrm, Access, ApiError, ApiResult, App, Reply, Request};

async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    let account = req.path("accountId")?;
    let principal = req.principal().ok_or_else(ApiError::unauthorized)?;
    lrm::visible_org(app, principal, &account).await?;
    let seat = app
        .store
        .user_seat(&account, &req.path("userId")?)
        .await?
        .ok_or_else(|| ApiError::new(404, "USER_LICENSE_NOT_FOUND", "this user holds no license"))?;
    Reply::ok(&lrm::seat_view(&seat))
}

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    licensing::serve(Access::Organization, handle).await
}
