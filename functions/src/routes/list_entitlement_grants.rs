//! GET /entitlements/{entitlement_id}/grants?customer_id=&status=&page_size=&page_number=&cursor=
use licensing::services::grants;
use licensing::{Access, ApiResult, App, Reply, Request};
async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    let entitlement_id = req.path("entitlement_id")?;
    let (customer_id, status) = (req.query("customer_id"), req.query("status"));
    grants::list_of_entitlement(app, req.call(), &entitlement_id, customer_id, status, &req.page()?).await
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve(Access::Business, handle).await
}
