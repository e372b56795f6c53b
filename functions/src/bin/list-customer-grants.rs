//! GET /customers/{customer_id}/entitlement-grants?integration_type=&status=&page_size=&page_number=&cursor=
use licensing::domain::entitlement::IntegrationType;
use licensing::domain::grant::GrantStatus;
use licensing::{clock, Access, ApiResult, App, Reply, Request};

async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    let customer_id = req.path("customer_id")?;
    let page = req.page()?;
    let status = GrantStatus::filter(req.query("status"))?;
    let integration_type = IntegrationType::filter(req.query("integration_type"))?;
    let page = app
        .store
        .list_grants_of_customer(req.principal_id(), &customer_id, integration_type, status, &page)
        .await?;
    let now = clock::now();
    let items: Vec<_> = page.items.into_iter().map(|g| g.presented(now)).collect();
    Reply::page(&items, page.next_cursor)
}

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    licensing::serve(Access::Business, handle).await
}
