//! Translations of an entitlement's text, one per locale, and what a read in
//! a locale shows: each translated field over its base text, field by field.

use crate::digital_files::Instructions;
use crate::entitlement::{ActivationMessage, Description, Entitlement, IntegrationType, Name};
use crate::refusal::{Refusal, RuleResult};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The locales the checkout and the customer portal show (Dodo's list).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Locale {
    Ar,
    Ca,
    Zh,
    Nl,
    En,
    Fr,
    De,
    He,
    Id,
    It,
    Ja,
    Ka,
    Ko,
    Ms,
    Pl,
    Pt,
    Ro,
    Ru,
    Es,
    Sv,
    Th,
    Tr,
}

impl Locale {
    pub const ALL: [Self; 22] = [
        Self::Ar,
        Self::Ca,
        Self::Zh,
        Self::Nl,
        Self::En,
        Self::Fr,
        Self::De,
        Self::He,
        Self::Id,
        Self::It,
        Self::Ja,
        Self::Ka,
        Self::Ko,
        Self::Ms,
        Self::Pl,
        Self::Pt,
        Self::Ro,
        Self::Ru,
        Self::Es,
        Self::Sv,
        Self::Th,
        Self::Tr,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ar => "ar",
            Self::Ca => "ca",
            Self::Zh => "zh",
            Self::Nl => "nl",
            Self::En => "en",
            Self::Fr => "fr",
            Self::De => "de",
            Self::He => "he",
            Self::Id => "id",
            Self::It => "it",
            Self::Ja => "ja",
            Self::Ka => "ka",
            Self::Ko => "ko",
            Self::Ms => "ms",
            Self::Pl => "pl",
            Self::Pt => "pt",
            Self::Ro => "ro",
            Self::Ru => "ru",
            Self::Es => "es",
            Self::Sv => "sv",
            Self::Th => "th",
            Self::Tr => "tr",
        }
    }

    /// `text` as a locale, refused as `field` (a path's or a query's) when it is none.
    pub fn parse(field: &str, text: &str) -> RuleResult<Self> {
        Self::ALL.into_iter().find(|l| l.as_str() == text).ok_or_else(|| {
            let codes: Vec<&str> = Self::ALL.iter().map(|l| l.as_str()).collect();
            Refusal::invalid(field, format!("must be one of {}", codes.join(", ")))
        })
    }

    /// A read's `?locale=`, if one was given.
    pub fn shown(text: Option<&str>) -> RuleResult<Option<Self>> {
        text.map(|t| Self::parse("locale", t)).transpose()
    }

    /// A list's `?locale=` filter: repeated (`locale=fr&locale=de`) or
    /// comma-separated (`locale=fr,de`); none means every locale.
    pub fn filter<'a>(values: impl IntoIterator<Item = &'a str>) -> RuleResult<Vec<Self>> {
        let mut locales = Vec::new();
        for code in values.into_iter().flat_map(|v| v.split(',')) {
            let locale = Self::parse("locale", code.trim())?;
            if !locales.contains(&locale) {
                locales.push(locale);
            }
        }
        Ok(locales)
    }
}

/// `PUT /entitlements/{id}/translations/{locale}`: the locale's translation,
/// replaced whole; a field left out or null has none (its base text shows).
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct TranslationInput {
    #[serde(default)]
    #[schema(inline)]
    pub name: Option<Name>,
    #[serde(default)]
    #[schema(inline)]
    pub description: Option<Description>,
    /// Only a `license_key` entitlement has one.
    #[serde(default)]
    #[schema(inline)]
    pub activation_message: Option<ActivationMessage>,
    /// Only a `digital_files` entitlement has them.
    #[serde(default)]
    #[schema(inline)]
    pub instructions: Option<Instructions>,
}

/// The translation of an entitlement in one locale (the SDK's `EntitlementTranslation`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EntitlementTranslation {
    pub locale: Locale,
    #[schema(required = true)]
    pub name: Option<String>,
    #[schema(required = true)]
    pub description: Option<String>,
    #[schema(required = true)]
    pub activation_message: Option<String>,
    #[schema(required = true)]
    pub instructions: Option<String>,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

/// What every kind of translation (an entitlement's, a credit entitlement's)
/// has: its locale and when it last changed.
pub trait Translation: Clone + Serialize + serde::de::DeserializeOwned {
    fn locale(&self) -> Locale;
    fn updated_at(&self) -> &str;
    /// The same translation, as written at `now`.
    fn written_at(self, now: &str) -> Self;
}

impl Translation for EntitlementTranslation {
    fn locale(&self) -> Locale {
        self.locale
    }

    fn updated_at(&self) -> &str {
        &self.updated_at
    }

    fn written_at(self, now: &str) -> Self {
        Self {
            updated_at: now.to_string(),
            ..self
        }
    }
}

/// `GET /entitlements/{id}/translations`.
#[derive(Serialize, ToSchema)]
pub struct EntitlementTranslationList {
    pub items: Vec<EntitlementTranslation>,
}

impl TranslationInput {
    /// The translation of an entitlement of `integration_type` in `locale` at `now`.
    pub fn into_translation(
        self,
        locale: Locale,
        integration_type: IntegrationType,
        now: &str,
    ) -> RuleResult<EntitlementTranslation> {
        if self.activation_message.is_some() && integration_type != IntegrationType::LicenseKey {
            return Err(Refusal::invalid(
                "activation_message",
                "only a license_key entitlement has an activation message",
            ));
        }
        if self.instructions.is_some() && integration_type != IntegrationType::DigitalFiles {
            return Err(Refusal::invalid(
                "instructions",
                "only a digital_files entitlement has delivery instructions",
            ));
        }
        Ok(EntitlementTranslation {
            locale,
            name: self.name.map(Name::into_inner),
            description: self.description.map(Description::into_inner),
            activation_message: self.activation_message.map(ActivationMessage::into_inner),
            instructions: self.instructions.map(Instructions::into_inner),
            updated_at: now.to_string(),
        })
    }
}

impl Entitlement {
    /// The entitlement as `translation` shows it: each translated field over
    /// its base text, the others as they are.
    pub fn translated(mut self, translation: Option<&EntitlementTranslation>) -> Self {
        let Some(translation) = translation else {
            return self;
        };
        if let Some(name) = &translation.name {
            self.name = name.clone();
        }
        if let Some(description) = &translation.description {
            self.description = Some(description.clone());
        }
        let config_text = [
            ("activation_message", &translation.activation_message),
            ("instructions", &translation.instructions),
        ];
        for (field, text) in config_text {
            if let (Some(text), Some(config)) = (text, self.integration_config.as_object_mut()) {
                if config.contains_key(field) || field_of(self.integration_type) == Some(field) {
                    config.insert(field.to_string(), text.clone().into());
                }
            }
        }
        self
    }
}

/// The text field of an entitlement's config a translation may replace.
fn field_of(integration_type: IntegrationType) -> Option<&'static str> {
    match integration_type {
        IntegrationType::LicenseKey => Some("activation_message"),
        IntegrationType::DigitalFiles => Some("instructions"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entitlement::license_key_entitlement;
    use serde_json::json;

    #[test]
    fn the_22_locales_parse_and_nothing_else() {
        for locale in Locale::ALL {
            assert_eq!(Locale::parse("locale", locale.as_str()), Ok(locale));
            assert_eq!(serde_json::to_value(locale).unwrap(), json!(locale.as_str()));
        }
        for bad in ["", "FR", "fr-FR", "xx", "en ", "zh_CN"] {
            let err = Locale::parse("locale", bad).unwrap_err();
            assert!(err.message.starts_with("locale"), "{bad}: {}", err.message);
        }
    }

    #[test]
    fn the_filter_takes_repeated_and_comma_separated_codes() {
        assert_eq!(
            Locale::filter(["fr,de", "fr", " es"]),
            Ok(vec![Locale::Fr, Locale::De, Locale::Es])
        );
        assert_eq!(Locale::filter([]), Ok(vec![]));
        assert!(Locale::filter(["fr,xx"]).is_err());
        assert_eq!(Locale::shown(None), Ok(None));
        assert!(Locale::shown(Some("de,fr")).is_err(), "a read shows one locale");
    }

    #[test]
    fn a_read_in_a_locale_falls_back_field_by_field() {
        let base = license_key_entitlement(json!({"activation_message": "Welcome"}));
        let only_name = EntitlementTranslation {
            locale: Locale::Fr,
            name: Some("Pro (fr)".into()),
            description: None,
            activation_message: None,
            instructions: None,
            updated_at: "t".into(),
        };
        let shown = base.clone().translated(Some(&only_name));
        assert_eq!(shown.name, "Pro (fr)");
        assert_eq!(shown.description, base.description);
        assert_eq!(shown.integration_config["activation_message"], "Welcome");

        let message = EntitlementTranslation {
            activation_message: Some("Bienvenue".into()),
            description: Some("Une description".into()),
            ..only_name
        };
        let shown = base.clone().translated(Some(&message));
        assert_eq!(shown.integration_config["activation_message"], "Bienvenue");
        assert_eq!(shown.description.as_deref(), Some("Une description"));
        assert_eq!(base.clone().translated(None), base);
    }

    #[test]
    fn a_field_the_type_does_not_have_is_refused() {
        let input = TranslationInput {
            instructions: Some(Instructions::new("instructions", "x").unwrap()),
            ..Default::default()
        };
        let err = input
            .into_translation(Locale::De, IntegrationType::LicenseKey, "t")
            .unwrap_err();
        assert!(err.message.starts_with("instructions"));
        let input = TranslationInput {
            activation_message: Some(ActivationMessage::new("activation_message", "x").unwrap()),
            ..Default::default()
        };
        assert!(input
            .into_translation(Locale::De, IntegrationType::FeatureFlag, "t")
            .is_err());
        let empty = TranslationInput::default()
            .into_translation(Locale::De, IntegrationType::Discord, "now")
            .unwrap();
        assert_eq!((empty.name, empty.updated_at.as_str()), (None, "now"));
    }
}
