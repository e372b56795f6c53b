//! GET /.well-known/jwks.json (public): the keys that verify offline licenses.
use licensing::domain::offline_license::JwkSet;
use licensing::services::licenses;
use licensing::{Access, ApiResult, App, ErrorStyle, Reply, Request};

/// What `serve_key_set` serves with. It takes no `Access` or `ErrorStyle` (its
/// init fetches the key set instead of opening the table): it always runs the
/// handler as `Access::Published` in the `{code, message}` form, which these
/// state for the API document, and the assertion holds them to.
pub const ACCESS: Access = Access::Published;
pub const ERRORS: ErrorStyle = ErrorStyle::Coded;
const _: () = assert!(
    matches!(ACCESS, Access::Published) && matches!(ERRORS, ErrorStyle::Coded),
    "serve_key_set serves as Access::Published with ErrorStyle::Coded"
);

/// No API key (`security: []`), the public 429, 413 and 503, and the 200's
/// `Cache-Control`, follow from `ACCESS` and `ERRORS` (infra/openapi).
#[utoipa::path(
    get,
    path = "/.well-known/jwks.json",
    operation_id = "getJwks",
    summary = "The public keys that verify offline licenses (public)",
    tag = "Public license routes",
    description = "A JWK Set with one Ed25519 key per signing key in service (`kid` is the KMS key id); the first \
                   signs new licenses, the others stay listed so the licenses they signed keep verifying. Cacheable \
                   for 5 minutes.",
    responses((status = 200, description = "The JWK Set.", body = JwkSet<'static>)),
)]
async fn handle(app: &'static App, _req: Request) -> ApiResult<Reply> {
    licenses::key_set(app).await
}

/// Serves this route's events until the runtime stops.
pub async fn serve() -> Result<(), lambda_http::Error> {
    licensing::serve_key_set(handle).await
}
