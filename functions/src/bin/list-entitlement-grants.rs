//! GET /entitlements/{entitlement_id}/grants?customer_id=&status=&page_size=&page_number=&cursor=
use licensing::domain::grant::GrantStatus;
use licensing::{clock, Access, ApiError, ApiResult, App, Reply, Request};

async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    let entitlement_id = req.path("entitlement_id")?;
    let page = req.page()?;
    let status = GrantStatus::filter(req.query("status"))?;
    // Grants hang off the entitlement; reading it first keeps another business's out.
    if app
        .store
        .entitlement(req.principal_id(), &entitlement_id)
        .await?
        .is_none()
    {
        return Err(ApiError::not_found("entitlement"));
    }
    let page = app
        .store
        .list_grants_of_entitlement(&entitlement_id, req.query("customer_id"), status, &page)
        .await?;
    let now = clock::now();
    let items: Vec<_> = page.items.into_iter().map(|g| g.presented(now)).collect();
    Reply::page(&items, page.next_cursor)
}

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    licensing::serve(Access::Business, handle).await
}
