//! `GET /api/v1/hub`: whether this shop sends its history to a hub, and what waits in
//! its outbox (rows not yet acknowledged, the oldest waiting, strokes dropped).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use sheetsight_store::outbox::OutboxStatus;

use crate::AppState;
use crate::error::ApiResult;

#[derive(Serialize)]
pub struct HubLinkView {
    /// `[hub]` is set.
    pub configured: bool,
    pub shop: Option<String>,
    /// HOST:PORT of the hub's broker (none when sending straight into its database).
    pub broker: Option<String>,
    /// Sent straight into the hub's PostgreSQL, without a broker.
    pub direct: bool,
    /// The outbox: present when configured.
    pub outbox: Option<OutboxStatus>,
}

pub async fn hub_link(State(state): State<Arc<AppState>>) -> ApiResult<Json<HubLinkView>> {
    let config = state.config();
    let Some(hub) = &config.hub else {
        return Ok(Json(HubLinkView { configured: false, shop: None, broker: None, direct: false, outbox: None }));
    };
    Ok(Json(HubLinkView {
        configured: true,
        shop: Some(hub.shop.clone()),
        broker: hub.database_url.is_none().then(|| format!("{}:{}", hub.host, hub.port)),
        direct: hub.database_url.is_some(),
        outbox: Some(state.store.outbox_status().await?),
    }))
}
