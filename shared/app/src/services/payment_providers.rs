//! A seller's connection to its payment provider (SPEC §1.6): the secret the
//! provider signs its webhooks with, and the URL of this service it is to
//! send them to.

use crate::app::App;
use crate::call::Call;
use crate::clock;
use crate::domain::payment_provider::{Connection, ConnectionUpdate, Provider};
use crate::error::{ApiError, ApiResult};
use crate::reply::Reply;
use crate::retry::{until_done, Attempt};
use crate::store::Written;

/// Sets the signing secret, the one it replaces verifying for a day more,
/// written under the version read. `base_url` is where the caller reached this
/// API (`Request::base_url`): the provider delivers to the inbound route there.
pub async fn connect(
    app: &App,
    call: &Call,
    provider: Provider,
    base_url: Option<&str>,
    update: ConnectionUpdate,
) -> ApiResult<Reply> {
    let business_id = call.principal_id();
    let base_url = base_url.ok_or_else(|| ApiError::internal("no domain name in the request"))?;
    let webhook_url = format!("{base_url}{}", provider.inbound_path(business_id));
    until_done!(|_| {
        let current = app.store.payment_provider(business_id, provider).await?;
        let secret = update.webhook_secret.clone();
        let connection = Connection::with_secret(current.as_ref(), business_id, provider, secret, clock::now());
        let reply = Reply::ok(&connection.view(webhook_url.clone()))?;
        match app
            .store
            .put_payment_provider(&connection, call.answer(&reply).as_ref())
            .await?
        {
            Written::Done => Ok(Attempt::Done(reply)),
            // Another write came first: read it and decide again.
            Written::Refused { .. } | Written::Conflict => Ok(Attempt::Lost),
        }
    })
    .await
}
