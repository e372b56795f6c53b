//! Every function's code: one module of `routes` per function of
//! template.yaml, named as its binary (`src/bin/<name>.rs`, dashes as
//! underscores), each with its handler and `serve()`.

/// Declares the route modules, one non-generic start for each, and the list
/// the API document is generated from. A function in the first group serves
/// HTTP and states its operation on its handler (`#[utoipa::path]`, `ACCESS`,
/// `ERRORS`); one in the second runs on a schedule.
macro_rules! routes {
    ($($documented:ident),* ; $($scheduled:ident),* $(,)?) => {
        pub mod routes {
            $(pub mod $documented;)*
            $(pub mod $scheduled;)*
        }

        /// Each route served on a new runtime. Not generic, so the runtime's
        /// code for each route is compiled here, once, and a binary is only
        /// linked: a binary that instantiated `block_on` itself took 10 s to
        /// compile in the arm64 check, one calling this takes under 1 s.
        pub mod start {
            $(pub fn $documented() -> Result<(), lambda_http::Error> {
                super::runtime()?.block_on(super::routes::$documented::serve())
            })*
            $(pub fn $scheduled() -> Result<(), lambda_http::Error> {
                super::runtime()?.block_on(super::routes::$scheduled::serve())
            })*
        }

        /// Every function, with the operation of each that serves HTTP.
        pub fn every_route() -> Vec<openapi::Route> {
            vec![
                $(openapi::Route {
                    name: stringify!($documented),
                    documented: Some(openapi::Documented::of::<routes::$documented::__path_handle>(
                        routes::$documented::ACCESS,
                        routes::$documented::ERRORS,
                    )),
                },)*
                $(openapi::Route { name: stringify!($scheduled), documented: None },)*
            ]
        }
    };
}

pub mod openapi;

routes! {
    // Served over HTTP, in template.yaml's order (the API document lists
    // their paths, and a path's methods, in this order).
    create_entitlement,
    list_entitlements,
    get_entitlement,
    update_entitlement,
    delete_entitlement,
    put_entitlement_translation,
    list_entitlement_translations,
    delete_entitlement_translation,
    upload_entitlement_file,
    delete_entitlement_file,
    start_file_upload,
    complete_file_upload,
    create_credit_entitlement,
    get_credit_entitlement,
    update_credit_entitlement,
    list_credit_entitlements,
    delete_credit_entitlement,
    undelete_credit_entitlement,
    put_credit_entitlement_translation,
    list_credit_entitlement_translations,
    delete_credit_entitlement_translation,
    get_credit_balance,
    list_credit_balances,
    create_credit_ledger_entry,
    list_credit_grants,
    list_credit_ledger,
    list_customer_credit_entitlements,
    create_portal_session,
    open_portal_session,
    get_portal_page,
    get_portal_asset,
    get_portal_business,
    get_portal_profile,
    list_portal_entitlements,
    download_portal_files,
    list_portal_devices,
    free_portal_device,
    list_portal_credits,
    list_portal_credit_ledger,
    issue_grant,
    list_entitlement_grants,
    revoke_grant,
    list_customer_grants,
    list_customer_entitlements,
    get_grant,
    fulfil_grant,
    resend_grant_email,
    update_product,
    get_product,
    update_payment_provider,
    receive_dodo_event,
    list_license_keys,
    import_license_key,
    get_license_key,
    update_license_key,
    list_license_key_instances,
    get_license_key_instance,
    rename_license_key_instance,
    create_webhook,
    list_webhooks,
    get_webhook,
    update_webhook,
    delete_webhook,
    get_webhook_secret,
    get_webhook_headers,
    update_webhook_headers,
    list_webhook_deliveries,
    activate_license,
    deactivate_license,
    validate_license,
    heartbeat_license,
    checkout_license,
    get_jwks,
    put_host_license,
    get_host_license,
    allocate_organization_license,
    get_organization_license,
    list_host_organizations,
    allocate_service_license,
    get_service_license,
    list_service_licenses,
    put_group_license,
    get_group_license,
    assign_user_licenses,
    get_user_license,
    release_user_license,
    list_user_licenses,
    list_account_audit,
    get_customer_license,
    get_user_license_status;
    // Run on a schedule: no operation.
    email_retry,
    deliver_webhooks,
    expire_credits,
}

fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build()
}

/// A binary serving one route: `functions::main!(get_entitlement);`.
#[macro_export]
macro_rules! main {
    ($route:ident) => {
        fn main() -> Result<(), lambda_http::Error> {
            $crate::start::$route()
        }
    };
}
