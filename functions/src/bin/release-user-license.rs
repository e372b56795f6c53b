//! DELETE /lease_/api/account/{accountId}/user-license/{userId}: the user gives back every unit.
use licensing::{lrm, Access, ApiError, ApiResult, App, Reply, Request};

async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    let account = req.path("accountId")?;
    let user = req.path("userId")?;
    let principal = req.principal().ok_or_else(ApiError::unauthorized)?;
    let route = "DELETE /lease_/api/account/{accountId}/user-license/{userId}";
    if !lrm::release_user(app, principal, &account, &user, route).await? {
        return Err(ApiError::new(
            404,
            "USER_LICENSE_NOT_FOUND",
            "this user holds no license",
        ));
    }
    Reply::no_content()
}

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    licensing::serve(Access::Organization, handle).await
}
