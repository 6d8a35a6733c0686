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
    /// HOST:PORT of the hub's broker.
    pub broker: Option<String>,
    /// The outbox: present when configured.
    pub outbox: Option<OutboxStatus>,
}

pub async fn hub_link(State(state): State<Arc<AppState>>) -> ApiResult<Json<HubLinkView>> {
    let config = state.config();
    let Some(hub) = &config.hub else {
        return Ok(Json(HubLinkView { configured: false, shop: None, broker: None, outbox: None }));
    };
    Ok(Json(HubLinkView {
        configured: true,
        shop: Some(hub.shop.clone()),
        broker: Some(format!("{}:{}", hub.host, hub.port)),
        outbox: Some(state.store.outbox_status().await?),
    }))
}
