//! Digital files: a `digital_files` entitlement's config, the files it holds
//! (their bytes are in S3), and what a customer's grant delivers: each file
//! with a download URL minted on every read, never stored.

use crate::json::{List, Text};
use crate::refusal::{Refusal, RuleResult};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A file's bytes through `POST /entitlements/{id}/files` at most: API
/// Gateway base64-encodes a binary body into Lambda's 6 MB request.
pub const DIRECT_UPLOAD_MAX: u64 = 4 * 1024 * 1024;
/// A file through a presigned upload at most.
pub const PRESIGNED_UPLOAD_MAX: u64 = 500 * 1024 * 1024;
/// Files one entitlement names at most: a page of 100 grants, each file
/// with its download URL (up to about 2 KB with a session token), stays well
/// inside Lambda's 6 MB answer.
pub const FILES_MAX: usize = 20;
/// How long a download URL works, and a presigned upload may start.
pub const URL_SECONDS: u32 = 900;

pub const INSTRUCTIONS_MAX: usize = 2500;
pub type Instructions = crate::json::Prose<0, INSTRUCTIONS_MAX>;
pub type FileId = Text<1, 64>;
pub type Filename = crate::json::Line<1, 255>;
pub type ExternalUrl = Text<1, 2048>;
pub type ContentType = crate::json::Line<1, 255>;

/// `integration_config` of a `digital_files` entitlement as given and stored:
/// the files by id (uploaded to the entitlement), a link and instructions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DigitalFilesConfig {
    #[schema(value_type = Vec<String>, max_items = 20)]
    pub digital_file_ids: List<FileId, FILES_MAX>,
    #[serde(default)]
    #[schema(value_type = Option<String>, max_length = 2048)]
    pub external_url: Option<ExternalUrl>,
    #[serde(default)]
    #[schema(value_type = Option<String>, max_length = 2500)]
    pub instructions: Option<Instructions>,
    #[serde(default)]
    #[schema(value_type = Option<Vec<String>>, max_items = 100)]
    pub legacy_file_ids: Option<List<Text<1, 255>, FILES_MAX>>,
}

impl DigitalFilesConfig {
    pub fn validate(&self) -> RuleResult<()> {
        if let Some(url) = &self.external_url {
            let scheme_ok = url.starts_with("https://") || url.starts_with("http://");
            if !scheme_ok || url.chars().any(char::is_whitespace) {
                return Err(Refusal::invalid(
                    "integration_config.external_url",
                    "must be an http or https URL",
                ));
            }
        }
        let ids = &self.digital_file_ids;
        if ids.iter().enumerate().any(|(i, id)| ids[..i].contains(id)) {
            return Err(Refusal::invalid(
                "integration_config.digital_file_ids",
                "names a file twice",
            ));
        }
        Ok(())
    }

    pub fn file_ids(&self) -> Vec<String> {
        self.digital_file_ids.iter().map(|id| id.to_string()).collect()
    }

    /// The config with `ids` as its files, in that order.
    pub fn with_files(&self, ids: &[String]) -> RuleResult<Self> {
        if ids.len() > FILES_MAX {
            return Err(Refusal::invalid(
                "file",
                format!("the entitlement holds {FILES_MAX} files, the most it may (each read signs a URL per file)"),
            ));
        }
        let list = serde_json::to_value(ids)
            .and_then(serde_json::from_value)
            .map_err(|err| Refusal::invalid("digital_file_ids", err))?;
        Ok(Self {
            digital_file_ids: list,
            ..self.clone()
        })
    }

    /// The file ids a change of the config names that the entitlement does
    /// not hold (`held`): a config may reorder or drop its files, not invent one.
    pub fn unknown_files<'a>(&'a self, held: &[String]) -> Option<&'a str> {
        self.digital_file_ids
            .iter()
            .find(|id| !held.iter().any(|h| h == id.as_str()))
            .map(|id| id.as_str())
    }
}

/// One file of an entitlement, as stored (its bytes under `object_key`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DigitalFile {
    pub file_id: String,
    pub entitlement_id: String,
    pub filename: String,
    pub content_type: Option<String>,
    pub file_size: u64,
    pub created_at: String,
}

impl DigitalFile {
    /// Where a file's bytes are kept once it is attached.
    pub fn object_key(business_id: &str, entitlement_id: &str, file_id: &str) -> String {
        format!("files/{business_id}/{entitlement_id}/{file_id}")
    }

    /// Where a presigned upload puts the bytes until it is completed; the
    /// bucket's lifecycle drops what is left there a day on.
    pub fn upload_key(business_id: &str, entitlement_id: &str, file_id: &str) -> String {
        format!("uploads/{business_id}/{entitlement_id}/{file_id}")
    }
}

/// One file as a read delivers it (the SDK's `DigitalProductDeliveryFile`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DeliveredFile {
    pub file_id: String,
    pub filename: String,
    /// Presigned, valid `expires_in` seconds from the read.
    pub download_url: String,
    pub expires_in: u32,
    #[schema(required = true)]
    pub content_type: Option<String>,
    #[schema(required = true)]
    pub file_size: Option<u64>,
}

/// What a digital_files grant delivers (the SDK's `DigitalProductDelivery`),
/// and, wrapped in `digital_files`, its entitlement's config as read.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DigitalProductDelivery {
    pub files: Vec<DeliveredFile>,
    #[schema(required = true)]
    pub external_url: Option<String>,
    #[schema(required = true)]
    pub instructions: Option<String>,
}

impl DigitalProductDelivery {
    /// `config`'s files in its order, each with the URL `url` gives it; a file
    /// the config names but the entitlement no longer holds is left out.
    pub fn of(config: &DigitalFilesConfig, files: &[DigitalFile], url: impl Fn(&DigitalFile) -> String) -> Self {
        let delivered = config
            .digital_file_ids
            .iter()
            .filter_map(|id| files.iter().find(|f| f.file_id == id.as_str()))
            .map(|file| DeliveredFile {
                file_id: file.file_id.clone(),
                filename: file.filename.clone(),
                download_url: url(file),
                expires_in: URL_SECONDS,
                content_type: file.content_type.clone(),
                file_size: Some(file.file_size),
            })
            .collect();
        Self {
            files: delivered,
            external_url: config.external_url.as_ref().map(|u| u.to_string()),
            instructions: config.instructions.as_ref().map(|i| i.to_string()),
        }
    }
}

/// What an upload answers (the SDK's `FileUploadResponse`).
#[derive(Debug, Serialize, ToSchema)]
pub struct FileRef {
    /// Pass it to `DELETE /entitlements/{id}/files/{file_id}` to detach the file.
    pub file_id: String,
}

/// A presigned upload: POST `fields` and then the file (as the form's last
/// part, `file`) to `upload_url` within `expires_in` seconds, then complete it.
#[derive(Debug, Serialize, ToSchema)]
pub struct UploadForm {
    pub file_id: String,
    pub upload_url: String,
    /// The form fields to send as given, before the file.
    #[schema(value_type = Object, additional_properties)]
    pub fields: std::collections::BTreeMap<String, String>,
    pub expires_in: u32,
}

/// Blanks every `download_url` in `value` (and its `expires_in`): what an
/// answer keeps of its files when it is stored.
pub fn without_download_urls(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(object) => {
            if object.get("download_url").is_some_and(serde_json::Value::is_string) {
                object.insert("download_url".into(), "".into());
                object.insert("expires_in".into(), 0.into());
            }
            object.values_mut().for_each(without_download_urls);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(without_download_urls),
        _ => {}
    }
}

/// `POST /entitlements/{id}/files/uploads`: a presigned upload of a file of
/// `size` bytes (larger than a request may carry).
#[derive(Debug, Deserialize, ToSchema)]
pub struct UploadRequest {
    #[schema(inline)]
    pub filename: Filename,
    #[schema(inline)]
    pub content_type: ContentType,
    /// Bytes, 1 to 524288000 (500 MiB).
    #[schema(minimum = 1, maximum = 524_288_000)]
    pub size: u64,
}

impl UploadRequest {
    pub fn validate(&self) -> RuleResult<()> {
        if !(1..=PRESIGNED_UPLOAD_MAX).contains(&self.size) {
            return Err(Refusal::invalid(
                "size",
                format!("must be from 1 to {PRESIGNED_UPLOAD_MAX} bytes"),
            ));
        }
        Ok(())
    }
}

/// A file uploaded through the route: refused when empty or past the route's limit.
pub fn check_direct_upload(size: u64) -> RuleResult<()> {
    if size == 0 {
        return Err(Refusal::invalid("file", "must not be empty"));
    }
    if size > DIRECT_UPLOAD_MAX {
        return Err(Refusal::too_large(
            "FILE_TOO_LARGE",
            format!(
                "a file through this route is at most {DIRECT_UPLOAD_MAX} bytes; use POST \
                 /entitlements/{{id}}/files/uploads for up to {PRESIGNED_UPLOAD_MAX}"
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn config(value: serde_json::Value) -> Result<DigitalFilesConfig, String> {
        let config: DigitalFilesConfig = serde_json::from_value(value).map_err(|e| e.to_string())?;
        config.validate().map_err(|e| e.message)?;
        Ok(config)
    }

    #[test]
    fn a_config_names_its_files_once_and_an_http_link() {
        assert!(config(json!({"digital_file_ids": []})).is_ok());
        assert!(config(
            json!({"digital_file_ids": ["f1"], "external_url": "https://x.example/a", "instructions": "Unzip"})
        )
        .is_ok());
        assert!(config(json!({})).is_err(), "digital_file_ids is required");
        assert!(config(json!({"digital_file_ids": ["f1", "f1"]}))
            .unwrap_err()
            .contains("twice"));
        assert!(config(json!({"digital_file_ids": [], "external_url": "ftp://x"}))
            .unwrap_err()
            .contains("external_url"));
        assert!(
            config(json!({"digital_file_ids": [], "other": 1})).is_ok(),
            "unknown fields are ignored"
        );
        let many: Vec<String> = (0..=FILES_MAX).map(|i| format!("f{i}")).collect();
        assert!(config(json!({"digital_file_ids": many})).is_err());
    }

    #[test]
    fn a_delivery_follows_the_configs_order_and_skips_what_is_gone() {
        let config = config(json!({"digital_file_ids": ["f2", "gone", "f1"], "instructions": "Unzip"})).unwrap();
        let file = |id: &str, size| DigitalFile {
            file_id: id.into(),
            entitlement_id: "ent_1".into(),
            filename: format!("{id}.zip"),
            content_type: Some("application/zip".into()),
            file_size: size,
            created_at: "t".into(),
        };
        let delivery = DigitalProductDelivery::of(&config, &[file("f1", 10), file("f2", 20)], |f| {
            format!("https://dl/{}", f.file_id)
        });
        let ids: Vec<&str> = delivery.files.iter().map(|f| f.file_id.as_str()).collect();
        assert_eq!(ids, ["f2", "f1"]);
        assert_eq!(delivery.files[0].download_url, "https://dl/f2");
        assert_eq!(
            (delivery.files[0].expires_in, delivery.files[0].file_size),
            (900, Some(20))
        );
        assert_eq!(delivery.instructions.as_deref(), Some("Unzip"));
        assert_eq!(config.unknown_files(&["f1".into(), "f2".into()]), Some("gone"));
        assert_eq!(config.with_files(&["f1".into()]).unwrap().file_ids(), ["f1"]);
    }

    #[test]
    fn a_stored_answer_keeps_its_files_but_not_their_urls() {
        let mut answer = json!({"id": "g", "digital_product_delivery": {"files": [
            {"file_id": "f1", "download_url": "https://dl/f1?X-Amz-Signature=abc", "expires_in": 900}
        ], "instructions": "x"}});
        without_download_urls(&mut answer);
        assert_eq!(
            answer["digital_product_delivery"]["files"][0],
            json!({"file_id": "f1", "download_url": "", "expires_in": 0})
        );
        assert_eq!(answer["digital_product_delivery"]["instructions"], "x");
    }

    #[test]
    fn a_direct_upload_is_one_byte_to_4_mib() {
        assert!(check_direct_upload(1).is_ok());
        assert!(check_direct_upload(DIRECT_UPLOAD_MAX).is_ok());
        assert_eq!(
            check_direct_upload(DIRECT_UPLOAD_MAX + 1).unwrap_err().code,
            "FILE_TOO_LARGE"
        );
        assert!(check_direct_upload(0).unwrap_err().message.starts_with("file"));
        let big = UploadRequest {
            filename: Filename::new("filename", "a.zip").unwrap(),
            content_type: ContentType::new("content_type", "application/zip").unwrap(),
            size: PRESIGNED_UPLOAD_MAX + 1,
        };
        assert!(big.validate().is_err());
    }
}
