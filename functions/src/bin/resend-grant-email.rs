//! POST /grants/{grant_id}/resend-email: queue the key email again, 202.
use licensing::services::grants;
use licensing::{Access, ApiResult, App, Reply, Request};
async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    grants::resend_email(app, req.call(), &req.path("grant_id")?).await
}

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    licensing::serve(Access::Business, handle).await
}
