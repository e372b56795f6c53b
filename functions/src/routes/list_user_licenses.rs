//! GET /lease_/api/account/{accountId}/user-licenses?userBundleCode=&page_size=&cursor= (that organization)
use licensing::services::allocation;
use licensing::{Access, ApiResult, App, Reply, Request};
async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    let (account, page) = (req.path("accountId")?, req.page()?);
    allocation::list_seat_holders(app, req.call(), &account, req.query("userBundleCode"), &page).await
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve(Access::Organization, handle).await
}
