//! GET /lease_/api/account/{accountId}/user-license/{userId}
use licensing::{lrm, Access, ApiError, ApiResult, App, Reply, Request};

async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    let account = req.path("accountId")?;
    let principal = req.principal().ok_or_else(ApiError::unauthorized)?;
    let (org, seats) = app.store.org_and_seats(&account, &[req.path("userId")?]).await?;
    lrm::visible(principal, org)?;
    let seat = seats
        .into_iter()
        .next()
        .ok_or_else(|| ApiError::new(404, "USER_LICENSE_NOT_FOUND", "this user holds no license"))?;
    Reply::ok(&lrm::seat_view(&seat))
}

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    licensing::serve(Access::Organization, handle).await
}
