//! The license allocation family's wire shapes (UiPath LRM, seeds 001 and 002):
//! the request bodies as read and the objects as answered. Their OpenAPI
//! schemas are derived from these types (`make openapi`).

use crate::allocation::{
    self, quantities, AuditRecord, GroupRule, HostLicense, LicenseStatus, OrgLicense, Pool, Pools, ProductQuantity,
    Quantities, TenantService, UserSeat,
};
use crate::json::LrmId;
use crate::refusal::{Refusal, RuleResult};
use crate::wire::schema;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

// ---- request bodies ----

/// Replaces the host's purchased license.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HostLicenseBody {
    #[schema(schema_with = schema::product_quantities)]
    pub products: Vec<ProductQuantity>,
    #[serde(default)]
    #[schema(schema_with = schema::unix_seconds)]
    pub start_date: Option<i64>,
    #[serde(default)]
    #[schema(schema_with = schema::unix_seconds)]
    pub end_date: Option<i64>,
    #[serde(default)]
    #[schema(schema_with = schema::grace_days)]
    pub grace_period: Option<i64>,
    #[serde(default)]
    #[schema(inline)]
    pub subscription_plan: Option<allocation::SubscriptionPlan>,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrganizationAllocation {
    #[schema(schema_with = schema::product_quantities)]
    pub product_quantities: Vec<ProductQuantity>,
}

/// The products go in `products`, or (as seed 002 sends them) in
/// `productQuantities`, which is read only when `products` is left out or null.
/// Its schema is written out in `schema::service_allocation`: which of the two
/// lists is checked depends on the other.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceAllocation {
    /// Left out or null: kept as it was.
    #[serde(default)]
    pub tenant_name: Option<allocation::TenantName>,
    #[serde(default)]
    pub products: Option<Vec<ProductQuantity>>,
    #[serde(default)]
    pub product_quantities: Option<Vec<ProductQuantity>>,
}

impl ServiceAllocation {
    /// The tenant name and the products, checked: `products` if given, else
    /// `productQuantities`.
    pub fn checked(self) -> RuleResult<(Option<String>, Quantities)> {
        let products = match (&self.products, &self.product_quantities) {
            (Some(list), _) => quantities("products", list)?,
            (None, Some(list)) => quantities("productQuantities", list)?,
            (None, None) => return Err(Refusal::invalid("products", "is required")),
        };
        Ok((self.tenant_name.map(allocation::TenantName::into_inner), products))
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GroupLicenseBody {
    #[schema(schema_with = schema::bundle_codes)]
    pub user_bundle_codes: Vec<String>,
    #[serde(default)]
    #[schema(default = false)]
    pub use_external_license: bool,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserLicenseAssignment {
    // Each id is checked as it is read; how many and repeats, by the service.
    #[schema(schema_with = schema::user_ids)]
    pub user_ids: Vec<LrmId>,
    #[schema(schema_with = schema::bundle_codes)]
    pub user_bundle_codes: Vec<String>,
    #[serde(default)]
    #[schema(default = false)]
    pub use_external_license: bool,
}

// ---- answers ----

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum ProductType {
    User,
    Service,
    Robot,
}

impl ProductType {
    fn of(code: &str) -> Self {
        match allocation::product_type(code) {
            "USER" => Self::User,
            "SERVICE" => Self::Service,
            _ => Self::Robot,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub enum OrganizationType {
    #[serde(rename = "ORGANIZATION")]
    Organization,
}

#[derive(Serialize, ToSchema)]
pub struct HostProduct {
    pub code: String,
    pub quantity: i64,
    pub allocated: i64,
    pub available: i64,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = HostLicense)]
pub struct HostLicenseView {
    pub host_account_id: String,
    pub license_code: String,
    #[schema(inline)]
    pub license_status: LicenseStatus,
    /// Unix time in seconds.
    #[schema(required = true)]
    pub start_date: Option<i64>,
    /// Unix time in seconds.
    #[schema(required = true)]
    pub end_date: Option<i64>,
    #[schema(required = true)]
    pub grace_period: Option<i64>,
    #[schema(required = true)]
    pub subscription_plan: Option<String>,
    #[schema(inline)]
    pub products: Vec<HostProduct>,
}

#[derive(Serialize, ToSchema)]
pub struct OrganizationProduct {
    pub code: String,
    pub quantity: i64,
    #[serde(rename = "type")]
    #[schema(inline)]
    pub product_type: ProductType,
    #[schema(max_items = 0)]
    pub features: Vec<String>,
    /// What the organization gave out of the code to its tenant services and
    /// user seats (the same as `consumed`).
    pub allocated: i64,
    /// What its tenant services and user seats take of the code.
    pub consumed: i64,
    /// `quantity - consumed`.
    pub available: i64,
}

/// Seed 001's organization license object, each product also with allocated and available.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrganizationLicense {
    pub account_id: String,
    /// The subscription plan, else `ENTERPRISE`.
    pub bundle_code: String,
    /// Unix time in seconds.
    #[schema(required = true)]
    pub end_date: Option<i64>,
    /// Days past `endDate` during which its users' seats stay `ACTIVE`
    /// (userLicense); copied from the host license at each allocation.
    #[schema(required = true)]
    pub grace_period: Option<i64>,
    pub license_code: String,
    #[schema(inline)]
    pub license_status: LicenseStatus,
    #[schema(inline)]
    pub products: Vec<OrganizationProduct>,
    #[schema(max_items = 0)]
    pub templates: Vec<String>,
    /// Unix time in seconds.
    #[schema(required = true)]
    pub start_date: Option<i64>,
    /// The host license's code.
    pub subscription_code: String,
    #[schema(required = true)]
    pub subscription_plan: Option<String>,
    /// Always empty: the seeds' signed license payload, which this service does not make.
    #[schema(max_length = 0)]
    pub payload: String,
    #[serde(rename = "type")]
    #[schema(inline)]
    pub license_type: OrganizationType,
    pub parent_license_code: String,
}

#[derive(Serialize, ToSchema)]
pub struct HostOrganizationProduct {
    pub code: String,
    /// What the organization holds of the code.
    pub quantity: i64,
    /// What its tenant services and user seats take of it.
    pub consumed: i64,
    /// `quantity - consumed`.
    pub available: i64,
}

/// An organization as its host's list shows it.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HostOrganization {
    pub account_id: String,
    /// By code; a code it neither holds nor gave out is left out.
    #[schema(inline)]
    pub products: Vec<HostOrganizationProduct>,
}

#[derive(Serialize, ToSchema)]
pub struct ServiceProduct {
    pub code: String,
    pub quantity: i64,
    #[serde(rename = "type")]
    #[schema(inline)]
    pub product_type: ProductType,
    #[schema(max_items = 0)]
    pub features: Vec<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceLicenseTerms {
    pub license_code: String,
    pub bundle_code: String,
    pub subscription_code: String,
    #[schema(inline)]
    pub license_status: LicenseStatus,
    /// Unix time in seconds.
    #[schema(required = true)]
    pub start_date: Option<i64>,
    /// Unix time in seconds.
    #[schema(required = true)]
    pub end_date: Option<i64>,
    #[schema(required = true)]
    pub grace_period: Option<i64>,
    #[schema(inline)]
    pub products: Vec<ServiceProduct>,
    #[schema(max_items = 0)]
    pub templates: Vec<String>,
    /// Always empty: the seeds' signed license payload, which this service does not make.
    #[schema(max_length = 0)]
    pub payload: String,
    /// The organization license's code.
    pub boon_license_code: String,
}

/// Seed 002's service license object.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceLicense {
    pub account_id: String,
    pub service_scope_id: String,
    pub service_type: String,
    #[schema(required = true)]
    pub tenant_name: Option<String>,
    #[schema(inline)]
    pub license: ServiceLicenseTerms,
    /// Always true.
    pub user_licensing_enabled: bool,
    pub account_license_code: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GroupLicense {
    pub group_id: String,
    pub organization_id: String,
    pub use_external_license: bool,
    pub user_bundle_codes: Vec<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserLicense {
    pub user_id: String,
    pub organization_id: String,
    pub use_external_license: bool,
    pub user_bundle_codes: Vec<String>,
}

/// A user holding a seat, as the organization's list shows it.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SeatHolder {
    pub user_id: String,
    /// Sorted; never empty.
    #[schema(min_items = 1)]
    pub user_bundle_codes: Vec<String>,
    pub use_external_license: bool,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = AuditRecord)]
pub struct AuditEntry {
    pub id: String,
    pub account_id: String,
    /// The principal, e.g. `host:<id>`.
    pub actor: String,
    /// e.g. `PUT /lrm/api/host/{hostAccountId}/license`.
    pub route: String,
    /// `host`, `organization`, `tenant:<scope>/<type>` or `users`.
    pub target: String,
    /// Unix time in seconds.
    pub timestamp: i64,
    /// Quantities per code, or bundle codes per user.
    #[schema(value_type = Object)]
    pub before: serde_json::Value,
    #[schema(value_type = Object)]
    pub after: serde_json::Value,
}

/// The codes a license shows: those it holds or still has given out.
fn shown(pools: &Pools) -> impl Iterator<Item = (&String, &Pool)> {
    pools.iter().filter(|(_, p)| p.quantity > 0 || p.allocated > 0)
}

fn bundle_code(org: &OrgLicense) -> String {
    org.subscription_plan.clone().unwrap_or_else(|| "ENTERPRISE".into())
}

/// The host license at `now` (epoch seconds).
pub fn host_view(host: &HostLicense, now: i64) -> HostLicenseView {
    HostLicenseView {
        host_account_id: host.host_account_id.clone(),
        license_code: host.license_code.clone(),
        license_status: host.term(now).license_status(),
        start_date: host.start_date,
        end_date: host.end_date,
        grace_period: host.grace_period,
        subscription_plan: host.subscription_plan.clone(),
        products: shown(&host.products)
            .map(|(code, p)| HostProduct {
                code: code.clone(),
                quantity: p.quantity,
                allocated: p.allocated,
                available: p.quantity - p.allocated,
            })
            .collect(),
    }
}

/// An organization's pools: what it gave out to its tenant services and user
/// seats is both its `allocated` and its `consumed`. Its status at `now` (epoch seconds).
pub fn org_view(org: &OrgLicense, now: i64) -> OrganizationLicense {
    OrganizationLicense {
        account_id: org.account_id.clone(),
        bundle_code: bundle_code(org),
        end_date: org.end_date,
        grace_period: org.grace_period,
        license_code: org.license_code.clone(),
        license_status: org.term(now).license_status(),
        products: shown(&org.products)
            .map(
                |(
                    code,
                    Pool {
                        quantity, allocated, ..
                    },
                )| OrganizationProduct {
                    code: code.clone(),
                    quantity: *quantity,
                    product_type: ProductType::of(code),
                    features: Vec::new(),
                    allocated: *allocated,
                    consumed: *allocated,
                    available: quantity - allocated,
                },
            )
            .collect(),
        templates: Vec::new(),
        start_date: org.start_date,
        subscription_code: org.parent_license_code.clone(),
        subscription_plan: org.subscription_plan.clone(),
        payload: String::new(),
        license_type: OrganizationType::Organization,
        parent_license_code: org.parent_license_code.clone(),
    }
}

pub fn org_inventory_view(org: &OrgLicense) -> HostOrganization {
    HostOrganization {
        account_id: org.account_id.clone(),
        products: shown(&org.products)
            .map(|(code, p)| HostOrganizationProduct {
                code: code.clone(),
                quantity: p.quantity,
                consumed: p.allocated,
                available: p.quantity - p.allocated,
            })
            .collect(),
    }
}

pub fn seat_holder_view(seat: &UserSeat) -> SeatHolder {
    SeatHolder {
        user_id: seat.user_id.clone(),
        user_bundle_codes: seat.user_bundle_codes.clone(),
        use_external_license: seat.use_external_license,
    }
}

/// A tenant service, under its organization's terms at `now` (epoch seconds).
pub fn tenant_view(org: &OrgLicense, tenant: &TenantService, now: i64) -> ServiceLicense {
    ServiceLicense {
        account_id: tenant.account_id.clone(),
        service_scope_id: tenant.service_scope_id.clone(),
        service_type: tenant.service_type.clone(),
        tenant_name: tenant.tenant_name.clone(),
        license: ServiceLicenseTerms {
            license_code: tenant.license_code.clone(),
            bundle_code: bundle_code(org),
            subscription_code: org.parent_license_code.clone(),
            license_status: org.term(now).license_status(),
            start_date: org.start_date,
            end_date: org.end_date,
            grace_period: org.grace_period,
            products: tenant
                .products
                .iter()
                .map(|(code, quantity)| ServiceProduct {
                    code: code.clone(),
                    quantity: *quantity,
                    product_type: ProductType::of(code),
                    features: Vec::new(),
                })
                .collect(),
            templates: Vec::new(),
            payload: String::new(),
            boon_license_code: org.license_code.clone(),
        },
        user_licensing_enabled: true,
        account_license_code: org.license_code.clone(),
    }
}

pub fn audit_view(record: &AuditRecord) -> AuditEntry {
    AuditEntry {
        id: record.id.clone(),
        account_id: record.account_id.clone(),
        actor: record.actor.clone(),
        route: record.route.clone(),
        target: record.target.clone(),
        timestamp: record.timestamp,
        before: record.before.clone(),
        after: record.after.clone(),
    }
}

pub fn seat_view(seat: &UserSeat) -> UserLicense {
    UserLicense {
        user_id: seat.user_id.clone(),
        organization_id: seat.account_id.clone(),
        use_external_license: seat.use_external_license,
        user_bundle_codes: seat.user_bundle_codes.clone(),
    }
}

pub fn group_view(rule: &GroupRule) -> GroupLicense {
    GroupLicense {
        group_id: rule.group_id.clone(),
        organization_id: rule.account_id.clone(),
        use_external_license: rule.use_external_license,
        user_bundle_codes: rule.user_bundle_codes.clone(),
    }
}

mod service_allocation_schema {
    use super::ServiceAllocation;
    use crate::allocation::TENANT_NAME_MAX;
    use crate::json::LINE_PATTERN;
    use crate::schema::or_null;
    use crate::wire::schema::{nullable, product_quantities, product_quantities_shape};
    use utoipa::openapi::schema::{AnyOfBuilder, ObjectBuilder, Schema, Type};
    use utoipa::openapi::RefOr;
    use utoipa::{PartialSchema, ToSchema};

    impl PartialSchema for ServiceAllocation {
        /// Either `products` is given and checked (`productQuantities` then only
        /// read), or it is left out or null and `productQuantities` is checked.
        fn schema() -> RefOr<Schema> {
            let tenant_name = || {
                ObjectBuilder::new()
                    .schema_type(or_null(Type::String))
                    .min_length(Some(1))
                    .max_length(Some(TENANT_NAME_MAX))
                    .pattern(Some(LINE_PATTERN))
                    .description(Some("Left out or null: kept as it was. No control characters."))
            };
            let products_given = ObjectBuilder::new()
                .property("tenantName", tenant_name())
                .property("products", product_quantities())
                .property("productQuantities", nullable(product_quantities_shape()))
                .required("products");
            let quantities_given = ObjectBuilder::new()
                .property("tenantName", tenant_name())
                .property("products", ObjectBuilder::new().schema_type(Type::Null))
                .property("productQuantities", product_quantities())
                .required("productQuantities");
            AnyOfBuilder::new()
                .item(products_given)
                .item(quantities_given)
                .description(Some(
                    "The products go in `products`, or (as seed 002 sends them) in `productQuantities`, \
                 which is read only when `products` is left out or null.",
                ))
                .into()
        }
    }

    impl ToSchema for ServiceAllocation {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::allocation::TENANT_NAME_MAX;

    fn body(json: &str) -> ServiceAllocation {
        serde_json::from_str(json).unwrap()
    }

    /// As the edge parses a body: a refusal names the field's path.
    fn parse<T: serde::de::DeserializeOwned>(json: &str) -> Result<T, String> {
        let mut deserializer = serde_json::Deserializer::from_str(json);
        serde_path_to_error::deserialize(&mut deserializer)
            .map_err(|err| crate::json::field_error("", &err.path().to_string(), err.inner()).message)
    }

    #[test]
    fn user_ids_are_checked_as_the_body_is_read() {
        let assignment: UserLicenseAssignment =
            parse(r#"{"userIds": ["u-1", "a.b@c_d"], "userBundleCodes": ["RPADEVPRO"]}"#).unwrap();
        let ids: Vec<&str> = assignment.user_ids.iter().map(|id| id.as_str()).collect();
        assert_eq!(ids, ["u-1", "a.b@c_d"]);
        let rule = "must be 1 to 128 letters, digits, '-', '_', '.' or '@'";
        for bad in [r#""""#, r#""a b""#, r#""é""#, &format!(r#""{}""#, "u".repeat(129))] {
            let json = format!(r#"{{"userIds": ["u-1", {bad}], "userBundleCodes": []}}"#);
            let refusal = parse::<UserLicenseAssignment>(&json).err().unwrap();
            assert_eq!(refusal, format!("userIds[1]: {rule}"), "{bad}");
        }
    }

    #[test]
    fn a_service_allocation_reads_products_else_product_quantities() {
        let (_, products) = body(
            r#"{"products": [{"code": "AIG", "quantity": 2}], "productQuantities": [{"code": "x", "quantity": -1}]}"#,
        )
        .checked()
        .unwrap();
        assert_eq!(products, Quantities::from([("AIG".to_string(), 2)]));
        let (name, products) = body(r#"{"tenantName": "t", "productQuantities": [{"code": "TIE", "quantity": 1}]}"#)
            .checked()
            .unwrap();
        assert_eq!(
            (name.as_deref(), products),
            (Some("t"), Quantities::from([("TIE".to_string(), 1)]))
        );
        assert_eq!(body("{}").checked().unwrap_err().message, "products: is required");
        let long = format!(
            r#"{{"tenantName": "{}", "products": []}}"#,
            "n".repeat(TENANT_NAME_MAX + 1)
        );
        let mut deserializer = serde_json::Deserializer::from_str(&long);
        let err = serde_path_to_error::deserialize::<_, ServiceAllocation>(&mut deserializer)
            .err()
            .unwrap();
        let refusal = crate::json::field_error("", &err.path().to_string(), err.inner());
        assert_eq!(refusal.message, "tenantName: must be 1 to 255 characters");
    }
}
