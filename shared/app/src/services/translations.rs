//! Translations of what a business sells (an entitlement, a credit
//! entitlement): put (create or replace one locale), list, delete, and reads
//! in a locale. The entitlement's routes are here; a credit entitlement's
//! call the same `*_of` functions from `credits.rs`.

use crate::app::App;
use crate::call::Call;
use crate::clock;
use crate::domain::entitlement::Entitlement;
use crate::domain::translation::{EntitlementTranslation, Locale, Translation, TranslationInput};
use crate::error::{ApiError, ApiResult};
use crate::reply::Reply;
use crate::retry::{until_done, Attempt};
use crate::services::entitlements::active;
use crate::store::{Translated, Written};

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
    let entitlement = active(app, call.principal_id(), entitlement_id).await?;
    // The type cannot change, so the body is checked once.
    let translation = input.into_translation(locale, entitlement.integration_type, &clock::now_rfc3339())?;
    let of = Translated::entitlement(call.principal_id(), entitlement_id);
    put_of(app, call, &of, translation, || ApiError::not_found("entitlement")).await
}

/// Writes `translation` over the one there is (if any) while what it
/// translates is active (`gone` otherwise).
pub async fn put_of<T: Translation>(
    app: &App,
    call: &Call,
    of: &Translated<'_>,
    translation: T,
    gone: fn() -> ApiError,
) -> ApiResult<Reply> {
    until_done!(|_| {
        let current: Option<T> = app.store.translation(of, translation.locale()).await?;
        let written = translation.clone().written_at(&clock::now_rfc3339());
        let reply = match current {
            None => Reply::created(&written)?,
            Some(_) => Reply::ok(&written)?,
        };
        match app
            .store
            .put_translation(of, current.as_ref(), &written, call.answer(&reply).as_ref())
            .await?
        {
            Written::Done => Ok(Attempt::Done(reply)),
            Written::Refused { at: 0, .. } => Err(gone()),
            // The locale changed under us: read it again.
            Written::Refused { .. } | Written::Conflict => Ok(Attempt::Lost),
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
    let of = Translated::entitlement(call.principal_id(), entitlement_id);
    list_of::<EntitlementTranslation>(app, &of, &wanted).await
}

/// `{items}`: the translations in `wanted` (none: all), in the order of the locale list.
pub async fn list_of<T: Translation>(app: &App, of: &Translated<'_>, wanted: &[Locale]) -> ApiResult<Reply> {
    let mut items: Vec<T> = app.store.translations(of).await?;
    if !wanted.is_empty() {
        items.retain(|t| wanted.contains(&t.locale()));
    }
    items.sort_by_key(|t| Locale::ALL.iter().position(|l| *l == t.locale()));
    Reply::ok(&serde_json::json!({ "items": items }))
}

/// `DELETE /entitlements/{id}/translations/{locale}`: 204; none in that locale: 404.
pub async fn delete(app: &App, call: &Call, entitlement_id: &str, locale: &str) -> ApiResult<Reply> {
    let locale = Locale::parse("locale", locale)?;
    let of = Translated::entitlement(call.principal_id(), entitlement_id);
    delete_of(app, call, &of, locale, || ApiError::not_found("entitlement")).await
}

/// Deletes the translation in `locale`: 204; none: 404; what it translates
/// not active: `gone`.
pub async fn delete_of(
    app: &App,
    call: &Call,
    of: &Translated<'_>,
    locale: Locale,
    gone: fn() -> ApiError,
) -> ApiResult<Reply> {
    let reply = Reply::no_content()?;
    until_done!(|_| {
        match app
            .store
            .delete_translation(of, locale, call.answer(&reply).as_ref())
            .await?
        {
            Written::Done => Ok(Attempt::Done(())),
            Written::Refused { at: 0, .. } => Err(gone()),
            Written::Refused { .. } => Err(no_translation()),
            Written::Conflict => Ok(Attempt::Lost),
        }
    })
    .await?;
    Ok(reply)
}

/// The translation a read in `locale` shows, if any.
pub async fn shown_in<T: Translation>(app: &App, of: &Translated<'_>, locale: Option<Locale>) -> ApiResult<Option<T>> {
    match locale {
        Some(locale) => Ok(app.store.translation(of, locale).await?),
        None => Ok(None),
    }
}

/// The translations a page read in `locale` shows, one per item of `of` (one batch read).
pub async fn each_shown_in<T: Translation>(
    app: &App,
    of: &[Translated<'_>],
    locale: Option<Locale>,
) -> ApiResult<Vec<Option<T>>> {
    let mut shown: Vec<Option<T>> = of.iter().map(|_| None).collect();
    if let Some(locale) = locale {
        for (at, translation) in app.store.translations_in(of, locale).await? {
            shown[at] = Some(translation);
        }
    }
    Ok(shown)
}

/// The entitlement as a read in `locale` shows it.
pub async fn in_locale(app: &App, entitlement: Entitlement, locale: Option<Locale>) -> ApiResult<Entitlement> {
    let of = Translated::entitlement(&entitlement.business_id, &entitlement.id);
    let translation: Option<EntitlementTranslation> = shown_in(app, &of, locale).await?;
    Ok(entitlement.translated(translation.as_ref()))
}

/// A page of entitlements as a read in `locale` shows them.
pub async fn page_in_locale(
    app: &App,
    business_id: &str,
    entitlements: Vec<Entitlement>,
    locale: Option<Locale>,
) -> ApiResult<Vec<Entitlement>> {
    let of: Vec<Translated> = entitlements
        .iter()
        .map(|e| Translated::entitlement(business_id, &e.id))
        .collect();
    let shown: Vec<Option<EntitlementTranslation>> = each_shown_in(app, &of, locale).await?;
    Ok(entitlements
        .into_iter()
        .zip(shown)
        .map(|(e, t)| e.translated(t.as_ref()))
        .collect())
}
