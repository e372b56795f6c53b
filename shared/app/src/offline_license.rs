//! Offline licenses signed by AWS KMS: the private key never leaves KMS (an
//! `ECC_NIST_EDWARDS25519` key), so it is in no table, template, variable or log.
//! `OFFLINE_LICENSE_KEY_IDS` lists the keys: the first signs, all are published
//! in the JWK Set, so a retired key's licenses keep verifying until they expire.

use crate::app::App;
use crate::domain::offline_license::{compact, jwk, signing_input, Claims, JwkSet};
use crate::error::{ApiError, ApiResult};
use aws_sdk_kms::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{MessageType, SigningAlgorithmSpec};

/// The compact JWS of `claims`, signed by the current key.
pub async fn sign(app: &App, claims: &Claims) -> ApiResult<String> {
    let kid = app
        .offline_license_keys
        .first()
        .ok_or_else(|| ApiError::internal("OFFLINE_LICENSE_KEY_IDS names no key"))?;
    let input = signing_input(kid, claims);
    let signed = app
        .kms()
        .sign()
        .key_id(kid)
        .message(Blob::new(input.as_bytes()))
        .message_type(MessageType::Raw)
        .signing_algorithm(SigningAlgorithmSpec::Ed25519Sha512)
        .send()
        .await
        .map_err(kms_error)?;
    let signature = signed
        .signature()
        .map(|s| s.as_ref().to_vec())
        .filter(|s| s.len() == 64)
        .ok_or_else(|| ApiError::internal("KMS gave no Ed25519 signature"))?;
    Ok(compact(&input, &signature))
}

/// The JWK Set of every listed key, fetched once per container: public keys
/// do not change, and a rotation deploys a new list.
pub async fn key_set(app: &App) -> ApiResult<JwkSet<'_>> {
    let keys = app
        .jwks
        .get_or_try_init(|| async {
            let mut keys = Vec::with_capacity(app.offline_license_keys.len());
            for kid in &app.offline_license_keys {
                let public = app.kms().get_public_key().key_id(kid).send().await.map_err(kms_error)?;
                let der = public.public_key().map(|b| b.as_ref()).unwrap_or_default();
                keys.push(jwk(kid, der).ok_or_else(|| ApiError::internal("a listed KMS key is not Ed25519"))?);
            }
            Ok::<_, ApiError>(keys)
        })
        .await?;
    Ok(JwkSet { keys })
}

/// KMS out of reach, throttled or failing on its side is retryable (503);
/// anything else (a key missing or of the wrong kind) is our configuration's fault.
fn kms_error<E>(err: SdkError<E, aws_smithy_runtime_api::http::Response>) -> ApiError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let transient = match &err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => true,
        SdkError::ServiceError(service) => {
            service.raw().status().is_server_error()
                || matches!(
                    service.err().code(),
                    Some(
                        "KMSInternalException"
                            | "ThrottlingException"
                            | "DependencyTimeoutException"
                            | "KeyUnavailableException"
                    )
                )
        }
        _ => false,
    };
    let detail = format!("KMS: {}", crate::error::chain(&err));
    if transient {
        ApiError::unavailable(detail)
    } else {
        ApiError::internal(detail)
    }
}
