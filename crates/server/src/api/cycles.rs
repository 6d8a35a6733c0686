//! Cycles of work, each with the job (part number) the machine ran when it began and who
//! gave that job; newest first.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use sheetsight_store::{CycleFilter, CycleRecord, Query, Store};

use super::{Page, RangeQuery, machine_config};
use crate::AppState;
use crate::error::{ApiQuery, ApiResult};

#[derive(Deserialize, Default)]
pub struct CyclesQuery {
    pub machine: Option<String>,
    pub job: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub limit: Option<usize>,
    pub offset: Option<usize>,
}

#[derive(Serialize)]
pub struct CycleView {
    pub id: i64,
    pub machine: String,
    pub start: String,
    pub end: String,
    pub duration_s: f64,
    pub strokes: u32,
    pub job: Option<String>,
    pub operator: Option<String>,
}

impl From<CycleRecord> for CycleView {
    fn from(c: CycleRecord) -> Self {
        Self {
            id: c.id,
            machine: c.machine,
            start: c.start.rfc3339(),
            end: c.end.rfc3339(),
            duration_s: (c.end - c.start) as f64 / 1000.0,
            strokes: c.strokes,
            job: c.job,
            operator: c.operator,
        }
    }
}

pub async fn cycles(
    State(state): State<Arc<AppState>>,
    ApiQuery(q): ApiQuery<CyclesQuery>,
) -> ApiResult<Json<Page<CycleView>>> {
    if let Some(machine) = &q.machine {
        machine_config(&state.config(), machine)?;
    }
    let range = RangeQuery { from: q.from, to: q.to, limit: q.limit, offset: q.offset, min_minutes: None };
    let (from, to) = range.range()?;
    let (limit, offset) = range.page()?;
    // One more than the page, to know whether another follows; the store pages.
    let filter = CycleFilter {
        query: Query { from, to, key: q.machine },
        job: q.job,
        limit: Some(limit as u64 + 1),
        offset: offset as u64,
    };
    let mut items: Vec<CycleView> = state.store.cycles(&filter).await?.into_iter().map(CycleView::from).collect();
    let more = items.len() > limit;
    items.truncate(limit);
    let next_offset = more.then_some(offset + limit);
    Ok(Json(Page { items, limit, offset, next_offset }))
}
