//! GET /appsmarket/v2/userLicense/{applicationId}/{userId}: does this user of the caller's account hold this bundle code?
use licensing::services::license_status;
use licensing::{Access, ApiResult, App, ErrorStyle, Reply, Request};
async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    let (code, user) = (req.path("applicationId")?, req.path("userId")?);
    license_status::user_license(app, req.call(), &code, &user).await
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve_with(Access::Organization, ErrorStyle::Google, handle).await
}
