//! DELETE /lease_/api/account/{accountId}/user-license/{userId}: the user gives back every unit.
use licensing::services::allocation;
use licensing::{Access, ApiResult, App, Reply, Request};
async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    let (account, user) = (req.path("accountId")?, req.path("userId")?);
    allocation::release_user(app, req.call(), &account, &user).await
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve(Access::Organization, handle).await
}
