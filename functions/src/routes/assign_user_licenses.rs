//! PUT /lease_/api/account/{accountId}/user-license: each listed user holds exactly these codes, all or nothing.
use licensing::domain::allocation::bundle_codes;
use licensing::services::allocation;
use licensing::wire::lrm::UserLicenseAssignment;
use licensing::{Access, ApiResult, App, Reply, Request};

async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    let body: UserLicenseAssignment = req.json()?;
    let codes = bundle_codes("userBundleCodes", &body.user_bundle_codes)?;
    let (account, external) = (req.path("accountId")?, body.use_external_license);
    allocation::assign_users(app, req.call(), &account, &body.user_ids, &codes, external).await
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve(Access::Organization, handle).await
}
