//! Webhook endpoints (Dodo's `webhooks` resource) and their delivery log.

use crate::app::App;
use crate::call::Call;
use crate::clock;
use crate::domain::webhook::{secret_from, Endpoint, EndpointPatch, HeadersUpdate, NewEndpoint};
use crate::error::{ApiError, ApiResult};
use crate::ids;
use crate::reply::Reply;
use crate::retry::{until_done, Attempt};
use crate::store::{PageRequest, Written};
use serde::Serialize;

fn not_found() -> ApiError {
    ApiError::not_found("webhook")
}

/// A page as the SDK's cursor pager reads it: it stops when `done` or without `iterator`.
fn iterator_page<T: Serialize>(items: &[T], next: Option<String>) -> ApiResult<Reply> {
    Reply::ok(&crate::wire::dodo::IteratorPage::new(items, next))
}

async fn endpoint(app: &App, call: &Call, id: &str) -> ApiResult<Endpoint> {
    app.store.webhook(call.principal_id(), id).await?.ok_or_else(not_found)
}

pub async fn create(app: &App, call: &Call, new: NewEndpoint) -> ApiResult<Reply> {
    let endpoint = new.into_endpoint(
        ids::new_id("wh"),
        call.principal_id(),
        secret_from(ids::random_bytes()),
        &clock::now_rfc3339(),
        app.webhook_allow_loopback,
    )?;
    let reply = Reply::created(&endpoint.details())?;
    match app
        .store
        .create_webhook(&endpoint, call.answer(&reply).as_ref())
        .await?
    {
        Written::Done => Ok(reply),
        // Throttled or in a race: nothing was written, the client may retry.
        Written::Conflict => Err(ApiError::unavailable("creating the webhook met a conflict")),
        // A fresh ULID cannot collide; a refusal here is a bug.
        Written::Refused { .. } => Err(ApiError::internal("new webhook refused")),
    }
}

pub async fn get(app: &App, call: &Call, id: &str) -> ApiResult<Reply> {
    Reply::ok(&endpoint(app, call, id).await?.details())
}

pub async fn list(app: &App, call: &Call, page: &PageRequest) -> ApiResult<Reply> {
    let page = app.store.list_webhooks(call.principal_id(), page).await?;
    let details: Vec<_> = page.items.iter().map(Endpoint::details).collect();
    iterator_page(&details, page.next_cursor)
}

pub async fn secret(app: &App, call: &Call, id: &str) -> ApiResult<Reply> {
    let secret = endpoint(app, call, id).await?.secret;
    Reply::ok(&crate::wire::dodo::WebhookSecret { secret })
}

pub async fn headers(app: &App, call: &Call, id: &str) -> ApiResult<Reply> {
    let endpoint = endpoint(app, call, id).await?;
    let (headers, sensitive) = endpoint.shown_headers();
    Reply::ok(&crate::wire::dodo::WebhookHeadersView { headers, sensitive })
}

pub async fn deliveries(app: &App, call: &Call, id: &str, page: &PageRequest) -> ApiResult<Reply> {
    let endpoint = endpoint(app, call, id).await?;
    let page = app.store.list_deliveries(&endpoint.id, page).await?;
    iterator_page(&page.items, page.next_cursor)
}

pub async fn update(app: &App, call: &Call, id: &str, patch: EndpointPatch) -> ApiResult<Reply> {
    let allow_loopback = app.webhook_allow_loopback;
    replace(app, call, id, |current, now| {
        let next = patch.clone().applied_to(current, now, allow_loopback)?;
        Ok((Reply::ok(&next.details())?, next))
    })
    .await
}

pub async fn update_headers(app: &App, call: &Call, id: &str, update: HeadersUpdate) -> ApiResult<Reply> {
    replace(app, call, id, |current, now| {
        Ok((Reply::no_content()?, update.clone().applied_to(current, now)?))
    })
    .await
}

/// Writes what `change` makes of the endpoint, conditioned on it being as read.
async fn replace(
    app: &App,
    call: &Call,
    id: &str,
    change: impl Fn(&Endpoint, &str) -> ApiResult<(Reply, Endpoint)>,
) -> ApiResult<Reply> {
    until_done!(|_| {
        let current = endpoint(app, call, id).await?;
        let (reply, next) = change(&current, &clock::now_rfc3339())?;
        match app
            .store
            .replace_webhook(&current, &next, call.answer(&reply).as_ref())
            .await?
        {
            Written::Done => Ok(Attempt::Done(reply)),
            Written::Refused { .. } | Written::Conflict => Ok(Attempt::Lost),
        }
    })
    .await
}

pub async fn delete(app: &App, call: &Call, id: &str) -> ApiResult<Reply> {
    let reply = Reply::no_content()?;
    until_done!(|_| {
        match app
            .store
            .delete_webhook(call.principal_id(), id, call.answer(&reply).as_ref())
            .await?
        {
            Written::Done => Ok(Attempt::Done(())),
            Written::Refused { .. } => Err(not_found()),
            Written::Conflict => Ok(Attempt::Lost),
        }
    })
    .await?;
    Ok(reply)
}
