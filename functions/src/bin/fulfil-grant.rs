//! POST /grants/{grant_id}/license-key: fulfil a Pending manual license-key grant.
use licensing::delivery::{attempt_key_email, ATTEMPT_LEASE_MS};
use licensing::domain::grant::{fulfilment_blocker, grant_state_blocker, key_in_use, Fulfilment};
use licensing::domain::license_key::KeySource;
use licensing::store::FulfilOutcome;
use licensing::{clock, retry, Access, ApiError, ApiResult, App, Reply, Request};

async fn handle(app: &'static App, req: Request) -> ApiResult<Reply> {
    let grant_id = req.path("grant_id")?;
    let body: Fulfilment = req.json()?;
    body.check_key()?;
    let not_found = || ApiError::not_found("grant");

    for attempt in 0..retry::MAX_CONFLICT_RETRIES {
        // The key is looked up before the grant, so a fulfilment that lost the race
        // for this grant reads it as no longer Pending, which the contract ranks first.
        let key_taken = app.store.license_key_by_value(&body.key).await?.is_some();
        let grant = app
            .store
            .grant(req.principal_id(), &grant_id)
            .await?
            .ok_or_else(not_found)?;
        let entitlement = app
            .store
            .entitlement(req.principal_id(), &grant.entitlement_id)
            .await?
            .ok_or_else(not_found)?;
        if let Some(blocker) = fulfilment_blocker(&grant, &entitlement) {
            return Err(blocker);
        }
        if key_taken {
            return Err(key_in_use());
        }
        let now = clock::now();
        let (limit, expires_at) = body.resolve(&entitlement, now)?;
        let mut delivered = grant.clone();
        let key = delivered.deliver(
            &entitlement,
            body.key.clone(),
            KeySource::Manual,
            limit,
            expires_at,
            &clock::rfc3339(now),
        );
        match app
            .store
            .fulfil_grant(&delivered, &key, clock::now_millis() + ATTEMPT_LEASE_MS)
            .await?
        {
            FulfilOutcome::Fulfilled => {
                attempt_key_email(app, &mut delivered, &entitlement, 1).await?;
                return Reply::ok(&delivered.presented(clock::now()));
            }
            FulfilOutcome::GrantChanged(current) => {
                if let Some(blocker) = grant_state_blocker(&current) {
                    return Err(blocker);
                }
            }
            FulfilOutcome::KeyInUse => return Err(key_in_use()),
            FulfilOutcome::Conflict => {}
        }
        retry::pause(attempt).await;
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
