//! What the API document (infra/openapi) takes from each route: the operation
//! `#[utoipa::path]` states on its handler, and the `Access` and `ErrorStyle`
//! its `serve()` uses, from which the generator derives what every route of
//! that kind answers (401/403, 413, 503, the error form). Not linked into the
//! binaries: nothing they run calls it.

use licensing::domain::grant::GrantStatus;
use licensing::error::CodedError;
use licensing::{Access, ErrorStyle, MAX_QUERY_VALUE};
use utoipa::openapi::extensions::Extensions;
use utoipa::openapi::path::{HttpMethod, Operation, Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{AllOfBuilder, ObjectBuilder, Type};
use utoipa::openapi::{Ref, RefOr, Response, Schema};
use utoipa::ToSchema;

/// One function of template.yaml, by its module's name.
pub struct Route {
    pub name: &'static str,
    /// `None` for a function run on a schedule.
    pub documented: Option<Documented>,
}

/// A route's operation as its code states it, before the generator finishes it.
pub struct Documented {
    pub access: Access,
    pub errors: ErrorStyle,
    pub path: String,
    pub methods: Vec<HttpMethod>,
    pub operation: Operation,
}

impl Documented {
    /// `P` is the `__path_handle` that `#[utoipa::path]` on a handler generates.
    /// Its `tag` is not in `operation()`: utoipa's own `OpenApi` derive adds
    /// it from `__dev::Tags`, and so does this.
    pub fn of<P: utoipa::Path + for<'t> utoipa::__dev::Tags<'t>>(access: Access, errors: ErrorStyle) -> Self {
        let mut operation = P::operation();
        let tags: Vec<String> = P::tags().into_iter().map(String::from).collect();
        if !tags.is_empty() {
            operation.tags = Some(tags);
        }
        Self {
            access,
            errors,
            path: P::path(),
            methods: P::methods(),
            operation,
        }
    }
}

/// Names of `components.responses` of document.yaml, for
/// `(status = 404, response = GoogleNotFound)`: utoipa refers to a response
/// component by a type, and only its name is used.
macro_rules! response_components {
    ($($name:ident),* $(,)?) => {
        $(
            pub struct $name;

            impl utoipa::ToResponse<'static> for $name {
                fn response() -> (&'static str, RefOr<Response>) {
                    let name = stringify!($name);
                    (name, RefOr::Ref(Ref::from_response_name(name)))
                }
            }
        )*
    };
}

response_components!(
    GoogleNotFound,
    QueryInvalid,
    PathIdNotFound,
    KeyConflictsRateLimited,
    Unverified
);

/// Names of `components.parameters` of document.yaml, for `params(Limit)`.
/// utoipa has no parameter `$ref`: the one parameter each gives carries the
/// `$ref`, and the generator drops the name and place utoipa insists on.
macro_rules! parameter_components {
    ($($name:ident),* $(,)?) => {
        $(
            pub struct $name;

            impl utoipa::IntoParams for $name {
                fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
                    vec![component_parameter(stringify!($name))]
                }
            }
        )*
    };
}

fn component_parameter(name: &str) -> Parameter {
    let reference = format!("#/components/parameters/{name}");
    ParameterBuilder::new()
        .name(name)
        .extensions(Some(Extensions::from_iter([("$ref", reference)])))
        .build()
}

parameter_components!(Limit, Iterator, PageSize, PageNumber, Cursor);

/// Names of `components.schemas` that infra/openapi builds without a type of
/// their own (a page of a type), for `body = WebhookList`.
macro_rules! schema_components {
    ($($name:ident),* $(,)?) => {
        $(
            pub struct $name;

            impl utoipa::PartialSchema for $name {
                fn schema() -> RefOr<Schema> {
                    RefOr::Ref(Ref::from_schema_name(stringify!($name)))
                }
            }

            impl ToSchema for $name {
                fn name() -> std::borrow::Cow<'static, str> {
                    stringify!($name).into()
                }
            }
        )*
    };
}

schema_components!(
    WebhookList,
    WebhookDeliveryList,
    EntitlementList,
    GrantList,
    CustomerEntitlementList,
    LicenseKeyList,
    LicenseKeyInstanceList,
    LeasedInstance,
    HostOrganizationList,
    ServiceLicenseList,
    SeatHolderList,
    AuditList,
    CreditEntitlementList,
    CreditBalanceList,
    CreditGrantList,
    CreditLedgerEntryList,
    CustomerCreditEntitlementList,
);

/// `{code, message}` error bodies whose `code` is one of those listed, for
/// `body = inline(NotFound)`. utoipa's `allOf` has no sibling `properties`:
/// the refinement is its last item, which the generator lifts beside it.
macro_rules! coded_errors {
    ($($name:ident = [$($code:literal),+ $(,)?]),* $(,)?) => {
        $(
            pub struct $name;

            impl utoipa::PartialSchema for $name {
                fn schema() -> RefOr<Schema> {
                    coded_error(&[$($code),+])
                }
            }

            impl ToSchema for $name {}
        )*
    };
}

fn coded_error(codes: &[&str]) -> RefOr<Schema> {
    let code = ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(codes.iter().copied()));
    let refinement = ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::SchemaType::AnyValue)
        .property("code", code);
    AllOfBuilder::new()
        .item(Ref::from_schema_name(CodedError::name()))
        .item(refinement)
        .into()
}

coded_errors!(
    NotFound = ["NOT_FOUND"],
    CrossSite = ["FORBIDDEN"],
    PortalInstanceNotFound = ["NOT_FOUND", "LICENSE_KEY_NOT_FOUND", "LICENSE_KEY_INSTANCE_NOT_FOUND"],
    WebhookRejected = ["VALIDATION_ERROR", "WEBHOOK_URL_NOT_ALLOWED", "IDEMPOTENCY_KEY_REUSED"],
    KeyInUse = ["IDEMPOTENCY_KEY_IN_USE"],
    IssueConflict = ["ENTITLEMENT_INACTIVE", "IDEMPOTENCY_KEY_IN_USE"],
    FulfilConflict = [
        "GRANT_NOT_LICENSE_KEY",
        "NOT_MANUAL_FULFILLMENT",
        "GRANT_NOT_PENDING",
        "LICENSE_KEY_ALREADY_ATTACHED",
        "LICENSE_KEY_ALREADY_EXISTS",
        "IDEMPOTENCY_KEY_IN_USE",
    ],
    ResendConflict = ["GRANT_NOT_DELIVERED", "IDEMPOTENCY_KEY_IN_USE"],
    ResendTooSoon = ["RESEND_TOO_SOON"],
    ImportConflict = ["LICENSE_KEY_ALREADY_EXISTS", "IDEMPOTENCY_KEY_IN_USE"],
    KeyPatchRejected = [
        "VALIDATION_ERROR",
        "ACTIVATION_LIMIT_LESS_THAN_CURRENT_AMOUNT",
        "IDEMPOTENCY_KEY_REUSED",
    ],
    InactiveKey = ["INACTIVE_LICENSE_KEY"],
    KeyNotFound = ["LICENSE_KEY_NOT_FOUND"],
    ActivationRejected = [
        "VALIDATION_ERROR",
        "LICENSE_KEY_LIMIT_REACHED",
        "IDEMPOTENCY_KEY_REUSED",
    ],
    InstanceNotFound = ["LICENSE_KEY_NOT_FOUND", "LICENSE_KEY_INSTANCE_NOT_FOUND"],
    LiveInstanceNotFound = [
        "LICENSE_KEY_NOT_FOUND",
        "LICENSE_KEY_INSTANCE_NOT_FOUND",
        "INSTANCE_EXPIRED",
    ],
    HostLicenseNotFound = ["HOST_LICENSE_NOT_FOUND", "NOT_FOUND"],
    HostLicenseBelowAllocated = ["HOST_LICENSE_BELOW_ALLOCATED", "IDEMPOTENCY_KEY_IN_USE"],
    OrganizationNotFound = ["HOST_LICENSE_NOT_FOUND", "ACCOUNT_LICENSE_NOT_FOUND", "NOT_FOUND"],
    OrganizationAllocationConflict = [
        "ALLOCATION_BELOW_CONSUMED",
        "ALLOCATION_EXCEEDS_HOST_LICENSE",
        "IDEMPOTENCY_KEY_IN_USE",
    ],
    AccountLicenseNotFound = ["ACCOUNT_LICENSE_NOT_FOUND", "NOT_FOUND"],
    AccountLicenseExceeded = ["ALLOCATION_EXCEEDS_ACCOUNT_LICENSE", "IDEMPOTENCY_KEY_IN_USE"],
    ServiceLicenseNotFound = ["ACCOUNT_LICENSE_NOT_FOUND", "SERVICE_LICENSE_NOT_FOUND", "NOT_FOUND"],
    GroupLicenseNotFound = ["ACCOUNT_LICENSE_NOT_FOUND", "GROUP_LICENSE_NOT_FOUND", "NOT_FOUND"],
    UserLicenseNotFound = ["ACCOUNT_LICENSE_NOT_FOUND", "USER_LICENSE_NOT_FOUND", "NOT_FOUND"],
    NotDigitalFiles = ["ENTITLEMENT_NOT_DIGITAL_FILES", "IDEMPOTENCY_KEY_IN_USE"],
    UploadConflict = [
        "ENTITLEMENT_NOT_DIGITAL_FILES",
        "UPLOAD_NOT_RECEIVED",
        "UPLOAD_SIZE_MISMATCH",
        "IDEMPOTENCY_KEY_IN_USE",
    ],
    FileTooLarge = ["FILE_TOO_LARGE", "PAYLOAD_TOO_LARGE"],
    NotDeleted = ["NOT_DELETED", "IDEMPOTENCY_KEY_IN_USE"],
    CreditsInsufficient = ["INSUFFICIENT_CREDITS", "OVERAGE_LIMIT_REACHED", "INVALID_JSON"],
    LedgerEntryConflict = ["IDEMPOTENCY_KEY_ALREADY_USED", "IDEMPOTENCY_KEY_IN_USE"],
);

/// The multipart/form-data body of `POST /entitlements/{id}/files`, as the
/// TypeScript SDK's `entitlements.files.upload` sends it.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct FileUpload {
    /// The file's bytes, 1 byte to 4 MiB; its part's filename and
    /// Content-Type are kept.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
    /// Overrides the part's filename.
    #[schema(min_length = 1, max_length = 255)]
    filename: Option<String>,
}

/// A path id a route checks by a pattern of its own, for
/// `("groupId" = inline(LrmIdSegment), Path)`: the pattern, and, as every path
/// segment, not `.` nor `..`. utoipa's schema has no `not`: it is carried as
/// an extension, which is written beside the schema's other keywords.
macro_rules! pattern_segments {
    ($($name:ident = $pattern:expr),* $(,)?) => {
        $(
            pub struct $name;

            impl utoipa::PartialSchema for $name {
                fn schema() -> RefOr<Schema> {
                    pattern_segment($pattern)
                }
            }

            impl ToSchema for $name {}
        )*
    };
}

fn pattern_segment(pattern: &str) -> RefOr<Schema> {
    let not = serde_json::json!({"enum": [".", ".."]});
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(pattern))
        .extensions(Some(Extensions::from_iter([("not", not)])))
        .into()
}

pattern_segments!(
    LrmIdSegment = licensing::json::LRM_ID_PATTERN,
    // As the allocation service's `check_service_type` checks it.
    ServiceTypeSegment = "^[a-z][a-z0-9-]{1,31}$",
);

/// A grant list's `status` filter, for `"status" = inline(Option<GrantStatusFilter>)`:
/// the names `GrantStatus::filter` reads, in any letter case.
pub struct GrantStatusFilter;

impl utoipa::PartialSchema for GrantStatusFilter {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some(GrantStatus::filter_pattern()))
            .max_length(Some(MAX_QUERY_VALUE))
            .into()
    }
}

impl ToSchema for GrantStatusFilter {}
