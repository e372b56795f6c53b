//! GET /license_key_instances?license_key_id=&grant_id=&page_size=&page_number=&cursor=
use licensing::{Access, ApiError, ApiResult, App, Reply, Request};

async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    let page = req.page()?;
    let business = req.principal_id();
    // A grant has at most one key: its instances are that key's.
    let license_key_id = match (req.query("license_key_id"), req.query("grant_id")) {
        (Some(id), _) => Some(id.to_string()),
        (None, Some(grant_id)) => {
            let grant = app
                .store
                .grant(business, grant_id)
                .await?
                .ok_or_else(|| ApiError::not_found("grant"))?;
            Some(grant.license_key.map(|k| k.id).unwrap_or_default())
        }
        (None, None) => None,
    };
    let page = app
        .store
        .list_instances(business, license_key_id.as_deref(), &page)
        .await?;
    Reply::page(&page.items, page.next_cursor)
}

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    licensing::serve(Access::Business, handle).await
}
