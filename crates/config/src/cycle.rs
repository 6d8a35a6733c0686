//! `[machine.cycle]`: how a machine's cycles of work are found (see
//! `sheetsight_vision::cycle`).
//!
//! ```toml
//! [machine.cycle]
//! from = "strokes"      # strokes | state | motion
//! gap_s = 5             # strokes: a pause at least this long between strokes ends a cycle
//! min_s = 1             # shorter cycles are not cycles
//! ```
//!
//! Without the table a machine with a motion region counts cycles from its strokes, and
//! one without from its `Executing` stretches.

use serde::Deserialize;
use sheetsight_vision::cycle::{CycleRules, CycleSource};
use toml::Spanned;

use crate::diagnostics::{Bounds, Checker};

const GAP_S: Bounds<f64> = Bounds::new(5.0, 0.5, 3600.0);
const MIN_S: Bounds<f64> = Bounds::new(1.0, 0.0, 86_400.0);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCycle {
    from: Option<Spanned<String>>,
    gap_s: Option<Spanned<f64>>,
    min_s: Option<Spanned<f64>>,
}

/// The machine's cycle rules; `has_motion` and `has_lamps` say what it can be read from.
pub(crate) fn check_cycle(
    c: &Checker<'_>,
    at: &str,
    raw: Option<&RawCycle>,
    has_motion: bool,
    has_lamps: bool,
) -> CycleRules {
    let default_source = if has_motion { CycleSource::Strokes } else { CycleSource::State };
    let Some(raw) = raw else { return CycleRules { source: default_source, ..CycleRules::default() } };
    let key = |k: &str| format!("{at}.cycle.{k}");
    let source = match &raw.from {
        None => default_source,
        Some(from) => {
            let source = c.choice(from, &key("from"), "cycle source", &CycleSource::NAMES).unwrap_or(default_source);
            let needs_motion = matches!(source, CycleSource::Strokes | CycleSource::Motion);
            if needs_motion && !has_motion {
                c.report(from.span(), key("from"), format!("cycles from {source} need a [machine.motion] region"));
            } else if source == CycleSource::State && !has_lamps {
                c.report(from.span(), key("from"), "cycles from the state need the machine's [[machine.lamp]]s");
            }
            source
        }
    };
    CycleRules {
        source,
        gap_s: c.bounded(raw.gap_s.as_ref(), GAP_S, &key("gap_s")),
        min_s: c.bounded(raw.min_s.as_ref(), MIN_S, &key("min_s")),
    }
}
