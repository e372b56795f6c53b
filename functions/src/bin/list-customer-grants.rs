//! GET /customers/{customer_id}/entitlement-grants?integration_type=&status=&page_size=&page_number=&cursor=
use licensing::domain::entitlement::IntegrationType;
use licensing::domain::grant::GrantStatus;
use licensing::store::PageRequest;
use licensing::{clock, Access, ApiError, ApiResult, App, Reply, Request};
use serde_json::json;

async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    let customer_id = req.path("customer_id")?;
    let page = PageRequest::from_query(req.query("page_size"), req.query("page_number"), req.query("cursor"))?;
    let status = req
        .query("status")
        .map(|text| GrantStatus::parse(text).ok_or_else(|| ApiError::validation("status", "is not a grant status")))
        .transpose()?;
    let integration_type = req
        .query("integration_type")
        .map(|t| {
            IntegrationType::parse(t).ok_or_else(|| ApiError::validation("integration_type", "is not a known type"))
        })
        .transpose()?;
    let page = app
        .store
        .list_grants_of_customer(req.principal_id(), &customer_id, integration_type, status, &page)
        .await?;
    let now = clock::now();
    let items: Vec<_> = page.items.into_iter().map(|g| g.presented(now)).collect();
    Reply::ok(&json!({ "items": items, "next_cursor": page.next_cursor }))
}

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    licensing::serve(Access::Business, handle).await
}
