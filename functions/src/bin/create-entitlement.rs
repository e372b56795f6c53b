//! POST /entitlements
use licensing::domain::entitlement::NewEntitlement;
use licensing::{clock, ids, Access, ApiResult, App, Reply, Request};

async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    let new: NewEntitlement = req.json()?;
    let entitlement = new.into_entitlement(ids::new_id("ent"), req.principal_id(), &clock::now_rfc3339())?;
    app.store.create_entitlement(&entitlement).await?;
    Reply::created(&entitlement)
}

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    licensing::serve(Access::Business, handle).await
}
