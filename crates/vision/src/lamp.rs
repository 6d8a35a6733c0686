//! One stack-light lamp: per-frame on/off, then its OPC UA (OPC 10000-200) signal mode.
//!
//! Two stages, both online and O(1) per frame:
//!
//! 1. [`OnOffClassifier`]: the lamp's brightness score (luma plus the chroma along the
//!    lamp's own colour, at the camera's reference exposure and with its neighbours'
//!    glow taken out by [`crate::stack_light`]) is split into an "off" and an "on"
//!    level. The levels are found from the data and then follow slow illumination drift
//!    (while only the unlit level is known, a darker reading held for three frames
//!    replaces it: an unlit lens reads darkest, and a neighbour's glow not yet learnt
//!    can only have raised the level first seen); the threshold sits half-way between
//!    them with hysteresis. A new level must differ from the known one by
//!    [`LampTuning::min_contrast`] and by [`LampTuning::min_contrast_ratio`] of the
//!    brighter (less for white and yellow lenses, [`LampColor::contrast_share`]; half
//!    of it for a lens known only unlit that turned its own colour,
//!    [`TowerHints::own_colour`], or that rose by more than its neighbours' glow can
//!    explain, [`TowerHints::rise_unexplained`]; the same for a lens known only lit
//!    that fell so, [`TowerHints::fall_unexplained`]), be seen twice within
//!    [`LampTuning::confirm_within_s`], and, to be a lit level, reach half the
//!    brightest lit level of the tower's other lamps. Until both levels have
//!    been seen, the tower ([`TowerHints`]) says which one a single level is when it
//!    can (a lit lens stands far above every unlit lens of its tower; at first sight, a
//!    lens no brighter than a lit neighbour's glow could make an unlit one is unlit),
//!    else a threshold set per lens colour; while a shadow lies on the whole tower, or
//!    something stands at it (the guard fired within the last second), no level is
//!    learnt, nor a first lit level while a neighbour's glow not learnt lifts the lens.
//! 2. [`ModeEstimator`]: from the on/off edges of the last few seconds: no edge for
//!    longer than [`LampTuning::hold_s`] gives `off` or `steady`; a whole period of
//!    short segments gives `blinking` (duty near 50 %) or `flashing` (short pulses, low
//!    duty), decided only when the durations, each known to half a frame interval,
//!    settle it; until then the reported mode stands.
//!
//! Frames that the occlusion guard marks as blocked are not classified; a lamp blocked
//! for longer than [`LampTuning::unknown_after_s`] reads `unknown` until it has been
//! seen clearly long enough to decide again.

use std::collections::VecDeque;

use crate::frame::BLACK_LUMA as BLACK;
use crate::roi::RegionMeans;

sheetsight_base::named_enum! {
    /// The colour of a lamp's lens.
    pub enum LampColor("lamp colour") {
        Red = "red",
        Yellow = "yellow",
        Green = "green",
        Blue = "blue",
        White = "white",
    }
}

impl LampColor {
    /// Unit direction of the colour in the (Cb, Cr) plane; zero for white.
    pub fn chroma_direction(self) -> (f32, f32) {
        match self {
            Self::Red => (-0.32, 0.95),
            Self::Yellow => (-0.99, 0.16),
            Self::Green => (-0.62, -0.78),
            Self::Blue => (0.99, -0.16),
            Self::White => (0.0, 0.0),
        }
    }

    /// How far (score points) this colour's single-level threshold sits from
    /// [`LampTuning::prior_on_score`], for a lens whose chroma along this colour is
    /// `own_chroma`. A yellow lens passes red and green, most of what makes luma, so
    /// unlit it reads brighter than lenses of other colours; a blue LED emits what makes
    /// the least luma, so lit it reads darker than other LEDs, and its light is in its
    /// colour: a blue lens that shows no blue (a grey lens, or one tinted by its lit
    /// neighbours' glow) is judged as any other.
    pub fn prior_offset(self, own_chroma: f32) -> f32 {
        match self {
            Self::Yellow => 40.0,
            Self::Blue if own_chroma >= SHOWS_ITS_COLOUR_CHROMA => -20.0,
            Self::Blue | Self::Red | Self::Green | Self::White => 0.0,
        }
    }

    /// Chroma along this colour (signed; zero for white).
    pub fn chroma_along(self, (u, v): (f32, f32)) -> f32 {
        let (du, dv) = self.chroma_direction();
        u * du + v * dv
    }

    /// Share of [`LampTuning::min_contrast`] and [`LampTuning::min_contrast_ratio`] this
    /// colour's two levels must stand apart. Unlit, a white or yellow lens reflects most
    /// of the room's light, so its LED lifts it by a smaller share than a red, green or
    /// blue lens, whose filter swallows most of it.
    pub fn contrast_share(self) -> f32 {
        match self {
            Self::White | Self::Yellow => 0.7,
            Self::Red | Self::Green | Self::Blue => 1.0,
        }
    }

    /// Nominal sRGB of a lit lens, for renderers and overlays.
    pub fn rgb(self) -> [u8; 3] {
        match self {
            Self::Red => [255, 40, 30],
            Self::Yellow => [255, 200, 20],
            Self::Green => [40, 230, 60],
            Self::Blue => [40, 90, 255],
            Self::White => [250, 250, 250],
        }
    }
}

sheetsight_base::named_enum! {
    /// A lamp's signal mode (OPC 10000-200 SignalModeLight), plus `unknown` when the lamp
    /// cannot be seen.
    pub enum LampMode("lamp mode") {
        Off = "off",
        Steady = "steady",
        Blinking = "blinking",
        Flashing = "flashing",
        Unknown = "unknown",
    }
}

/// Tuning of the lamp reader. The defaults suit 8-bit video at 5–30 fps.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LampTuning {
    /// Weight of the chroma along the lamp colour in the brightness score.
    pub chroma_gain: f32,
    /// Smallest score difference between the off and the on level (times the lamp's
    /// [`LampColor::contrast_share`]).
    pub min_contrast: f32,
    /// While only one level is known, a new level must also differ from it by this
    /// share of the brighter one (above black): a lit lens shines far brighter than an
    /// unlit one, while a lit lens that clips at one exposure and not at another only
    /// looks somewhat different.
    pub min_contrast_ratio: f32,
    /// A single level above this score (plus [`LampColor::prior_offset`]) is taken for
    /// "on" until the other level is seen, when the tower cannot tell.
    pub prior_on_score: f32,
    /// A new level is believed when a second sample like it follows within this time.
    pub confirm_within_s: f64,
    /// Hysteresis around the threshold, as a fraction of the on-off contrast.
    pub hysteresis: f32,
    /// Time constant with which the levels follow illumination drift.
    pub level_tracking_s: f32,
    /// No edge for this long means `off` or `steady`. Must exceed the longest blink
    /// half-period (1 s at 0.5 Hz).
    pub hold_s: f64,
    /// How far back on/off segments are kept for the blink/flash decision.
    pub window_s: f64,
    /// On-time share below which a pulsing lamp is `flashing` rather than `blinking`.
    pub flashing_max_duty: f64,
    /// Longest on-pulse that still counts as a flash.
    pub flash_max_pulse_s: f64,
    /// A lamp blocked for this long becomes `unknown`.
    pub unknown_after_s: f64,
}

impl Default for LampTuning {
    fn default() -> Self {
        Self {
            chroma_gain: 1.0,
            min_contrast: 40.0,
            min_contrast_ratio: 0.3,
            confirm_within_s: 3.0,
            prior_on_score: 170.0,
            hysteresis: 0.08,
            level_tracking_s: 20.0,
            hold_s: 1.25,
            window_s: 3.5,
            flashing_max_duty: 0.3,
            flash_max_pulse_s: 0.3,
            unknown_after_s: 0.25,
        }
    }
}

/// A lit lens shines at least this many times (above black) as bright as the
/// brightest unlit lens of its tower.
const TOWER_LIT_RATIO: f32 = 1.5;
/// The same for a white or a yellow lamp: a clear lens reflects more of the room than
/// coloured ones, and a yellow one passes most of what makes luma (unlit, it can read
/// more than 1.5 times the tower's other unlit lenses), so they must stand out further.
const TOWER_LIT_RATIO_BRIGHT_LENS: f32 = 2.0;
/// An unlit lens is at most this many times as bright as the dimmest lens known unlit.
const TOWER_UNLIT_RATIO: f32 = 1.15;

/// A lens shows its colour when its chroma along it is at least this: lit blue LEDs
/// showed 44 and 72 along blue, an unlit blue lens 29, grey lenses or ones tinted by
/// their neighbours' glow about 0.
pub(crate) const SHOWS_ITS_COLOUR_CHROMA: f32 = 15.0;

/// While only the unlit level is known, this many samples in a row clearly darker
/// than it replace it (with the brightest of them): one frame spoilt by noise or
/// compression dips alone.
const DARKER_RUN_SAMPLES: u32 = 3;

/// What the other lamps of a tower tell about one lamp; set every frame by
/// [`crate::stack_light::StackLightReader`]. The rules that use them only ever decide
/// what the lamp's own levels cannot: which one a single known level is, and whether a
/// change is the lamp's or the whole tower's.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct TowerHints {
    /// The brightest lit level of the other lamps.
    pub lit: Option<f32>,
    /// No unlit lens of the tower is brighter than this: the brightest of the other
    /// lamps' dimmest levels (their unlit level, or their only level; a lamp lit all
    /// along only raises it, which makes the rule more cautious).
    pub unlit_at_most: Option<f32>,
    /// The dimmest unlit level among the other lamps whose both levels are known, when
    /// at least two are.
    pub unlit_at_least: Option<f32>,
    /// Every other lamp that is unlit reads darker than its level in this frame: a
    /// shadow lies on the tower. No new level is learnt then.
    pub shadowed: bool,
    /// Something stands at the tower: the guard blocked one of its lamps in this frame
    /// or within [`crate::occlusion::OCCLUDER_SETTLE_S`]. What the lenses show then
    /// may be the occluder (a sleeve, a face) wherever the guard's cells missed it, so
    /// no new level is learnt either.
    pub occluded: bool,
    /// How far this lamp's score rose since the last frame as light of its own, else 0
    /// ([`crate::glow::GlowModel::own_rise`]: glow follows a brighter neighbour's edge,
    /// in that neighbour's colour).
    pub own_rise: f32,
    /// This lamp, known only unlit, reads lifted by a brighter neighbour's glow that
    /// the glow model has not learnt (the neighbour lit out of sight, under a cover):
    /// no lit level is learnt from it.
    pub lifted_by_glow: bool,
    /// The most an unlit lens could read here in the glow of a lamp beside it, as the
    /// tower looks in this frame ([`crate::stack_light`]): at first sight a lens no
    /// brighter is taken for unlit.
    pub glow_at_most: Option<f32>,
    /// This lamp, known only unlit, has turned its own colour: its tint moved from its
    /// unlit tint along its colour, further than along any other lamp's colour of the
    /// tower, and it now shows its colour. Glow has the colour of the lamp it comes
    /// from: only the lamp's own light does that. A rise of
    /// [`OWN_COLOUR_CONTRAST_SHARE`] of a new level's contrast then reads lit (a lit
    /// blue lens is mostly colour, and little luma).
    pub own_colour: bool,
    /// How far this lamp's score rose since the last frame beyond what glow of the
    /// other lamps' rises can explain, else 0
    /// ([`crate::glow::GlowModel::rise_unexplained`]). A lamp known only unlit that
    /// rises so by [`OWN_COLOUR_CONTRAST_SHARE`] of a new level's contrast reads lit
    /// while it stays up: a dim LED behind a deep lens rises little, and often while a
    /// bright neighbour blinks beside it.
    pub rise_unexplained: f32,
    /// The mirror for a lamp known only lit: how far its score fell since the last frame
    /// beyond what the other lamps' falls can explain, else 0
    /// ([`crate::glow::GlowModel::fall_unexplained`]). A dim LED behind a deep lens
    /// goes out by little.
    pub fall_unexplained: f32,
}

/// The share of a new level's contrast by which a lens known only unlit must rise to
/// read lit when it has turned its own colour ([`TowerHints::own_colour`]): a blue LED
/// behind a 6 px lens rose 30 points above its unlit level, nearly all of it blue.
pub const OWN_COLOUR_CONTRAST_SHARE: f32 = 0.5;

/// Samples in a row that read clearly darker than a lamp's only (unlit) level.
#[derive(Clone, Copy, Debug, Default)]
struct DarkerRun {
    samples: u32,
    /// The brightest of them (meaningless while `samples` is 0).
    brightest: f32,
}

impl DarkerRun {
    /// The run with one more sample.
    fn and(self, score: f32) -> Self {
        let brightest = if self.samples == 0 { score } else { self.brightest.max(score) };
        Self { samples: self.samples + 1, brightest }
    }
}

/// Splits a lamp's brightness score into on and off, following slow drift.
#[derive(Clone, Debug)]
pub struct OnOffClassifier {
    color: LampColor,
    tuning: LampTuning,
    off_level: Option<f32>,
    on_level: Option<f32>,
    last_on: Option<bool>,
    /// A level not seen before, and when: (score, clock).
    candidate: Option<(f32, f64)>,
    /// While only the unlit level is known: the samples in a row that read clearly
    /// darker than it.
    darker_run: DarkerRun,
    /// What the other lamps of the tower say this frame.
    tower: TowerHints,
    /// Known only unlit, the lamp rose beyond what glow explains
    /// ([`TowerHints::rise_unexplained`]) and has not fallen back since; known only lit,
    /// it fell so ([`TowerHints::fall_unexplained`]) and has not risen back.
    moved_unexplained: bool,
    /// Seconds of samples classified.
    clock_s: f64,
}

impl OnOffClassifier {
    pub fn new(color: LampColor, tuning: LampTuning) -> Self {
        Self {
            color,
            tuning,
            off_level: None,
            on_level: None,
            last_on: None,
            candidate: None,
            darker_run: DarkerRun::default(),
            tower: TowerHints::default(),
            moved_unexplained: false,
            clock_s: 0.0,
        }
    }

    /// Brightness score of a lamp region: luma plus chroma along the lamp's colour.
    pub fn score(&self, means: RegionMeans) -> f32 {
        means.luma + self.tuning.chroma_gain * self.color.chroma_along((means.u, means.v)).max(0.0)
    }

    /// The learnt scores of the unlit and the lit lamp, once seen.
    pub fn levels(&self) -> (Option<f32>, Option<f32>) {
        (self.off_level, self.on_level)
    }

    /// The last decision, if any.
    pub fn last_on(&self) -> Option<bool> {
        self.last_on
    }

    /// A level not seen before is believed once a second sample like it follows within
    /// [`LampTuning::confirm_within_s`]: one frame spoilt by compression or noise (a
    /// tiny lamp's few pixels) does not teach a level.
    fn confirm_new_level(&mut self, score: f32, contrast: f32) -> bool {
        match self.candidate {
            Some((seen, since_s))
                if (score - seen).abs() <= 0.5 * contrast && self.clock_s - since_s <= self.tuning.confirm_within_s =>
            {
                self.candidate = None;
                true
            }
            _ => {
                self.candidate = Some((score, self.clock_s));
                false
            }
        }
    }

    /// Could `score` be this lamp lit? The lamps of one tower shine alike: a lit lamp
    /// reaches at least half the brightest lit level of the others (above black), so a
    /// dim level (a lamp in a person's shadow, an unlit lens) is never learnt as lit.
    fn may_be_lit(&self, score: f32) -> bool {
        self.tower.lit.is_none_or(|lit| score - BLACK >= 0.5 * (lit - BLACK))
    }

    /// Is `level` certainly a lit lamp? A lit lens shines: it stands well above every
    /// unlit lens of its tower, which all reflect the same room from the same housing.
    fn clearly_lit(&self, level: f32) -> bool {
        let ratio = match self.color {
            LampColor::White | LampColor::Yellow => TOWER_LIT_RATIO_BRIGHT_LENS,
            LampColor::Red | LampColor::Green | LampColor::Blue => TOWER_LIT_RATIO,
        };
        self.tower.unlit_at_most.is_some_and(|unlit| level - BLACK >= ratio * (unlit - BLACK)) && self.may_be_lit(level)
    }

    /// Is `level` certainly an unlit lamp? It is no brighter than the dimmest lens that
    /// the tower knows to be unlit.
    fn clearly_unlit(&self, level: f32) -> bool {
        self.tower.unlit_at_least.is_some_and(|unlit| level - BLACK <= TOWER_UNLIT_RATIO * (unlit - BLACK))
    }

    /// How far from the one known level a score must be to be the other level, when
    /// `brighter` is the brighter of the two.
    fn new_level_contrast(&self, brighter: f32) -> f32 {
        self.color.contrast_share() * self.full_contrast(brighter)
    }

    /// How far from the one known level a score must be to be the other level when the
    /// lamp's own light moved it ([`TowerHints::own_colour`],
    /// [`TowerHints::rise_unexplained`], [`TowerHints::fall_unexplained`]).
    fn own_light_contrast(&self, brighter: f32) -> f32 {
        OWN_COLOUR_CONTRAST_SHARE * self.new_level_contrast(brighter)
    }

    /// [`Self::new_level_contrast`] whatever the colour: for a lens that dims below the
    /// one level taken for unlit, which its first neighbour's glow (not yet learnt) may
    /// have raised.
    fn full_contrast(&self, brighter: f32) -> f32 {
        self.tuning.min_contrast.max(self.tuning.min_contrast_ratio * (brighter - BLACK))
    }

    /// The least distance between this lamp's two levels.
    fn min_contrast(&self) -> f32 {
        self.color.contrast_share() * self.tuning.min_contrast
    }

    /// While only one level is known, the tower may tell which one it is: a single
    /// level taken for unlit that is clearly lit, or the reverse, is relabelled when
    /// the current sample says the same (a first level may have been a neighbour's
    /// glow, not yet learnt).
    fn relabel_from_tower(&mut self, score: f32) {
        if self.tower.occluded {
            return;
        }
        match (self.off_level, self.on_level) {
            (Some(off), None) if self.clearly_lit(off) && self.clearly_lit(score) => {
                self.on_level = Some(off);
                self.off_level = None;
            }
            (None, Some(on)) if self.clearly_unlit(on) && self.clearly_unlit(score) => {
                self.off_level = Some(on);
                self.on_level = None;
            }
            _ => {}
        }
    }

    /// With both levels known: does `score` read lit, half-way between them (with
    /// hysteresis around the last decision)?
    fn past_midpoint(&self, off: f32, on: f32, score: f32) -> bool {
        let threshold = off + 0.5 * (on - off);
        let hyst = self.tuning.hysteresis * (on - off);
        if self.last_on == Some(true) { score > threshold - hyst } else { score > threshold + hyst }
    }

    /// Is `score`, short of the midpoint, a flash of the lamp's own light? An encoder
    /// under-codes a change that lasts a frame or two, so a short flash reaches only
    /// part of the lit level learnt while the lamp shone longer (one blue flash in ten
    /// frames read 174, its levels 94 and 286). A rise of this lamp alone in its tower,
    /// from its unlit level by as much as would teach a new level, is its own light:
    /// glow rises with a brighter neighbour, and a shadow or an occluder is no light.
    fn own_flash(&self, off: f32, score: f32) -> bool {
        let (t, contrast) = (&self.tower, self.new_level_contrast(score));
        !t.shadowed && !t.occluded && t.own_rise >= contrast && score > off + contrast
    }

    /// What [`Self::classify`] would say, without learning from the sample; `chroma`
    /// is the lens's (Cb, Cr) at the reference exposure.
    pub fn peek(&self, score: f32, chroma: (f32, f32)) -> bool {
        let t = &self.tuning;
        match (self.off_level, self.on_level) {
            (Some(off), Some(on)) => self.past_midpoint(off, on, score) || self.own_flash(off, score),
            (Some(off), None) if self.tower.own_colour || self.moved_unexplained => {
                score > off + self.own_light_contrast(score)
            }
            (None, Some(on)) if self.moved_unexplained => score >= on - self.own_light_contrast(on),
            (Some(off), None) => score > off + self.new_level_contrast(score),
            (None, Some(on)) => score >= on - self.new_level_contrast(on),
            (None, None) if self.clearly_lit(score) => true,
            (None, None) if self.clearly_unlit(score) => false,
            (None, None) if self.tower.glow_at_most.is_some_and(|most| score <= most) => false,
            (None, None) => score > t.prior_on_score + self.color.prior_offset(self.color.chroma_along(chroma)),
        }
    }

    /// While only one level is known: notes a move of `score` away from it beyond what
    /// glow explains ([`TowerHints::rise_unexplained`] from the unlit level,
    /// [`TowerHints::fall_unexplained`] from the lit one), by
    /// [`OWN_COLOUR_CONTRAST_SHARE`] of a new level's contrast, and forgets it once the
    /// score is back within that. A shadow, an occluder or a neighbour's glow not learnt
    /// move no lamp.
    fn note_unexplained_move(&mut self, score: f32) {
        let t = &self.tower;
        let (away, moved, needed) = match (self.off_level, self.on_level) {
            (Some(off), None) => (score - off, t.rise_unexplained, self.own_light_contrast(score)),
            (None, Some(on)) => (on - score, t.fall_unexplained, self.own_light_contrast(on)),
            _ => {
                self.moved_unexplained = false;
                return;
            }
        };
        if away <= needed || t.shadowed || t.occluded || t.lifted_by_glow {
            self.moved_unexplained = false;
        } else if moved >= needed {
            self.moved_unexplained = true;
        }
    }

    /// Classifies one sample taken `dt_s` after the previous one, and learns from it.
    pub fn classify(&mut self, score: f32, chroma: (f32, f32), dt_s: f64) -> bool {
        self.note_unexplained_move(score);
        self.relabel_from_tower(score);
        let mut on = self.peek(score, chroma);
        // Only a sample that reads clearly darker than the lone unlit level extends the
        // run (below); any other ends it.
        let darker_run = std::mem::take(&mut self.darker_run);
        self.clock_s += dt_s;
        let t = self.tuning;
        let alpha = ((dt_s as f32) / t.level_tracking_s).clamp(0.0, 1.0);
        let follow = |level: f32| level + alpha * (score - level);
        match (self.off_level, self.on_level) {
            (Some(off), Some(on_level)) => {
                // A flash read lit short of the midpoint is not the lamp's lit level.
                let (mut off, mut on_level) = match on {
                    true if self.past_midpoint(off, on_level, score) => (off, follow(on_level)),
                    true => (off, on_level),
                    false => (follow(off), on_level),
                };
                // Keep the levels apart: drift must never merge them.
                let min_contrast = self.min_contrast();
                if on_level - off < min_contrast {
                    if on {
                        off = on_level - min_contrast;
                    } else {
                        on_level = off + min_contrast;
                    }
                }
                self.off_level = Some(off);
                self.on_level = Some(on_level);
            }
            (None, None) if on => self.on_level = Some(score),
            (None, None) => self.off_level = Some(score),
            // A shadow on the whole tower, or a neighbour's glow: no new level is learnt
            // from it.
            (Some(_), None) if self.tower.shadowed || self.tower.occluded || self.tower.lifted_by_glow => on = false,
            (None, Some(_)) if self.tower.shadowed || self.tower.occluded => on = true,
            (Some(off), None) if on => {
                if self.may_be_lit(score) && self.confirm_new_level(score, self.full_contrast(score)) {
                    self.on_level = Some(score);
                } else {
                    on = false;
                    self.off_level = Some(off);
                }
            }
            (Some(off), None) if score < off - self.full_contrast(off) => {
                // What we took for "off" was the lit lamp all along, unless it is as
                // dim as the tower's unlit lenses.
                if self.may_be_lit(off)
                    && !self.clearly_unlit(off)
                    && self.confirm_new_level(score, self.full_contrast(off))
                {
                    self.on_level = Some(off);
                    self.off_level = Some(score);
                }
            }
            (Some(off), None) if score < off - 0.5 * self.min_contrast() => {
                // An unlit lens reads darkest: light from a neighbour (its glow, not
                // yet learnt) can only have raised the level first seen. Noise dips
                // one frame at a time; the lens's own level holds for several.
                let run = darker_run.and(score);
                if run.samples >= DARKER_RUN_SAMPLES {
                    self.off_level = Some(run.brightest);
                } else {
                    self.darker_run = run;
                }
            }
            (Some(off), None) => self.off_level = Some(follow(off)),
            (None, Some(on_level)) if !on => {
                if self.confirm_new_level(score, self.full_contrast(on_level)) {
                    self.off_level = Some(score);
                } else {
                    on = true;
                }
            }
            (None, Some(on_level)) if score > on_level + self.new_level_contrast(score) => {
                // What we took for "on" was the unlit lamp in bright light, unless it
                // shone above the tower's unlit lenses (then this is a lit lens clipping
                // at another exposure).
                if !self.clearly_lit(on_level) && self.confirm_new_level(score, self.full_contrast(score)) {
                    self.off_level = Some(on_level);
                    self.on_level = Some(score);
                }
            }
            (None, Some(on_level)) => self.on_level = Some(follow(on_level)),
        }
        self.last_on = Some(on);
        on
    }
}

/// One run of constant on/off between two edges.
#[derive(Clone, Copy, Debug)]
struct Segment {
    on: bool,
    start_s: f64,
    end_s: f64,
}

impl Segment {
    fn duration_s(&self) -> f64 {
        self.end_s - self.start_s
    }
}

/// Turns a sequence of on/off samples into a signal mode.
#[derive(Clone, Debug)]
pub struct ModeEstimator {
    tuning: LampTuning,
    current: Option<(bool, f64)>,
    last_sample_s: f64,
    /// Typical time between two samples (follows the frame rate).
    sample_interval_s: f64,
    segments: VecDeque<Segment>,
    mode: Option<LampMode>,
    pending: Option<(LampMode, f64)>,
}

impl ModeEstimator {
    pub fn new(tuning: LampTuning) -> Self {
        Self {
            tuning,
            current: None,
            last_sample_s: 0.0,
            sample_interval_s: 0.1,
            segments: VecDeque::new(),
            mode: None,
            pending: None,
        }
    }

    /// Forgets the history (after the lamp was blocked); the mode is undecided again.
    pub fn reset(&mut self) {
        self.current = None;
        self.segments.clear();
        self.mode = None;
        self.pending = None;
    }

    pub fn mode(&self) -> Option<LampMode> {
        self.mode
    }

    /// Feeds one sample; returns the mode when it changes.
    pub fn push(&mut self, t_s: f64, on: bool) -> Option<LampMode> {
        if self.current.is_some() {
            let gap_s = (t_s - self.last_sample_s).clamp(0.0, 1.0);
            self.sample_interval_s += 0.1 * (gap_s - self.sample_interval_s);
        }
        match self.current {
            None => self.current = Some((on, t_s)),
            Some((level, start_s)) if level != on => {
                let edge_s = 0.5 * (self.last_sample_s + t_s);
                self.segments.push_back(Segment { on: level, start_s, end_s: edge_s });
                self.current = Some((on, edge_s));
            }
            Some(_) => {}
        }
        self.last_sample_s = t_s;
        while self.segments.front().is_some_and(|s| s.end_s < t_s - self.tuning.window_s) {
            self.segments.pop_front();
        }
        let candidate = self.candidate(t_s)?;
        if Some(candidate) == self.mode {
            self.pending = None;
            return None;
        }
        // Between two pulsing modes, ask for the new one to hold a little while.
        let both_pulsing = matches!(self.mode, Some(LampMode::Blinking | LampMode::Flashing))
            && matches!(candidate, LampMode::Blinking | LampMode::Flashing);
        if both_pulsing {
            match self.pending {
                Some((m, since)) if m == candidate && t_s - since >= 0.5 * self.tuning.hold_s => {}
                Some((m, _)) if m == candidate => return None,
                _ => {
                    self.pending = Some((candidate, t_s));
                    return None;
                }
            }
        }
        self.pending = None;
        self.mode = Some(candidate);
        Some(candidate)
    }

    fn candidate(&self, t_s: f64) -> Option<LampMode> {
        let (level, since_s) = self.current?;
        let t = &self.tuning;
        if t_s - since_s > t.hold_s {
            return Some(if level { LampMode::Steady } else { LampMode::Off });
        }
        // A pulsing mode needs a whole period: a short lit and a short dark segment
        // (one spoilt frame in a steady or dark lamp is not a blink).
        let short = |on: bool| self.segments.iter().any(|s| s.on == on && s.duration_s() < t.hold_s);
        if !(short(true) && short(false)) {
            return None;
        }
        // The last two segments of each kind: recent enough to follow a switch from one
        // pulsing pattern to another, long enough to average out frame quantisation.
        // Segments longer than the hold are the steady or dark time around a pattern,
        // not part of it.
        let completed = |on: bool| {
            let d: Vec<f64> = self
                .segments
                .iter()
                .rev()
                .filter(|s| s.on == on && s.duration_s() <= t.hold_s)
                .take(2)
                .map(Segment::duration_s)
                .collect();
            (!d.is_empty()).then(|| d.iter().sum::<f64>() / d.len() as f64)
        };
        // Each edge lies somewhere between two samples: a duration is known to within
        // about half a sample interval either way. The running segment is only a lower
        // bound of its kind's duration.
        let slack_s = 0.5 * self.sample_interval_s;
        let running_s = t_s - since_s;
        let bounds = |on: bool| -> Option<(f64, f64)> {
            match (completed(on), level == on) {
                (Some(m), true) if running_s > m + slack_s => Some((running_s, f64::INFINITY)),
                (Some(m), true) => Some(((m - slack_s).max(running_s), m + slack_s)),
                (Some(m), false) => Some(((m - slack_s).max(0.0), m + slack_s)),
                (None, true) => Some((running_s, f64::INFINITY)),
                (None, false) => None,
            }
        };
        let (on_lo, on_hi) = bounds(true)?;
        let (off_lo, off_hi) = bounds(false)?;
        let duty_lo = on_lo / (on_lo + off_hi).max(1e-6);
        let duty_hi = if on_hi.is_finite() { on_hi / (on_hi + off_lo).max(1e-6) } else { 1.0 };
        // Decide only what the evidence settles: a flash is a short pulse with a low
        // duty for every value within the bounds; a blink has a pulse too long for a
        // flash, or a duty too high, for every value within them. In between, wait
        // for the next edge (the mode reported so far stands).
        if on_hi <= t.flash_max_pulse_s && duty_hi < t.flashing_max_duty {
            Some(LampMode::Flashing)
        } else if on_lo > t.flash_max_pulse_s || duty_lo >= t.flashing_max_duty {
            Some(LampMode::Blinking)
        } else {
            None
        }
    }
}

/// A lamp's reading of one frame.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LampSample {
    pub t_s: f64,
    /// The lamp's brightness score ([`LampReader::score`]), its neighbours' glow taken
    /// out.
    pub score: f32,
    /// The lens's (Cb, Cr) at the reference exposure.
    pub chroma: (f32, f32),
    /// The occlusion guard says something stands in front of the lamp.
    pub blocked: bool,
}

/// One lamp end to end: on/off, mode, and `unknown` while blocked.
#[derive(Clone, Debug)]
pub struct LampReader {
    tuning: LampTuning,
    classifier: OnOffClassifier,
    estimator: ModeEstimator,
    blocked_since_s: Option<f64>,
    unknown: bool,
    last_t_s: Option<f64>,
    reported: Option<LampMode>,
}

impl LampReader {
    pub fn new(color: LampColor, tuning: LampTuning) -> Self {
        Self {
            tuning,
            classifier: OnOffClassifier::new(color, tuning),
            estimator: ModeEstimator::new(tuning),
            blocked_since_s: None,
            unknown: false,
            last_t_s: None,
            reported: None,
        }
    }

    /// The mode last reported, if one has been decided.
    pub fn mode(&self) -> Option<LampMode> {
        self.reported
    }

    /// The learnt scores of the unlit and the lit lamp, once seen.
    pub fn levels(&self) -> (Option<f32>, Option<f32>) {
        self.classifier.levels()
    }

    /// Tells the reader what the other lamps of its tower say this frame.
    pub fn set_tower(&mut self, hints: TowerHints) {
        self.classifier.tower = hints;
    }

    /// The on/off decision of the last clear frame.
    pub fn is_on(&self) -> Option<bool> {
        self.classifier.last_on()
    }

    /// The learnt level of the state (unlit or lit) of the last clear frame, if known.
    pub fn state_level(&self) -> Option<f32> {
        let (unlit, lit) = self.levels();
        match self.is_on()? {
            false => unlit,
            true => lit,
        }
    }

    /// The brightness score of a region's look: luma plus chroma along the lamp's colour.
    pub fn score(&self, means: RegionMeans) -> f32 {
        self.classifier.score(means)
    }

    /// Would this score and chroma read "on"? (For the occlusion guard; learns nothing.)
    pub fn peek_on(&self, score: f32, chroma: (f32, f32)) -> bool {
        self.classifier.peek(score, chroma)
    }

    /// Feeds one frame's reading; returns the new mode when it changes.
    pub fn push(&mut self, sample: LampSample) -> Option<LampMode> {
        let dt_s = self.last_t_s.map_or(0.0, |t| (sample.t_s - t).max(0.0));
        self.last_t_s = Some(sample.t_s);
        let next = if sample.blocked {
            let since = *self.blocked_since_s.get_or_insert(sample.t_s);
            if !self.unknown && sample.t_s - since >= self.tuning.unknown_after_s {
                self.unknown = true;
                self.estimator.reset();
            }
            self.unknown.then_some(LampMode::Unknown)
        } else {
            self.blocked_since_s = None;
            let on = self.classifier.classify(sample.score, sample.chroma, dt_s);
            let changed = self.estimator.push(sample.t_s, on);
            if self.unknown {
                // Stay unknown until the mode is decided from clear frames only.
                match self.estimator.mode() {
                    Some(m) => {
                        self.unknown = false;
                        Some(m)
                    }
                    None => Some(LampMode::Unknown),
                }
            } else {
                changed.or(self.reported)
            }
        };
        match next {
            Some(m) if Some(m) != self.reported => {
                self.reported = Some(m);
                Some(m)
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FPS: f64 = 10.0;

    /// Drives a reader with a pattern `lit(t)` and returns (t, mode) changes.
    fn run(pattern: impl Fn(f64) -> bool, seconds: f64, off: f32, on: f32) -> Vec<(f64, LampMode)> {
        let mut reader = LampReader::new(LampColor::Green, LampTuning::default());
        let mut out = Vec::new();
        let n = (seconds * FPS) as usize;
        for i in 0..n {
            let t = i as f64 / FPS;
            let luma = if pattern(t) { on } else { off };
            let noise = ((i * 7919) % 13) as f32 - 6.0;
            let score = reader.score(RegionMeans { luma: luma + noise, u: 0.0, v: 0.0 });
            let sample = LampSample { t_s: t, score, chroma: (0.0, 0.0), blocked: false };
            if let Some(m) = reader.push(sample) {
                out.push((t, m));
            }
        }
        out
    }

    fn final_mode(changes: &[(f64, LampMode)]) -> LampMode {
        changes.last().map(|c| c.1).expect("a mode was decided")
    }

    #[test]
    fn steady_and_off() {
        assert_eq!(final_mode(&run(|_| true, 10.0, 60.0, 220.0)), LampMode::Steady);
        assert_eq!(final_mode(&run(|_| false, 10.0, 60.0, 220.0)), LampMode::Off);
    }

    #[test]
    fn blinking_at_the_range_ends() {
        for hz in [0.5, 1.0, 2.0, 3.0] {
            let changes = run(move |t| (t * hz).fract() < 0.5, 20.0, 60.0, 220.0);
            assert_eq!(final_mode(&changes), LampMode::Blinking, "{hz} Hz: {changes:?}");
            assert!(changes.iter().filter(|c| c.0 > 4.0).count() == 0, "{hz} Hz flickers: {changes:?}");
        }
    }

    #[test]
    fn flashing_is_short_pulses() {
        let changes = run(|t| (t * 1.0).fract() < 0.15, 20.0, 60.0, 220.0);
        assert_eq!(final_mode(&changes), LampMode::Flashing, "{changes:?}");
    }

    #[test]
    fn pulsing_lamps_are_never_first_reported_as_the_other_pulsing_mode() {
        // Short, rare flashes and fast blinks, each starting from a dark lamp at 3 s:
        // the first pulsing mode reported is the right one, and it stays.
        for (pattern, want) in [
            (
                Box::new(|t: f64| t > 3.0 && ((t - 3.0) * 0.8).fract() < 0.15) as Box<dyn Fn(f64) -> bool>,
                LampMode::Flashing,
            ),
            (Box::new(|t: f64| t > 3.0 && ((t - 3.0) * 1.2).fract() < 0.2), LampMode::Flashing),
            (Box::new(|t: f64| t > 3.0 && ((t - 3.0) * 3.0).fract() < 0.5), LampMode::Blinking),
            (Box::new(|t: f64| t > 3.0 && ((t - 3.0) * 0.5).fract() < 0.5), LampMode::Blinking),
        ] {
            let changes = run(pattern, 20.0, 60.0, 220.0);
            let pulsing: Vec<LampMode> =
                changes.iter().map(|c| c.1).filter(|m| matches!(m, LampMode::Blinking | LampMode::Flashing)).collect();
            assert_eq!(pulsing, vec![want], "{changes:?}");
        }
    }

    #[test]
    fn single_spoilt_frames_make_no_blink_and_no_level() {
        // A tiny lamp on a low bit rate: every 3.3 s one frame is far off its level.
        let spoilt = |t: f64| ((t * 10.0).round() as i64) % 33 == 20;
        let steady = run(|t| !spoilt(t), 30.0, 60.0, 220.0);
        assert_eq!(steady.iter().map(|c| c.1).collect::<Vec<_>>(), vec![LampMode::Steady], "{steady:?}");
        let dark = run(spoilt, 30.0, 60.0, 220.0);
        assert_eq!(dark.iter().map(|c| c.1).collect::<Vec<_>>(), vec![LampMode::Off], "{dark:?}");
    }

    #[test]
    fn steady_then_off_switches_within_two_seconds() {
        let changes = run(|t| t < 10.0, 20.0, 60.0, 220.0);
        let off_at = changes.iter().find(|c| c.1 == LampMode::Off).expect("goes off").0;
        assert!((10.0..12.0).contains(&off_at), "{changes:?}");
    }

    #[test]
    fn an_unlit_lamp_in_bright_light_is_relabelled_once_it_lights() {
        // Unlit but brightly lit by the room (above the prior), lit from 5 s to 10 s,
        // then unlit again. Until 5 s the reader cannot know better than "steady"; once
        // it has seen the lamp lit, the first level is known to be "off".
        let changes = run(|t| (5.0..10.0).contains(&t), 16.0, 180.0, 250.0);
        assert_eq!(changes.first().map(|c| c.1), Some(LampMode::Steady), "{changes:?}");
        assert_eq!(final_mode(&changes), LampMode::Off, "{changes:?}");
        let off_at = changes.last().map_or(0.0, |c| c.0);
        assert!((10.0..12.0).contains(&off_at), "{changes:?}");
    }

    #[test]
    fn a_first_level_raised_by_a_neighbours_glow_comes_down_to_the_unlit_lens() {
        // The first frame shows the unlit lens at 152, raised by a lit neighbour whose
        // glow is not learnt yet; from then on the lens reads 123 unlit and 195 lit,
        // blinking at 1 Hz. Lit is only 43 above the raised level (a new level needs
        // 0.3 of 195 above black, 54); it is 72 above the lens's own unlit level.
        let changes = run_in_tower(
            LampColor::Green,
            20.0,
            |t| match t {
                t if t < 0.15 => 152.0,
                t if t.fract() < 0.5 => 195.0,
                _ => 123.0,
            },
            |_| TowerHints::default(),
        );
        assert_eq!(final_mode(&changes), LampMode::Blinking, "{changes:?}");
        let blinking_at = changes.iter().find(|c| c.1 == LampMode::Blinking).map_or(f64::MAX, |c| c.0);
        assert!(blinking_at < 4.0, "{changes:?}");
    }

    #[test]
    fn a_lens_dipping_one_frame_at_a_time_keeps_its_unlit_level() {
        // An unlit yellow lens at 186 on a tiny, noisy region: a frame now and then
        // reads 166, and a neighbour's flashes lift it to 215 for two frames. The dips
        // must not lower its unlit level so far that the flashes become its own.
        let changes = run_in_tower(
            LampColor::Yellow,
            30.0,
            |t| match ((t * 10.0).round() as i64) % 20 {
                3 | 13 => 166.0,
                7 | 8 => 215.0,
                _ => 186.0,
            },
            |_| TowerHints::default(),
        );
        let modes: Vec<LampMode> = changes.iter().map(|c| c.1).collect();
        assert_eq!(modes, vec![LampMode::Off], "{changes:?}");
    }

    /// Drives a reader with `score(t)` while the tower says `hints(t)`; returns the
    /// mode changes. The lens shows its own colour (chroma 40 along it).
    fn run_in_tower(
        color: LampColor,
        seconds: f64,
        score: impl Fn(f64) -> f32,
        hints: impl Fn(f64) -> TowerHints,
    ) -> Vec<(f64, LampMode)> {
        let (du, dv) = color.chroma_direction();
        run_in_tower_tinted(color, (40.0 * du, 40.0 * dv), seconds, score, hints)
    }

    /// [`run_in_tower`] for a lens of this (Cb, Cr).
    fn run_in_tower_tinted(
        color: LampColor,
        chroma: (f32, f32),
        seconds: f64,
        score: impl Fn(f64) -> f32,
        hints: impl Fn(f64) -> TowerHints,
    ) -> Vec<(f64, LampMode)> {
        let mut reader = LampReader::new(color, LampTuning::default());
        let mut out = Vec::new();
        for i in 0..(seconds * FPS) as usize {
            let t = i as f64 / FPS;
            reader.set_tower(hints(t));
            let noise = ((i * 7919) % 7) as f32 - 3.0;
            if let Some(m) = reader.push(LampSample { t_s: t, score: score(t) + noise, chroma, blocked: false }) {
                out.push((t, m));
            }
        }
        out
    }

    /// Other lamps of the tower: unlit lenses at about 90, one lamp lit at 230.
    fn tower(shadowed: bool) -> TowerHints {
        TowerHints {
            lit: Some(230.0),
            unlit_at_most: Some(95.0),
            unlit_at_least: Some(85.0),
            shadowed,
            occluded: false,
            own_rise: 0.0,
            lifted_by_glow: false,
            glow_at_most: None,
            own_colour: false,
            rise_unexplained: 0.0,
            fall_unexplained: 0.0,
        }
    }

    #[test]
    fn a_flash_short_of_the_lit_level_is_read_when_the_lamp_rises_alone() {
        // Blinking at 1 Hz between 94 and 286 until 20 s, off until 40 s, then flashing
        // at 1 Hz: one frame in ten, under-coded to 174 (short of the midpoint, 190).
        let flash_frame = |t: f64| t >= 40.0 && t.fract() < 0.05;
        let score = |t: f64| match t {
            t if t < 20.0 && t.fract() < 0.45 => 286.0,
            t if flash_frame(t) => 174.0,
            _ => 94.0,
        };
        let modes = |alone: bool| {
            let own_rise = |t: f64| if alone && flash_frame(t) { 80.0 } else { 0.0 };
            let changes =
                run_in_tower(LampColor::Blue, 60.0, score, |t| TowerHints { own_rise: own_rise(t), ..tower(false) });
            changes.into_iter().map(|c| c.1).collect::<Vec<_>>()
        };
        assert_eq!(modes(true), vec![LampMode::Blinking, LampMode::Off, LampMode::Flashing]);
        // The same rises in phase with a neighbour's edge are its glow: no flash.
        assert_eq!(modes(false), vec![LampMode::Blinking, LampMode::Off]);
    }

    #[test]
    fn a_dim_lamp_behind_a_deep_lens_lights_by_a_rise_no_light_explains() {
        // Red, known only unlit at 100, lights at 10 s to 128 (28 above its unlit level,
        // short of the 40 of a new level) while its neighbours' rises explain none of
        // it; it goes out at 20 s and blinks at 1 Hz from 30 s.
        let lit = |t: f64| (10.0..20.0).contains(&t) || t >= 30.0 && t.fract() < 0.5;
        let score = |t: f64| if lit(t) { 128.0 } else { 100.0 };
        let edge = |t: f64| lit(t) && !lit(t - 1.0 / FPS);
        let modes = |hints: &dyn Fn(f64) -> TowerHints| {
            let changes = run_in_tower(LampColor::Red, 40.0, score, hints);
            changes.into_iter().map(|c| c.1).collect::<Vec<_>>()
        };
        let unexplained = |t: f64| if edge(t) { 28.0 } else { 0.0 };
        let alone = |t: f64| TowerHints { rise_unexplained: unexplained(t), ..tower(false) };
        assert_eq!(modes(&alone), vec![LampMode::Off, LampMode::Steady, LampMode::Off, LampMode::Blinking]);
        // A rise that glow explains, or one in a shadow or at an occluder, lights nothing,
        // though the lens stays up once the shadow or the occluder has gone.
        assert_eq!(modes(&|_| tower(false)), vec![LampMode::Off]);
        assert_eq!(modes(&|t| TowerHints { shadowed: edge(t), ..alone(t) }), vec![LampMode::Off]);
        assert_eq!(modes(&|t| TowerHints { occluded: edge(t), ..alone(t) }), vec![LampMode::Off]);
        // A rise of 15 is too little.
        let small = |t: f64| TowerHints { rise_unexplained: unexplained(t).min(15.0), ..tower(false) };
        assert_eq!(modes(&small), vec![LampMode::Off]);
        // A spike of one frame at 5 s is forgotten once the lens is back: the rise at
        // 10 s, which glow explains, lights nothing.
        let spike = |t: f64| if (5.0..5.05).contains(&t) { 28.0 } else { 0.0 };
        let changes = run_in_tower(
            LampColor::Red,
            20.0,
            |t| if (5.0..5.05).contains(&t) || t >= 10.0 { 128.0 } else { 100.0 },
            |t| TowerHints { rise_unexplained: spike(t), ..tower(false) },
        );
        assert_eq!(changes.into_iter().map(|c| c.1).collect::<Vec<_>>(), vec![LampMode::Off]);
    }

    #[test]
    fn a_dim_lamp_lit_from_the_start_goes_out_by_a_fall_no_glow_lost_explains() {
        // Green, lit from the start at 159, flashes from 10 s: unlit at 128 (31 below, short
        // of the 43 of a new level), lit for one frame in ten.
        let flash = |t: f64| t < 10.0 || t.fract() < 0.05;
        let score = |t: f64| if flash(t) { 159.0 } else { 128.0 };
        let fell = |t: f64| !flash(t) && flash(t - 1.0 / FPS);
        let modes = |hints: &dyn Fn(f64) -> TowerHints| {
            let changes = run_in_tower(LampColor::Green, 30.0, score, hints);
            changes.into_iter().map(|c| c.1).collect::<Vec<_>>()
        };
        let unexplained = |t: f64| if fell(t) { 31.0 } else { 0.0 };
        let alone = |t: f64| TowerHints { fall_unexplained: unexplained(t), ..tower(false) };
        assert_eq!(modes(&alone), vec![LampMode::Steady, LampMode::Flashing]);
        // A fall that glow lost explains, or one in a shadow or at an occluder, puts out
        // nothing.
        assert_eq!(modes(&|_| tower(false)), vec![LampMode::Steady]);
        assert_eq!(modes(&|t| TowerHints { shadowed: fell(t), ..alone(t) }), vec![LampMode::Steady]);
        assert_eq!(modes(&|t| TowerHints { occluded: fell(t), ..alone(t) }), vec![LampMode::Steady]);
    }

    #[test]
    fn a_lens_wavering_in_a_neighbours_glow_is_no_flash() {
        // Unlit at 94 with a lit level of 286 learnt, from 20 s in a lit neighbour's
        // glow not yet learnt: 170, rising alone by a few steps now and then.
        let score = |t: f64| match t {
            t if t < 10.0 && t.fract() < 0.45 => 286.0,
            t if t < 20.0 => 94.0,
            t => 168.0 + 4.0 * f32::from(t.fract() < 0.05),
        };
        let hints = |t: f64| TowerHints { own_rise: if t.fract() < 0.05 { 4.0 } else { 0.0 }, ..tower(false) };
        let modes: Vec<LampMode> =
            run_in_tower(LampColor::Green, 40.0, score, hints).into_iter().map(|c| c.1).collect();
        assert_eq!(modes, vec![LampMode::Blinking, LampMode::Off]);
    }

    #[test]
    fn a_dim_lamp_lit_from_the_start_is_read_lit_from_its_tower() {
        // A blue lamp scores 140 lit: below its colour's threshold, far above the tower's
        // unlit lenses. It is steady until 20 s, then off.
        let changes = run_in_tower(LampColor::Blue, 30.0, |t| if t < 20.0 { 140.0 } else { 90.0 }, |_| tower(false));
        let modes: Vec<LampMode> = changes.iter().map(|c| c.1).collect();
        assert_eq!(modes, vec![LampMode::Steady, LampMode::Off], "{changes:?}");
        // Without the tower's word, the prior alone reads the same lamp off at first.
        let alone = run_in_tower(LampColor::Blue, 10.0, |_| 140.0, |_| TowerHints::default());
        assert_eq!(alone.first().map(|c| c.1), Some(LampMode::Off), "{alone:?}");
    }

    #[test]
    fn a_single_level_is_judged_by_its_lens_colour_when_the_tower_cannot_tell() {
        // Lit from the start and never switched, with no other lamp known: a blue LED
        // at 165 is lit, an unlit yellow lens at 190 is not, a red lens at 165 is not.
        let first =
            |color, score: f32| run_in_tower(color, 5.0, |_| score, |_| TowerHints::default()).first().map(|c| c.1);
        assert_eq!(first(LampColor::Blue, 165.0), Some(LampMode::Steady));
        assert_eq!(first(LampColor::Yellow, 190.0), Some(LampMode::Off));
        assert_eq!(first(LampColor::Red, 165.0), Some(LampMode::Off));
        assert_eq!(first(LampColor::Yellow, 230.0), Some(LampMode::Steady));
        // A blue lens that shows no blue is judged as any other: unlit between two lit
        // neighbours, their glow raises it to 160 and tints it (-5, -14).
        let grey = run_in_tower_tinted(LampColor::Blue, (-5.0, -14.0), 5.0, |_| 160.0, |_| TowerHints::default());
        assert_eq!(grey.first().map(|c| c.1), Some(LampMode::Off), "{grey:?}");
        assert_eq!(first(LampColor::Blue, 160.0), Some(LampMode::Steady));
    }

    #[test]
    fn an_unlit_yellow_lens_is_not_taken_for_lit_by_its_tower() {
        // The tower's other lenses are known both ways, unlit at 109 to 130, lit at
        // about 320; an unlit yellow lens at 190 stands 1.5 times above them.
        let known = TowerHints {
            lit: Some(326.0),
            unlit_at_most: Some(130.0),
            unlit_at_least: Some(109.0),
            ..TowerHints::default()
        };
        let changes = run_in_tower(LampColor::Yellow, 10.0, |_| 190.0, |_| known);
        let modes: Vec<LampMode> = changes.iter().map(|c| c.1).collect();
        assert_eq!(modes, vec![LampMode::Off], "{changes:?}");
    }

    #[test]
    fn a_clear_lens_brighter_than_coloured_ones_is_not_taken_for_lit() {
        // An unlit white lamp reflects more than the tower's coloured lenses (at 90):
        // 140 is 1.7 times their brightness above black, yet unlit.
        let mut reader = LampReader::new(LampColor::White, LampTuning::default());
        reader.set_tower(tower(false));
        let mut modes = Vec::new();
        for i in 0..100 {
            if let Some(m) =
                reader.push(LampSample { t_s: f64::from(i) / FPS, score: 140.0, chroma: (0.0, 0.0), blocked: false })
            {
                modes.push(m);
            }
        }
        assert_eq!(modes, vec![LampMode::Off]);
    }

    #[test]
    fn a_white_lens_lit_a_third_above_its_bright_unlit_level_is_read_lit() {
        // Unlit at 131 (a white lens in strong room light), lit at 166 from 10 s: its LED
        // lifts it by 35, under the 40 a red lens must rise (whose filter keeps the room
        // out, so that its LED stands far higher above it).
        let lit_at_10_s = |t: f64| if t < 10.0 { 131.0 } else { 166.0 };
        let last = |color| run_in_tower(color, 20.0, lit_at_10_s, |_| TowerHints::default()).last().map(|c| c.1);
        assert_eq!(last(LampColor::White), Some(LampMode::Steady));
        assert_eq!(last(LampColor::Red), Some(LampMode::Off));
    }

    #[test]
    fn a_shadow_on_the_tower_teaches_no_level() {
        // Unlit at 125 (a bright lens); a person's shadow darkens the whole tower to 80
        // from 10 s to 20 s without anyone in front of the lamp itself. Taking 80 for
        // the unlit level would make 125 "lit" once the shadow leaves.
        let shadow = |t: f64| (10.0..20.0).contains(&t);
        let changes =
            run_in_tower(LampColor::Blue, 30.0, |t| if shadow(t) { 80.0 } else { 125.0 }, |t| tower(shadow(t)));
        let modes: Vec<LampMode> = changes.iter().map(|c| c.1).collect();
        assert_eq!(modes, vec![LampMode::Off], "{changes:?}");
    }

    #[test]
    fn an_occluder_teaches_no_level() {
        // Unlit at 164 (a bright yellow lens), never lit. A person's dark sleeve covers
        // it for half a second while the guard fires on the tower's other lamps only;
        // taking 51 for the unlit level would make 164 "lit" once the person has gone.
        let sleeve = |t: f64| (10.0..10.5).contains(&t);
        let at_tower = |t: f64| (9.8..11.5).contains(&t);
        // The other lenses tell nothing about 164: one of them is as bright.
        let quiet = TowerHints { lit: Some(230.0), unlit_at_most: Some(170.0), ..TowerHints::default() };
        let hints = |t: f64| TowerHints { occluded: at_tower(t), ..quiet };
        let changes = run_in_tower(LampColor::Yellow, 30.0, |t| if sleeve(t) { 51.0 } else { 164.0 }, hints);
        let modes: Vec<LampMode> = changes.iter().map(|c| c.1).collect();
        assert_eq!(modes, vec![LampMode::Off], "{changes:?}");
        // The premise: without the guard's word the sleeve is learnt as the unlit level.
        let unguarded = run_in_tower(LampColor::Yellow, 30.0, |t| if sleeve(t) { 51.0 } else { 164.0 }, |_| quiet);
        assert_eq!(unguarded.last().map(|c| c.1), Some(LampMode::Steady), "{unguarded:?}");
    }

    #[test]
    fn a_lit_lens_clipping_brighter_is_not_taken_for_an_unlit_one() {
        // Lit at 185 from the start; for 3 s the camera's exposure rises and the lens
        // clips at 275. A lamp that shines far above the tower's unlit lenses is lit,
        // whatever brighter look it takes.
        let changes = run_in_tower(
            LampColor::Blue,
            20.0,
            |t| if (8.0..11.0).contains(&t) { 275.0 } else { 185.0 },
            |_| tower(false),
        );
        let modes: Vec<LampMode> = changes.iter().map(|c| c.1).collect();
        assert_eq!(modes, vec![LampMode::Steady], "{changes:?}");
    }

    #[test]
    fn blocked_lamp_is_unknown_then_recovers() {
        let mut reader = LampReader::new(LampColor::Red, LampTuning::default());
        let mut modes = Vec::new();
        for i in 0..200 {
            let t = f64::from(i) / FPS;
            let blocked = (50..90).contains(&i);
            let score = reader.score(RegionMeans { luma: 200.0, u: -10.0, v: 60.0 });
            let m = reader.push(LampSample { t_s: t, score, chroma: (0.0, 0.0), blocked });
            if let Some(m) = m {
                modes.push((t, m));
            }
        }
        let kinds: Vec<LampMode> = modes.iter().map(|m| m.1).collect();
        assert_eq!(kinds, vec![LampMode::Steady, LampMode::Unknown, LampMode::Steady], "{modes:?}");
    }

    #[test]
    fn levels_follow_slow_drift() {
        // Off level drifts by +-30 % over a minute; the lamp blinks at 1 Hz.
        let mut reader = LampReader::new(LampColor::Yellow, LampTuning::default());
        let mut last = None;
        for i in 0..1200 {
            let t = f64::from(i) / FPS;
            let ambient = 1.0 + 0.3 * (t * std::f64::consts::TAU / 60.0).sin();
            let lit = (t * 1.0).fract() < 0.5;
            let luma = if lit { 210.0 } else { (70.0 * ambient) as f32 };
            let score = reader.score(RegionMeans { luma, u: 0.0, v: 0.0 });
            if let Some(m) = reader.push(LampSample { t_s: t, score, chroma: (0.0, 0.0), blocked: false }) {
                last = Some((t, m));
            }
        }
        assert_eq!(last.map(|l| l.1), Some(LampMode::Blinking), "{last:?}");
        assert!(last.is_some_and(|l| l.0 < 4.0), "mode changed late: {last:?}");
    }
}
