//! PUT /lease_/api/account/{accountId}/user-license: each listed user holds exactly these codes, all or nothing.
use licensing::domain::allocation::bundle_codes;
use licensing::services::allocation;
use licensing::{Access, ApiResult, App, Reply, Request};
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
    let body: Body = req.json()?;
    let codes = bundle_codes("userBundleCodes", &body.user_bundle_codes)?;
    let (account, external) = (req.path("accountId")?, body.use_external_license);
    let route = "PUT /lease_/api/account/{accountId}/user-license";
    allocation::assign_users(app, req.call(), &account, &body.user_ids, &codes, external, route).await
}

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    licensing::serve(Access::Organization, handle).await
}
