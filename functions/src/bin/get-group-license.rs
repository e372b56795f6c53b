//! GET /lease_/api/account/{accountId}/user-license/group/{groupId}
use licensing::{lrm, Access, ApiError, ApiResult, App, Reply, Request};
use serde_json::json;

async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    let account = req.path("accountId")?;
    let principal = req.principal().ok_or_else(ApiError::unauthorized)?;
    let (org, rule) = app.store.org_and_group(&account, &req.path("groupId")?).await?;
    lrm::visible(principal, org)?;
    let rule = rule.ok_or_else(|| ApiError::new(404, "GROUP_LICENSE_NOT_FOUND", "this group has no license rule"))?;
    Reply::ok(&json!({
        "groupId": rule.group_id, "organizationId": rule.account_id,
        "useExternalLicense": rule.use_external_license, "userBundleCodes": rule.user_bundle_codes,
    }))
}

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    licensing::serve(Access::Organization, handle).await
}
