//! PUT /lease_/api/account/{accountId}/user-license: each listed user holds exactly these codes, all or nothing.
use licensing::domain::allocation::bundle_codes;
use licensing::{lrm, Access, ApiError, ApiResult, App, Reply, Request};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Body {
    user_ids: Vec<String>,
    user_bundle_codes: Vec<String>,
    #[serde(default)]
    use_external_license: bool,
}

async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    let account = req.path("accountId")?;
    let body: Body = req.json()?;
    if !(1..=50).contains(&body.user_ids.len()) {
        return Err(ApiError::validation("userIds", "must list 1 to 50 users"));
    }
    for (i, user) in body.user_ids.iter().enumerate() {
        lrm::check_id(&format!("userIds[{i}]"), user)?;
    }
    let users = distinct_users(&body.user_ids)?;
    let codes = bundle_codes("userBundleCodes", &body.user_bundle_codes)?;
    let principal = req.principal().ok_or_else(ApiError::unauthorized)?;
    let route = "PUT /lease_/api/account/{accountId}/user-license";
    let seats = lrm::assign_users(
        app,
        principal,
        &account,
        &users,
        &codes,
        body.use_external_license,
        route,
    )
    .await?;
    Reply::ok(&seats.iter().map(lrm::seat_view).collect::<Vec<_>>())
}

/// A user listed twice would be one transaction touching one item twice.
fn distinct_users(users: &[String]) -> ApiResult<Vec<String>> {
    let mut seen = std::collections::BTreeSet::new();
    for (i, user) in users.iter().enumerate() {
        if !seen.insert(user) {
            return Err(ApiError::validation(&format!("userIds[{i}]"), "appears twice"));
        }
    }
    Ok(users.to_vec())
}

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    licensing::serve(Access::Organization, handle).await
}
