//! The files bucket (S3): the bytes of digital files, presigned download URLs
//! and upload forms, and the multipart body of an upload through the API.
//! S3 out of reach is a 503, as DynamoDB is.

use crate::app::App;
use crate::domain::digital_files::URL_SECONDS;
use crate::domain::upload_policy::{form_fields, Signer, Upload};
use crate::error::{ApiError, ApiResult};
use aws_credential_types::provider::ProvideCredentials;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::presigning::PresigningConfig;
use std::collections::BTreeMap;
use std::time::Duration;

fn s3_error<E: std::error::Error + ProvideErrorMetadata + 'static>(err: SdkError<E>) -> ApiError {
    let transient = match &err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => true,
        SdkError::ServiceError(service) => {
            service.raw().status().is_server_error() || service.err().code() == Some("SlowDown")
        }
        _ => false,
    };
    let detail = crate::error::chain(&err);
    if transient {
        ApiError::unavailable(detail)
    } else {
        ApiError::internal(detail)
    }
}

fn presigning() -> ApiResult<PresigningConfig> {
    PresigningConfig::expires_in(Duration::from_secs(URL_SECONDS.into())).map_err(ApiError::internal)
}

/// Stores `bytes` under `key`.
pub async fn put(app: &App, key: &str, bytes: Vec<u8>, content_type: &str) -> ApiResult<()> {
    app.s3()
        .put_object()
        .bucket(&app.files_bucket)
        .key(key)
        .content_type(content_type)
        .body(bytes.into())
        .send()
        .await
        .map_err(s3_error)?;
    Ok(())
}

/// The size of the object under `key`, or `None` when there is none. S3
/// answers a missing key 403, not 404, to a role without `s3:ListBucket`
/// (which the functions are not given): with `s3:GetObject` on the key, a 403
/// means it is not there.
pub async fn size_of(app: &App, key: &str) -> ApiResult<Option<u64>> {
    match app.s3().head_object().bucket(&app.files_bucket).key(key).send().await {
        Ok(head) => Ok(Some(head.content_length().unwrap_or_default().max(0) as u64)),
        Err(SdkError::ServiceError(service))
            if service.err().is_not_found() || service.raw().status().as_u16() == 403 =>
        {
            Ok(None)
        }
        Err(err) => Err(s3_error(err)),
    }
}

/// Copies the object under `from` to `to`, in the bucket (S3 copies up to 5 GB at once).
pub async fn copy(app: &App, from: &str, to: &str) -> ApiResult<()> {
    app.s3()
        .copy_object()
        .bucket(&app.files_bucket)
        .copy_source(format!("{}/{from}", app.files_bucket))
        .key(to)
        .send()
        .await
        .map_err(s3_error)?;
    Ok(())
}

pub async fn delete(app: &App, key: &str) -> ApiResult<()> {
    app.s3()
        .delete_object()
        .bucket(&app.files_bucket)
        .key(key)
        .send()
        .await
        .map_err(s3_error)?;
    Ok(())
}

/// Removes an object nothing names any more; one left behind is never served,
/// so a failure is only logged.
pub async fn discard(app: &App, key: &str) {
    if let Err(err) = delete(app, key).await {
        tracing::warn!(key, error = %err.message, "could not delete an object no file names");
    }
}

/// A URL that downloads the object under `key` as `filename` for `URL_SECONDS`.
pub async fn download_url(app: &App, key: &str, filename: &str) -> ApiResult<String> {
    let ascii: String = filename
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let request = app
        .s3()
        .get_object()
        .bucket(&app.files_bucket)
        .key(key)
        .response_content_disposition(format!("attachment; filename=\"{ascii}\""))
        .presigned(presigning()?)
        .await
        .map_err(s3_error)?;
    Ok(request.uri().to_string())
}

/// A form that uploads exactly `size` bytes of `content_type` under `key`
/// with an HTTP POST to the returned URL, for `URL_SECONDS`.
pub async fn upload_form(
    app: &App,
    key: &str,
    size: u64,
    content_type: &str,
) -> ApiResult<(String, BTreeMap<String, String>)> {
    // The bucket's URL as the SDK addresses it (its endpoint, path or
    // virtual-host style): a presigned PUT of the key, less the key.
    let put = app
        .s3()
        .put_object()
        .bucket(&app.files_bucket)
        .key(key)
        .presigned(presigning()?)
        .await
        .map_err(s3_error)?;
    let uri = put.uri();
    let path = uri.split('?').next().unwrap_or(uri);
    let url = path.strip_suffix(&format!("/{key}")).unwrap_or(path).to_string();
    let provider = app
        .config()
        .credentials_provider()
        .ok_or_else(|| ApiError::internal("no AWS credentials to sign an upload with"))?;
    let credentials = provider.provide_credentials().await.map_err(ApiError::unavailable)?;
    let region = app.config().region().map(|r| r.to_string()).unwrap_or_default();
    let signer = Signer {
        access_key_id: credentials.access_key_id(),
        secret_access_key: credentials.secret_access_key(),
        session_token: credentials.session_token(),
        region: &region,
    };
    let upload = Upload {
        bucket: &app.files_bucket,
        key,
        size,
        content_type,
    };
    let fields = form_fields(&upload, &signer, crate::clock::now(), URL_SECONDS.into());
    Ok((url, fields))
}

/// The file of an upload through the API: its bytes, name and type.
pub struct PostedFile {
    pub bytes: Vec<u8>,
    pub filename: String,
    pub content_type: String,
}

/// The `file` part (and an optional `filename` field) of a multipart/form-data
/// body, as the TypeScript SDK's `entitlements.files.upload` sends it.
pub async fn posted_file(content_type: Option<&str>, body: &[u8]) -> ApiResult<PostedFile> {
    let no_file = || ApiError::validation("file", "is required: send multipart/form-data with a `file` part");
    let boundary = content_type
        .and_then(|t| multer::parse_boundary(t).ok())
        .ok_or_else(no_file)?;
    let bytes = bytes::Bytes::copy_from_slice(body);
    let stream = futures_util::stream::once(async move { Ok::<_, std::convert::Infallible>(bytes) });
    let mut form = multer::Multipart::new(stream, boundary);
    let malformed =
        |err: multer::Error| ApiError::validation("body", format!("is not valid multipart/form-data: {err}"));
    let (mut file, mut filename) = (None, None);
    while let Some(field) = form.next_field().await.map_err(malformed)? {
        match field.name() {
            Some("file") => {
                let name = field.file_name().map(str::to_string);
                let kind = field.content_type().map(|m| m.to_string());
                let bytes = field.bytes().await.map_err(malformed)?;
                file = Some((bytes, name, kind));
            }
            Some("filename") => filename = Some(field.text().await.map_err(malformed)?),
            _ => {}
        }
    }
    let (bytes, part_name, kind) = file.ok_or_else(no_file)?;
    let filename = filename
        .filter(|name| !name.is_empty())
        .or(part_name)
        .unwrap_or_else(|| "file".to_string());
    Ok(PostedFile {
        bytes: bytes.to_vec(),
        filename,
        content_type: kind.unwrap_or_else(|| "application/octet-stream".to_string()),
    })
}
