//! Products: which entitlements and credits a payment or subscription of a
//! seller's product grants (the Dodo SDK's `products.update` and `products.retrieve`).

use crate::app::App;
use crate::call::Call;
use crate::clock;
use crate::domain::credit::CreditEntitlement;
use crate::domain::entitlement::Entitlement;
use crate::domain::product::{Product, ProductPatch, ProductView};
use crate::error::{ApiError, ApiResult};
use crate::ids;
use crate::reply::Reply;
use crate::retry::{until_done, Attempt};
use crate::services::digital_files;
use crate::store::Written;

fn entitlement_not_found() -> ApiError {
    ApiError::not_found("entitlement")
}

fn credit_entitlement_not_found() -> ApiError {
    ApiError::not_found("credit entitlement")
}

/// The product's entitlements and credit entitlements that are still there;
/// those already read (`entitlements`, `credits`) are not read again.
async fn view(
    app: &App,
    product: &Product,
    entitlements: Option<Vec<Entitlement>>,
    credits: Option<Vec<CreditEntitlement>>,
) -> ApiResult<ProductView> {
    let entitlements = match entitlements {
        Some(read) => read,
        None => {
            let ids: Vec<&str> = product.entitlement_ids.iter().map(String::as_str).collect();
            app.store.entitlements_by_id(&product.business_id, &ids).await?
        }
    };
    let entitlements = digital_files::all_resolved(app, entitlements).await?;
    let credits = match credits {
        Some(read) => read,
        None => {
            let ids: Vec<&str> = product
                .credit_entitlements
                .iter()
                .map(|m| m.credit_entitlement_id.as_str())
                .collect();
            app.store.credit_entitlements_by_id(&product.business_id, &ids).await?
        }
    };
    Ok(ProductView::of(product, &entitlements, &credits))
}

pub async fn get(app: &App, call: &Call, product_id: &str) -> ApiResult<Reply> {
    let product = app
        .store
        .product(call.principal_id(), product_id)
        .await?
        .ok_or_else(|| ApiError::not_found("product"))?;
    Reply::ok(&view(app, &product, None, None).await?)
}

/// Replaces what the patch names, conditioned on the product being as read
/// and on every entitlement and credit entitlement it attaches still being active.
pub async fn update(app: &App, call: &Call, product_id: &str, patch: ProductPatch) -> ApiResult<Reply> {
    let business_id = call.principal_id();
    let attached = patch.entitlement_ids().unwrap_or_default();
    let named = app.store.entitlements_by_id(business_id, &attached).await?;
    if attached
        .iter()
        .any(|id| !named.iter().any(|e: &Entitlement| e.id == *id && e.is_active))
    {
        return Err(entitlement_not_found());
    }
    let credited = patch.credit_entitlement_ids();
    let mut credits = app.store.credit_entitlements_by_id(business_id, &credited).await?;
    credits.retain(|e: &CreditEntitlement| e.is_active);
    if credited.iter().any(|id| !credits.iter().any(|e| e.id == *id)) {
        return Err(credit_entitlement_not_found());
    }
    until_done!(|_| {
        let current = app.store.product(business_id, product_id).await?;
        let mappings = patch.credit_mappings(&credits, current.as_ref(), || ids::new_id("cem"))?;
        let product = patch.applied_to(
            current.as_ref(),
            mappings,
            business_id,
            product_id,
            &clock::now_rfc3339(),
        );
        // What the patch names was read above; what it leaves alone is read now.
        let named = patch.entitlements.as_ref().map(|_| named.clone());
        let credits = patch.credit_entitlements.as_ref().map(|_| credits.clone());
        let shown = view(app, &product, named, credits).await?;
        let reply = Reply::ok(&shown)?;
        match app
            .store
            .put_product(&product, &attached, &credited, call.answer(&reply).as_ref())
            .await?
        {
            Written::Done => Ok(Attempt::Done(reply)),
            // An entitlement or credit entitlement it attaches deleted since it was read.
            Written::Refused { at, .. } if at > attached.len() => Err(credit_entitlement_not_found()),
            Written::Refused { at, .. } if at > 0 => Err(entitlement_not_found()),
            Written::Refused { .. } | Written::Conflict => Ok(Attempt::Lost),
        }
    })
    .await
}
