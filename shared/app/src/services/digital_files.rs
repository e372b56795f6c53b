//! Digital files: upload (through the API, or presigned and then completed),
//! delete, and what reads show: an entitlement's resolved config and a
//! Delivered grant's `digital_product_delivery`, each file with a download URL
//! minted by that read. The bytes go to S3 before the file is committed to
//! DynamoDB; an object whose commit failed is deleted again, and one nothing
//! names is never served.

use crate::app::App;
use crate::call::Call;
use crate::clock;
use crate::domain::digital_files::{
    check_direct_upload, DigitalFile, DigitalFilesConfig, DigitalProductDelivery, FileRef, Filename, UploadForm,
    UploadRequest, DIRECT_UPLOAD_MAX, URL_SECONDS,
};
use crate::domain::entitlement::{Entitlement, IntegrationType};
use crate::domain::grant::{Grant, GrantStatus};
use crate::domain::refusal::Refusal;
use crate::error::{ApiError, ApiResult};
use crate::files;
use crate::ids;
use crate::reply::Reply;
use crate::retry::{until_done, Attempt};
use crate::services::entitlements::active;
use crate::store::Written;

/// What a multipart body may add to the file it carries.
const FORM_OVERHEAD: usize = 64 * 1024;

fn no_file() -> ApiError {
    ApiError::not_found("file")
}

/// The business's active digital_files entitlement and its config.
async fn digital_files(app: &App, business_id: &str, id: &str) -> ApiResult<(Entitlement, DigitalFilesConfig)> {
    let entitlement = active(app, business_id, id).await?;
    let config = entitlement.digital_files_config().ok_or_else(|| {
        ApiError::from(Refusal::conflict(
            "ENTITLEMENT_NOT_DIGITAL_FILES",
            "only a digital_files entitlement holds files",
        ))
    })?;
    Ok((entitlement, config))
}

/// `POST /entitlements/{id}/files`: the multipart body's `file` stored and
/// attached, `{file_id}`.
pub async fn upload(
    app: &App,
    call: &Call,
    entitlement_id: &str,
    content_type: Option<&str>,
    body: &[u8],
) -> ApiResult<Reply> {
    if body.len() > DIRECT_UPLOAD_MAX as usize + FORM_OVERHEAD {
        check_direct_upload(body.len() as u64)?;
    }
    let business = call.principal_id();
    digital_files(app, business, entitlement_id).await?;
    let posted = files::posted_file(content_type, body).await?;
    check_direct_upload(posted.bytes.len() as u64)?;
    let filename = Filename::new("filename", posted.filename)?;
    let file = DigitalFile {
        file_id: ids::new_id("file"),
        entitlement_id: entitlement_id.to_string(),
        filename: filename.into_inner(),
        content_type: Some(posted.content_type.clone()),
        file_size: posted.bytes.len() as u64,
        created_at: clock::now_rfc3339(),
    };
    let key = DigitalFile::object_key(business, entitlement_id, &file.file_id);
    files::put(app, &key, posted.bytes, &posted.content_type).await?;
    let attached = attach(app, call, &file, false).await;
    if attached.is_err() {
        discard_unless_attached(app, &file, &key).await;
    }
    attached
}

/// After a failed attach, deletes the object at `key` unless the file was
/// attached after all (a commit whose answer was lost, a concurrent
/// completion). DynamoDB is asked a few times, a second apart, as it may be
/// the reason the attach failed; when it cannot tell, the object stays, never
/// served.
async fn discard_unless_attached(app: &App, file: &DigitalFile, key: &str) {
    let business = file_business(key);
    for _ in 0..3 {
        match app.store.file(business, &file.entitlement_id, &file.file_id).await {
            Ok(None) => return files::discard(app, key).await,
            Ok(Some(_)) => return,
            Err(_) => tokio::time::sleep(std::time::Duration::from_secs(1)).await,
        }
    }
    tracing::warn!(key, "an object whose file may not be attached is left in the bucket");
}

/// The business of an object key (`<prefix>/<business>/<entitlement>/<file>`).
fn file_business(key: &str) -> &str {
    key.split('/').nth(1).unwrap_or_default()
}

/// Commits `file` to its entitlement, the entitlement read again on each attempt.
async fn attach(app: &App, call: &Call, file: &DigitalFile, completes_upload: bool) -> ApiResult<Reply> {
    let reply = Reply::ok(&FileRef {
        file_id: file.file_id.clone(),
    })?;
    let business = call.principal_id();
    until_done!(|_| {
        let (entitlement, config) = digital_files(app, business, &file.entitlement_id).await?;
        let mut ids = config.file_ids();
        if ids.contains(&file.file_id) {
            // Attached already (a concurrent completion of the same upload).
            return Ok(Attempt::Done(reply.clone()));
        }
        ids.push(file.file_id.clone());
        let config = config.with_files(&ids)?;
        match app
            .store
            .attach_file(
                &entitlement,
                file,
                &config,
                &clock::now_rfc3339(),
                completes_upload,
                call.answer(&reply).as_ref(),
            )
            .await?
        {
            Written::Done => Ok(Attempt::Done(reply.clone())),
            // Attached meanwhile (and perhaps dropped from the config by a patch since).
            Written::Refused { .. }
                if app
                    .store
                    .file(business, &file.entitlement_id, &file.file_id)
                    .await?
                    .is_some() =>
            {
                Ok(Attempt::Done(reply.clone()))
            }
            // The entitlement changed (another file, a patch): read it again.
            Written::Refused { .. } | Written::Conflict => Ok(Attempt::Lost),
        }
    })
    .await
}

/// `DELETE /entitlements/{id}/files/{file_id}`: detached, its bytes deleted, 204.
pub async fn delete(app: &App, call: &Call, entitlement_id: &str, file_id: &str) -> ApiResult<Reply> {
    let business = call.principal_id();
    let reply = Reply::no_content()?;
    until_done!(|_| {
        let (entitlement, config) = digital_files(app, business, entitlement_id).await?;
        if app.store.file(business, entitlement_id, file_id).await?.is_none() {
            return Err(no_file());
        }
        let ids: Vec<String> = config.file_ids().into_iter().filter(|id| id != file_id).collect();
        let config = config.with_files(&ids)?;
        match app
            .store
            .detach_file(
                &entitlement,
                file_id,
                &config,
                &clock::now_rfc3339(),
                call.answer(&reply).as_ref(),
            )
            .await?
        {
            Written::Done => Ok(Attempt::Done(())),
            Written::Refused { at: 1, .. } => Err(no_file()),
            Written::Refused { .. } | Written::Conflict => Ok(Attempt::Lost),
        }
    })
    .await?;
    files::discard(app, &DigitalFile::object_key(business, entitlement_id, file_id)).await;
    Ok(reply)
}

/// `POST /entitlements/{id}/files/uploads`: a form that uploads the declared
/// file straight to S3, 201.
pub async fn start_upload(app: &App, call: &Call, entitlement_id: &str, request: UploadRequest) -> ApiResult<Reply> {
    request.validate()?;
    let business = call.principal_id();
    let (entitlement, _) = digital_files(app, business, entitlement_id).await?;
    let file = DigitalFile {
        file_id: ids::new_id("file"),
        entitlement_id: entitlement_id.to_string(),
        filename: request.filename.into_inner(),
        content_type: Some(request.content_type.to_string()),
        file_size: request.size,
        created_at: clock::now_rfc3339(),
    };
    let key = DigitalFile::upload_key(business, entitlement_id, &file.file_id);
    let (upload_url, fields) = files::upload_form(app, &key, request.size, &request.content_type).await?;
    let reply = Reply::created(&UploadForm {
        file_id: file.file_id.clone(),
        upload_url,
        fields,
        expires_in: URL_SECONDS,
    })?;
    let now_s = clock::now().unix_timestamp();
    match app
        .store
        .start_upload(&entitlement, &file, now_s, call.answer(&reply).as_ref())
        .await?
    {
        Written::Done => Ok(reply),
        // A fresh id cannot collide; a refusal here is a bug.
        _ => Err(ApiError::internal("new upload refused")),
    }
}

/// `POST /entitlements/{id}/files/uploads/{file_id}/complete`: the uploaded
/// bytes attached as the file, once S3 holds all of them (409 before).
pub async fn complete_upload(app: &App, call: &Call, entitlement_id: &str, file_id: &str) -> ApiResult<Reply> {
    let business = call.principal_id();
    digital_files(app, business, entitlement_id).await?;
    let Some(file) = app.store.pending_upload(business, entitlement_id, file_id).await? else {
        // Completed already: the same answer again.
        return match app.store.file(business, entitlement_id, file_id).await? {
            Some(file) => Reply::ok(&FileRef { file_id: file.file_id }),
            None => Err(no_file()),
        };
    };
    let upload = DigitalFile::upload_key(business, entitlement_id, file_id);
    match files::size_of(app, &upload).await? {
        None => {
            return Err(Refusal::conflict(
                "UPLOAD_NOT_RECEIVED",
                "S3 holds no upload for this file yet: post the form first",
            )
            .into())
        }
        Some(size) if size != file.file_size => {
            return Err(Refusal::conflict(
                "UPLOAD_SIZE_MISMATCH",
                format!("the upload has {size} bytes, not the {} declared", file.file_size),
            )
            .into())
        }
        Some(_) => {}
    }
    let key = DigitalFile::object_key(business, entitlement_id, file_id);
    files::copy(app, &upload, &key).await?;
    let attached = attach(app, call, &file, true).await;
    match &attached {
        Ok(_) => files::discard(app, &upload).await,
        Err(_) => discard_unless_attached(app, &file, &key).await,
    }
    attached
}

/// The files of `entitlement`'s config, each with a fresh download URL.
async fn delivery(
    app: &App,
    entitlement: &Entitlement,
    config: &DigitalFilesConfig,
) -> ApiResult<DigitalProductDelivery> {
    let held = app
        .store
        .files_by_id(&entitlement.business_id, &entitlement.id, &config.file_ids())
        .await?;
    let mut urls = Vec::with_capacity(held.len());
    for file in &held {
        let key = DigitalFile::object_key(&entitlement.business_id, &entitlement.id, &file.file_id);
        urls.push((
            file.file_id.clone(),
            files::download_url(app, &key, &file.filename).await?,
        ));
    }
    Ok(DigitalProductDelivery::of(config, &held, |file| {
        urls.iter()
            .find(|(id, _)| *id == file.file_id)
            .map(|(_, url)| url.clone())
            .unwrap_or_default()
    }))
}

/// The entitlement as a read shows it: a digital_files config resolved, as
/// `{digital_files: {files, external_url, instructions}}`.
pub async fn resolved(app: &App, mut entitlement: Entitlement) -> ApiResult<Entitlement> {
    let Some(config) = entitlement.digital_files_config() else {
        return Ok(entitlement);
    };
    let delivery = delivery(app, &entitlement, &config).await?;
    entitlement.integration_config = serde_json::json!({ "digital_files": delivery });
    Ok(entitlement)
}

/// Entitlements as a read shows them.
pub async fn all_resolved(app: &App, entitlements: Vec<Entitlement>) -> ApiResult<Vec<Entitlement>> {
    let mut shown = Vec::with_capacity(entitlements.len());
    for entitlement in entitlements {
        shown.push(resolved(app, entitlement).await?);
    }
    Ok(shown)
}

/// Grants as a read shows them: each Delivered digital_files grant with its
/// files; the files of one entitlement are read once.
pub async fn delivered(app: &App, mut grants: Vec<Grant>) -> ApiResult<Vec<Grant>> {
    let mut seen: Vec<(String, Option<DigitalProductDelivery>)> = Vec::new();
    for grant in grants.iter_mut() {
        if grant.integration_type != IntegrationType::DigitalFiles || grant.status != GrantStatus::Delivered {
            continue;
        }
        if !seen.iter().any(|(id, _)| *id == grant.entitlement_id) {
            let entitlement = app.store.entitlement(&grant.business_id, &grant.entitlement_id).await?;
            let config = entitlement.as_ref().and_then(Entitlement::digital_files_config);
            let files = match (entitlement, config) {
                (Some(entitlement), Some(config)) => Some(delivery(app, &entitlement, &config).await?),
                _ => None,
            };
            seen.push((grant.entitlement_id.clone(), files));
        }
        grant.digital_product_delivery = seen
            .iter()
            .find(|(id, _)| *id == grant.entitlement_id)
            .and_then(|(_, files)| files.clone());
    }
    Ok(grants)
}

/// A new or changed digital_files config names only files the entitlement
/// holds (none, for a new one: files are uploaded to it once it exists).
pub async fn check_config(app: &App, entitlement: &Entitlement, config: Option<&serde_json::Value>) -> ApiResult<()> {
    let Some(config) = config
        .filter(|_| entitlement.integration_type == IntegrationType::DigitalFiles)
        .and_then(|c| serde_json::from_value::<DigitalFilesConfig>(c.clone()).ok())
    else {
        return Ok(());
    };
    if config.digital_file_ids.is_empty() {
        return Ok(());
    }
    let held: Vec<String> = app
        .store
        .files_by_id(&entitlement.business_id, &entitlement.id, &config.file_ids())
        .await?
        .into_iter()
        .map(|f| f.file_id)
        .collect();
    match config.unknown_files(&held) {
        Some(id) => Err(ApiError::validation(
            "integration_config.digital_file_ids",
            format!("{id} is no file of this entitlement: upload it with POST /entitlements/{{id}}/files"),
        )),
        None => Ok(()),
    }
}
