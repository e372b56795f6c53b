//! Entitlements: what a seller grants, and the rules for creating and changing one.

use crate::refusal::{Refusal, RuleResult};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum IntegrationType {
    Discord,
    Telegram,
    Github,
    Figma,
    Framer,
    Notion,
    DigitalFiles,
    LicenseKey,
    FeatureFlag,
}

impl IntegrationType {
    pub const ALL: [IntegrationType; 9] = [
        Self::Discord,
        Self::Telegram,
        Self::Github,
        Self::Figma,
        Self::Framer,
        Self::Notion,
        Self::DigitalFiles,
        Self::LicenseKey,
        Self::FeatureFlag,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Discord => "discord",
            Self::Telegram => "telegram",
            Self::Github => "github",
            Self::Figma => "figma",
            Self::Framer => "framer",
            Self::Notion => "notion",
            Self::DigitalFiles => "digital_files",
            Self::LicenseKey => "license_key",
            Self::FeatureFlag => "feature_flag",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == text)
    }

    /// A list's `integration_type` filter, if one was given.
    pub fn filter(text: Option<&str>) -> RuleResult<Option<Self>> {
        text.map(|t| {
            Self::parse(t).ok_or_else(|| Refusal::invalid("integration_type", "is not a known integration type"))
        })
        .transpose()
    }
}

pub use crate::calendar::DurationInterval;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum FulfillmentMode {
    #[default]
    Auto,
    Manual,
}

/// `integration_config` of a `license_key` entitlement as stored and shown.
/// (What it takes is `wire::dodo::license_key_config_input`.)
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LicenseKeyConfig {
    #[serde(default)]
    #[schema(required = true)]
    pub activations_limit: Option<i64>,
    #[serde(default)]
    #[schema(required = true)]
    pub duration_count: Option<i64>,
    #[serde(default)]
    #[schema(required = true)]
    pub duration_interval: Option<DurationInterval>,
    #[serde(default)]
    #[schema(required = true, value_type = Option<String>)]
    pub activation_message: Option<ActivationMessage>,
    #[serde(default, deserialize_with = "mode_or_default")]
    pub fulfillment_mode: FulfillmentMode,
    /// Beyond Dodo: an instance lives this long past its last heartbeat
    /// (floating licenses). Shown only when set, so Dodo's config reads as Dodo's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activation_lease_seconds: Option<i64>,
    /// Beyond Dodo: how long an offline license stays valid at most; null means
    /// the default, 604800.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offline_ttl_seconds: Option<i64>,
    /// Beyond Dodo: the features a key of this entitlement unlocks, which
    /// validate answers and may be asked to require.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = features_schema)]
    pub features: Option<Features>,
}

/// A feature's id, as a feature flag or a license key names it.
pub type FeatureId = crate::json::Line<1, 255>;
pub const FEATURES_MAX: usize = 32;
pub type Features = crate::json::List<FeatureId, FEATURES_MAX>;

/// A features list as the API document states it: null, or at most 32 ids.
pub fn features_schema() -> utoipa::openapi::schema::Array {
    use utoipa::PartialSchema;
    utoipa::openapi::schema::ArrayBuilder::new()
        .schema_type(crate::schema::or_null(utoipa::openapi::schema::Type::Array))
        .items(FeatureId::schema())
        .max_items(Some(FEATURES_MAX))
        .description(Some(
            "Beyond Dodo: the features a key unlocks (at most 32 ids of 1 to 255 characters).",
        ))
        .build()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum FeatureType {
    Boolean,
}

/// `integration_config` of a `feature_flag` entitlement, and the `feature` its
/// grants carry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FeatureFlagConfig {
    #[schema(inline)]
    pub feature_id: FeatureId,
    pub feature_type: FeatureType,
}

/// An explicit `"fulfillment_mode": null` means the default, as if it were left out.
fn mode_or_default<'de, D: serde::Deserializer<'de>>(d: D) -> Result<FulfillmentMode, D::Error> {
    Ok(Option::<FulfillmentMode>::deserialize(d)?.unwrap_or_default())
}

pub const ACTIVATION_MESSAGE_MAX: usize = 2500;
pub type ActivationMessage = crate::json::Prose<0, ACTIVATION_MESSAGE_MAX>;
pub const LEASE_SECONDS: (i64, i64) = (60, 2_592_000);
/// A leased key's limit at most: its leases, on its item and its grant's, stay small.
pub const LEASED_LIMIT_MAX: i64 = 1000;
pub const OFFLINE_TTL_SECONDS: (i64, i64) = (60, 31_536_000);
pub const DEFAULT_OFFLINE_TTL_SECONDS: i64 = 604_800;

impl LicenseKeyConfig {
    fn validate(&self) -> RuleResult<()> {
        if let Some(limit) = self.activations_limit {
            if limit < 1 {
                return Err(Refusal::invalid(
                    "integration_config.activations_limit",
                    "must be at least 1, or null for no limit",
                ));
            }
        }
        match (self.duration_count, self.duration_interval) {
            (Some(count), Some(_)) if count < 1 => {
                return Err(Refusal::invalid(
                    "integration_config.duration_count",
                    "must be at least 1",
                ));
            }
            (Some(count), Some(interval)) if count > interval.max_count() => {
                return Err(Refusal::invalid(
                    "integration_config.duration_count",
                    format!(
                        "must be at most {} for {} (100 years)",
                        interval.max_count(),
                        interval.as_str()
                    ),
                ));
            }
            (Some(_), None) | (None, Some(_)) => {
                return Err(Refusal::invalid(
                    "integration_config.duration_count",
                    "duration_count and duration_interval must be given together, or both null",
                ));
            }
            _ => {}
        }
        for (field, value, (min, max)) in [
            ("activation_lease_seconds", self.activation_lease_seconds, LEASE_SECONDS),
            ("offline_ttl_seconds", self.offline_ttl_seconds, OFFLINE_TTL_SECONDS),
        ] {
            if value.is_some_and(|v| !(min..=max).contains(&v)) {
                return Err(Refusal::invalid(
                    &format!("integration_config.{field}"),
                    format!("must be from {min} to {max} seconds, or null"),
                ));
            }
        }
        if self.activation_lease_seconds.is_some()
            && self.activations_limit.is_none_or(|limit| limit > LEASED_LIMIT_MAX)
        {
            return Err(Refusal::invalid(
                "integration_config.activations_limit",
                format!("with activation_lease_seconds, must be from 1 to {}", LEASED_LIMIT_MAX),
            ));
        }
        Ok(())
    }
}

/// Checks `integration_config` against its type and returns it as it will be stored.
pub fn normalize_config(integration_type: IntegrationType, config: Value) -> RuleResult<Value> {
    let Value::Object(_) = config else {
        return Err(Refusal::invalid("integration_config", "must be an object"));
    };
    crate::json::check_storable("integration_config", &config)?;
    match integration_type {
        IntegrationType::LicenseKey => {
            let parsed: LicenseKeyConfig = parse_config(config)?;
            parsed.validate()?;
            stored_config(parsed)
        }
        IntegrationType::FeatureFlag => stored_config(parse_config::<FeatureFlagConfig>(config)?),
        IntegrationType::DigitalFiles => {
            let parsed: crate::digital_files::DigitalFilesConfig = parse_config(config)?;
            parsed.validate()?;
            stored_config(parsed)
        }
        _ => Ok(config),
    }
}

fn parse_config<T: serde::de::DeserializeOwned>(config: Value) -> RuleResult<T> {
    serde_path_to_error::deserialize(config)
        .map_err(|err| crate::json::field_error("integration_config", &err.path().to_string(), err.inner()))
}

fn stored_config(config: impl Serialize) -> RuleResult<Value> {
    serde_json::to_value(config).map_err(|err| Refusal::invalid("integration_config", err))
}

pub use crate::metadata::{Metadata, MetadataInput, MetadataKey, MetadataText, METADATA_MAX_KEYS};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Entitlement {
    #[schema(examples("ent_01JD8Q3Z5XK9V6M2N4P7R8S0TW"))]
    pub id: String,
    pub business_id: String,
    pub name: String,
    #[schema(required = true)]
    pub description: Option<String>,
    pub integration_type: IntegrationType,
    /// For `license_key` entitlements a LicenseKeyConfig; for the other types
    /// the object as it was given.
    #[schema(value_type = Object)]
    pub integration_config: Value,
    /// Always true here: deleted entitlements are not shown.
    pub is_active: bool,
    #[schema(schema_with = crate::metadata::metadata_shown)]
    pub metadata: Metadata,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

impl Entitlement {
    /// The config as a license_key config, when this is a license_key entitlement.
    pub fn license_key_config(&self) -> Option<LicenseKeyConfig> {
        (self.integration_type == IntegrationType::LicenseKey)
            .then(|| serde_json::from_value(self.integration_config.clone()).ok())
            .flatten()
    }

    /// The features a license key of this entitlement unlocks (none for other types).
    pub fn key_features(&self) -> Vec<String> {
        let features = self.license_key_config().and_then(|c| c.features);
        features.map_or_else(Vec::new, |f| f.iter().map(|id| id.to_string()).collect())
    }

    /// The config as a digital_files config, when this is a digital_files entitlement.
    pub fn digital_files_config(&self) -> Option<crate::digital_files::DigitalFilesConfig> {
        (self.integration_type == IntegrationType::DigitalFiles)
            .then(|| serde_json::from_value(self.integration_config.clone()).ok())
            .flatten()
    }

    /// Its grants are Delivered as soon as they are issued: nothing is sent
    /// to deliver a feature or files (a read shows them).
    pub fn delivered_at_once(&self) -> bool {
        matches!(
            self.integration_type,
            IntegrationType::FeatureFlag | IntegrationType::DigitalFiles
        )
    }

    /// The feature its grants confer, when this is a feature_flag entitlement.
    pub fn feature(&self) -> Option<FeatureFlagConfig> {
        (self.integration_type == IntegrationType::FeatureFlag)
            .then(|| serde_json::from_value(self.integration_config.clone()).ok())
            .flatten()
    }
}

pub const NAME_MAX: usize = 255;
pub const DESCRIPTION_MAX: usize = 2500;
pub type Name = crate::json::Line<1, NAME_MAX>;
pub type Description = crate::json::Prose<0, DESCRIPTION_MAX>;

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewEntitlement {
    #[schema(inline)]
    pub name: Name,
    pub integration_type: IntegrationType,
    /// Any object; for `license_key` it must be a LicenseKeyConfigInput.
    #[schema(value_type = Object)]
    pub integration_config: Value,
    #[serde(default)]
    #[schema(inline)]
    pub description: Option<Description>,
    #[serde(default)]
    pub metadata: Option<MetadataInput>,
}

impl NewEntitlement {
    pub fn into_entitlement(self, id: String, business_id: &str, now: &str) -> RuleResult<Entitlement> {
        let metadata = self.metadata.map(MetadataInput::into_inner).unwrap_or_default();
        let integration_config = normalize_config(self.integration_type, self.integration_config)?;
        if integration_config
            .get("digital_file_ids")
            .and_then(Value::as_array)
            .is_some_and(|ids| !ids.is_empty())
        {
            return Err(Refusal::invalid(
                "integration_config.digital_file_ids",
                "must be empty on creation: upload files with POST /entitlements/{id}/files",
            ));
        }
        Ok(Entitlement {
            id,
            business_id: business_id.to_string(),
            name: self.name.into_inner(),
            description: self.description.map(Description::into_inner),
            integration_type: self.integration_type,
            integration_config,
            is_active: true,
            metadata,
            created_at: now.to_string(),
            updated_at: now.to_string(),
        })
    }
}

/// Fields left out (or null, except `description`) keep their value.
/// `integration_type` may be sent but must equal the entitlement's own type
/// (422 otherwise). A new `integration_config` replaces the old one and is
/// checked against the entitlement's type.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct EntitlementPatch {
    #[serde(default)]
    #[schema(inline)]
    pub name: Option<Name>,
    /// null clears the description.
    #[serde(default, deserialize_with = "crate::json::nullable")]
    #[schema(inline, value_type = Option<Description>)]
    pub description: Option<Option<Description>>,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub integration_config: Option<Value>,
    /// Replaces the whole metadata object.
    #[serde(default)]
    pub metadata: Option<MetadataInput>,
    #[serde(default)]
    pub integration_type: Option<IntegrationType>,
}

/// A validated patch: only the fields it names are written, so concurrent
/// patches of different fields do not undo each other.
#[derive(Debug, Default, PartialEq)]
pub struct EntitlementChanges {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub integration_config: Option<Value>,
    pub metadata: Option<Metadata>,
}

impl EntitlementChanges {
    /// The entitlement as these changes leave it at `now`.
    pub fn applied_to(&self, current: &Entitlement, now: &str) -> Entitlement {
        let mut after = current.clone();
        if let Some(name) = &self.name {
            after.name = name.clone();
        }
        if let Some(description) = &self.description {
            after.description = description.clone();
        }
        if let Some(config) = &self.integration_config {
            after.integration_config = config.clone();
        }
        if let Some(metadata) = &self.metadata {
            after.metadata = metadata.clone();
        }
        after.updated_at = now.to_string();
        after
    }
}

impl EntitlementPatch {
    pub fn validate(self, integration_type: IntegrationType) -> RuleResult<EntitlementChanges> {
        if self.integration_type.is_some_and(|t| t != integration_type) {
            return Err(Refusal::invalid("integration_type", "cannot be changed after creation"));
        }
        Ok(EntitlementChanges {
            name: self.name.map(Name::into_inner),
            description: self.description.map(|d| d.map(Description::into_inner)),
            integration_config: self
                .integration_config
                .map(|c| normalize_config(integration_type, c))
                .transpose()?,
            metadata: self.metadata.map(MetadataInput::into_inner),
        })
    }
}

/// A license-key entitlement with `config`, for the unit tests of the rules that read one.
#[cfg(test)]
pub(crate) fn license_key_entitlement(config: serde_json::Value) -> Entitlement {
    let new: NewEntitlement = serde_json::from_value(
        serde_json::json!({"name": "Pro", "integration_type": "license_key", "integration_config": config}),
    )
    .unwrap();
    new.into_entitlement("ent_1".into(), "bus_1", "t").unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::refusal::{Refusal, RefusalKind};
    use serde_json::json;

    /// As the edge parses a body: a wrongly shaped field is refused by name.
    fn parse_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, Refusal> {
        let mut deserializer = serde_json::Deserializer::from_slice(body);
        serde_path_to_error::deserialize(&mut deserializer)
            .map_err(|err| crate::json::field_error("", &err.path().to_string(), err.inner()))
    }

    /// As a request gets it: the body parsed at the edge, then the rules.
    fn create(body: Value) -> Result<Entitlement, Refusal> {
        let new: NewEntitlement = parse_body(body.to_string().as_bytes())?;
        new.into_entitlement("ent_1".into(), "bus_1", "2026-01-01T00:00:00Z")
    }

    fn license_entitlement(config: Value) -> Result<Entitlement, Refusal> {
        create(json!({"name": "Pro", "integration_type": "license_key", "integration_config": config}))
    }

    #[test]
    fn license_key_config_gets_defaults() {
        let ent = license_entitlement(json!({})).unwrap();
        assert_eq!(ent.integration_config["fulfillment_mode"], "auto");
        assert_eq!(ent.integration_config["activations_limit"], Value::Null);
        assert!(ent.is_active);
        assert_eq!(
            ent.license_key_config().unwrap().fulfillment_mode,
            FulfillmentMode::Auto
        );
    }

    #[test]
    fn license_key_config_rules_name_the_field() {
        let cases = [
            (json!({"activations_limit": 0}), "integration_config.activations_limit"),
            (json!({"duration_count": 3}), "integration_config.duration_count"),
            (
                json!({"duration_interval": "Month"}),
                "integration_config.duration_count",
            ),
            (
                json!({"duration_count": 0, "duration_interval": "Day"}),
                "integration_config.duration_count",
            ),
            (
                json!({"duration_count": 1, "duration_interval": "Fortnight"}),
                "integration_config.duration_interval",
            ),
            (
                json!({"fulfillment_mode": "later"}),
                "integration_config.fulfillment_mode",
            ),
            (
                json!({"activation_message": "x".repeat(2501)}),
                "integration_config.activation_message",
            ),
            (
                json!({"activation_lease_seconds": 59}),
                "integration_config.activation_lease_seconds",
            ),
            (
                json!({"activation_lease_seconds": 2_592_001}),
                "integration_config.activation_lease_seconds",
            ),
            (
                json!({"activation_lease_seconds": "x"}),
                "integration_config.activation_lease_seconds",
            ),
            (
                json!({"offline_ttl_seconds": 59}),
                "integration_config.offline_ttl_seconds",
            ),
            (
                json!({"activation_lease_seconds": 60}),
                "integration_config.activations_limit",
            ),
            (
                json!({"activation_lease_seconds": 60, "activations_limit": 1001}),
                "integration_config.activations_limit",
            ),
        ];
        for (config, field) in cases {
            let err = license_entitlement(config.clone()).unwrap_err();
            assert_eq!(err.kind, RefusalKind::Invalid, "{config}");
            assert!(err.message.starts_with(field), "{config}: {}", err.message);
        }
        assert!(license_entitlement(
            json!({"duration_count": 2, "duration_interval": "Year", "fulfillment_mode": "manual"})
        )
        .is_ok());
    }

    #[test]
    fn a_feature_flag_config_is_checked() {
        let flag = |config: Value| {
            create(json!({"name": "F", "integration_type": "feature_flag", "integration_config": config}))
        };
        let ent = flag(json!({"feature_id": "export", "feature_type": "boolean"})).unwrap();
        assert_eq!(ent.feature().unwrap().feature_id.as_str(), "export");
        let extra = flag(json!({"feature_id": "x", "feature_type": "boolean", "extra": 1})).unwrap();
        assert!(
            extra.integration_config.get("extra").is_none(),
            "unknown fields are dropped"
        );
        for (config, field) in [
            (json!({"feature_type": "boolean"}), "integration_config"),
            (
                json!({"feature_id": "", "feature_type": "boolean"}),
                "integration_config.feature_id",
            ),
            (
                json!({"feature_id": "x".repeat(256), "feature_type": "boolean"}),
                "integration_config.feature_id",
            ),
            (
                json!({"feature_id": "x", "feature_type": "number"}),
                "integration_config.feature_type",
            ),
        ] {
            let err = flag(config.clone()).unwrap_err();
            assert!(err.message.starts_with(field), "{config}: {}", err.message);
        }
    }

    #[test]
    fn a_license_key_names_at_most_32_features() {
        let ent = license_entitlement(json!({"features": ["export", "sync"]})).unwrap();
        assert_eq!(ent.key_features(), ["export", "sync"]);
        assert_eq!(
            license_entitlement(json!({})).unwrap().key_features(),
            Vec::<String>::new()
        );
        assert!(license_entitlement(json!({}))
            .unwrap()
            .integration_config
            .get("features")
            .is_none());
        let many: Vec<String> = (0..33).map(|i| format!("f{i}")).collect();
        let err = license_entitlement(json!({"features": many})).unwrap_err();
        assert!(
            err.message.starts_with("integration_config.features"),
            "{}",
            err.message
        );
    }

    #[test]
    fn other_types_keep_their_config_but_it_must_be_an_object() {
        let ent = create(json!({"name": "D", "integration_type": "discord", "integration_config": {"guild_id": "1"}}))
            .unwrap();
        assert_eq!(ent.integration_config, json!({"guild_id": "1"}));
        let err = create(json!({"name": "D", "integration_type": "discord", "integration_config": "x"})).unwrap_err();
        assert!(err.message.starts_with("integration_config"));
    }

    #[test]
    fn create_checks_name_type_and_metadata() {
        let err = create(json!({"name": "", "integration_type": "github", "integration_config": {}})).unwrap_err();
        assert!(err.message.starts_with("name"));
        let err = create(json!({"name": "a", "integration_type": "fax", "integration_config": {}})).unwrap_err();
        assert!(err.message.starts_with("integration_type"), "{}", err.message);
        let err = create(
            json!({"name": "a", "integration_type": "github", "integration_config": {}, "metadata": {"k": [1]}}),
        )
        .unwrap_err();
        assert!(err.message.starts_with("metadata.k"), "{}", err.message);
    }

    #[test]
    fn patch_keeps_type_and_names_only_what_changes() {
        let patch: EntitlementPatch = parse_body(br#"{"integration_type": "discord"}"#).unwrap();
        let err = patch.validate(IntegrationType::LicenseKey).unwrap_err();
        assert!(err.message.starts_with("integration_type"));

        let patch: EntitlementPatch = parse_body(br#"{"description": null, "name": "New", "metadata": null}"#).unwrap();
        let changes = patch.validate(IntegrationType::LicenseKey).unwrap();
        assert_eq!(
            changes,
            EntitlementChanges {
                name: Some("New".into()),
                description: Some(None),
                ..Default::default()
            }
        );

        let patch: EntitlementPatch = parse_body(br#"{"integration_config": {"activations_limit": -1}}"#).unwrap();
        assert_eq!(
            patch.validate(IntegrationType::LicenseKey).unwrap_err().kind,
            crate::refusal::RefusalKind::Invalid
        );
    }
}
