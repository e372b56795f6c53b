//! What the customer portal's JSON routes answer, in the shapes Dodo's portal
//! front end reads (its `/customer-portal/*` calls).

use crate::digital_files::{DeliveredFile, DigitalProductDelivery};
use crate::entitlement::{Entitlement, IntegrationType};
use crate::grant::{Grant, GrantStatus};
use crate::license_key::{Instance, LicenseKeyStatus};
use serde::Serialize;
use utoipa::ToSchema;

/// `{link}`: the portal for one customer, for 24 hours.
#[derive(Serialize, ToSchema)]
pub struct PortalLink {
    /// `<service>/customer-portal/session/<token>`; opening it starts the customer's session.
    pub link: String,
}

/// The business whose portal this is.
#[derive(Serialize, ToSchema)]
pub struct PortalBusiness {
    pub business_id: String,
    /// The name it shows its customers (its id when it has set none).
    pub name: String,
    #[schema(required = true)]
    pub logo: Option<String>,
}

/// The customer the portal is open for.
#[derive(Serialize, ToSchema)]
pub struct PortalProfile {
    pub customer_id: String,
    /// The name on the customer's latest grant, when it has one.
    #[schema(required = true)]
    pub name: Option<String>,
    /// The email of the customer's latest grant.
    #[schema(required = true)]
    pub email: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct PortalEntitlementRef {
    pub name: String,
    pub integration_type: IntegrationType,
    #[schema(required = true)]
    pub description: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct PortalLicenseKey {
    pub id: String,
    pub key: String,
    pub status: LicenseKeyStatus,
    pub activations_used: i64,
    #[schema(required = true)]
    pub activations_limit: Option<i64>,
    #[schema(required = true)]
    pub expires_at: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct PortalGrantError {
    pub code: String,
    pub message: String,
}

/// One of the customer's grants as the portal shows it.
#[derive(Serialize, ToSchema)]
pub struct PortalGrant {
    pub id: String,
    pub entitlement: PortalEntitlementRef,
    pub status: GrantStatus,
    /// Always false: no grant here waits on the customer (no OAuth connection).
    pub requires_action: bool,
    /// `oauth`, `telegram_connect` or `none`; always `none` here.
    pub action_type: &'static str,
    #[schema(required = true)]
    pub oauth_url: Option<String>,
    #[schema(required = true)]
    pub oauth_expires_at: Option<String>,
    #[schema(required = true)]
    pub license_key: Option<PortalLicenseKey>,
    #[schema(required = true)]
    pub digital_product_delivery: Option<DigitalProductDelivery>,
    #[schema(required = true)]
    pub error: Option<PortalGrantError>,
    pub created_at: String,
    pub updated_at: String,
    #[schema(required = true)]
    pub delivered_at: Option<String>,
}

impl PortalGrant {
    /// `grant` (as presented) of `entitlement`.
    pub fn of(grant: Grant, entitlement: Option<&Entitlement>) -> Self {
        let error = grant.error_code.clone().map(|code| PortalGrantError {
            code,
            message: grant.error_message.clone().unwrap_or_default(),
        });
        Self {
            entitlement: PortalEntitlementRef {
                name: entitlement.map_or_else(|| grant.entitlement_id.clone(), |e| e.name.clone()),
                integration_type: grant.integration_type,
                description: entitlement.and_then(|e| e.description.clone()),
            },
            status: grant.status,
            requires_action: false,
            action_type: "none",
            oauth_url: None,
            oauth_expires_at: None,
            license_key: grant.license_key.map(|k| PortalLicenseKey {
                id: k.id,
                key: k.key,
                status: k.status,
                activations_used: k.activations_used,
                activations_limit: k.activations_limit,
                expires_at: k.expires_at,
            }),
            digital_product_delivery: grant.digital_product_delivery,
            error,
            created_at: grant.created_at,
            updated_at: grant.updated_at,
            delivered_at: grant.delivered_at,
            id: grant.id,
        }
    }
}

/// A device (instance) of one of the customer's keys.
#[derive(Serialize, ToSchema)]
pub struct PortalInstance {
    pub id: String,
    pub business_id: String,
    pub name: String,
    pub license_key_id: String,
    pub created_at: String,
}

impl From<Instance> for PortalInstance {
    fn from(instance: Instance) -> Self {
        Self {
            id: instance.id,
            business_id: instance.business_id,
            name: instance.name,
            license_key_id: instance.license_key_id,
            created_at: instance.created_at,
        }
    }
}

/// A grant's files with fresh URLs, its link and its instructions.
#[derive(Serialize, ToSchema)]
pub struct PortalDownload {
    pub files: Vec<DeliveredFile>,
    #[schema(required = true)]
    pub external_link: Option<String>,
    #[schema(required = true)]
    pub instructions: Option<String>,
}

impl From<DigitalProductDelivery> for PortalDownload {
    fn from(delivery: DigitalProductDelivery) -> Self {
        Self {
            files: delivery.files,
            external_link: delivery.external_url,
            instructions: delivery.instructions,
        }
    }
}

/// `{items}`: the customer's grants (no paging: a customer's own few).
#[derive(Serialize, ToSchema)]
pub struct PortalGrantList {
    pub items: Vec<PortalGrant>,
}

/// `{items}`: the devices of one of the customer's keys.
#[derive(Serialize, ToSchema)]
pub struct PortalInstanceList {
    pub items: Vec<PortalInstance>,
}
