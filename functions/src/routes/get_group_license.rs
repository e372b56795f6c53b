//! GET /lease_/api/account/{accountId}/user-license/group/{groupId}
use licensing::services::allocation;
use licensing::{Access, ApiResult, App, Reply, Request};
async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    let (account, group) = (req.path("accountId")?, req.path("groupId")?);
    allocation::get_group_rule(app, req.call(), &account, &group).await
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve(Access::Organization, handle).await
}
