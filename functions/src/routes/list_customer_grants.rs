//! GET /customers/{customer_id}/entitlement-grants?integration_type=&status=&page_size=&page_number=&cursor=
use licensing::services::grants;
use licensing::{Access, ApiResult, App, Reply, Request};
async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    let customer_id = req.path("customer_id")?;
    let (integration_type, status) = (req.query("integration_type"), req.query("status"));
    grants::list_of_customer(app, req.call(), &customer_id, integration_type, status, &req.page()?).await
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve(Access::Business, handle).await
}
