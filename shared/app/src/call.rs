//! What a service knows of the request that called it: who the caller is, the
//! route it came by and, for a write sent with an Idempotency-Key, the claim
//! its answer is kept under.

use crate::auth::Principal;
use crate::domain::portal::PortalSession;
use crate::reply::Reply;
use crate::store::{AnswerRecord, IdempotencyClaim};

#[derive(Clone, Debug, Default)]
pub struct Call {
    pub principal: Option<Principal>,
    pub idempotency: Option<IdempotencyClaim>,
    /// The method and route template the request came by, e.g. `POST
    /// /lrm/api/host/{hostAccountId}/organization/{organizationId}/license`
    /// (`http::route_key`): what an audit record keeps.
    pub route: String,
    /// The customer a portal route serves, from its link, Bearer token or cookie.
    pub portal: Option<PortalSession>,
}

impl Call {
    /// The caller's principal id; routes that admit one kind of principal use this.
    pub fn principal_id(&self) -> &str {
        self.principal.as_ref().map_or("", |p| p.id.as_str())
    }

    /// The portal session of a portal route: the glue resolved it before the handler ran.
    pub fn portal(&self) -> crate::error::ApiResult<&PortalSession> {
        self.portal
            .as_ref()
            .ok_or_else(crate::error::ApiError::portal_unauthorized)
    }

    /// The record that keeps `reply` as this request's answer, to commit with
    /// the change it describes; `None` without an Idempotency-Key.
    pub fn answer(&self, reply: &Reply) -> Option<AnswerRecord> {
        self.idempotency.as_ref().map(|claim| AnswerRecord {
            claim: claim.clone(),
            answer: reply.stored(),
        })
    }
}
