//! GET /entitlements?integration_type=&page_size=&page_number=&cursor=
use licensing::domain::entitlement::IntegrationType;
use licensing::store::PageRequest;
use licensing::{Access, ApiError, ApiResult, App, Reply, Request};
use serde_json::json;

async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    let page = PageRequest::from_query(req.query("page_size"), req.query("page_number"), req.query("cursor"))?;
    let integration_type = req
        .query("integration_type")
        .map(|text| {
            IntegrationType::parse(text)
                .ok_or_else(|| ApiError::validation("integration_type", "is not a known integration type"))
        })
        .transpose()?;
    let page = app
        .store
        .list_entitlements(req.principal_id(), integration_type, &page)
        .await?;
    Reply::ok(&json!({ "items": page.items, "next_cursor": page.next_cursor }))
}

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    licensing::serve(Access::Business, handle).await
}
