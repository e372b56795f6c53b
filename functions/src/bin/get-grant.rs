//! GET /grants/{grant_id}
use licensing::{clock, Access, ApiError, ApiResult, App, Reply, Request};

async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    let grant_id = req.path("grant_id")?;
    let grant = app.store.grant(req.principal_id(), &grant_id).await?;
    Reply::ok(
        &grant
            .ok_or_else(|| ApiError::not_found("grant"))?
            .presented(clock::now()),
    )
}

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    licensing::serve(Access::Business, handle).await
}
