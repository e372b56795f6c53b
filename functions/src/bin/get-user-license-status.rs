//! GET /appsmarket/v2/userLicense/{applicationId}/{userId}: does this user of the caller's account hold this bundle code?
use licensing::{clock, Access, ApiResult, App, ErrorStyle, Reply, Request};
use serde_json::json;

async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    let code = req.path("applicationId")?;
    let user = req.path("userId")?;
    let account = req.principal_id();
    let (org, seats) = app.store.org_and_seats(account, std::slice::from_ref(&user)).await?;
    let holds = seats.first().is_some_and(|s| s.user_bundle_codes.contains(&code));
    let ended = org
        .and_then(|o| o.end_date)
        .is_some_and(|end| end < clock::now().unix_timestamp());
    let state = match (holds, ended) {
        (true, false) => "ACTIVE",
        (true, true) => "EXPIRED",
        (false, _) => "UNLICENSED",
    };
    Reply::ok(&json!({
        "kind": "appsmarket#userLicense",
        "enabled": state == "ACTIVE",
        "state": state,
        "applicationId": code,
        "customerId": account,
        "userId": user,
        "id": format!("{account}:{user}:{code}"),
    }))
}

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    licensing::serve_with(Access::Organization, ErrorStyle::Google, handle).await
}
