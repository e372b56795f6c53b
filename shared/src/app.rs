//! What every function builds once per container: the AWS clients and the key cache.

use crate::auth::{self, KeyCache, Principal};
use crate::aws_calls::{CallCounter, Service};
use crate::error::ApiError;
use crate::store::Store;
use std::time::Duration;

pub struct App {
    pub store: Store,
    pub ses: aws_sdk_sesv2::Client,
    pub sender_email: String,
    keys: KeyCache,
}

/// How long a warm container trusts a key it has resolved; bounds how late a revocation bites.
const KEY_CACHE_TTL: Duration = Duration::from_secs(300);

impl App {
    /// Reads `TABLE_NAME` and `SENDER_EMAIL`; endpoints come from the standard
    /// `AWS_ENDPOINT_URL_*` variables, so the same binary runs locally and in AWS.
    pub async fn from_env() -> Self {
        let config = aws_config::load_from_env().await;
        let table = std::env::var("TABLE_NAME").unwrap_or_else(|_| "licensing".to_string());
        let dynamodb = aws_sdk_dynamodb::config::Builder::from(&config)
            .interceptor(CallCounter(Service::DynamoDb))
            .build();
        let ses = aws_sdk_sesv2::config::Builder::from(&config)
            .interceptor(CallCounter(Service::Ses))
            .build();
        Self {
            store: Store::new(aws_sdk_dynamodb::Client::from_conf(dynamodb), table),
            ses: aws_sdk_sesv2::Client::from_conf(ses),
            sender_email: std::env::var("SENDER_EMAIL").unwrap_or_else(|_| "no-reply@example.com".to_string()),
            keys: KeyCache::new(KEY_CACHE_TTL),
        }
    }

    /// The principal of a bearer secret: from the cache when warm, else one GetItem.
    pub async fn authenticate(&self, secret: &str) -> Result<Principal, ApiError> {
        let key_hash = auth::hash_secret(secret);
        if let Some(principal) = self.keys.get(&key_hash) {
            return Ok(principal);
        }
        let principal = self
            .store
            .principal_for_key_hash(&key_hash)
            .await?
            .ok_or_else(ApiError::unauthorized)?;
        self.keys.put(key_hash, principal.clone());
        Ok(principal)
    }
}
