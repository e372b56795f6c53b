//! openapi.yaml: the operation each route's code states (`#[utoipa::path]` on
//! its handler, finished by `operation::finish`), what the operations share
//! (`document.yaml`: info, tags, shared responses, parameters and headers),
//! and every schema derived from the wire types, so the document says what the
//! code reads and answers. A test fails while the checked-in file differs.

mod operation;

use licensing::domain::credit::{
    BalanceView, CreditEntitlement, CreditEntitlementPatch, CreditEntitlementTranslation,
    CreditEntitlementTranslationList, CreditGrant, CreditOverrides, CreditTranslationInput, Credits,
    CustomerCreditEntitlement, EntryType, GrantSource, GrantStatus as CreditGrantStatus, LedgerEntry,
    LedgerEntryRequest, NewCreditEntitlement, OverageBehavior, ProrationBehavior, TransactionType,
};
use licensing::domain::customer_entitlements::{CustomerEntitlement, CustomerEntitlements};
use licensing::domain::digital_files::{
    DeliveredFile, DigitalFilesConfig, DigitalProductDelivery, FileRef, UploadForm, UploadRequest,
};
use licensing::domain::entitlement::{
    DurationInterval, Entitlement, EntitlementPatch, FeatureFlagConfig, FeatureType, FulfillmentMode, IntegrationType,
    LicenseKeyConfig,
};
use licensing::domain::grant::{EmailDelivery, Grant, GrantLicenseKey, GrantStatus};
use licensing::domain::grant_requests::{Fulfilment, NewGrant, Revocation};
use licensing::domain::license_key::{Instance, LicenseKey, LicenseKeyStatus};
use licensing::domain::metadata::MetadataInput;
use licensing::domain::offline_license::{Jwk, JwkSet};
use licensing::domain::payment_provider::{ConnectionUpdate, ConnectionView};
use licensing::domain::product::{CreditMappingView, ProductEntitlement, ProductPatch, ProductView};
use licensing::domain::schema::Extended;
use licensing::domain::translation::{EntitlementTranslation, EntitlementTranslationList, Locale, TranslationInput};
use licensing::domain::webhook::{
    Attempt, Delivery, EndpointDetails, EndpointPatch, HeadersUpdate, NewEndpoint, WebhookEventType, WebhookHeaders,
    WebhookMetadata, WebhookUrl,
};
use licensing::error::{CodedError, GoogleError};
use licensing::wire::appsmarket::{CustomerLicense, UserLicenseStatus};
use licensing::wire::dodo::{
    self, ActivatedInstance, Activation, Empty, InstanceRef, InstanceRename, LicenseKeyImport, LicenseKeyPatch,
    OfflineLicense, Validation, ValidationResult, WebhookHeadersView, WebhookSecret,
};
use licensing::wire::lrm::{
    AuditEntry, GroupLicense, GroupLicenseBody, HostLicenseBody, HostLicenseView, HostOrganization,
    OrganizationAllocation, OrganizationLicense, SeatHolder, ServiceAllocation, ServiceLicense, UserLicense,
    UserLicenseAssignment,
};
use licensing::wire::portal::{
    PortalBusiness, PortalDownload, PortalEntitlementRef, PortalGrant, PortalGrantError, PortalGrantList,
    PortalInstance, PortalInstanceList, PortalLicenseKey, PortalLink, PortalProfile,
};
use licensing::wire::schema::{page_of, path_segment, PathSegment};
use std::path::PathBuf;
use utoipa::openapi::RefOr;
use utoipa::{PartialSchema, ToSchema};
use yaml_serde::Value;

/// The schemas derived from code, by the name the operations refer to them by.
fn derived_schemas() -> Vec<(String, Extended)> {
    fn named<T: ToSchema>() -> (String, Extended) {
        (T::name().into_owned(), T::schema().into())
    }
    fn page<T: ToSchema>(name: &str) -> (String, Extended) {
        (name.to_string(), RefOr::from(page_of::<T>()).into())
    }
    vec![
        // Every family.
        named::<CodedError<'static>>(),
        named::<GoogleError<'static>>(),
        (PathSegment::name().into_owned(), path_segment()),
        // Entitlements (Dodo).
        named::<IntegrationType>(),
        named::<MetadataInput>(),
        named::<DurationInterval>(),
        named::<FulfillmentMode>(),
        ("LicenseKeyConfigInput".into(), dodo::license_key_config_input()),
        named::<LicenseKeyConfig>(),
        named::<FeatureType>(),
        named::<FeatureFlagConfig>(),
        (Entitlement::name().into_owned(), dodo::entitlement()),
        ("NewEntitlement".into(), dodo::new_entitlement()),
        named::<EntitlementPatch>(),
        page::<Entitlement>("EntitlementList"),
        named::<Locale>(),
        named::<TranslationInput>(),
        named::<EntitlementTranslation>(),
        named::<EntitlementTranslationList>(),
        // Digital files.
        named::<DigitalFilesConfig>(),
        named::<DeliveredFile>(),
        named::<DigitalProductDelivery>(),
        (
            "ResolvedDigitalFilesConfig".into(),
            dodo::resolved_digital_files().into(),
        ),
        named::<FileRef>(),
        named::<UploadRequest>(),
        named::<UploadForm>(),
        named::<functions::openapi::FileUpload>(),
        // Credit entitlements (Dodo).
        named::<Credits>(),
        named::<OverageBehavior>(),
        named::<CreditEntitlement>(),
        named::<NewCreditEntitlement>(),
        named::<CreditEntitlementPatch>(),
        page::<CreditEntitlement>("CreditEntitlementList"),
        named::<CreditTranslationInput>(),
        named::<CreditEntitlementTranslation>(),
        named::<CreditEntitlementTranslationList>(),
        named::<BalanceView>(),
        page::<BalanceView>("CreditBalanceList"),
        named::<GrantSource>(),
        named::<CreditGrantStatus>(),
        named::<CreditGrant>(),
        page::<CreditGrant>("CreditGrantList"),
        named::<EntryType>(),
        named::<TransactionType>(),
        named::<LedgerEntryRequest>(),
        named::<LedgerEntry>(),
        page::<LedgerEntry>("CreditLedgerEntryList"),
        named::<CustomerCreditEntitlement>(),
        (
            "CustomerCreditEntitlementList".into(),
            RefOr::from(
                utoipa::openapi::schema::ObjectBuilder::new()
                    .property(
                        "items",
                        utoipa::openapi::schema::ArrayBuilder::new().items(CustomerCreditEntitlement::schema()),
                    )
                    .required("items"),
            )
            .into(),
        ),
        // The customer portal.
        named::<PortalLink>(),
        named::<PortalBusiness>(),
        named::<PortalProfile>(),
        named::<PortalEntitlementRef>(),
        named::<PortalLicenseKey>(),
        named::<PortalGrantError>(),
        named::<PortalGrant>(),
        named::<PortalGrantList>(),
        named::<PortalInstance>(),
        named::<PortalInstanceList>(),
        named::<PortalDownload>(),
        // Grants (Dodo).
        named::<GrantStatus>(),
        named::<LicenseKeyStatus>(),
        named::<GrantLicenseKey>(),
        named::<EmailDelivery>(),
        named::<Grant>(),
        named::<NewGrant>(),
        page::<Grant>("GrantList"),
        named::<Revocation>(),
        named::<Fulfilment>(),
        named::<CustomerEntitlement>(),
        ("CustomerEntitlementList".into(), CustomerEntitlements::schema().into()),
        // Products (Dodo).
        named::<CreditOverrides>(),
        named::<ProrationBehavior>(),
        named::<ProductPatch>(),
        named::<ProductEntitlement>(),
        named::<CreditMappingView>(),
        named::<ProductView>(),
        // Payment providers.
        named::<ConnectionUpdate>(),
        named::<ConnectionView>(),
        // License keys and instances (Dodo).
        (LicenseKey::name().into_owned(), dodo::license_key().into()),
        page::<LicenseKey>("LicenseKeyList"),
        named::<LicenseKeyImport>(),
        named::<LicenseKeyPatch>(),
        named::<Instance>(),
        page::<Instance>("LicenseKeyInstanceList"),
        named::<InstanceRename>(),
        // The public license routes.
        named::<Activation>(),
        named::<ActivatedInstance>(),
        named::<InstanceRef>(),
        named::<Validation>(),
        named::<ValidationResult>(),
        ("LeasedInstance".into(), dodo::leased_instance().into()),
        named::<OfflineLicense>(),
        named::<Empty>(),
        named::<Jwk>(),
        named::<JwkSet<'static>>(),
        // Webhooks (Dodo).
        named::<WebhookEventType>(),
        named::<WebhookUrl>(),
        named::<WebhookMetadata>(),
        ("WebhookHeaders".into(), WebhookHeaders::extended()),
        named::<EndpointDetails<'static>>(),
        named::<NewEndpoint>(),
        named::<EndpointPatch>(),
        (
            "WebhookList".into(),
            dodo::iterator_page_of::<EndpointDetails<'static>>(),
        ),
        named::<WebhookSecret>(),
        named::<WebhookHeadersView<'static>>(),
        named::<HeadersUpdate>(),
        named::<Attempt>(),
        named::<Delivery>(),
        ("WebhookDeliveryList".into(), dodo::iterator_page_of::<Delivery>()),
        // License allocation (UiPath LRM).
        named::<HostLicenseBody>(),
        named::<HostLicenseView>(),
        named::<OrganizationAllocation>(),
        named::<OrganizationLicense>(),
        named::<HostOrganization>(),
        page::<HostOrganization>("HostOrganizationList"),
        named::<ServiceAllocation>(),
        named::<ServiceLicense>(),
        page::<ServiceLicense>("ServiceLicenseList"),
        named::<GroupLicenseBody>(),
        named::<GroupLicense>(),
        named::<UserLicenseAssignment>(),
        named::<UserLicense>(),
        named::<SeatHolder>(),
        page::<SeatHolder>("SeatHolderList"),
        named::<AuditEntry>(),
        page::<AuditEntry>("AuditList"),
        // License status (Google Workspace Marketplace).
        named::<CustomerLicense>(),
        named::<UserLicenseStatus>(),
    ]
}

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The whole document as openapi.yaml holds it.
pub fn document() -> String {
    let mut document: Value =
        yaml_serde::from_str(include_str!("../document.yaml")).expect("infra/openapi/document.yaml is YAML");
    add_code_operations(&mut document);
    let components = document["components"]
        .as_mapping_mut()
        .expect("document.yaml has components");
    let schemas = components
        .entry(Value::String("schemas".into()))
        .or_insert_with(|| Value::Mapping(Default::default()))
        .as_mapping_mut()
        .expect("components.schemas is a mapping");
    for (name, Extended { schema, keywords }) in derived_schemas() {
        let mut schema = yaml_serde::to_value(schema).expect("a schema is plain data");
        for (keyword, value) in keywords {
            let value = yaml_serde::to_value(value).expect("a keyword's value is plain data");
            schema
                .as_mapping_mut()
                .expect("keywords extend an object schema")
                .insert(Value::String(keyword), value);
        }
        if schemas.insert(Value::String(name.clone()), schema).is_some() {
            panic!("{name} is both written in document.yaml and derived from code");
        }
    }
    let header = "# Generated by `make openapi` from the routes' handlers (functions/src/routes),\n\
                  # infra/openapi/document.yaml and the wire types; edit those, not this file.\n";
    format!(
        "{header}{}",
        yaml_serde::to_string(&document).expect("the document serializes")
    )
}

/// Adds the operation each route's code states to `paths`, in the order of
/// the `routes!` list (template.yaml's): a path where its first route is, its
/// methods in their routes' order.
fn add_code_operations(document: &mut Value) {
    let paths = document["paths"].as_mapping_mut().expect("document.yaml has paths");
    for route in functions::every_route() {
        let Some(documented) = route.documented else { continue };
        let item = paths
            .entry(Value::String(documented.path.clone()))
            .or_insert_with(|| Value::Mapping(Default::default()))
            .as_mapping_mut()
            .expect("a path item is a mapping");
        for (method, operation) in operation::finish(&documented) {
            if item.insert(method.clone(), operation).is_some() {
                let (method, path) = (method.as_str().unwrap_or_default(), &documented.path);
                panic!("{method} {path} is stated by two routes, the second {}", route.name);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checked_in_document_is_what_the_code_derives() {
        let checked_in = std::fs::read_to_string(root().join("openapi.yaml")).unwrap();
        assert!(
            checked_in == document(),
            "openapi.yaml is stale: run `make openapi` and commit it"
        );
    }

    /// Every `$ref` names a component that exists: a type renamed in code
    /// must be renamed where the operations refer to it.
    #[test]
    fn every_reference_resolves() {
        let document: Value = yaml_serde::from_str(&document()).unwrap();
        let mut refs = Vec::new();
        collect_refs(&document, &mut refs);
        assert!(refs.len() > 100, "{} references", refs.len());
        for reference in refs {
            let mut node = &document;
            for part in reference.trim_start_matches("#/").split('/') {
                node = &node[part];
            }
            assert!(!node.is_null(), "{reference} does not resolve");
        }
    }

    /// Every function that serves HTTP (its file starts `//! METHOD /path`)
    /// states exactly the operations of that route, and the document has no other.
    #[test]
    fn every_route_has_exactly_one_operation() {
        let document: Value = yaml_serde::from_str(&document()).unwrap();
        let mut served = std::collections::BTreeSet::new();
        for route in functions::every_route() {
            let file = root().join(format!("functions/src/routes/{}.rs", route.name));
            let source = std::fs::read_to_string(&file).unwrap();
            let routes = http_routes(source.lines().next().unwrap_or_default());
            let Some(documented) = &route.documented else {
                assert!(
                    routes.is_empty(),
                    "{} serves HTTP but is in routes!' scheduled group",
                    route.name
                );
                continue;
            };
            let stated: Vec<(String, String)> = documented
                .methods
                .iter()
                .map(|m| {
                    let method = yaml_serde::to_value(m).unwrap().as_str().unwrap().to_string();
                    (method, documented.path.clone())
                })
                .collect();
            assert_eq!(
                stated, routes,
                "{}: #[utoipa::path] and the file's first line name different routes",
                route.name
            );
            for route in routes {
                assert!(served.insert(route), "a route is served twice");
            }
        }
        let operations: std::collections::BTreeSet<_> = document["paths"]
            .as_mapping()
            .unwrap()
            .iter()
            .flat_map(|(path, item)| {
                let path = path.as_str().unwrap().to_string();
                item.as_mapping()
                    .unwrap()
                    .keys()
                    .map(move |method| (method.as_str().unwrap().to_string(), path.clone()))
            })
            .collect();
        assert_eq!(operations, served);
    }

    /// `//! PUT /path (POST too, ...): ...` as [(`put`, `/path`), (`post`, `/path`)];
    /// a query or colon after the path is not part of it.
    fn http_routes(head: &str) -> Vec<(String, String)> {
        const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];
        let words: Vec<&str> = head
            .strip_prefix("//! ")
            .unwrap_or_default()
            .split_whitespace()
            .collect();
        let [method, path, rest @ ..] = words.as_slice() else {
            return Vec::new();
        };
        if !METHODS.contains(method) {
            return Vec::new();
        }
        let path = path.split('?').next().unwrap_or_default().trim_end_matches(':');
        let mut methods = vec![method.to_lowercase()];
        for pair in rest.windows(2) {
            let also = pair[0].trim_start_matches('(');
            if METHODS.contains(&also) && pair[1].starts_with("too") {
                methods.push(also.to_lowercase());
            }
        }
        methods.into_iter().map(|method| (method, path.to_string())).collect()
    }

    fn collect_refs(node: &Value, refs: &mut Vec<String>) {
        match node {
            Value::Mapping(map) => {
                for (key, value) in map {
                    match (key.as_str(), value.as_str()) {
                        (Some("$ref"), Some(target)) => refs.push(target.to_string()),
                        _ => collect_refs(value, refs),
                    }
                }
            }
            Value::Sequence(items) => items.iter().for_each(|item| collect_refs(item, refs)),
            _ => {}
        }
    }
}
