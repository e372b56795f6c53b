//! POST /licenses/deactivate (public): the instance is gone and its slot free.
use crate::openapi::InstanceNotFound;
use licensing::services::licenses;
use licensing::wire::dodo::{Empty, InstanceRef};
use licensing::{Access, ApiResult, App, ErrorStyle, Reply, Request};

pub const ACCESS: Access = Access::Public;
pub const ERRORS: ErrorStyle = ErrorStyle::Coded;

/// No API key (`security: []`), the public 429, 413 and 503, and a write's
/// Idempotency-Key, 409, 422 and 400, follow from `ACCESS` and `ERRORS` (infra/openapi).
#[utoipa::path(
    post,
    path = "/licenses/deactivate",
    operation_id = "deactivateLicense",
    summary = "Deactivate an instance of a license key (public)",
    tag = "Public license routes",
    request_body = InstanceRef,
    responses(
        (status = 200, description = "Done; the body is `{}`.", body = Empty),
        (
            status = 404,
            description = "No such license key (`LICENSE_KEY_NOT_FOUND`), or the instance is not one of its \
                           (`LICENSE_KEY_INSTANCE_NOT_FOUND`).",
            body = inline(InstanceNotFound),
        ),
    ),
)]
async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    let body: InstanceRef = req.json()?;
    licenses::deactivate(app, req.call(), &body.license_key, &body.license_key_instance_id).await
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve_with(ACCESS, ERRORS, handle).await
}
