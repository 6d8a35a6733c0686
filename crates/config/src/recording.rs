//! `[recording]`: how much recorded video is kept, and how clips are cut from it.
//! Which cameras record is said per camera (`record = true` in `[[camera]]`).
//!
//! ```toml
//! [recording]
//! max_gb = 200        # all recordings together; the oldest go first
//! keep_days = 30      # and none older than this
//! segment_s = 60      # one file per minute (cut at the first key picture after it)
//! pre_roll_s = 2      # a cycle's clip starts this much before the cycle
//! post_roll_s = 2     # and ends this much after it
//! max_clip_s = 900    # longer clips are refused
//! ```

use serde::Deserialize;
use toml::Spanned;

use crate::diagnostics::{Bounds, Checker};

const MAX_GB: Bounds<f64> = Bounds::new(100.0, 0.01, 1.0e6);
const KEEP_DAYS: Bounds<i64> = Bounds::new(30, 1, 3_650);
const SEGMENT_S: Bounds<i64> = Bounds::new(60, 5, 600);
const ROLL_S: Bounds<i64> = Bounds::new(2, 0, 60);
const MAX_CLIP_S: Bounds<i64> = Bounds::new(900, 10, 7_200);

/// How recordings are kept and cut.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordingConfig {
    /// All recordings together, bytes.
    pub max_bytes: u64,
    pub keep_days: u32,
    pub segment_s: u32,
    pub pre_roll_s: u32,
    pub post_roll_s: u32,
    pub max_clip_s: u32,
}

impl Default for RecordingConfig {
    fn default() -> Self {
        Self {
            max_bytes: gb_to_bytes(MAX_GB.default),
            keep_days: KEEP_DAYS.default as u32,
            segment_s: SEGMENT_S.default as u32,
            pre_roll_s: ROLL_S.default as u32,
            post_roll_s: ROLL_S.default as u32,
            max_clip_s: MAX_CLIP_S.default as u32,
        }
    }
}

fn gb_to_bytes(gb: f64) -> u64 {
    (gb * 1e9) as u64
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRecording {
    max_gb: Option<Spanned<f64>>,
    keep_days: Option<Spanned<i64>>,
    segment_s: Option<Spanned<i64>>,
    pre_roll_s: Option<Spanned<i64>>,
    post_roll_s: Option<Spanned<i64>>,
    max_clip_s: Option<Spanned<i64>>,
}

pub(crate) fn check_recording(c: &Checker<'_>, raw: Option<&RawRecording>) -> RecordingConfig {
    let Some(raw) = raw else { return RecordingConfig::default() };
    let whole = |v: &Option<Spanned<i64>>, b: Bounds<i64>, key: &str| c.bounded(v.as_ref(), b, key) as u32;
    RecordingConfig {
        max_bytes: gb_to_bytes(c.bounded(raw.max_gb.as_ref(), MAX_GB, "recording.max_gb")),
        keep_days: whole(&raw.keep_days, KEEP_DAYS, "recording.keep_days"),
        segment_s: whole(&raw.segment_s, SEGMENT_S, "recording.segment_s"),
        pre_roll_s: whole(&raw.pre_roll_s, ROLL_S, "recording.pre_roll_s"),
        post_roll_s: whole(&raw.post_roll_s, ROLL_S, "recording.post_roll_s"),
        max_clip_s: whole(&raw.max_clip_s, MAX_CLIP_S, "recording.max_clip_s"),
    }
}
