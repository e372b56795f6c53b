//! GET /license_keys?customer_id=&status=&page_size=&page_number=&cursor=
use licensing::domain::grant::LicenseKeyStatus;
use licensing::{clock, Access, ApiError, ApiResult, App, Reply, Request};

async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    let page = req.page()?;
    let status = match req.query("status") {
        None => None,
        Some("active") => Some(LicenseKeyStatus::Active),
        Some("expired") => Some(LicenseKeyStatus::Expired),
        Some("disabled") => Some(LicenseKeyStatus::Disabled),
        Some(_) => return Err(ApiError::validation("status", "must be active, expired or disabled")),
    };
    let now = clock::now();
    let page = app
        .store
        .list_license_keys(
            req.principal_id(),
            req.query("customer_id"),
            status,
            &clock::rfc3339(now),
            &page,
        )
        .await?;
    let items: Vec<_> = page.items.iter().map(|k| k.view(now)).collect();
    Reply::page(&items, page.next_cursor)
}

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    licensing::serve(Access::Business, handle).await
}
