//! GET /lrm/api/account/{accountId}/audit?page_size=&page_number=&cursor= (the host, or that organization)
use licensing::auth::PrincipalKind;
use licensing::{lrm, Access, ApiError, ApiResult, App, Reply, Request};

async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    let account = req.path("accountId")?;
    let page = req.page()?;
    let principal = req.principal().ok_or_else(ApiError::unauthorized)?;
    // A host reads its own record and those of its organizations.
    if !(principal.kind == PrincipalKind::Host && principal.id == account) {
        lrm::visible_org(app, principal, &account).await?;
    }
    let page = app.store.audit_page(&account, &page).await?;
    Reply::page(
        &page.items.iter().map(lrm::audit_view).collect::<Vec<_>>(),
        page.next_cursor,
    )
}

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    licensing::serve(Access::HostOrOrganization, handle).await
}
