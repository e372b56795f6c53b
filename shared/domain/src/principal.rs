//! Who an API key stands for: a business, a host or an organization.

use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PrincipalKind {
    Business,
    Host,
    Organization,
}

impl PrincipalKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Business => "business",
            Self::Host => "host",
            Self::Organization => "organization",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    pub kind: PrincipalKind,
    pub id: String,
}

impl Principal {
    /// Parses `business:<id>`, `host:<id>` or `organization:<id>`.
    pub fn parse(text: &str) -> Option<Self> {
        let (kind, id) = text.split_once(':')?;
        let kind = match kind {
            "business" => PrincipalKind::Business,
            "host" => PrincipalKind::Host,
            "organization" => PrincipalKind::Organization,
            _ => return None,
        };
        let valid_id =
            !id.is_empty() && id.len() <= 128 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
        valid_id.then(|| Self {
            kind,
            id: id.to_string(),
        })
    }
}
impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind.as_str(), self.id)
    }
}
