//! PUT /lease_/api/account/{accountId}/user-license/group/{groupId}: the group's license rule.
use licensing::domain::allocation::{bundle_codes, GroupRule};
use licensing::services::allocation;
use licensing::wire::lrm::GroupLicenseBody;
use licensing::{Access, ApiResult, App, Reply, Request};

async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    let body: GroupLicenseBody = req.json()?;
    let rule = GroupRule {
        account_id: req.path("accountId")?,
        group_id: req.path("groupId")?,
        user_bundle_codes: bundle_codes("userBundleCodes", &body.user_bundle_codes)?,
        use_external_license: body.use_external_license,
    };
    allocation::put_group_rule(app, req.call(), rule).await
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve(Access::Organization, handle).await
}
