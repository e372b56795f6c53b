//! An entitlement's translations: put (create or replace one locale), list,
//! delete; and the entitlement as a read in a locale shows it.

use crate::app::App;
use crate::call::Call;
use crate::clock;
use crate::domain::entitlement::Entitlement;
use crate::domain::translation::{EntitlementTranslationList, Locale, TranslationInput};
use crate::error::{ApiError, ApiResult};
use crate::reply::Reply;
use crate::retry::{until_done, Attempt};
use crate::services::entitlements::active;
use crate::store::Written;

fn no_translation() -> ApiError {
    ApiError::not_found("translation")
}

/// `PUT /entitlements/{id}/translations/{locale}`: 201 for a new locale, 200
/// for a replaced one.
pub async fn put(
    app: &App,
    call: &Call,
    entitlement_id: &str,
    locale: &str,
    input: TranslationInput,
) -> ApiResult<Reply> {
    let locale = Locale::parse("locale", locale)?;
    let business = call.principal_id();
    let mut input = Some(input);
    let mut checked = None;
    until_done!(|_| {
        let entitlement = active(app, business, entitlement_id).await?;
        let current = app.store.translation(business, entitlement_id, locale).await?;
        // The type cannot change, so the body is checked once.
        let translation = match (checked.take(), input.take()) {
            (Some(done), _) => done,
            (None, Some(body)) => body.into_translation(locale, entitlement.integration_type, &clock::now_rfc3339())?,
            (None, None) => return Err(ApiError::internal("translation body taken twice")),
        };
        let mut written = translation.clone();
        written.updated_at = clock::now_rfc3339();
        let reply = match current {
            None => Reply::created(&written)?,
            Some(_) => Reply::ok(&written)?,
        };
        match app
            .store
            .put_translation(&entitlement, current.as_ref(), &written, call.answer(&reply).as_ref())
            .await?
        {
            Written::Done => Ok(Attempt::Done(reply)),
            // Deleted meanwhile (the next read says 404), or the locale changed under us.
            Written::Refused { .. } | Written::Conflict => {
                checked = Some(translation);
                Ok(Attempt::Lost)
            }
        }
    })
    .await
}

/// `GET /entitlements/{id}/translations?locale=fr&locale=de`: `{items}`.
pub async fn list<'a>(
    app: &App,
    call: &Call,
    entitlement_id: &str,
    locales: impl IntoIterator<Item = &'a str>,
) -> ApiResult<Reply> {
    let wanted = Locale::filter(locales)?;
    active(app, call.principal_id(), entitlement_id).await?;
    let mut items = app.store.translations(call.principal_id(), entitlement_id).await?;
    if !wanted.is_empty() {
        items.retain(|t| wanted.contains(&t.locale));
    }
    items.sort_by_key(|t| Locale::ALL.iter().position(|l| *l == t.locale));
    Reply::ok(&EntitlementTranslationList { items })
}

/// `DELETE /entitlements/{id}/translations/{locale}`: 204; none in that locale: 404.
pub async fn delete(app: &App, call: &Call, entitlement_id: &str, locale: &str) -> ApiResult<Reply> {
    let locale = Locale::parse("locale", locale)?;
    let reply = Reply::no_content()?;
    until_done!(|_| {
        let entitlement = active(app, call.principal_id(), entitlement_id).await?;
        match app
            .store
            .delete_translation(&entitlement, locale, call.answer(&reply).as_ref())
            .await?
        {
            Written::Done => Ok(Attempt::Done(())),
            Written::Refused { at: 1, .. } => Err(no_translation()),
            Written::Refused { .. } | Written::Conflict => Ok(Attempt::Lost),
        }
    })
    .await?;
    Ok(reply)
}

/// The entitlement as a read in `locale` shows it.
pub async fn in_locale(app: &App, entitlement: Entitlement, locale: Option<Locale>) -> ApiResult<Entitlement> {
    let Some(locale) = locale else {
        return Ok(entitlement);
    };
    let translation = app
        .store
        .translation(&entitlement.business_id, &entitlement.id, locale)
        .await?;
    Ok(entitlement.translated(translation.as_ref()))
}

/// A page of entitlements as a read in `locale` shows them: one batch read.
pub async fn page_in_locale(
    app: &App,
    business_id: &str,
    entitlements: Vec<Entitlement>,
    locale: Option<Locale>,
) -> ApiResult<Vec<Entitlement>> {
    let Some(locale) = locale else {
        return Ok(entitlements);
    };
    let ids: Vec<&str> = entitlements.iter().map(|e| e.id.as_str()).collect();
    let found = app.store.translations_in(business_id, &ids, locale).await?;
    Ok(entitlements
        .into_iter()
        .map(|e| {
            let translation = found.iter().find(|(id, _)| *id == e.id).map(|(_, t)| t);
            e.translated(translation)
        })
        .collect())
}
