//! Entitlements: create, read, list, change, soft delete.

use crate::app::App;
use crate::call::Call;
use crate::clock;
use crate::domain::entitlement::{Entitlement, EntitlementPatch, IntegrationType, NewEntitlement};
use crate::domain::translation::Locale;
use crate::error::{ApiError, ApiResult};
use crate::ids;
use crate::reply::Reply;
use crate::retry::{until_done, Attempt};
use crate::services::{digital_files, translations};
use crate::store::{PageRequest, Written};

fn not_found() -> ApiError {
    ApiError::not_found("entitlement")
}

pub async fn create(app: &App, call: &Call, new: NewEntitlement) -> ApiResult<Reply> {
    let entitlement = new.into_entitlement(ids::new_id("ent"), call.principal_id(), &clock::now_rfc3339())?;
    // A new digital_files entitlement holds no file yet: resolving it reads nothing.
    let reply = Reply::created(&digital_files::resolved(app, entitlement.clone()).await?)?;
    match app
        .store
        .create_entitlement(&entitlement, call.answer(&reply).as_ref())
        .await?
    {
        Written::Done => Ok(reply),
        // A fresh ULID cannot collide; a refusal here is a bug.
        _ => Err(ApiError::internal("new entitlement refused")),
    }
}

/// The business's active entitlement `id`; a deleted or foreign one is not found.
pub async fn active(app: &App, business_id: &str, id: &str) -> ApiResult<Entitlement> {
    app.store
        .entitlement(business_id, id)
        .await?
        .filter(|e| e.is_active)
        .ok_or_else(not_found)
}

/// `GET /entitlements/{id}?locale=`: in that locale, field by field over the base text.
pub async fn get(app: &App, call: &Call, id: &str, locale: Option<&str>) -> ApiResult<Reply> {
    let locale = Locale::shown(locale)?;
    let entitlement = active(app, call.principal_id(), id).await?;
    let shown = translations::in_locale(app, entitlement, locale).await?;
    Reply::ok(&digital_files::resolved(app, shown).await?)
}

pub async fn list(
    app: &App,
    call: &Call,
    integration_type: Option<&str>,
    locale: Option<&str>,
    page: &PageRequest,
) -> ApiResult<Reply> {
    let integration_type = IntegrationType::filter(integration_type)?;
    let locale = Locale::shown(locale)?;
    let page = app
        .store
        .list_entitlements(call.principal_id(), integration_type, page)
        .await?;
    let items = translations::page_in_locale(app, call.principal_id(), page.items, locale).await?;
    Reply::page(&digital_files::all_resolved(app, items).await?, page.next_cursor)
}

/// Writes only the fields the patch names, conditioned on the entitlement being
/// as read, so the answer is exactly what was stored.
pub async fn update(app: &App, call: &Call, id: &str, patch: EntitlementPatch) -> ApiResult<Reply> {
    let current = active(app, call.principal_id(), id).await?;
    // The type is immutable, so the patch is validated once.
    let changes = patch.validate(current.integration_type)?;
    // The first attempt writes over the entitlement as read here; each later one reads it again.
    let mut read = Some(current);
    until_done!(|_| {
        let current = match read.take() {
            Some(current) => current,
            None => active(app, call.principal_id(), id).await?,
        };
        digital_files::check_config(app, &current, changes.integration_config.as_ref()).await?;
        let now = clock::now_rfc3339();
        let reply = Reply::ok(&digital_files::resolved(app, changes.applied_to(&current, &now)).await?)?;
        match app
            .store
            .update_entitlement(&current, &changes, &now, call.answer(&reply).as_ref())
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
            .deactivate_entitlement(
                call.principal_id(),
                id,
                &clock::now_rfc3339(),
                call.answer(&reply).as_ref(),
            )
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
