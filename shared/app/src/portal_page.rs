//! The customer portal's pages, rendered on the server from templates checked
//! at compile time (`templates/`, escaped as HTML), with one style sheet and
//! one small script (`assets/`) served from the portal's own origin.

use crate::domain::credit::{CustomerCreditEntitlement, LedgerEntry, TransactionType};
use crate::domain::entitlement::IntegrationType;
use crate::domain::license_key::{Instance, LicenseKeyStatus};
use crate::domain::portal::shown_time;
use crate::domain::wire::portal::PortalGrant;
use crate::error::{ApiError, ApiResult};
use crate::reply::Reply;
use askama::Template;

/// What the page shows, as the service read it.
pub struct PortalView {
    pub business_name: String,
    pub return_url: Option<String>,
    pub notice: Option<&'static str>,
    /// What the API's paths have before the portal's own (a stage).
    pub base_path: String,
    pub grants: Vec<PortalGrant>,
    /// The live devices of each key, by the key's id.
    pub devices: Vec<(String, Vec<Instance>)>,
    /// Each balance with its latest ledger entries.
    pub credits: Vec<(CustomerCreditEntitlement, Vec<LedgerEntry>)>,
}

/// The message a `notice=` names (nothing else is ever shown from the URL).
pub fn notice(name: &str) -> Option<&'static str> {
    (name == "freed").then_some("The device was freed: its slot is open again.")
}

#[derive(Template)]
#[template(path = "portal.html")]
struct PortalPage<'a> {
    assets: String,
    business_name: &'a str,
    return_url: Option<&'a str>,
    notice: Option<&'a str>,
    grants: Vec<GrantRow>,
    credits: Vec<CreditRow>,
}

struct GrantRow {
    id: String,
    name: String,
    description: Option<String>,
    kind: &'static str,
    status: &'static str,
    status_class: &'static str,
    since: String,
    error: Option<String>,
    key: Option<KeyRow>,
    files: Vec<FileRow>,
    external_url: Option<String>,
    instructions: Option<String>,
}

struct KeyRow {
    key: String,
    status: &'static str,
    used: String,
    expires: Option<String>,
    devices: Vec<DeviceRow>,
}

struct DeviceRow {
    name: String,
    since: String,
    action: String,
}

struct FileRow {
    name: String,
    size: String,
    href: String,
}

struct CreditRow {
    name: String,
    unit: String,
    balance: String,
    overage: Option<String>,
    description: Option<String>,
    entries: Vec<EntryRow>,
}

struct EntryRow {
    when: String,
    what: String,
    amount: String,
    credit: bool,
}

#[derive(Template)]
#[template(path = "message.html")]
struct MessagePage<'a> {
    assets: String,
    heading: &'a str,
    message: &'a str,
}

/// The portal page.
pub fn render(view: &PortalView) -> ApiResult<String> {
    let portal = format!("{}/customer-portal", view.base_path);
    let grants = view
        .grants
        .iter()
        .map(|grant| grant_row(grant, view, &portal))
        .collect();
    let credits = view
        .credits
        .iter()
        .map(|(balance, entries)| credit_row(balance, entries))
        .collect();
    PortalPage {
        assets: format!("{portal}/assets"),
        business_name: &view.business_name,
        return_url: view.return_url.as_deref(),
        notice: view.notice,
        grants,
        credits,
    }
    .render()
    .map_err(ApiError::internal)
}

/// A portal page's error as a page: what the customer can do about it.
pub fn error(err: &ApiError) -> Reply {
    let (heading, message) = match err.status {
        401 => (
            "This portal link has expired",
            "Portal links work for 24 hours. Ask the seller for a new link, or open the latest one they sent you.",
        ),
        403 => (
            "That request did not come from this portal",
            "Open the portal again and try once more from its page.",
        ),
        404 => ("Not found", "This page is not part of your portal."),
        429 | 503 => ("The portal is busy", "Nothing was changed. Try again in a moment."),
        _ => ("Something went wrong", "Nothing was changed. Try again in a moment."),
    };
    let page = MessagePage {
        assets: "/customer-portal/assets".to_string(),
        heading,
        message,
    };
    let html = page.render().unwrap_or_else(|_| heading.to_string());
    Reply::html(err.status, html)
}

/// `GET /customer-portal/assets/{name}`: the style sheet or the script.
pub fn asset(name: &str) -> ApiResult<Reply> {
    match name {
        "portal.css" => Ok(Reply::asset(
            "text/css; charset=utf-8",
            include_str!("../assets/portal.css"),
        )),
        "portal.js" => Ok(Reply::asset(
            "text/javascript; charset=utf-8",
            include_str!("../assets/portal.js"),
        )),
        _ => Err(ApiError::not_found("asset")),
    }
}

fn grant_row(grant: &PortalGrant, view: &PortalView, portal: &str) -> GrantRow {
    let key = grant.license_key.as_ref().map(|key| {
        let devices = view
            .devices
            .iter()
            .find(|(id, _)| *id == key.id)
            .map(|(_, devices)| devices.as_slice())
            .unwrap_or_default();
        KeyRow {
            key: key.key.clone(),
            status: match key.status {
                LicenseKeyStatus::Active => "active",
                LicenseKeyStatus::Expired => "expired",
                LicenseKeyStatus::Disabled => "disabled",
            },
            used: match key.activations_limit {
                Some(limit) => format!("{} of {limit} devices", key.activations_used),
                None => format!("{} devices, no limit", key.activations_used),
            },
            expires: key.expires_at.as_deref().map(shown_time),
            devices: devices
                .iter()
                .map(|device| DeviceRow {
                    name: device.name.clone(),
                    since: shown_time(&device.created_at),
                    action: format!("{portal}/license-key-instances/{}/deactivate", device.id),
                })
                .collect(),
        }
    });
    let delivery = grant.digital_product_delivery.as_ref();
    GrantRow {
        id: grant.id.clone(),
        name: grant.entitlement.name.clone(),
        description: grant.entitlement.description.clone(),
        kind: kind(grant.entitlement.integration_type),
        status: grant.status.as_str(),
        status_class: match grant.status.as_str() {
            "Delivered" => "delivered",
            "Revoked" => "revoked",
            "Failed" => "failed",
            _ => "pending",
        },
        since: shown_time(&grant.created_at),
        error: grant.error.as_ref().map(|e| e.message.clone()),
        key,
        files: delivery
            .map(|d| {
                d.files
                    .iter()
                    .map(|file| FileRow {
                        name: file.filename.clone(),
                        size: file.file_size.map(size).unwrap_or_default(),
                        href: format!("{portal}/entitlements/{}/download?file_id={}", grant.id, file.file_id),
                    })
                    .collect()
            })
            .unwrap_or_default(),
        external_url: delivery.and_then(|d| d.external_url.clone()),
        instructions: delivery.and_then(|d| d.instructions.clone()),
    }
}

fn credit_row(balance: &CustomerCreditEntitlement, entries: &[LedgerEntry]) -> CreditRow {
    CreditRow {
        name: balance.name.clone(),
        unit: balance.unit.clone(),
        balance: balance.balance.to_string(),
        overage: (!balance.overage.is_zero()).then(|| balance.overage.to_string()),
        description: balance.description.clone(),
        entries: entries
            .iter()
            .map(|entry| EntryRow {
                when: shown_time(&entry.created_at),
                what: (entry.description.clone())
                    .or_else(|| entry.reason.clone())
                    .unwrap_or_else(|| what(entry.transaction_type).to_string()),
                amount: format!("{}{}", if entry.is_credit { "+" } else { "−" }, entry.amount),
                credit: entry.is_credit,
            })
            .collect(),
    }
}

fn kind(integration: IntegrationType) -> &'static str {
    match integration {
        IntegrationType::LicenseKey => "License key",
        IntegrationType::DigitalFiles => "Downloads",
        IntegrationType::FeatureFlag => "Feature",
        IntegrationType::Discord => "Discord access",
        IntegrationType::Telegram => "Telegram access",
        IntegrationType::Github => "GitHub access",
        IntegrationType::Figma => "Figma access",
        IntegrationType::Framer => "Framer access",
        IntegrationType::Notion => "Notion access",
    }
}

fn what(kind: TransactionType) -> &'static str {
    match kind {
        TransactionType::CreditAdded => "Credits added",
        TransactionType::CreditDeducted => "Used",
        TransactionType::CreditExpired => "Expired",
        TransactionType::CreditRolledOver => "Rolled over",
        TransactionType::RolloverForfeited => "Not rolled over",
        TransactionType::OverageCharged => "Used beyond the balance",
        TransactionType::OverageReset => "Overage reset",
        TransactionType::AutoTopUp => "Topped up",
        TransactionType::ManualAdjustment => "Adjusted",
        TransactionType::Refund => "Refunded",
    }
}

/// A file's size as people read it.
fn size(bytes: u64) -> String {
    match bytes {
        b if b < 1024 => format!("{b} B"),
        b if b < 1024 * 1024 => format!("{:.1} KB", b as f64 / 1024.0),
        b => format!("{:.1} MB", b as f64 / (1024.0 * 1024.0)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_notices() {
        assert_eq!(size(512), "512 B");
        assert_eq!(size(2048), "2.0 KB");
        assert_eq!(size(5 * 1024 * 1024 + 1), "5.0 MB");
        assert!(notice("freed").is_some());
        assert_eq!(notice("<script>"), None);
    }

    #[test]
    fn the_expired_page_escapes_nothing_it_was_not_given_and_says_401() {
        let reply = error(&ApiError::portal_unauthorized());
        assert_eq!(reply.status, 401);
        let html = reply.body.unwrap();
        assert!(html.contains("<h1>This portal link has expired</h1>"));
        // Its one script is the portal's own file: nothing inline.
        assert_eq!(html.matches("<script").count(), 1);
        assert!(html.contains("<script src=\"/customer-portal/assets/portal.js\" defer></script>"));
        assert!(reply
            .headers
            .iter()
            .any(|(name, value)| *name == "content-security-policy" && value.contains("script-src 'self'")));
    }
}
