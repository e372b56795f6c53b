//! The customer portal: a business hands a customer a link; the customer sees
//! their grants, keys, devices, downloads and credits, and frees a device.
//! Every read here is scoped to the (business, customer) of the session the
//! glue resolved (`Call::portal`): another customer's ids are 404.

use crate::app::App;
use crate::auth::{self, PORTAL_COOKIE};
use crate::call::Call;
use crate::clock;
use crate::domain::credit::CustomerCreditEntitlement;
use crate::domain::email_retry::EmailAttempt;
use crate::domain::entitlement::IntegrationType;
use crate::domain::grant::{Grant, GrantStatus};
use crate::domain::license_key::{Instance, InstanceId, KeyText};
use crate::domain::portal::{self as rules, PortalSession, SESSION_HOURS};
use crate::domain::wire::portal::{
    PortalBusiness, PortalDownload, PortalGrant, PortalGrantList, PortalInstance, PortalInstanceList, PortalLink,
    PortalProfile,
};
use crate::error::{ApiError, ApiResult};
use crate::http::Site;
use crate::portal_page::{self, PortalView};
use crate::reply::Reply;
use crate::services::{credits, digital_files, licenses};
use crate::store::PageRequest;

/// A customer's grants the portal reads at most (as `customers.list_entitlements`).
const GRANTS_MAX: usize = 1000;
/// A key's devices the portal shows at most.
const DEVICES_MAX: &str = "100";
/// Ledger entries the page shows per balance (the JSON route pages the rest).
const PAGE_LEDGER_ROWS: &str = "10";

/// `POST /customers/{customer_id}/customer-portal/session`: a link to the
/// portal for 24 hours, emailed to the customer when `send_email` is true.
pub async fn create_session(
    app: &App,
    call: &Call,
    customer_id: &str,
    return_url: Option<&str>,
    send_email: Option<&str>,
    site: &Site,
) -> ApiResult<Reply> {
    crate::json::check_len("customer_id", customer_id, 1, 255)?;
    let return_url = return_url.map(rules::return_url).transpose()?;
    let send_email = match send_email {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => return Err(ApiError::validation("send_email", "must be true or false")),
    };
    let business_id = call.principal_id();
    let grants = app
        .store
        .all_grants_of_customer(business_id, customer_id, GRANTS_MAX)
        .await?;
    let email = latest(&grants).map(|g| g.customer_email.clone());
    if grants.is_empty()
        && app
            .store
            .customer_credit_balances(business_id, customer_id, 1)
            .await?
            .is_empty()
    {
        return Err(ApiError::not_found("customer"));
    }
    let email = match (send_email, email) {
        (true, None) => return Err(ApiError::validation("send_email", "the customer has no email here")),
        (true, Some(email)) => Some(email),
        (false, _) => None,
    };
    let token = auth::new_secret("cps");
    let session = PortalSession::link(business_id, customer_id, return_url, clock::now());
    app.store
        .put_portal_session(&auth::hash_secret(&token), &session)
        .await?;
    let link = format!("{}/customer-portal/session/{token}", site.base_url);
    if let Some(email) = email {
        let name = business_name(app, business_id).await?;
        let message = crate::domain::email::render_portal_email(&name, &link, SESSION_HOURS);
        match crate::mailer::send(app.ses(), &app.sender_email, &email, &message).await {
            EmailAttempt::Sent { .. } => {}
            EmailAttempt::Permanent(reason) => {
                return Err(ApiError::validation(
                    "send_email",
                    format!("the email was refused: {reason}"),
                ))
            }
            EmailAttempt::Transient(reason) => return Err(ApiError::unavailable(reason)),
        }
    }
    Reply::ok(&PortalLink { link })
}

/// `GET /customer-portal/session/{token}`: the link's session traded for a
/// cookie of its own, and the browser sent on to the portal without the token.
pub async fn open_session(app: &App, call: &Call, site: &Site) -> ApiResult<Reply> {
    let link = call.portal()?;
    let cookie = link.opened();
    let secret = auth::new_secret("cpc");
    app.store
        .put_portal_session(&auth::hash_secret(&secret), &cookie)
        .await?;
    let path = format!("{}/customer-portal", site.base_path);
    let set_cookie = format!(
        "{PORTAL_COOKIE}={secret}; Path={path}; Max-Age={}; HttpOnly; SameSite=Lax{}",
        cookie.seconds_left(clock::now()),
        if site.https { "; Secure" } else { "" }
    );
    Ok(Reply::see_other(format!("{}/customer-portal", site.base_url)).with_header("set-cookie", set_cookie))
}

/// `GET /customer-portal`: the page.
pub async fn page(app: &App, call: &Call, notice: Option<&str>, site: &Site) -> ApiResult<Reply> {
    let session = call.portal()?;
    let grants = customer_grants(app, session).await?;
    let mut keys = Vec::new();
    for grant in &grants {
        if let Some(key) = &grant.license_key {
            keys.push((key.id.clone(), devices(app, session, &key.id).await?));
        }
    }
    let credit_entitlements =
        credits::credit_entitlements_of_customer(app, &session.business_id, &session.customer_id).await?;
    let mut ledgers = Vec::new();
    let first = PageRequest::from_query(Some(PAGE_LEDGER_ROWS), None, None)?;
    for balance in &credit_entitlements {
        let id = &balance.credit_entitlement_id;
        let page = credits::ledger_of(
            app,
            &session.business_id,
            id,
            &session.customer_id,
            (None, None, None),
            &first,
        )
        .await?;
        ledgers.push(page.items);
    }
    let view = PortalView {
        business_name: business_name(app, &session.business_id).await?,
        return_url: session.return_url.clone(),
        notice: notice.and_then(portal_page::notice),
        base_path: site.base_path.clone(),
        grants,
        devices: keys,
        credits: credit_entitlements.into_iter().zip(ledgers).collect(),
    };
    Ok(Reply::html(200, portal_page::render(&view)?))
}

/// `GET /customer-portal/business`: whose portal this is.
pub async fn business(app: &App, call: &Call) -> ApiResult<Reply> {
    let session = call.portal()?;
    Reply::ok(&PortalBusiness {
        business_id: session.business_id.clone(),
        name: business_name(app, &session.business_id).await?,
        logo: None,
    })
}

/// `GET /customer-portal/profile`: the customer, as their latest grant names them.
pub async fn profile(app: &App, call: &Call) -> ApiResult<Reply> {
    let session = call.portal()?;
    let grants = app
        .store
        .all_grants_of_customer(&session.business_id, &session.customer_id, GRANTS_MAX)
        .await?;
    let latest = latest(&grants);
    Reply::ok(&PortalProfile {
        customer_id: session.customer_id.clone(),
        name: latest.and_then(|g| g.customer_name.clone()),
        email: latest.map(|g| g.customer_email.clone()),
    })
}

/// `GET /customer-portal/entitlements`: the customer's grants.
pub async fn entitlements(app: &App, call: &Call) -> ApiResult<Reply> {
    let session = call.portal()?;
    let items = customer_grants(app, session).await?;
    Reply::ok(&PortalGrantList { items })
}

/// `GET /customer-portal/entitlements/{grant_id}/download`: the grant's files
/// with fresh URLs; with `file_id`, a redirect to that file's fresh URL (the
/// page's download links).
pub async fn download(app: &App, call: &Call, grant_id: &str, file_id: Option<&str>) -> ApiResult<Reply> {
    let session = call.portal()?;
    let grant = own_grant(app, session, grant_id).await?;
    let delivery = match grant.integration_type {
        IntegrationType::DigitalFiles if grant.status == GrantStatus::Delivered => {
            digital_files::delivered(app, vec![grant])
                .await?
                .pop()
                .and_then(|g| g.digital_product_delivery)
        }
        _ => None,
    }
    .ok_or_else(|| ApiError::not_found("download"))?;
    match file_id {
        None => Reply::ok(&PortalDownload::from(delivery)),
        Some(file_id) => {
            let file = delivery
                .files
                .into_iter()
                .find(|f| f.file_id == file_id)
                .ok_or_else(|| ApiError::not_found("file"))?;
            Ok(Reply::see_other(file.download_url))
        }
    }
}

/// `GET /customer-portal/license-key-instances?grant_id=`: the devices of that grant's key.
pub async fn instances(app: &App, call: &Call, grant_id: Option<&str>) -> ApiResult<Reply> {
    let session = call.portal()?;
    let grant_id = grant_id.ok_or_else(|| ApiError::validation("grant_id", "is required"))?;
    let grant = own_grant(app, session, grant_id).await?;
    let items = match grant.license_key {
        Some(key) => devices(app, session, &key.id)
            .await?
            .into_iter()
            .map(PortalInstance::from)
            .collect(),
        None => Vec::new(),
    };
    Reply::ok(&PortalInstanceList { items })
}

/// `POST /customer-portal/license-key-instances/{id}/deactivate`: one of the
/// customer's devices freed, through the public route's own service. A form
/// of the page is sent back to the page.
pub async fn deactivate(app: &App, call: &Call, instance_id: &str, from_page: Option<&Site>) -> ApiResult<Reply> {
    let session = call.portal()?;
    let not_found = || ApiError::not_found("license key instance");
    let instance = app
        .store
        .instance(instance_id)
        .await?
        .filter(|i| i.business_id == session.business_id)
        .ok_or_else(not_found)?;
    // The customer's own key: granted to them or imported for them.
    let key = app
        .store
        .license_key_by_id(&session.business_id, &instance.license_key_id)
        .await?
        .filter(|k| k.customer_id == session.customer_id)
        .ok_or_else(not_found)?;
    let key = KeyText::new("license_key", key.key).map_err(|_| not_found())?;
    let id = InstanceId::new("license_key_instance_id", instance.id).map_err(|_| not_found())?;
    let reply = licenses::deactivate(app, call, &key, &id).await?;
    Ok(match from_page {
        Some(site) => Reply::see_other(format!("{}/customer-portal?notice=freed", site.base_url)),
        None => reply,
    })
}

/// `GET /customer-portal/credit-entitlements`: the customer's balances.
pub async fn credit_entitlements(app: &App, call: &Call) -> ApiResult<Reply> {
    let session = call.portal()?;
    let items: Vec<CustomerCreditEntitlement> =
        credits::credit_entitlements_of_customer(app, &session.business_id, &session.customer_id).await?;
    Reply::ok(&serde_json::json!({ "items": items }))
}

/// `GET /customer-portal/credit-entitlements/{id}/ledger`: one balance's
/// ledger, paged as Dodo's portal front end asks: `page_number` from 0 (the
/// API's other lists, as the SDKs' auto-pagers, take 0 and 1 both as the first).
pub async fn ledger(
    app: &App,
    call: &Call,
    credit_entitlement_id: &str,
    (page_size, page_number, cursor): (Option<&str>, Option<&str>, Option<&str>),
) -> ApiResult<Reply> {
    let session = call.portal()?;
    let from_one = page_number
        .and_then(|n| n.parse::<u64>().ok())
        .map(|n| n.saturating_add(1).to_string());
    let page_number = from_one.as_deref().or(page_number);
    let page = &PageRequest::from_query(page_size, page_number, cursor)?;
    let (business, customer) = (&session.business_id, &session.customer_id);
    let held = credits::credit_entitlements_of_customer(app, business, customer).await?;
    if !held.iter().any(|c| c.credit_entitlement_id == credit_entitlement_id) {
        return Err(ApiError::not_found("credit entitlement"));
    }
    let page = credits::ledger_of(app, business, credit_entitlement_id, customer, (None, None, None), page).await?;
    Reply::page(&page.items, page.next_cursor)
}

/// The name the business shows (its id when it has set none).
async fn business_name(app: &App, business_id: &str) -> ApiResult<String> {
    Ok(app
        .store
        .business_name(business_id)
        .await?
        .unwrap_or_else(|| business_id.to_string()))
}

/// The grant the customer's contact details are taken from: the latest made.
fn latest(grants: &[Grant]) -> Option<&Grant> {
    grants.iter().max_by(|a, b| a.created_at.cmp(&b.created_at))
}

/// The session's customer's grant `grant_id`; anyone else's is 404.
async fn own_grant(app: &App, session: &PortalSession, grant_id: &str) -> ApiResult<Grant> {
    let grant = app
        .store
        .grant(&session.business_id, grant_id)
        .await?
        .filter(|g| g.customer_id == session.customer_id)
        .ok_or_else(|| ApiError::not_found("grant"))?;
    Ok(app.store.counted_grant(grant).await?.presented(clock::now()))
}

/// The customer's grants as the portal shows them, newest first.
async fn customer_grants(app: &App, session: &PortalSession) -> ApiResult<Vec<PortalGrant>> {
    let now = clock::now();
    let mut grants = Vec::new();
    for grant in app
        .store
        .all_grants_of_customer(&session.business_id, &session.customer_id, GRANTS_MAX)
        .await?
    {
        grants.push(app.store.counted_grant(grant).await?.presented(now));
    }
    grants.sort_by(|a, b| b.created_at.cmp(&a.created_at));
    let grants = digital_files::delivered(app, grants).await?;
    let mut ids: Vec<&str> = grants.iter().map(|g| g.entitlement_id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    let entitlements = app.store.entitlements_by_id(&session.business_id, &ids).await?;
    Ok(grants
        .into_iter()
        .map(|g| {
            let entitlement = entitlements.iter().find(|e| e.id == g.entitlement_id);
            PortalGrant::of(g, entitlement)
        })
        .collect())
}

/// The live devices of one of the customer's keys (a lapsed lease holds no slot).
async fn devices(app: &App, session: &PortalSession, license_key_id: &str) -> ApiResult<Vec<Instance>> {
    let first = PageRequest::from_query(Some(DEVICES_MAX), None, None)?;
    let page = app
        .store
        .list_instances(&session.business_id, Some(license_key_id), &first)
        .await?;
    let now = clock::now();
    let live = |end: &str| crate::domain::timestamp::parse_rfc3339(end).is_some_and(|end| end > now);
    Ok(page
        .items
        .into_iter()
        .filter(|i| i.expires_at.as_deref().is_none_or(live))
        .collect())
}
