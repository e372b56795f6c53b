//! GET /appsmarket/v2/customerLicense/{applicationId}/{customerId}: is this customer licensed for this application?
use licensing::services::license_status;
use licensing::{Access, ApiResult, App, ErrorStyle, Reply, Request};
async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    let (application, customer) = (req.path("applicationId")?, req.path("customerId")?);
    license_status::customer_license(app, req.call(), &application, &customer).await
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve_with(Access::Business, ErrorStyle::Google, handle).await
}
