//! PUT /lease_/api/account/{accountId}/user-license/group/{groupId}: the group's license rule.
use licensing::domain::allocation::bundle_codes;
use licensing::store::{GroupRule, Written};
use licensing::{lrm, Access, ApiError, ApiResult, App, Reply, Request};
use serde::Deserialize;
use serde_json::json;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Body {
    user_bundle_codes: Vec<String>,
    #[serde(default)]
    use_external_license: bool,
}

async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    let account = req.path("accountId")?;
    let group = req.path("groupId")?;
    lrm::check_id("groupId", &group)?;
    let body: Body = req.json()?;
    let codes = bundle_codes("userBundleCodes", &body.user_bundle_codes)?;
    let principal = req.principal().ok_or_else(ApiError::unauthorized)?;
    let org = lrm::visible_org(app, principal, &account).await?;
    let rule = GroupRule {
        account_id: account,
        group_id: group,
        user_bundle_codes: codes,
        use_external_license: body.use_external_license,
    };
    let missing: Vec<String> = rule
        .user_bundle_codes
        .iter()
        .filter(|c| org.products.get(*c).is_none_or(|p| p.quantity == 0))
        .cloned()
        .collect();
    let refused = |codes: &[String]| {
        ApiError::conflict(
            "ALLOCATION_EXCEEDS_ACCOUNT_LICENSE",
            format!("the account holds none of {}", codes.join(", ")),
        )
    };
    if !missing.is_empty() {
        return Err(refused(&missing));
    }
    match app.store.put_group_rule(&rule).await? {
        Written::Done => Reply::ok(&json!({
            "groupId": rule.group_id, "organizationId": rule.account_id,
            "useExternalLicense": rule.use_external_license, "userBundleCodes": rule.user_bundle_codes,
        })),
        _ => Err(refused(&rule.user_bundle_codes)),
    }
}

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    licensing::serve(Access::Organization, handle).await
}
