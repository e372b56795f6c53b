//! What every function builds once per container: the AWS clients and the key cache.

use crate::auth::{self, KeyCache, Principal};
use crate::aws_calls::{CallCounter, Service};
use crate::error::{ApiError, RateLimit};
use crate::store::Store;
use std::sync::OnceLock;
use std::time::Duration;

pub struct App {
    pub store: Store,
    /// SES, KMS and S3 clients are built on first use: a function that never sends
    /// mail or signs does not carry their code.
    config: aws_config::SdkConfig,
    ses: OnceLock<aws_sdk_sesv2::Client>,
    pub sender_email: String,
    keys: KeyCache,
    /// Requests one source address may make to the public routes per window.
    public_limit: u64,
    /// Refusals of a key another business holds that one business may meet per window.
    key_conflict_limit: u64,
    /// Webhooks may go to loopback addresses: the local stack's receivers only.
    pub webhook_allow_loopback: bool,
    kms: OnceLock<aws_sdk_kms::Client>,
    s3: OnceLock<aws_sdk_s3::Client>,
    /// The bucket of the digital files (`FILES_BUCKET`).
    pub files_bucket: String,
    /// KMS keys of offline licenses: the first signs, all verify.
    pub offline_license_keys: Vec<String>,
    /// Empty unless the stack names one: see `domain::offline_license::issuer`.
    pub offline_license_issuer: String,
    /// The JWK Set, read from KMS once per container.
    pub jwks: tokio::sync::OnceCell<Vec<crate::domain::offline_license::Jwk>>,
}

/// The public routes' window: short, so a caller held back waits little.
const PUBLIC_WINDOW_S: u64 = 10;
/// Requests per address per window unless `PUBLIC_RATE_LIMIT` says otherwise.
const PUBLIC_LIMIT: u64 = 100;

/// The window of a business's refusals of keys other businesses hold: a
/// supplied key that is taken tells its seller that some business holds it.
const KEY_CONFLICT_WINDOW_S: u64 = 60;
/// Such refusals per business per window unless `KEY_CONFLICT_LIMIT` says
/// otherwise. A seller's keys are its own or random; one that meets another
/// business's key even once is rare, twenty times a minute is someone guessing.
const KEY_CONFLICT_LIMIT: u64 = 20;

/// How long init waits for its connections: well inside Lambda's 10 s init,
/// and short enough that an unreachable table delays nothing much.
const OPENING_LIMIT: Duration = Duration::from_secs(1);

/// How long a warm container trusts a key it has resolved; bounds how late a revocation bites.
const KEY_CACHE_TTL: Duration = Duration::from_secs(300);
/// How long it remembers that a key is unknown: a repeated bad key costs no
/// read, and a newly minted one works within this on a container that missed it.
const UNKNOWN_KEY_TTL: Duration = Duration::from_secs(10);

impl App {
    /// Reads `TABLE_NAME` and `SENDER_EMAIL`; endpoints come from the standard
    /// `AWS_ENDPOINT_URL_*` variables, so the same binary runs locally and in AWS.
    pub async fn from_env() -> Self {
        let config = aws_config::load_from_env().await;
        let table = std::env::var("TABLE_NAME").unwrap_or_else(|_| "licensing".to_string());
        let dynamodb = aws_sdk_dynamodb::config::Builder::from(&config)
            .interceptor(CallCounter(Service::DynamoDb))
            .build();
        Self {
            store: Store::new(aws_sdk_dynamodb::Client::from_conf(dynamodb), table),
            ses: OnceLock::new(),
            sender_email: std::env::var("SENDER_EMAIL").unwrap_or_else(|_| "no-reply@example.com".to_string()),
            keys: KeyCache::new(KEY_CACHE_TTL, UNKNOWN_KEY_TTL),
            public_limit: std::env::var("PUBLIC_RATE_LIMIT")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(PUBLIC_LIMIT),
            key_conflict_limit: std::env::var("KEY_CONFLICT_LIMIT")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(KEY_CONFLICT_LIMIT),
            webhook_allow_loopback: std::env::var("WEBHOOK_ALLOW_LOOPBACK").as_deref() == Ok("true"),
            kms: OnceLock::new(),
            s3: OnceLock::new(),
            files_bucket: std::env::var("FILES_BUCKET").unwrap_or_else(|_| "licensing-files".to_string()),
            offline_license_keys: std::env::var("OFFLINE_LICENSE_KEY_IDS")
                .unwrap_or_default()
                .split(',')
                .map(str::trim)
                .filter(|id| !id.is_empty())
                .map(str::to_string)
                .collect(),
            offline_license_issuer: std::env::var("OFFLINE_LICENSE_ISSUER").unwrap_or_default(),
            jwks: tokio::sync::OnceCell::new(),
            config,
        }
    }

    pub fn ses(&self) -> &aws_sdk_sesv2::Client {
        self.ses.get_or_init(|| {
            let config = aws_sdk_sesv2::config::Builder::from(&self.config)
                .interceptor(CallCounter(Service::Ses))
                .build();
            aws_sdk_sesv2::Client::from_conf(config)
        })
    }

    pub fn s3(&self) -> &aws_sdk_s3::Client {
        self.s3.get_or_init(|| {
            let config = aws_sdk_s3::config::Builder::from(&self.config)
                .interceptor(CallCounter(Service::S3))
                .build();
            aws_sdk_s3::Client::from_conf(config)
        })
    }

    /// The configuration the clients are built from (region, credentials).
    pub fn config(&self) -> &aws_config::SdkConfig {
        &self.config
    }

    pub fn kms(&self) -> &aws_sdk_kms::Client {
        self.kms.get_or_init(|| {
            let config = aws_sdk_kms::config::Builder::from(&self.config)
                .interceptor(CallCounter(Service::Kms))
                .build();
            aws_sdk_kms::Client::from_conf(config)
        })
    }

    /// Built once per container and shared by every invocation it serves,
    /// with what its first request will use already open. Init is the time for
    /// it: Lambda runs init on a whole CPU, while a request at 128 MB gets 7% of
    /// one, so a TLS handshake (and loading the trusted roots) costs far less
    /// there. A failure is left for the first request to meet and answer.
    /// `open` is what the function's first request will use: the table's
    /// connection for all but the JWK Set route. It is a function rather than a
    /// choice made at run time so that no binary links what it does not open.
    pub async fn start<Opened>(open: impl FnOnce(&'static App) -> Opened) -> &'static App
    where
        Opened: std::future::Future<Output = Result<(), ApiError>>,
    {
        let app: &'static App = Box::leak(Box::new(App::from_env().await));
        match tokio::time::timeout(OPENING_LIMIT, open(app)).await {
            Ok(Ok(())) => {}
            Ok(Err(err)) => {
                tracing::warn!(status = err.status, message = %err.message, "could not open connections during init")
            }
            Err(_) => tracing::warn!(
                limit_ms = OPENING_LIMIT.as_millis() as u64,
                "connections not open by the end of init"
            ),
        }
        app
    }

    /// What a function that reads the table opens during init.
    pub async fn open_table(app: &'static App) -> Result<(), ApiError> {
        app.store.open_connection().await
    }

    /// One more request of a public route from `source` (its address): 429 with
    /// when to come back once the address used up its window. The stage's own
    /// throttle caps everyone together; this keeps one caller from using it up.
    pub async fn admit_public_caller(&self, source: &str) -> Result<(), ApiError> {
        let now_s = crate::clock::now_millis() / 1000;
        let window = now_s - now_s % PUBLIC_WINDOW_S;
        let caller = crate::digest::sha256_hex(source);
        if self
            .store
            .count_request(&caller, window, PUBLIC_WINDOW_S, self.public_limit)
            .await?
        {
            return Ok(());
        }
        let wait = (window + PUBLIC_WINDOW_S).saturating_sub(now_s).max(1);
        Err(ApiError::rate_limited(RateLimit::PublicCaller, wait as u32))
    }

    /// Whether `business` may supply a key of its own choosing now: 429 while it
    /// has met `KEY_CONFLICT_LIMIT` keys of other businesses in this window.
    /// Asked before the key is looked up, so that while held back the answer
    /// is the same whether the key is taken or free.
    pub async fn admit_key_supplier(&self, business_id: &str) -> Result<(), ApiError> {
        let (caller, window, now_s) = key_conflict_window(business_id);
        if self.store.requests_counted(&caller, window).await? < self.key_conflict_limit {
            return Ok(());
        }
        Err(self.key_conflicts_held_back(business_id, window, now_s))
    }

    /// Counts a refusal of a key another business holds, and answers it: 409
    /// `LICENSE_KEY_ALREADY_EXISTS`, or 429 once `business` met too many.
    pub async fn key_held_elsewhere(&self, business_id: &str, refusal: ApiError) -> ApiError {
        let (caller, window, now_s) = key_conflict_window(business_id);
        match self
            .store
            .count_request(&caller, window, KEY_CONFLICT_WINDOW_S, self.key_conflict_limit)
            .await
        {
            Ok(true) => refusal,
            Ok(false) => self.key_conflicts_held_back(business_id, window, now_s),
            Err(err) => err,
        }
    }

    fn key_conflicts_held_back(&self, business_id: &str, window: u64, now_s: u64) -> ApiError {
        // The KeyConflictsThrottled metric filter of template.yaml matches this line.
        tracing::warn!(
            event = "key_conflicts_throttled",
            business_id,
            limit = self.key_conflict_limit,
            window_s = KEY_CONFLICT_WINDOW_S,
            "a business met too many keys of other businesses; held back"
        );
        let wait = (window + KEY_CONFLICT_WINDOW_S).saturating_sub(now_s).max(1);
        ApiError::rate_limited(RateLimit::SuppliedKeys, wait as u32)
    }

    /// The principal of a bearer secret: from the cache when warm, else one GetItem.
    pub async fn authenticate(&self, secret: &str) -> Result<Principal, ApiError> {
        let key_hash = auth::hash_secret(secret);
        if let Some(known) = self.keys.get(&key_hash) {
            return known.ok_or_else(ApiError::unauthorized);
        }
        let principal = self.store.principal_for_key_hash(&key_hash).await?;
        self.keys.put(key_hash, principal.clone());
        principal.ok_or_else(ApiError::unauthorized)
    }

    /// The live portal session of a link's token or a cookie's secret: one
    /// GetItem. Unknown, expired or anything else (an API key): 401.
    pub async fn portal_session(&self, secret: &str) -> Result<crate::domain::portal::PortalSession, ApiError> {
        let session = self.store.portal_session(&auth::hash_secret(secret)).await?;
        session
            .filter(|session| session.is_live(crate::clock::now()))
            .ok_or_else(ApiError::portal_unauthorized)
    }
}

/// The count's caller, its window's start and now, in seconds.
fn key_conflict_window(business_id: &str) -> (String, u64, u64) {
    let now_s = crate::clock::now_millis() / 1000;
    let window = now_s - now_s % KEY_CONFLICT_WINDOW_S;
    (format!("KEYCONFLICT#{business_id}"), window, now_s)
}
