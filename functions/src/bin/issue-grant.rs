//! POST /entitlements/{entitlement_id}/grants
use licensing::delivery::attempt_key_email;
use licensing::domain::entitlement::FulfillmentMode;
use licensing::domain::grant::{generate_license_key, Fulfilment, NewGrant};
use licensing::domain::license_key::KeySource;
use licensing::store::IssueOutcome;
use licensing::{clock, ids, retry, Access, ApiError, ApiResult, App, Reply, Request};

async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    let entitlement_id = req.path("entitlement_id")?;
    let new: NewGrant = req.json()?;
    new.validate()?;
    let entitlement = app
        .store
        .entitlement(req.principal_id(), &entitlement_id)
        .await?
        .ok_or_else(|| ApiError::not_found("entitlement"))?;
    let inactive = || ApiError::conflict("ENTITLEMENT_INACTIVE", "the entitlement has been deleted");
    if !entitlement.is_active {
        return Err(inactive());
    }
    let uniqueness = new.uniqueness_key();
    let now = clock::now();
    let pending = new.into_grant(ids::new_id("entg"), &entitlement, &clock::rfc3339(now));
    let auto = entitlement
        .license_key_config()
        .filter(|c| c.fulfillment_mode == FulfillmentMode::Auto);

    for attempt in 0..retry::MAX_CONFLICT_RETRIES {
        let mut grant = pending.clone();
        let key = match &auto {
            Some(_) => {
                let request = Fulfilment {
                    key: generate_license_key(),
                    activations_limit: None,
                    expires_at: None,
                };
                let (limit, expires_at) = request.resolve(&entitlement, now)?;
                Some(grant.deliver(
                    &entitlement,
                    request.key,
                    KeySource::Auto,
                    limit,
                    expires_at,
                    &grant.created_at.clone(),
                ))
            }
            None => None,
        };
        let email_due = key
            .as_ref()
            .map(|_| clock::now_millis() + licensing::delivery::ATTEMPT_LEASE_MS);
        match app
            .store
            .issue_grant(&grant, &uniqueness, key.as_ref(), email_due)
            .await?
        {
            IssueOutcome::Created => {
                if key.is_some() {
                    attempt_key_email(app, &mut grant, &entitlement, 1).await?;
                }
                return Reply::created(&grant.presented(clock::now()));
            }
            IssueOutcome::Existing(grant_id) => {
                let existing = app.store.grant(req.principal_id(), &grant_id).await?;
                let existing = existing.ok_or_else(|| ApiError::internal("grant marker without grant"))?;
                return Reply::ok(&existing.presented(clock::now()));
            }
            IssueOutcome::EntitlementInactive => return Err(inactive()),
            IssueOutcome::KeyInUse | IssueOutcome::Conflict => retry::pause(attempt).await,
        }
    }
    Err(ApiError::conflict(
        "GRANT_BUSY",
        "too many concurrent changes; try again",
    ))
}

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    licensing::serve(Access::Business, handle).await
}
