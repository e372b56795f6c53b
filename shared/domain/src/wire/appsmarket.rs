//! The license status family's wire shapes (Google Workspace Marketplace, appsmarket v2).

use crate::allocation::SeatState;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub enum CustomerLicenseKind {
    #[serde(rename = "appsmarket#customerLicense")]
    CustomerLicense,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum CustomerLicenseState {
    Active,
    Unlicensed,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CustomerLicense {
    #[schema(inline)]
    pub kind: CustomerLicenseKind,
    #[schema(inline)]
    pub state: CustomerLicenseState,
    pub application_id: String,
    pub customer_id: String,
    /// `<applicationId>:<customerId>`
    pub id: String,
    #[schema(max_items = 0)]
    pub editions: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub enum UserLicenseKind {
    #[serde(rename = "appsmarket#userLicense")]
    UserLicense,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserLicenseStatus {
    #[schema(inline)]
    pub kind: UserLicenseKind,
    /// True exactly when `state` is `ACTIVE`.
    pub enabled: bool,
    #[schema(inline)]
    pub state: SeatState,
    /// The bundle code asked about.
    pub application_id: String,
    /// The caller's organization account.
    pub customer_id: String,
    pub user_id: String,
    /// `<customerId>:<userId>:<applicationId>`
    pub id: String,
}

pub fn customer_license(application: &str, customer: &str, active: bool) -> CustomerLicense {
    CustomerLicense {
        kind: CustomerLicenseKind::CustomerLicense,
        state: if active {
            CustomerLicenseState::Active
        } else {
            CustomerLicenseState::Unlicensed
        },
        application_id: application.to_string(),
        customer_id: customer.to_string(),
        id: format!("{application}:{customer}"),
        editions: Vec::new(),
    }
}

pub fn user_license(code: &str, account: &str, user: &str, state: SeatState) -> UserLicenseStatus {
    UserLicenseStatus {
        kind: UserLicenseKind::UserLicense,
        enabled: state == SeatState::Active,
        state,
        application_id: code.to_string(),
        customer_id: account.to_string(),
        user_id: user.to_string(),
        id: format!("{account}:{user}:{code}"),
    }
}
