//! A whole stack light: its lamps (top to bottom), the glow between them and the
//! occlusion guard around them.
//!
//! Per frame: the tower's shake is measured ([`crate::shake::ShakeTracker`]) and each
//! lamp region is read where the tower now is; its look is taken to the camera's
//! reference exposure
//! ([`at_reference_exposure`]; a lens that clips under a raised exposure keeps its
//! state's level while that fits, `clipped_score`), scored, and its neighbours' learnt
//! glow taken out ([`crate::glow::GlowModel`]); the guard says which lamps something
//! stands in front of, and lenses of different colours that left their levels, or the
//! tints they were seen with, for one and the same look are taken as covered too
//! (something narrower than the guard's span, and one body: it covers the lenses
//! between and beside them that look like it; not a lens darker than its only, unlit,
//! level beside a lamp that just went out, which lost that lamp's glow); what the glow
//! model learnt from a frame with something at the tower (or within
//! [`OCCLUDER_SETTLE_S`] of it) is taken back; a lens known only unlit that a
//! neighbour's glow not learnt lifts (it lit out of sight) is told so
//! ([`TowerHints::lifted_by_glow`]); what the other lamps say of each (their levels,
//! and a shadow when every unlit lens reads darker than its level, not counting a lens
//! dark since it lost a neighbour's glow) is handed to its reader, which then decides
//! on/off and its mode.

use crate::frame::{BLACK_LUMA, YuvFrame};
use crate::glow::{GlowModel, GlowTuning};
use crate::lamp::{LampColor, LampMode, LampReader, LampSample, LampTuning, SHOWS_ITS_COLOUR_CHROMA, TowerHints};
use crate::occlusion::{GlobalLook, GuardTuning, LampsNow, OCCLUDER_SETTLE_S, OcclusionGuard};
use crate::roi::{PolygonRoi, RegionMeans};
use crate::shake::ShakeTracker;

/// A region's look as the camera would show it at its reference exposure and white
/// balance: luma above black divided by the exposure gain, chroma with the balance's
/// shift taken out, then divided by the gain. An unlit lens (it reflects the room) then
/// keeps its look whatever the camera does; a lit lens (it shines) also through room
/// light switches. The sensor's range is the reference's too: a lit lens that clips
/// was brighter than it shows, so a rising exposure does not make it darker (between
/// [`KNEE_LUMA`] and white its luma is kept as seen), and a falling one that brings it
/// out of clipping does not make it brighter than white.
pub fn at_reference_exposure(means: RegionMeans, global: GlobalLook) -> RegionMeans {
    let gain = global.exposure_gain.max(0.05);
    let mut luma = luma_at_least(means.luma, global);
    if gain > 1.0 {
        let clipped = ((means.luma - KNEE_LUMA) / (235.0 - KNEE_LUMA)).clamp(0.0, 1.0);
        luma += clipped * (means.luma - luma);
    } else {
        luma = luma.min(means.luma.max(235.0));
    }
    RegionMeans { luma, u: (means.u - global.chroma_shift.0) / gain, v: (means.v - global.chroma_shift.1) / gain }
}

/// The least luma a region can have at the reference exposure: what it shows divided
/// by the exposure gain. Where the region clips, it was at least this bright.
pub fn luma_at_least(luma: f32, global: GlobalLook) -> f32 {
    BLACK_LUMA + (luma - BLACK_LUMA) / global.exposure_gain.max(0.05)
}

/// The score of a lens that clips under a raised exposure is known only to lie between
/// `floor` (its look divided by the gain, [`luma_at_least`]) and `as_seen` (its look
/// kept as the camera shows it, [`at_reference_exposure`]). When the level of the state
/// the lamp is in lies there (or just below the floor), nothing says the lamp changed:
/// it reads at that level. Otherwise (a lens far brighter than its unlit level: it lit)
/// it reads as seen. So a bright unlit lens (white, under strong room light) that an
/// exposure jump drives into clipping is not taken for lit.
fn clipped_score(floor: f32, as_seen: f32, state_level: Option<f32>) -> f32 {
    match state_level {
        Some(level)
            if as_seen > floor && level <= as_seen && within_share(level.max(floor), level, UNCHANGED_SHARE) =>
        {
            level.max(floor)
        }
        _ => as_seen,
    }
}

/// What the lamps other than `lamp` say about it: their levels (`(unlit, lit)` each),
/// which of them read unlit, their scores in this frame, and which of them lost a
/// neighbour's glow ([`mark_lost_glow`]).
fn tower_hints(
    lamp: usize,
    levels: &[(Option<f32>, Option<f32>)],
    unlit: &[bool],
    scores: &[f32],
    lost_glow: &[bool],
) -> TowerHints {
    let others = || (0..levels.len()).filter(move |&j| j != lamp);
    let max = |a: Option<f32>, b: f32| Some(a.map_or(b, |a| a.max(b)));
    let min = |a: Option<f32>, b: f32| Some(a.map_or(b, |a| a.min(b)));
    let lit = others().filter_map(|j| levels[j].1).fold(None, max);
    // Each other lamp's dimmest level (its unlit level, or its only level): no unlit
    // lens is brighter than the brightest of them. A lamp lit all along raises the bound,
    // which only makes the rule more cautious.
    let unlit_at_most = others().filter_map(|j| levels[j].0.or(levels[j].1)).fold(None, max);
    let known_unlit = || others().filter_map(|j| if let (Some(off), Some(_)) = levels[j] { Some(off) } else { None });
    let unlit_at_least = if known_unlit().count() >= 2 { known_unlit().fold(None, min) } else { None };
    // An unlit lens darkens only when less light falls on it: when every one of them
    // does at once, a shadow lies on the tower. (Lenses that brighten may be lamps
    // switching on together, as at a change of state.) A lens that lost a neighbour's
    // glow says nothing of a shadow.
    let (mut darker, mut count) = (0, 0);
    for j in others().filter(|&j| unlit[j] && !lost_glow.get(j).copied().unwrap_or(false)) {
        let Some(off) = levels[j].0 else { continue };
        count += 1;
        darker += usize::from(darker_than_unlit(scores[j], off));
    }
    let shadowed = count > 0 && darker == count;
    // What the lamp's neighbours say in this very frame is set by the reader.
    TowerHints { lit, unlit_at_most, unlit_at_least, shadowed, ..TowerHints::default() }
}

/// Does `score` read darker than a lens's unlit level `off`, by more than the tower's
/// lenses vary ([`TOWER_SHADOW_RATIO`], above black)?
fn darker_than_unlit(score: f32, off: f32) -> bool {
    score - BLACK_LUMA < TOWER_SHADOW_RATIO * (off - BLACK_LUMA)
}

/// Marks, per lamp, whether its darkness says nothing of a shadow (`lost_glow`): it or
/// a lamp beside it (read lit until now) went out in this frame, or it has read darker
/// than its unlit level ever since one did (`dark_since_glow_lost`, kept from frame to
/// frame). It lost that lamp's glow, in which its unlit level may have been learnt, and
/// stays as dark while the lamp stays out. A lamp that goes out itself shows its unlit
/// look again for the first time since it lit, in whatever light its neighbours give
/// now; a shadow darkens lenses that were unlit before it came (a blinking lamp's
/// unlit level, followed only in its short dark phases, may lag far above its look).
fn mark_lost_glow(
    levels: &[(Option<f32>, Option<f32>)],
    unlit: &[bool],
    scores: &[f32],
    dark_since_glow_lost: &mut [bool],
    lost_glow: &mut Vec<bool>,
) {
    lost_glow.clear();
    for (i, dark_since) in dark_since_glow_lost.iter_mut().enumerate() {
        let next_to_gone_out = here_or_beside_a_lamp_gone_out(i, levels, unlit, scores);
        let darker = levels[i].0.is_some_and(|off| darker_than_unlit(scores[i], off));
        *dark_since = darker && (*dark_since || next_to_gone_out);
        lost_glow.push(next_to_gone_out || *dark_since);
    }
}

/// Did lamp `j` or a lamp beside it (read lit until now) go out in this frame: its score
/// (above black) fell below [`WENT_OUT_SHARE`] of its lit level? Its neighbours then
/// lose its glow.
fn here_or_beside_a_lamp_gone_out(
    j: usize,
    levels: &[(Option<f32>, Option<f32>)],
    unlit: &[bool],
    scores: &[f32],
) -> bool {
    let gone_out = |k: usize| {
        !unlit[k] && levels[k].1.is_some_and(|lit| scores[k] - BLACK_LUMA < WENT_OUT_SHARE * (lit - BLACK_LUMA))
    };
    (j.saturating_sub(1)..=j + 1).any(|k| k < levels.len() && gone_out(k))
}

/// How far ((Cb, Cr) distance) `tint` lies from every tint that light can give a lens
/// of unlit tint `unlit` that reads darker than its unlit level: its own tint dimmed
/// toward grey (a shadow takes a share of it), then moved along one of `moves` (unit
/// (Cb, Cr)): away from the colour of a lamp whose glow it may have lost, toward the
/// colour of a lamp that shines on it now. Light never gives a lens a colour no lamp
/// shows.
fn beyond_what_light_explains(tint: Tint, unlit: Tint, moves: &[(f32, f32)]) -> f32 {
    const STEPS: u8 = 20;
    let mut nearest = f32::INFINITY;
    for step in 0..=STEPS {
        let share = f32::from(step) / f32::from(STEPS);
        // What is left of the tint once the unlit tint, dimmed to `share`, is taken out.
        let rest = (tint.0 - share * unlit.0, tint.1 - share * unlit.1);
        nearest = nearest.min(rest.0.hypot(rest.1));
        for &(du, dv) in moves {
            let along = (rest.0 * du + rest.1 * dv).max(0.0);
            nearest = nearest.min((rest.0 - along * du).hypot(rest.1 - along * dv));
        }
    }
    nearest
}

/// The most lamp `i`, unlit, could read in this frame in the glow of a lamp beside it:
/// the dimmest other lens (an unlit look of the tower; black when every other lens
/// reads brighter) plus `max_glow_share` of that lamp's score above it. Glow lifts a
/// dark lens by at most that share of its neighbour's light.
fn glow_at_most(i: usize, scores: &[f32], max_glow_share: f32) -> Option<f32> {
    let dimmest_other = (0..scores.len()).filter(|&j| j != i).map(|j| scores[j]).fold(f32::INFINITY, f32::min);
    let dark = if dimmest_other < scores[i] { dimmest_other } else { BLACK_LUMA };
    (i.saturating_sub(1)..=i + 1)
        .filter(|&k| k != i && k < scores.len())
        .map(|k| dark + max_glow_share * (scores[k] - dark))
        .reduce(f32::max)
}

/// A lens whose score (above black) moved by at most this share since its last clear
/// frame looks as it did: nothing stands in front of it.
const UNCHANGED_SHARE: f32 = 0.1;

/// Is `score` within `share` of `reference`, above black (at least 20 steps of it, so
/// that a dark lens's noise is no change)?
fn within_share(score: f32, reference: f32, share: f32) -> bool {
    (score - reference).abs() <= share * (reference - BLACK_LUMA).max(20.0)
}

/// A lens's (Cb, Cr) at the reference exposure.
type Tint = (f32, f32);

/// Distance between two tints.
fn chroma_distance(a: Tint, b: Tint) -> f32 {
    (a.0 - b.0).hypot(a.1 - b.1)
}

/// Moves a learnt tint toward the one seen (takes it when none was learnt).
fn learn_tint(tint: &mut Option<Tint>, seen: Tint) {
    let (u, v) = tint.get_or_insert(seen);
    *u += TINT_LEARNING_SHARE * (seen.0 - *u);
    *v += TINT_LEARNING_SHARE * (seen.1 - *v);
}

/// A lens under a cover reads away from each of its levels by more than this share
/// (above black) ...
const AWAY_FROM_LEVEL_SHARE: f32 = 0.2;
/// ... and like another lens of another colour within these (luma steps, and (Cb, Cr)
/// distance at the reference exposure) ...
const SAME_COVER_LUMA: f32 = 8.0;
const SAME_COVER_CHROMA: f32 = 6.0;
/// Lenses alike in tint within [`SAME_COVER_CHROMA`], each at least this far ((Cb, Cr)
/// distance at the reference exposure) from every tint it was seen with, unlit and lit,
/// are under one cover too, whatever their scores: a striped sleeve shows each lens
/// another luma but one tint.
const AWAY_FROM_TINT_CHROMA: f32 = 10.0;
/// Share of a lens's tint, unlit or lit, that each clear frame read so renews.
const TINT_LEARNING_SHARE: f32 = 0.05;
/// ... for at most this long.
const COVERED_FOR_AT_MOST_S: f64 = 30.0;

/// A lens's tint must move at least this far ((Cb, Cr) at the reference exposure) along
/// a neighbour's colour to be taken for that neighbour's glow.
const GLOW_TINT_MIN_CHROMA: f32 = 8.0;

/// A lamp read lit whose score (above black) fell below this share of its lit level
/// went out: no shadow dims a light that shines by itself by a third.
const WENT_OUT_SHARE: f32 = 0.67;

/// Unlit lenses that all read below this share of their level (above black) say that a
/// shadow lies on the tower.
const TOWER_SHADOW_RATIO: f32 = 0.85;

/// Region luma from which a lens counts as (partly) clipped.
pub const KNEE_LUMA: f32 = 200.0;

/// One lamp of a stack light as configured.
#[derive(Clone, Debug)]
pub struct LampSpec {
    pub color: LampColor,
    pub roi: PolygonRoi,
}

/// A lamp's mode changed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LampChange {
    pub lamp: usize,
    pub color: LampColor,
    pub mode: LampMode,
    pub t_s: f64,
}

/// Reads every lamp of one stack light.
#[derive(Clone, Debug)]
pub struct StackLightReader {
    lamps: Vec<LampSpec>,
    readers: Vec<LampReader>,
    guard: OcclusionGuard,
    glow: GlowModel,
    shake: Option<ShakeTracker>,
    /// Per lamp, reused every frame.
    scores: Vec<f32>,
    chroma: Vec<(f32, f32)>,
    /// Per lamp, reused every frame: the region's luma as the camera shows it.
    luma: Vec<f32>,
    was_dark: Vec<bool>,
    levels: Vec<(Option<f32>, Option<f32>)>,
    /// The lamp read unlit in its last clear frame.
    unlit: Vec<bool>,
    corrected: Vec<f32>,
    looks_lit: Vec<bool>,
    /// Per lamp: its score in the last frame the guard let through, and whether this
    /// frame's score is still like it.
    clear_score: Vec<Option<f32>>,
    unchanged: Vec<bool>,
    /// Per lamp: its tint (chroma at the reference exposure) as seen in clear frames,
    /// (unlit, lit).
    tints: Vec<(Option<Tint>, Option<Tint>)>,
    /// Per lamp, this frame: the region's luma at the reference exposure; hidden from
    /// the camera (by the guard, or under one cover with another lens); and since when
    /// it has looked like another lens under one cover.
    reference_luma: Vec<f32>,
    blocked: Vec<bool>,
    covered_since_s: Vec<Option<f64>>,
    /// Per lamp, this frame: lifted by a neighbour's glow not learnt
    /// ([`Self::lifted_by_unlearnt_glow`]).
    lifted_by_glow: Vec<bool>,
    /// Per lamp: dark since it lost a neighbour's glow, kept from frame to frame; and,
    /// this frame, whether its darkness says nothing of a shadow ([`mark_lost_glow`]).
    dark_since_glow_lost: Vec<bool>,
    lost_glow: Vec<bool>,
    /// Reused every frame: the lenses under one cover, by their looks alone.
    covered_scratch: Vec<bool>,
    /// Per lamp, this frame: hidden by the cover rule
    /// ([`Self::find_lenses_under_one_cover`]).
    covered: Vec<bool>,
    /// The guard blocked some lamp in the last frame.
    any_blocked: bool,
    /// The tower's shift in the last frame, pixels.
    shift_px: (i32, i32),
    /// When the guard last blocked a lamp of the tower.
    last_blocked_s: Option<f64>,
}

impl StackLightReader {
    pub fn new(lamps: Vec<LampSpec>, width_px: u32, height_px: u32, tuning: LampTuning) -> Self {
        let boxes: Vec<_> = lamps.iter().map(|l| l.roi.bbox()).collect();
        let colors: Vec<(f32, f32)> = lamps.iter().map(|l| l.color.chroma_direction()).collect();
        let guard = OcclusionGuard::new(&boxes, width_px, height_px, GuardTuning::default()).with_lamp_chroma(&colors);
        let shake = ShakeTracker::new(&boxes, width_px, height_px);
        let readers = lamps.iter().map(|l| LampReader::new(l.color, tuning)).collect();
        let n = lamps.len();
        Self {
            lamps,
            readers,
            guard,
            glow: GlowModel::new(&colors, GlowTuning::default()),
            shake,
            scores: vec![0.0; n],
            chroma: vec![(0.0, 0.0); n],
            luma: vec![0.0; n],
            was_dark: vec![false; n],
            levels: vec![(None, None); n],
            unlit: vec![false; n],
            corrected: vec![0.0; n],
            looks_lit: vec![false; n],
            clear_score: vec![None; n],
            tints: vec![(None, None); n],
            unchanged: vec![false; n],
            reference_luma: vec![0.0; n],
            blocked: vec![false; n],
            covered_since_s: vec![None; n],
            lifted_by_glow: vec![false; n],
            dark_since_glow_lost: vec![false; n],
            lost_glow: Vec::with_capacity(n),
            covered_scratch: Vec::with_capacity(n),
            covered: vec![false; n],
            any_blocked: false,
            shift_px: (0, 0),
            last_blocked_s: None,
        }
    }

    pub fn lamps(&self) -> &[LampSpec] {
        &self.lamps
    }

    pub fn guard(&self) -> &OcclusionGuard {
        &self.guard
    }

    /// Each lamp's score in the last frame, and the same with the glow taken out; for
    /// diagnosis.
    pub fn last_scores(&self) -> (&[f32], &[f32]) {
        (&self.scores, &self.corrected)
    }

    /// The tower's shift in the last frame (dx, dy), pixels; for diagnosis.
    pub fn last_shift_px(&self) -> (i32, i32) {
        self.shift_px
    }

    /// Each lamp's chroma (Cb, Cr) in the last frame, at the reference exposure; for
    /// diagnosis.
    pub fn last_chroma(&self) -> &[(f32, f32)] {
        &self.chroma
    }

    /// Each lamp's learnt (unlit, lit) levels before the last frame; for diagnosis.
    pub fn last_levels(&self) -> &[(Option<f32>, Option<f32>)] {
        &self.levels
    }

    /// Lenses of different colours that left their looks for one and the same look are
    /// under one cover (an arm or a tool narrower than the guard's span): lit lamps of
    /// different colours never shine alike, and their unlit lenses are tinted apart.
    /// Alike in tint alone, each far from every tint it was seen with and from every
    /// unlit lens's tint; or alike in luma and tint, each having moved since its last
    /// clear frame and standing away from each of its known levels (a level never seen
    /// is not away from where it could be). A lens alone is under a cover when it reads
    /// darker than its unlit level and away from its levels, in a tint that light does
    /// not explain ([`beyond_what_light_explains`]): a person between the guard's cells
    /// hides a large tower from them. A cover is one body: the lenses between two
    /// it hides look like them, and a lens beside it in its tint is under it too. For at
    /// most [`COVERED_FOR_AT_MOST_S`], so that a level learnt wrong cannot hide a lamp
    /// for good.
    fn find_lenses_under_one_cover(&mut self, t_s: f64) {
        let n = self.lamps.len();
        // A level never seen may be where the lens now reads: the unlit one anywhere
        // below two thirds of the lit level (a lamp seen only lit that goes out) where
        // an unlit lens of the tower could read (not darker than the dimmest unlit level
        // known by more than a shadow darkens it), the lit one anywhere above half
        // again the unlit level.
        let dimmest_unlit =
            |i: usize| (0..n).filter(|&j| j != i).filter_map(|j| self.levels[j].0).min_by(|a, b| a.total_cmp(b));
        let may_be_unseen_level = |i: usize| {
            let above_black = self.corrected[i] - BLACK_LUMA;
            match self.levels[i] {
                (None, Some(on)) => {
                    above_black < WENT_OUT_SHARE * (on - BLACK_LUMA)
                        && dimmest_unlit(i).is_none_or(|off| above_black >= TOWER_SHADOW_RATIO * (off - BLACK_LUMA))
                }
                (Some(off), None) => WENT_OUT_SHARE * above_black > off - BLACK_LUMA,
                _ => false,
            }
        };
        let away = |i: usize| {
            let score = self.corrected[i];
            let moved = self.clear_score[i].is_some() && !self.unchanged[i];
            let (off, on) = self.levels[i];
            let far = |level: Option<f32>| level.is_none_or(|l| !within_share(score, l, AWAY_FROM_LEVEL_SHARE));
            moved && (off.is_some() || on.is_some()) && far(off) && far(on) && !may_be_unseen_level(i)
        };
        let alike = |i: usize, j: usize| {
            (self.reference_luma[i] - self.reference_luma[j]).abs() <= SAME_COVER_LUMA
                && chroma_distance(self.chroma[i], self.chroma[j]) <= SAME_COVER_CHROMA
        };
        // A tint some unlit lens of the tower is known to show is no cover's: unlit
        // lenses look alike where the camera renders colour weakly.
        let an_unlit_tint = |tint: Tint| {
            self.tints.iter().any(|(unlit, _)| unlit.is_some_and(|u| chroma_distance(tint, u) < AWAY_FROM_TINT_CHROMA))
        };
        let lost_glow = |i: usize| {
            matches!(self.levels[i], (Some(off), None) if self.corrected[i] < off)
                && here_or_beside_a_lamp_gone_out(i, &self.levels, &self.unlit, &self.corrected)
        };
        let away_from_tints = |i: usize| {
            let (unlit, lit) = self.tints[i];
            let far =
                |tint: Option<Tint>| tint.is_none_or(|t| chroma_distance(self.chroma[i], t) >= AWAY_FROM_TINT_CHROMA);
            (unlit.is_some() || lit.is_some())
                && far(unlit)
                && far(lit)
                && !an_unlit_tint(self.chroma[i])
                // A lens seen only lit that went out may show the unlit tint never seen.
                && !(unlit.is_none() && may_be_unseen_level(i))
                // A lens known only unlit, darker than that now, beside a lamp that went
                // out: its unlit tint and level may have been learnt in that lamp's glow,
                // now lost (an unlit lens reads darkest).
                && !lost_glow(i)
        };
        // A lens alone is under a cover when it reads darker than its unlit level, away
        // from its levels, in a tint that light does not explain (a shadow dims its tint
        // toward grey, a lamp seen lit may have taken its colour away, a lamp that
        // shines now adds its colour) and that no unlit lens of the tower shows.
        let shines_now = |j: usize| {
            let above_black = self.corrected[j] - BLACK_LUMA;
            match self.levels[j] {
                (_, Some(on)) => above_black >= WENT_OUT_SHARE * (on - BLACK_LUMA),
                (Some(off), None) => WENT_OUT_SHARE * above_black > off - BLACK_LUMA,
                (None, None) => true,
            }
        };
        let mut moves = Vec::new();
        let mut darkened_into_a_new_tint = |i: usize| {
            let (Some(off), _) = self.levels[i] else { return false };
            let Some(unlit_tint) = self.tints[i].0 else { return false };
            if !(away(i) && darker_than_unlit(self.corrected[i], off) && !an_unlit_tint(self.chroma[i])) {
                return false;
            }
            moves.clear();
            for j in (0..n).filter(|&j| j != i) {
                let (du, dv) = self.lamps[j].color.chroma_direction();
                if self.levels[j].1.is_some() {
                    moves.push((-du, -dv));
                }
                if shines_now(j) {
                    moves.push((du, dv));
                }
            }
            beyond_what_light_explains(self.chroma[i], unlit_tint, &moves) >= AWAY_FROM_TINT_CHROMA
        };
        let tinted_alike = |i: usize, j: usize| {
            chroma_distance(self.chroma[i], self.chroma[j]) <= SAME_COVER_CHROMA
                && away_from_tints(i)
                && away_from_tints(j)
        };
        // A cover is one body: it hides the lenses between two it hides, and they look
        // like it too. Two lenses on either side of a lamp that lit take on its colour
        // from its glow alike, and are no cover while it shines between them.
        let between_alike =
            |i: usize, j: usize, like: &dyn Fn(usize, usize) -> bool| (i.min(j) + 1..i.max(j)).all(|k| like(i, k));
        let tint_like = |i: usize, k: usize| chroma_distance(self.chroma[i], self.chroma[k]) <= SAME_COVER_CHROMA;
        let under_one_cover = |i: usize, j: usize| {
            (away(i) && away(j) && alike(i, j) && between_alike(i, j, &alike))
                || (tinted_alike(i, j) && between_alike(i, j, &tint_like))
        };
        let pair_under_one_cover =
            |i: usize, j: usize| self.lamps[i].color != self.lamps[j].color && under_one_cover(i, j);
        // Under a cover with another lens, or between two lenses under one (each pair
        // judged once) ...
        let mut covered = std::mem::take(&mut self.covered_scratch);
        covered.clear();
        covered.resize(n, false);
        for i in 0..n {
            covered[i] |= darkened_into_a_new_tint(i);
            for j in i + 1..n {
                if pair_under_one_cover(i, j) {
                    covered[i..=j].fill(true);
                }
            }
        }
        // ... or beside one, in the cover's tint: the cover reaches over it too (a lens
        // seen only lit, dark under it, may otherwise be at an unlit level never seen).
        for k in 1..n {
            covered[k] |= covered[k - 1] && tint_like(k - 1, k);
        }
        for k in (1..n).rev() {
            covered[k - 1] |= covered[k] && tint_like(k, k - 1);
        }
        for (k, (&covered, hidden)) in covered.iter().zip(&mut self.covered).enumerate() {
            *hidden = covered && t_s - *self.covered_since_s[k].get_or_insert(t_s) < COVERED_FOR_AT_MOST_S;
            if !covered {
                self.covered_since_s[k] = None;
            }
        }
        self.covered_scratch = covered;
    }

    /// Current modes, `None` while a lamp is still undecided.
    pub fn modes(&self) -> Vec<Option<LampMode>> {
        self.readers.iter().map(LampReader::mode).collect()
    }

    /// Current on/off of each lamp (last clear frame).
    pub fn lit(&self) -> Vec<Option<bool>> {
        self.readers.iter().map(LampReader::is_on).collect()
    }

    /// For lamp `i` of a colour, known only unlit and with its unlit tint learnt: its
    /// colour, its unlit level, and how far its tint moved from the unlit tint.
    fn tint_moved_from_unlit(&self, i: usize) -> Option<(LampColor, f32, Tint)> {
        let own_color = self.lamps[i].color;
        let (Some(unlit_level), None) = self.levels[i] else { return None };
        let unlit_tint = self.tints[i].0?;
        if own_color == LampColor::White {
            return None;
        }
        Some((own_color, unlit_level, (self.chroma[i].0 - unlit_tint.0, self.chroma[i].1 - unlit_tint.1)))
    }

    /// Is lamp `i`, known only unlit, lifted by a brighter neighbour's glow that the glow
    /// model has not learnt? The model learns glow from the edges it sees; a neighbour
    /// that lit out of sight (under a cover) showed none. Glow has the colour of the
    /// light it comes from and is at most [`GlowModel::max_coupling`] of it: the lens's
    /// tint moved from its unlit tint further along a neighbour's colour than along its
    /// own, and it rose above its unlit level by no more than glow can of that
    /// neighbour's rise above its own. A white lens has no colour of its own to tell
    /// its light by, and a white neighbour's glow has none to be told by.
    fn lifted_by_unlearnt_glow(&self, i: usize) -> bool {
        let Some((own_color, unlit_level, moved)) = self.tint_moved_from_unlit(i) else { return false };
        let own = own_color.chroma_along(moved).max(GLOW_TINT_MIN_CHROMA);
        let rise = self.corrected[i] - unlit_level;
        rise > 0.0
            && self.lamps.iter().enumerate().any(|(j, spec)| {
                j != i
                    && spec.color != own_color
                    && spec.color != LampColor::White
                    && spec.color.chroma_along(moved) > own
                    && self.levels[j]
                        .0
                        .is_some_and(|dark| rise <= self.glow.max_coupling() * (self.corrected[j] - dark))
            })
    }

    /// Has lamp `i`, known only unlit, turned its own colour ([`TowerHints::own_colour`])?
    /// Its tint moved from its unlit tint along its own colour by at least
    /// [`SHOWS_ITS_COLOUR_CHROMA`], further than along the colour of any other lamp of
    /// the tower (no other lamp of its colour is lit), and it now shows its colour. A
    /// white lens has no colour of its own.
    fn turned_own_colour(&self, i: usize) -> bool {
        let Some((own_color, _, moved)) = self.tint_moved_from_unlit(i) else { return false };
        let own = own_color.chroma_along(moved);
        own >= SHOWS_ITS_COLOUR_CHROMA
            && own_color.chroma_along(self.chroma[i]) >= SHOWS_ITS_COLOUR_CHROMA
            && self.lamps.iter().enumerate().all(|(j, spec)| {
                j == i || if spec.color == own_color { self.unlit[j] } else { spec.color.chroma_along(moved) < own }
            })
    }

    /// [`mark_lost_glow`] for this frame.
    fn update_lost_glow(&mut self) {
        mark_lost_glow(&self.levels, &self.unlit, &self.corrected, &mut self.dark_since_glow_lost, &mut self.lost_glow);
    }

    /// Processes one frame; `global` from [`crate::exposure::ExposureTracker::measure`]
    /// (or [`crate::occlusion::global_look`] for a camera of fixed exposure).
    pub fn process(&mut self, t_s: f64, frame: &YuvFrame, global: GlobalLook) -> Vec<LampChange> {
        let (dx, dy) = self.shake.as_mut().map_or((0, 0), |s| s.measure(frame));
        self.shift_px = (dx, dy);
        for (i, (spec, reader)) in self.lamps.iter().zip(&self.readers).enumerate() {
            let seen = spec.roi.means_shifted(frame, dx, dy);
            self.luma[i] = seen.luma;
            let means = at_reference_exposure(seen, global);
            let floor = reader.score(RegionMeans { luma: luma_at_least(seen.luma, global), ..means });
            self.scores[i] = clipped_score(floor, reader.score(means), reader.state_level());
            self.chroma[i] = (means.u, means.v);
            self.reference_luma[i] = means.luma;
            // While something stands in front of the tower, its moves are no glow.
            self.unlit[i] = reader.is_on() == Some(false);
            self.was_dark[i] = self.unlit[i] && !self.any_blocked;
            self.levels[i] = reader.levels();
        }
        self.glow.correct(&self.scores, &self.chroma, &self.was_dark, &self.levels, &mut self.corrected);
        for (i, reader) in self.readers.iter().enumerate() {
            // The guard expects each lamp's glow as this frame shows it.
            self.looks_lit[i] = reader.peek_on(self.corrected[i], self.chroma[i]);
        }
        for (i, score) in self.scores.iter().enumerate() {
            self.unchanged[i] = self.clear_score[i].is_some_and(|clear| within_share(*score, clear, UNCHANGED_SHARE));
        }
        // Lenses under one cover show no first glow to the guard.
        self.find_lenses_under_one_cover(t_s);
        let lamps_now = LampsNow {
            lit: &self.looks_lit,
            luma: &self.luma,
            unchanged: &self.unchanged,
            covered: &self.covered,
            shift_px: (dx, dy),
        };
        let guarded = self.guard.check(t_s, frame, global, lamps_now);
        self.blocked.clear();
        self.blocked.extend(guarded.iter().zip(&self.covered).map(|(&guarded, &covered)| guarded || covered));
        let blocked = &self.blocked;
        for ((clear, score), &b) in self.clear_score.iter_mut().zip(&self.scores).zip(blocked) {
            if !b {
                *clear = Some(*score);
            }
        }
        self.any_blocked = blocked.iter().any(|&b| b);
        if self.any_blocked {
            self.last_blocked_s = Some(t_s);
        }
        let occluded = self.last_blocked_s.is_some_and(|b| t_s - b <= OCCLUDER_SETTLE_S);
        if occluded {
            // What moved the lenses stands in front of them: its edges are no glow.
            self.glow.unlearn_frame(&self.scores, &self.was_dark, &self.levels, &mut self.corrected);
        }
        self.update_lost_glow();
        let mut changes = Vec::new();
        for i in 0..self.readers.len() {
            let hints = tower_hints(i, &self.levels, &self.unlit, &self.corrected, &self.lost_glow);
            self.lifted_by_glow[i] = self.lifted_by_unlearnt_glow(i);
            let lifted_by_glow = self.lifted_by_glow[i];
            let own_colour = self.turned_own_colour(i);
            self.readers[i].set_tower(TowerHints {
                occluded,
                own_rise: self.glow.own_rise(i),
                rise_unexplained: self.glow.rise_unexplained(i),
                // A lit lens clipping at the knee falls at the reference exposure when the
                // camera exposes more: no fall of its own light.
                fall_unexplained: if self.luma[i] < KNEE_LUMA { self.glow.fall_unexplained(i) } else { 0.0 },
                lifted_by_glow,
                glow_at_most: glow_at_most(i, &self.corrected, self.glow.max_coupling()),
                own_colour,
                ..hints
            });
        }
        for (i, (spec, reader)) in self.lamps.iter().zip(&mut self.readers).enumerate() {
            let sample = LampSample { t_s, score: self.corrected[i], chroma: self.chroma[i], blocked: self.blocked[i] };
            if let Some(mode) = reader.push(sample) {
                changes.push(LampChange { lamp: i, color: spec.color, mode, t_s });
            }
            if !self.blocked[i] && !occluded {
                let (unlit, lit) = &mut self.tints[i];
                match reader.is_on() {
                    // A glow not learnt tints the lens away from its unlit tint.
                    Some(false) if !self.lifted_by_glow[i] => learn_tint(unlit, self.chroma[i]),
                    Some(true) => learn_tint(lit, self.chroma[i]),
                    Some(false) | None => {}
                }
            }
        }
        changes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// [`tower_hints`] for `lamp`, the lenses that lost a glow marked as in a tower
    /// seen for the first time.
    fn hints_of_a_fresh_tower(
        lamp: usize,
        levels: &[(Option<f32>, Option<f32>)],
        unlit: &[bool],
        scores: &[f32],
    ) -> TowerHints {
        let mut lost_glow = Vec::new();
        mark_lost_glow(levels, unlit, scores, &mut vec![false; levels.len()], &mut lost_glow);
        tower_hints(lamp, levels, unlit, scores, &lost_glow)
    }

    #[test]
    fn tower_hints_tell_unlit_lenses_and_shadows() {
        // Lamp 0 asks; lamp 1 is known both ways (unlit 90, lit 230) and reads unlit;
        // lamp 2 has only one level (100) and reads unlit; lamp 3 is known both ways
        // (unlit 80, lit 200) and reads lit.
        let levels = [(None, None), (Some(90.0), Some(230.0)), (Some(100.0), None), (Some(80.0), Some(200.0))];
        let unlit = [false, true, true, false];
        let clear = hints_of_a_fresh_tower(0, &levels, &unlit, &[0.0, 91.0, 99.0, 201.0]);
        assert_eq!(clear.lit, Some(230.0));
        assert_eq!(clear.unlit_at_most, Some(100.0));
        assert_eq!(clear.unlit_at_least, Some(80.0));
        assert!(!clear.shadowed);
        // Every unlit lens darker by a third: a shadow.
        assert!(hints_of_a_fresh_tower(0, &levels, &unlit, &[0.0, 65.0, 72.0, 201.0]).shadowed);
        // One unlit lens darker, one as before: no shadow on the whole tower.
        assert!(!hints_of_a_fresh_tower(0, &levels, &unlit, &[0.0, 65.0, 99.0, 201.0]).shadowed);
        // Unlit lenses brightening together are lamps switching on, no shadow.
        assert!(!hints_of_a_fresh_tower(0, &levels, &unlit, &[0.0, 200.0, 180.0, 201.0]).shadowed);
        // Lamp 1, lit at 250, falls to 95 and both its neighbours darken: its glow lost
        // (their unlit levels were learnt in it), no shadow.
        let glowed = [(Some(96.0), None), (None, Some(250.0)), (Some(88.0), None)];
        let neighbours_unlit = [true, false, true];
        assert!(!hints_of_a_fresh_tower(1, &glowed, &neighbours_unlit, &[80.0, 95.0, 73.0]).shadowed);
        // The same lenses as dark while lamp 1 still shines: a shadow.
        assert!(hints_of_a_fresh_tower(1, &glowed, &neighbours_unlit, &[60.0, 250.0, 55.0]).shadowed);
        // Lamps 1 and 3 of five, lit, go out together: lamp 1 asks, and lamp 4 darkens
        // by lamp 3's glow lost, no shadow either.
        let five = [
            (Some(132.0), None),
            (None, Some(310.0)),
            (Some(129.0), Some(294.0)),
            (None, Some(246.0)),
            (Some(119.0), None),
        ];
        let unlit_of_five = [true, false, false, false, true];
        assert!(!hints_of_a_fresh_tower(1, &five, &unlit_of_five, &[102.0, 148.0, 280.0, 134.0, 99.0]).shadowed);
        // Lamp 1 goes out alone and lamp 0 beside it holds its level: a lens beside a
        // lamp gone out says nothing either way, so lamp 4, far from it and darker,
        // alone tells lamp 2 of a shadow.
        assert!(hints_of_a_fresh_tower(2, &five, &unlit_of_five, &[132.0, 148.0, 280.0, 246.0, 90.0]).shadowed);
    }

    #[test]
    fn a_lens_clipping_under_a_raised_exposure_keeps_its_state_while_its_level_fits() {
        // A white lens unlit at 141 clips when the exposure rises 1.72 times: seen at
        // 235, at least 143 at the reference exposure. Kept as seen (222 after the knee)
        // it would read lit.
        let global = GlobalLook { exposure_gain: 1.72, ..GlobalLook::default() };
        let floor = luma_at_least(235.0, global);
        assert!((floor - 143.3).abs() < 0.1, "{floor}");
        assert_eq!(clipped_score(floor, 222.0, Some(141.0)), floor);
        // The same lens lit (learnt at 250): clipping says nothing against it.
        assert_eq!(clipped_score(floor, 222.0, Some(250.0)), 222.0);
        // A lens unlit at 100 now clipping is far brighter than that: it lit.
        assert_eq!(clipped_score(floor, 222.0, Some(100.0)), 222.0);
        // Nothing learnt yet, or nothing clipped: as seen.
        assert_eq!(clipped_score(floor, 222.0, None), 222.0);
        assert_eq!(clipped_score(120.0, 120.0, Some(141.0)), 120.0);
    }

    /// A grey wall, a dark tower column and three 16 px lenses (rows 40, 60 and 80), each
    /// with its (luma, Cb, Cr); a dark `sleeve` over the tower and the wall beside it.
    fn tower_frame(lenses: [(u8, u8, u8); 3], sleeve: bool) -> YuvFrame {
        let mut f = YuvFrame::filled(200, 200, 120, 128, 128);
        let (y, u, v) = f.planes_mut();
        for row in 0..200 {
            for col in 0..200 {
                let lens = [40..56, 60..76, 80..96]
                    .into_iter()
                    .zip(lenses)
                    .find(|(rows, _)| rows.contains(&row) && (92..108).contains(&col));
                let (luma, cb, cr) = match lens {
                    _ if sleeve && (20..120).contains(&row) && (60..140).contains(&col) => (35, 128, 128),
                    Some((_, look)) => look,
                    None if (90..110).contains(&col) => (50, 128, 128),
                    None => (120, 128, 128),
                };
                y[row * 200 + col] = luma;
                if row % 2 == 0 && col % 2 == 0 {
                    u[(row / 2) * 100 + col / 2] = cb;
                    v[(row / 2) * 100 + col / 2] = cr;
                }
            }
        }
        f
    }

    /// A reader of the three lenses of [`tower_frame`], top to bottom in `colors`.
    fn tower_reader(colors: [LampColor; 3]) -> StackLightReader {
        let lamps = colors
            .into_iter()
            .zip([40.0, 60.0, 80.0])
            .map(|(color, y)| LampSpec {
                color,
                roi: PolygonRoi::rect(92.0, y, 108.0, y + 16.0, 200, 200).expect("inside"),
            })
            .collect();
        StackLightReader::new(lamps, 200, 200, LampTuning::default())
    }

    /// Red and blue unlit (grey), green lit or not, its glow raising red and blue by 25
    /// while it is; a dark `sleeve` over the tower.
    fn glowing_tower(green_lit: bool, sleeve: bool) -> YuvFrame {
        let glow = if green_lit { 25 } else { 0 };
        let green = if green_lit { (220, 100, 90) } else { (60, 120, 120) };
        tower_frame([(70 + glow, 128, 128), green, (60 + glow, 128, 128)], sleeve)
    }

    #[test]
    fn a_sleeve_over_the_tower_teaches_no_glow_nor_does_the_second_after_it() {
        let mut reader = tower_reader([LampColor::Red, LampColor::Green, LampColor::Blue]);
        let mut t_s = 0.0;
        let mut show = |reader: &mut StackLightReader, frames: usize, frame: &YuvFrame| {
            for _ in 0..frames {
                t_s += 0.1;
                reader.process(t_s, frame, crate::occlusion::global_look(frame));
            }
        };
        let couplings = |reader: &StackLightReader| (reader.glow.coupling(0, 1), reader.glow.coupling(2, 1));
        show(&mut reader, 30, &glowing_tower(true, false));
        show(&mut reader, 3, &glowing_tower(true, true));
        assert!(reader.blocked.iter().all(|&b| b), "the guard sees the sleeve");
        // Red and blue lost a third as much as green in the sleeve's first frame, which
        // by itself reads as green's glow in them; that frame is taken back.
        show(&mut reader, 3, &glowing_tower(true, false));
        assert_eq!(couplings(&reader), (0.0, 0.0));
        // Green goes out half a second after the sleeve left: the person may still be
        // leaving, and what moved then teaches nothing either.
        show(&mut reader, 30, &glowing_tower(false, false));
        assert_eq!(couplings(&reader), (0.0, 0.0));
        // Green lights on a clear tower: its glow is learnt.
        show(&mut reader, 30, &glowing_tower(true, false));
        let (red, blue) = couplings(&reader);
        assert!(red > 0.1 && blue > 0.1, "{red} {blue}");
        assert_eq!(reader.modes(), [Some(LampMode::Off), Some(LampMode::Steady), Some(LampMode::Off)]);
    }

    #[test]
    fn glow_bounds_what_an_unlit_lens_beside_a_lit_one_reads() {
        // Red beside lit yellow, green (unlit) below it: red could read up to the
        // dimmest other lens plus half of yellow's light above it.
        assert_eq!(glow_at_most(0, &[172.0, 320.0, 165.0], 0.5), Some(242.5));
        // Yellow stands far above what its neighbours' glow could lift it to.
        assert_eq!(glow_at_most(1, &[172.0, 320.0, 165.0], 0.5), Some(168.5));
        // Every other lens brighter: nothing of this tower reads unlit, so from black.
        assert_eq!(glow_at_most(0, &[171.0, 345.0, 323.0], 0.5), Some(16.0 + 0.5 * 329.0));
        // Only the lamps beside it glow on a lens.
        assert_eq!(glow_at_most(0, &[100.0, 90.0, 300.0], 0.5), Some(90.0));
    }

    /// Red, yellow and green at first sight: yellow lit (314 with its colour), green
    /// unlit at 165, red grey at `red_luma`. Red's mode 3 s on.
    fn red_at_first_sight(red_luma: u8) -> Option<LampMode> {
        let mut reader = tower_reader([LampColor::Red, LampColor::Yellow, LampColor::Green]);
        let frame = tower_frame([(red_luma, 128, 128), (235, 50, 140), (165, 128, 128)], false);
        for k in 1..=30 {
            reader.process(0.1 * f64::from(k), &frame, crate::occlusion::global_look(&frame));
        }
        reader.modes()[0]
    }

    #[test]
    fn at_first_sight_a_lens_no_brighter_than_a_lit_neighbours_glow_could_make_it_is_unlit() {
        // 172 is above the prior's 170, but yellow's glow on an unlit lens like green
        // could reach 242.
        assert_eq!(red_at_first_sight(172), Some(LampMode::Off));
        // Above that, only its own light.
        assert_eq!(red_at_first_sight(250), Some(LampMode::Steady));
    }

    /// Red, yellow and green, seen only unlit, then a sleeve over the tower for 3 s;
    /// when it leaves, yellow shines (260 with its colour, 150 above its unlit level)
    /// and red looks `red_look` (its unlit score is 84). Red's mode and levels 10 s on.
    fn red_after_yellow_lit_under_a_sleeve(red_look: (u8, u8, u8)) -> (Option<LampMode>, (Option<f32>, Option<f32>)) {
        let mut reader = tower_reader([LampColor::Red, LampColor::Yellow, LampColor::Green]);
        let (red, yellow, green) = ((70, 120, 140), (100, 118, 134), (60, 122, 118));
        let mut t_s = 0.0;
        let mut show = |frames: usize, frame: &YuvFrame| {
            for _ in 0..frames {
                t_s += 0.1;
                reader.process(t_s, frame, crate::occlusion::global_look(frame));
            }
        };
        show(50, &tower_frame([red, yellow, green], false));
        show(30, &tower_frame([red, yellow, green], true));
        show(100, &tower_frame([red_look, (200, 70, 138), green], false));
        (reader.modes()[0], reader.last_levels()[0])
    }

    #[test]
    fn a_lens_lifted_by_a_neighbour_that_lit_out_of_sight_learns_no_lit_level() {
        // Red rises 70 in yellow's colour: yellow's glow, which the glow model never saw
        // arrive (yellow lit under the sleeve).
        let (mode, levels) = red_after_yellow_lit_under_a_sleeve((125, 95, 148));
        assert_eq!((mode, levels.1), (Some(LampMode::Off), None), "{levels:?}");
        // The same rise in red's own colour is red's light.
        let (mode, levels) = red_after_yellow_lit_under_a_sleeve((115, 112, 164));
        assert_eq!(mode, Some(LampMode::Steady), "{levels:?}");
        // In yellow's colour, but more than glow can be of yellow's rise: red's light too
        // (a red LED clipping toward white).
        let (mode, levels) = red_after_yellow_lit_under_a_sleeve((175, 95, 148));
        assert_eq!(mode, Some(LampMode::Steady), "{levels:?}");
    }

    /// Red unlit, green lit and blue unlit for 5 s, then blue turns to look `blue_look`
    /// (unlit it is grey at 100, its score 100) over `ramp_frames` frames, and holds it
    /// for 10 s. Blue's mode then.
    fn blue_after_it_changes(blue_look: (u8, u8, u8), ramp_frames: u32) -> Option<LampMode> {
        let mut reader = tower_reader([LampColor::Red, LampColor::Green, LampColor::Blue]);
        let (red, green, unlit_blue) = ((70, 128, 128), (170, 100, 90), (100u8, 126u8, 130u8));
        let show = |reader: &mut StackLightReader, from_s: f64, frame: &YuvFrame| {
            for k in 1..=50 {
                reader.process(from_s + 0.1 * f64::from(k), frame, crate::occlusion::global_look(frame));
            }
        };
        show(&mut reader, 0.0, &tower_frame([red, green, unlit_blue], false));
        assert_eq!(reader.modes(), [Some(LampMode::Off), Some(LampMode::Steady), Some(LampMode::Off)]);
        for k in 1..ramp_frames {
            let share = f64::from(k) / f64::from(ramp_frames);
            let step = |from: u8, to: u8| (f64::from(from) + share * (f64::from(to) - f64::from(from))).round() as u8;
            let look =
                (step(unlit_blue.0, blue_look.0), step(unlit_blue.1, blue_look.1), step(unlit_blue.2, blue_look.2));
            let frame = tower_frame([red, green, look], false);
            reader.process(5.0 + 0.1 * f64::from(k), &frame, crate::occlusion::global_look(&frame));
        }
        let turned_s = 5.0 + 0.1 * f64::from(ramp_frames.max(1) - 1);
        show(&mut reader, turned_s, &tower_frame([red, green, blue_look], false));
        show(&mut reader, turned_s + 5.0, &tower_frame([red, green, blue_look], false));
        reader.modes()[2]
    }

    #[test]
    fn a_lens_known_unlit_that_turns_its_own_colour_lights() {
        // A blue LED behind a small lens, turning on over a second (no frame's rise
        // says much): 2 steps more luma, 31 along blue, a score 33 above the unlit
        // level, short of the 40 that would make a new level of any lens.
        assert_eq!(blue_after_it_changes((102, 158, 120), 10), Some(LampMode::Steady));
        // The same rise in green's colour is not blue's light.
        assert_eq!(blue_after_it_changes((131, 112, 112), 10), Some(LampMode::Off));
        // Nor a rise of luma alone.
        assert_eq!(blue_after_it_changes((133, 126, 130), 10), Some(LampMode::Off));
        // Nor a tint that moved along blue but further along red.
        assert_eq!(blue_after_it_changes((102, 158, 188), 10), Some(LampMode::Off));
    }

    /// Red and blue unlit (grey, 70), green (grey) lit from the start at `lit_luma`,
    /// then at `later_luma` from 5 s for 10 s. Green's mode then.
    fn green_after_it_falls(lit_luma: u8, later_luma: u8) -> Option<LampMode> {
        let mut reader = tower_reader([LampColor::Red, LampColor::Green, LampColor::Blue]);
        let grey = |luma: u8| (luma, 128, 128);
        for (from_s, green) in [(0.0, lit_luma), (5.0, later_luma), (10.0, later_luma)] {
            let frame = tower_frame([grey(70), grey(green), grey(70)], false);
            for k in 1..=50 {
                reader.process(from_s + 0.1 * f64::from(k), &frame, crate::occlusion::global_look(&frame));
            }
        }
        reader.modes()[1]
    }

    #[test]
    fn a_dim_lamp_lit_from_the_start_that_falls_with_nothing_to_explain_it_goes_out() {
        // Lit at 160, it falls to 128 in one frame: short of the 43 of a new level, but
        // no other lamp fell.
        assert_eq!(green_after_it_falls(160, 160), Some(LampMode::Steady));
        assert_eq!(green_after_it_falls(160, 128), Some(LampMode::Off));
        // A lens at the knee (luma 200) falls so when it clips differently: it stays lit.
        assert_eq!(green_after_it_falls(250, 205), Some(LampMode::Steady));
    }

    #[test]
    fn a_lens_known_unlit_that_rises_at_once_with_nothing_to_explain_it_lights() {
        // A dim lamp behind a deep lens: its luma rises 33 in one frame, in no other
        // lamp's colour, while no other lamp moves; the same over a second is drift.
        assert_eq!(blue_after_it_changes((133, 126, 130), 1), Some(LampMode::Steady));
        assert_eq!(blue_after_it_changes((133, 126, 130), 10), Some(LampMode::Off));
        // At once, but in green's colour: green's glow.
        assert_eq!(blue_after_it_changes((131, 112, 112), 1), Some(LampMode::Off));
    }

    /// A tower of red, green and blue lamps, each known unlit and lit, last seen clear
    /// at its unlit level; `now` is each lens's (luma, chroma) in this frame.
    fn tower_now(now: [(f32, (f32, f32)); 3]) -> StackLightReader {
        let colors = [LampColor::Red, LampColor::Green, LampColor::Blue];
        let lamps = colors
            .iter()
            .enumerate()
            .map(|(i, &color)| {
                let y = 20.0 + 20.0 * i as f64;
                LampSpec { color, roi: PolygonRoi::rect(40.0, y, 52.0, y + 12.0, 100, 100).expect("inside") }
            })
            .collect();
        let mut reader = StackLightReader::new(lamps, 100, 100, LampTuning::default());
        let unlit = [90.0, 100.0, 85.0];
        for (i, (luma, chroma)) in now.into_iter().enumerate() {
            reader.levels[i] = (Some(unlit[i]), Some(250.0));
            reader.clear_score[i] = Some(unlit[i]);
            reader.scores[i] = luma;
            reader.corrected[i] = luma;
            reader.reference_luma[i] = luma;
            reader.chroma[i] = chroma;
            reader.unchanged[i] = within_share(luma, unlit[i], UNCHANGED_SHARE);
        }
        reader.blocked = vec![false; 3];
        reader
    }

    #[test]
    fn lenses_of_different_colours_alike_and_off_their_levels_are_under_one_cover() {
        let covered = |reader: &mut StackLightReader, t_s: f64| {
            reader.find_lenses_under_one_cover(t_s);
            reader.covered.clone()
        };
        // A dark sleeve over all three lenses: each reads about 52 with the sleeve's tint.
        let mut sleeve = tower_now([(52.0, (15.0, -1.0)), (53.0, (16.0, 0.0)), (51.0, (15.0, -1.0))]);
        assert_eq!(covered(&mut sleeve, 10.0), [true; 3]);
        assert_eq!(covered(&mut sleeve, 39.0), [true; 3]);
        // ... not for ever: a level learnt wrong must not hide a lamp for good.
        assert_eq!(covered(&mut sleeve, 10.0 + COVERED_FOR_AT_MOST_S), [false; 3]);
        // Red and blue switch on together: both leave their levels, but shine apart.
        let mut switched = tower_now([(250.0, (-20.0, 60.0)), (100.0, (-5.0, -5.0)), (250.0, (60.0, -10.0))]);
        assert_eq!(covered(&mut switched, 10.0), [false; 3]);
        // Lenses alike at their own unlit levels are no cover.
        let mut resting = tower_now([(90.0, (2.0, 2.0)), (100.0, (2.0, 2.0)), (85.0, (2.0, 2.0))]);
        assert_eq!(covered(&mut resting, 10.0), [false; 3]);
    }

    #[test]
    fn lenses_of_different_colours_tinted_alike_away_from_their_tints_are_under_one_cover() {
        let covered = |reader: &mut StackLightReader| {
            reader.find_lenses_under_one_cover(10.0);
            reader.covered.clone()
        };
        // A striped sleeve: each lens near its unlit level (so no score says anything),
        // but all three in the sleeve's tint, far from the tints each showed unlit.
        let unlit_tints = [(-10.0, 30.0), (-25.0, -10.0), (25.0, -5.0)];
        let sleeve = [(88.0, (-7.0, -22.0)), (99.0, (-7.0, -21.0)), (86.0, (-6.0, -22.0))];
        let mut striped = tower_now(sleeve);
        for (tints, unlit) in striped.tints.iter_mut().zip(unlit_tints) {
            *tints = (Some(unlit), None);
        }
        assert_eq!(covered(&mut striped), [true; 3]);
        // A lens never seen clear has no tint to leave: it alone says nothing.
        striped.tints[2] = (None, None);
        striped.tints[1] = (None, None);
        assert_eq!(covered(&mut striped), [false; 3]);
        // A camera that renders colour weakly: the red lens is known unlit in a grey
        // tint, green and blue were seen only lit; both going out to that grey is no
        // cover, though each left the only tint it was seen with.
        let grey = (2.0, 6.0);
        let mut weak = tower_now([(90.0, grey), (100.0, (2.0, 7.0)), (85.0, (3.0, 6.0))]);
        weak.tints = vec![(Some(grey), None), (None, Some((-59.0, 30.0))), (None, Some((40.0, -20.0)))];
        assert_eq!(covered(&mut weak), [false; 3]);
    }

    /// The lenses the cover rule hides in this frame, at 10 s.
    fn covered_now(reader: &mut StackLightReader) -> Vec<bool> {
        reader.find_lenses_under_one_cover(10.0);
        reader.covered.clone()
    }

    /// Lens `i` knows only the levels given, was last seen clear at `clear`, and reads
    /// otherwise now.
    fn knows_only(reader: &mut StackLightReader, i: usize, levels: (Option<f32>, Option<f32>), clear: f32) {
        reader.levels[i] = levels;
        reader.clear_score[i] = Some(clear);
        reader.unchanged[i] = false;
    }

    /// Red known only unlit (65), green (unlit 112, lit 298) and blue (unlit 120, lit
    /// 267), reading `scores` in grey.
    fn red_green_blue_known_so(scores: [f32; 3]) -> StackLightReader {
        let mut reader = tower_now(scores.map(|score| (score, (0.0, 0.0))));
        reader.levels = vec![(Some(65.0), None), (Some(112.0), Some(298.0)), (Some(120.0), Some(267.0))];
        reader
    }

    /// Does the tower tell red it is in a shadow?
    fn red_shadowed(reader: &StackLightReader) -> bool {
        tower_hints(0, &reader.levels, &reader.unlit, &reader.corrected, &reader.lost_glow).shadowed
    }

    #[test]
    fn lenses_dark_since_they_lost_a_neighbours_glow_cast_no_shadow() {
        // Red known only unlit (65); green (unlit 112, lit 298) and blue (unlit 120, lit
        // 267), their unlit levels learnt in each other's glow. Red lights as green and
        // blue go out: they read 80 and 88, darker than those levels.
        let mut reader = red_green_blue_known_so([320.0, 80.0, 88.0]);
        reader.unlit = vec![true, false, false];
        reader.update_lost_glow();
        assert_eq!(reader.dark_since_glow_lost, [false, true, true]);
        assert!(!red_shadowed(&reader), "the frame they went out");
        // Now read unlit, as dark as they stay while the other stays out: still no
        // shadow, and red may learn that it is lit.
        reader.unlit = vec![true, true, true];
        for _ in 0..3 {
            reader.update_lost_glow();
            assert!(!red_shadowed(&reader), "after they went out");
        }
        // As soon as they read at their level again, darkness is a shadow again.
        reader.corrected[1] = 110.0;
        reader.corrected[2] = 119.0;
        reader.update_lost_glow();
        assert_eq!(reader.dark_since_glow_lost, [false; 3]);
        reader.corrected[1] = 80.0;
        reader.corrected[2] = 88.0;
        reader.update_lost_glow();
        assert!(red_shadowed(&reader), "a shadow");
    }

    #[test]
    fn a_lamp_that_went_out_darker_than_its_unlit_level_casts_no_shadow() {
        // Red known only unlit (65) and reading so; green lit steady; blue (unlit level
        // 120, lagging in its short dark phases while it blinked) goes out for good and
        // reads 88, darker than that level.
        let mut reader = red_green_blue_known_so([66.0, 298.0, 300.0]);
        reader.unlit = vec![true, false, false];
        reader.update_lost_glow();
        reader.corrected[2] = 88.0;
        reader.update_lost_glow();
        reader.unlit = vec![true, false, true];
        for _ in 0..3 {
            reader.update_lost_glow();
            assert!(!red_shadowed(&reader), "blue went out: its darkness is no shadow");
        }
        // Blue back at its level, then darker again while it stays unlit: a shadow.
        reader.corrected[2] = 119.0;
        reader.update_lost_glow();
        reader.corrected[2] = 88.0;
        reader.update_lost_glow();
        assert!(red_shadowed(&reader), "a shadow");
    }

    #[test]
    fn a_lamp_seen_only_lit_that_goes_out_beside_a_lens_that_lost_its_glow_is_no_cover() {
        // Red lights as green, seen only lit, goes out; blue below green, whose unlit
        // level and tint were learnt under green's glow, loses that glow. Green and blue
        // now read alike, away from every level and tint they were seen at, but green may
        // simply be at its unlit level, never seen.
        let mut reader = tower_now([(272.0, (-33.0, 87.0)), (81.0, (0.0, 5.0)), (85.0, (1.0, 4.0))]);
        knows_only(&mut reader, 1, (None, Some(293.0)), 286.0);
        knows_only(&mut reader, 2, (Some(112.0), None), 112.0);
        reader.tints = vec![(Some((-12.0, 10.0)), None), (None, Some((-41.0, -56.0))), (Some((-8.0, -10.0)), None)];
        assert_eq!(covered_now(&mut reader), [false; 3]);
        // Had green been seen unlit at its level, both would be away: a cover.
        reader.levels[1] = (Some(150.0), Some(293.0));
        reader.tints[1] = (Some((-20.0, -10.0)), Some((-41.0, -56.0)));
        assert_eq!(covered_now(&mut reader), [false, true, true]);
    }

    #[test]
    fn lenses_that_lost_the_glow_of_a_lamp_gone_out_are_no_cover() {
        // Green, seen only lit, goes out between red and blue, whose unlit levels and
        // tints were first learnt in its glow. All three now show one grey tint, as
        // unlit lenses do on a camera that renders colour weakly, far from those tints,
        // and red and blue read darker than their unlit levels: their own unlit look,
        // never seen before.
        let mut reader = tower_now([(84.0, (0.0, 6.0)), (101.0, (0.0, 6.0)), (70.0, (1.0, 6.0))]);
        knows_only(&mut reader, 0, (Some(121.0), None), 121.0);
        knows_only(&mut reader, 1, (None, Some(307.0)), 305.0);
        knows_only(&mut reader, 2, (Some(108.0), None), 108.0);
        reader.tints = vec![(Some((-13.0, 11.0)), None), (None, Some((-68.0, 33.0))), (Some((-14.0, 11.0)), None)];
        reader.unlit = vec![true, false, true];
        assert_eq!(covered_now(&mut reader), [false; 3]);
        // Had green been dark already, nothing lost its glow: a striped sleeve.
        reader.unlit[1] = true;
        assert_eq!(covered_now(&mut reader), [true; 3]);
    }

    #[test]
    fn a_lens_darkened_into_a_tint_light_does_not_explain_is_under_a_cover() {
        // A person stands in front of the tower, between the guard's cells: green, known
        // unlit, reads far darker than that in the tint of the person's clothes; blue,
        // seen only lit, goes dark in the same tint; red, under the person's head, reads
        // near its unlit level.
        let cover_tint = (15.0, 5.0);
        let mut reader = tower_now([(98.0, (-10.0, -1.0)), (76.0, cover_tint), (91.0, cover_tint)]);
        knows_only(&mut reader, 0, (Some(102.0), None), 102.0);
        knows_only(&mut reader, 1, (Some(128.0), None), 128.0);
        knows_only(&mut reader, 2, (None, Some(299.0)), 299.0);
        reader.tints = vec![(Some((-7.0, 33.0)), None), (Some((-20.0, -22.0)), None), (None, Some((60.0, -10.0)))];
        assert_eq!(covered_now(&mut reader), [false, true, true]);
        // A shadow dims green's tint toward grey: no cover.
        reader.chroma[1] = (-12.0, -13.0);
        reader.chroma[2] = (-12.0, -13.0);
        assert_eq!(covered_now(&mut reader), [false; 3]);
        // Green's unlit tint was learnt in blue's glow, now gone: it loses blue's colour.
        reader.tints[1] = (Some((5.0, -25.0)), None);
        reader.chroma[1] = (-12.0, -20.0);
        assert_eq!(covered_now(&mut reader), [false; 3]);
        // Losing blue's glow never turns green's tint bluer.
        reader.chroma[1] = (24.0, -28.0);
        assert_eq!(covered_now(&mut reader), [false, true, false]);
        // Red lights: its glow tints green red, though the glow model takes its light
        // out of green's score.
        reader.corrected[0] = 343.0;
        reader.chroma[0] = (-38.0, 103.0);
        reader.chroma[1] = (-21.0, 22.0);
        assert_eq!(covered_now(&mut reader), [false; 3]);
    }

    #[test]
    fn a_lens_between_two_under_one_cover_that_looks_like_them_is_under_it_too() {
        // A sleeve over the whole tower; green was only ever seen lit, so its reading
        // alone says nothing, but it lies between red and blue under the sleeve.
        let mut reader = tower_now([(52.0, (17.0, 0.0)), (52.0, (17.0, -1.0)), (52.0, (17.0, 0.0))]);
        reader.levels[1] = (None, Some(305.0));
        reader.tints = vec![(Some((-12.0, 10.0)), None), (None, Some((-41.0, -56.0))), (Some((2.0, 5.0)), None)];
        assert_eq!(covered_now(&mut reader), [true; 3]);
    }

    #[test]
    fn a_lamp_seen_only_lit_darker_than_any_unlit_lens_beside_a_lens_far_below_its_level_is_covered() {
        // A dark sleeve over green (seen only lit) and blue: green reads far darker than
        // any unlit lens of the tower, so not at an unlit level never seen.
        let mut reader = tower_now([(84.0, (-12.0, 10.0)), (52.0, (16.0, 3.0)), (52.0, (16.0, 3.0))]);
        knows_only(&mut reader, 1, (None, Some(301.0)), 301.0);
        knows_only(&mut reader, 2, (Some(120.0), None), 120.0);
        assert_eq!(covered_now(&mut reader), [false, true, true]);
    }

    #[test]
    fn a_lens_beside_lenses_under_a_cover_in_its_tint_is_under_it_too() {
        // A reddish sleeve over the tower: red, seen only lit, reads dark enough to be
        // at an unlit level never seen, but beside green under the sleeve, in its tint.
        let mut reader = tower_now([(158.0, (-34.0, 47.0)), (141.0, (-35.0, 47.0)), (98.0, (-35.0, 48.0))]);
        reader.levels[0] = (None, Some(245.0));
        reader.tints = vec![(None, Some((-26.0, 68.0))), (Some((-17.0, 20.0)), None), (Some((-6.0, -6.0)), None)];
        assert_eq!(covered_now(&mut reader), [true; 3]);
        // Lit red beside it shines in its own tint: not under the sleeve.
        reader.chroma[0] = (-26.0, 68.0);
        assert_eq!(covered_now(&mut reader), [false, true, true]);
    }

    #[test]
    fn lamps_seen_only_unlit_that_light_together_alike_are_no_cover() {
        // Red and green, seen only unlit, light together on a camera that renders colour
        // weakly and clips them alike: each may be at its lit level, never seen.
        let mut reader = tower_now([(238.0, (3.0, 4.0)), (240.0, (4.0, 4.0)), (85.0, (25.0, -5.0))]);
        knows_only(&mut reader, 0, (Some(90.0), None), 90.0);
        knows_only(&mut reader, 1, (Some(100.0), None), 100.0);
        assert_eq!(covered_now(&mut reader), [false; 3]);
        // Had they been seen lit far brighter, both would stand away from each level.
        reader.levels[0] = (Some(90.0), Some(330.0));
        reader.levels[1] = (Some(100.0), Some(330.0));
        assert_eq!(covered_now(&mut reader), [true, true, false]);
    }

    #[test]
    fn lenses_on_either_side_of_a_lamp_that_lit_take_its_glow_and_are_no_cover() {
        // Green lights between red and blue: its glow tints both neighbours green
        // alike, far from the tints they showed unlit; the green lens between them
        // shines in its own colour, which no cover over red and blue would let through.
        let mut reader = tower_now([(84.0, (-9.0, -6.0)), (288.0, (-36.0, -48.0)), (86.0, (-4.0, -8.0))]);
        reader.tints = vec![(Some((-14.0, 14.0)), None), (Some((-14.0, 9.0)), None), (Some((2.0, 5.0)), None)];
        assert_eq!(covered_now(&mut reader), [false; 3]);
        // A sleeve over all three shows its tint on the green lens too.
        reader.chroma[1] = (-6.0, -7.0);
        assert_eq!(covered_now(&mut reader), [true; 3]);
    }
}
