//! GET /entitlements?integration_type=&page_size=&page_number=&cursor=
use licensing::domain::entitlement::IntegrationType;
use licensing::{Access, ApiResult, App, Reply, Request};

async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    let page = req.page()?;
    let integration_type = IntegrationType::filter(req.query("integration_type"))?;
    let page = app
        .store
        .list_entitlements(req.principal_id(), integration_type, &page)
        .await?;
    Reply::page(&page.items, page.next_cursor)
}

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    licensing::serve(Access::Business, handle).await
}
