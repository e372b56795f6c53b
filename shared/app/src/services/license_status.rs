//! License status (Google Workspace Marketplace): is this customer, or this
//! user of the caller's account, licensed.

use crate::app::App;
use crate::call::Call;
use crate::clock;
use crate::domain::license_key::LicenseKeyStatus;
use crate::error::{ApiError, ApiResult};
use crate::reply::Reply;
use crate::wire::appsmarket as wire;

/// `customerLicense`: ACTIVE when the customer holds a Delivered grant of the
/// application whose key, if it has one, is active.
pub async fn customer_license(app: &App, call: &Call, application: &str, customer: &str) -> ApiResult<Reply> {
    let business = call.principal_id();
    // Both at once: the grants answer the question, the entitlement says whether it may be asked.
    let (entitlement, grants) = tokio::join!(
        app.store.entitlement(business, application),
        app.store.delivered_grants(business, application, customer),
    );
    if !entitlement?.is_some_and(|e| e.is_active) {
        return Err(ApiError::not_found("application"));
    }
    let now = clock::now();
    let active = grants?.into_iter().map(|g| g.presented(now)).any(|grant| {
        grant
            .license_key
            .as_ref()
            .is_none_or(|key| key.status == LicenseKeyStatus::Active)
    });
    Reply::ok(&wire::customer_license(application, customer, active))
}

/// `userLicense`: whether a user of the caller's account holds bundle `code`.
pub async fn user_license(app: &App, call: &Call, code: &str, user: &str) -> ApiResult<Reply> {
    let account = call.principal_id();
    let (org, seats) = app.store.org_terms_and_seats(account, &[user.to_string()]).await?;
    let holds = seats
        .first()
        .is_some_and(|s| s.user_bundle_codes.iter().any(|c| c == code));
    let (end_date, grace_days) = org.map_or((None, None), |o| (o.end_date, o.grace_period));
    let state = crate::domain::allocation::seat_state(holds, end_date, grace_days, clock::now().unix_timestamp());
    Reply::ok(&wire::user_license(code, account, user, state))
}
