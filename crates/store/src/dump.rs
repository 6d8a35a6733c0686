//! A store's history as plain text, ids left out: two stores that hold the same history
//! (an edge and its hub) give the same text, whatever their row ids.

use crate::{CycleFilter, Query, Store, StoreError};

/// Every interval, stroke, cycle, safety event, stroke total and run of `q`'s range, one
/// kind a line.
pub async fn history_text<S: Store>(store: &S, q: &Query) -> Result<String, StoreError> {
    let mut cycles = store.cycles(&CycleFilter { query: q.clone(), ..CycleFilter::default() }).await?;
    for c in &mut cycles {
        c.id = 0;
    }
    let mut safety = store.safety_events(q).await?;
    for s in &mut safety {
        s.id = 0;
    }
    let runs: Vec<_> =
        store.runs().await?.into_iter().map(|r| (r.started, r.heartbeat, r.stopped, r.stop_reason)).collect();
    Ok(format!(
        "states {:?}\nlamps {:?}\nhealth {:?}\nstrokes {:?}\ncycles {:?}\npresence {:?}\nsafety {:?}\ntotals {:?}\nruns {:?}",
        store.states(q).await?,
        store.lamps(q).await?,
        store.health(q).await?,
        store.strokes(q).await?,
        cycles,
        store.presence(q).await?,
        safety,
        store.stroke_totals().await?,
        runs,
    ))
}
