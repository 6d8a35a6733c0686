//! Neighbour glow: light of a lit lamp that shows in the other lenses of its tower.
//!
//! A lit lamp lights up the lenses beside it, most of all when they are stacked
//! without a gap; a dark lens then rises and falls in phase with its lit neighbour.
//! The glow is light added in proportion to what the neighbour emits, so each lamp's
//! score is modelled as its own light plus `c[i][j]` times the rise of every other lamp
//! `j` above that lamp's own dark level. The couplings are learnt from the tower's own
//! edges: when some lamps switch and lamp `i` was dark and moved by at most
//! [`GlowTuning::max_coupling`] of them, its move is their glow, and a small
//! least-squares fit (over every other lamp at once, so that two lamps switching
//! together are told apart) gives its couplings. An edge forgets only what it informs,
//! about the lamps that moved in it: the edges of a lamp blinking further down the
//! tower do not wear away the glow learnt from a lamp that lit once and stays lit. A
//! lamp's own light rises as much as a neighbour's or more, and in its own colour:
//! such an edge teaches nothing. The learning comes before the correction in the same
//! frame, so the first glow edge already does not read as light.
//! Glow is at most [`GlowTuning::max_coupling`] of what the other lamps rose: a lamp
//! that rose further in a frame, in no other lamp's colour, rose by its own light
//! ([`GlowModel::rise_unexplained`]).
//!
//! Something in front of the tower moves every lens at once; the reader takes back what
//! such a frame taught ([`GlowModel::unlearn_frame`]), so a sleeve that darkens a lit
//! lamp and its dark neighbour together leaves no coupling between them.
//!
//! Invariant: couplings stay within `0..=max_coupling`; a lamp's corrected score equals
//! its score while every other lamp is dark (at its dark level, or read unlit: the
//! glow a dark lens shows is not light it emits).

/// Tuning of the glow model.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GlowTuning {
    /// The largest share of a neighbour's rise that can be glow.
    pub max_coupling: f32,
    /// A frame-to-frame change of a lamp's score at least this large is an edge.
    pub min_edge: f32,
    /// Weight kept of the older edges at each new one, for the lamps that moved in it.
    pub forgetting: f64,
}

impl Default for GlowTuning {
    fn default() -> Self {
        Self { max_coupling: 0.5, min_edge: 20.0, forgetting: 0.9 }
    }
}

/// Lamps of one tower, their learnt glow on each other.
#[derive(Clone, Debug)]
pub struct GlowModel {
    tuning: GlowTuning,
    n: usize,
    /// `coupling[i * n + j]`: share of lamp j's rise that shows in lamp i.
    coupling: Vec<f32>,
    /// Per lamp i, the normal equations over the other lamps' edges (n x n, row-major;
    /// the diagonal entry of i itself is unused).
    normal: Vec<Vec<f64>>,
    rhs: Vec<Vec<f64>>,
    previous: Vec<f32>,
    /// Each lamp's lowest score seen: its dark level until its reader knows better.
    lowest: Vec<f32>,
    /// Each lamp's colour direction in (Cb, Cr), zero for white.
    colors: Vec<(f32, f32)>,
    previous_chroma: Vec<(f32, f32)>,
    /// Scratch, reused every frame: each lamp's move, the moves that are edges of a
    /// lamp's own light, and the known dark levels.
    delta: Vec<f32>,
    sources: Vec<f32>,
    known_dark: Vec<f32>,
    /// Per lamp, the last frame: how far it rose as light of its own, else 0.
    own_rise: Vec<f32>,
    /// Per lamp, the last frame: how much of its rise, and of its fall, no neighbour's
    /// glow explains.
    rise_unexplained: Vec<f32>,
    fall_unexplained: Vec<f32>,
    /// What was learnt before the last frame, saved at that frame's first change to
    /// it (most frames teach nothing and copy nothing), to take that frame back.
    before_frame: Learnt,
    /// The last frame changed what is learnt, and `before_frame` holds what it was.
    learnt_this_frame: bool,
    /// The last frame's median known dark level, for a lamp never seen dark.
    tower_dark: Option<f32>,
}

/// What the model learns: the couplings, the normal equations they are solved from and
/// each lamp's lowest score.
#[derive(Clone, Debug, Default)]
struct Learnt {
    coupling: Vec<f32>,
    normal: Vec<Vec<f64>>,
    rhs: Vec<Vec<f64>>,
    lowest: Vec<f32>,
}

impl GlowModel {
    pub fn new(colors: &[(f32, f32)], tuning: GlowTuning) -> Self {
        let n = colors.len();
        Self {
            tuning,
            n,
            coupling: vec![0.0; n * n],
            normal: vec![vec![0.0; n * n]; n],
            rhs: vec![vec![0.0; n]; n],
            previous: Vec::new(),
            lowest: Vec::new(),
            colors: colors.to_vec(),
            previous_chroma: Vec::new(),
            delta: Vec::with_capacity(n),
            sources: Vec::with_capacity(n),
            known_dark: Vec::with_capacity(n),
            own_rise: vec![0.0; n],
            rise_unexplained: vec![0.0; n],
            fall_unexplained: vec![0.0; n],
            before_frame: Learnt::default(),
            learnt_this_frame: false,
            tower_dark: None,
        }
    }

    /// How far lamp `i`'s score rose in the last frame as light of its own, else 0: every
    /// other lamp moved (up or down) by at most [`GlowTuning::max_coupling`] of that
    /// rise, and its colour moved no further toward the colour of any lamp that was not
    /// dark than toward its own (compression flickers a lit lamp's glow into its dark
    /// neighbour one frame at a time, in the lit lamp's colour).
    pub fn own_rise(&self, i: usize) -> f32 {
        self.own_rise[i]
    }

    /// How much of lamp `i`'s rise in the last frame no glow explains, else 0: its rise
    /// less [`GlowTuning::max_coupling`] of every other lamp's rise, when its colour
    /// moved no further toward another lamp's colour than toward its own. Unlike
    /// [`Self::own_rise`], a lamp may rise while another switches: a dim lamp behind a
    /// deep lens lights by less than a bright neighbour blinking beside it.
    pub fn rise_unexplained(&self, i: usize) -> f32 {
        self.rise_unexplained[i]
    }

    /// The mirror of [`Self::rise_unexplained`]: how much of lamp `i`'s fall in the last
    /// frame no glow lost explains, else 0: its fall less
    /// [`GlowTuning::max_coupling`] of every other lamp's fall, when its colour moved
    /// no further away from another lamp's colour than from its own.
    pub fn fall_unexplained(&self, i: usize) -> f32 {
        self.fall_unexplained[i]
    }

    /// The largest share of a neighbour's rise that can be glow.
    pub fn max_coupling(&self) -> f32 {
        self.tuning.max_coupling
    }

    /// The learnt share of lamp `j`'s rise that shows in lamp `i`.
    pub fn coupling(&self, i: usize, j: usize) -> f32 {
        self.coupling[i * self.n + j]
    }

    /// Learns from this frame's `scores` (and region chroma) given which lamps were
    /// dark until now, and writes each lamp's score without its neighbours' glow.
    /// `levels` are the lamps' learnt (dark, lit) scores, where known: a lamp's light is
    /// what it shows above its dark level, and it switched when it moved by half its
    /// contrast. A lamp never seen dark is taken to be as dark, unlit, as the other
    /// lenses of its tower.
    pub fn correct(
        &mut self,
        scores: &[f32],
        chroma: &[(f32, f32)],
        was_dark: &[bool],
        levels: &[(Option<f32>, Option<f32>)],
        out: &mut [f32],
    ) {
        let n = self.n;
        debug_assert!(scores.len() == n && out.len() == n && was_dark.len() == n && levels.len() == n);
        if self.previous.len() != n {
            self.previous = scores.to_vec();
            self.lowest = scores.to_vec();
            self.previous_chroma = chroma.to_vec();
        }
        self.learnt_this_frame = false;
        if scores.iter().zip(&self.lowest).any(|(s, low)| s < low) {
            self.save_before_change();
        }
        for (low, &s) in self.lowest.iter_mut().zip(scores) {
            *low = low.min(s);
        }
        let mut delta = std::mem::take(&mut self.delta);
        delta.clear();
        delta.extend(scores.iter().zip(&self.previous).map(|(s, p)| s - p));
        // A lamp switched when it moved by half its contrast (or, with one level known,
        // by what would make a new level); smaller moves (compression, noise, a lit lamp
        // clipping differently) teach nothing. Dark lamps that only followed a bigger
        // edge are glow, not sources of it.
        let largest = delta.iter().fold(0.0f32, |m, d| m.max(d.abs()));
        let follows = |j: usize| was_dark[j] && delta[j].abs() <= self.tuning.max_coupling * largest;
        let switched = |j: usize| {
            let needed = match levels[j] {
                (Some(off), Some(on)) => 0.5 * (on - off),
                _ => 0.3 * (scores[j].max(self.previous[j]) - crate::frame::BLACK_LUMA),
            };
            delta[j].abs() >= needed.max(self.tuning.min_edge)
        };
        let mut sources = std::mem::take(&mut self.sources);
        sources.clear();
        sources.extend((0..n).map(|j| if follows(j) || !switched(j) { 0.0 } else { delta[j] }));
        self.known_dark.clear();
        self.known_dark.extend(levels.iter().filter_map(|l| l.0));
        self.known_dark.sort_by(f32::total_cmp);
        self.tower_dark = self.known_dark.get(self.known_dark.len() / 2).copied();
        for i in 0..n {
            if was_dark[i] {
                self.learn(i, delta[i], &sources, chroma);
            }
        }
        let rise_total: f32 = delta.iter().map(|d| d.max(0.0)).sum();
        let fall_total: f32 = delta.iter().map(|d| (-d).max(0.0)).sum();
        for i in 0..n {
            self.own_rise[i] = self.rise_of_its_own(i, &delta, chroma, was_dark);
            let (rise, fall) = self.moves_no_glow_explains(i, &delta, chroma, (rise_total, fall_total));
            self.rise_unexplained[i] = rise;
            self.fall_unexplained[i] = fall;
        }
        self.delta = delta;
        self.sources = sources;
        self.write_corrected(scores, was_dark, levels, out);
        self.previous.copy_from_slice(scores);
        self.previous_chroma.copy_from_slice(chroma);
    }

    /// Takes back what the last [`Self::correct`] learnt, and writes its `scores`
    /// (the same arguments) corrected by the couplings known before it: that frame's
    /// moves were something in front of the tower, not light.
    pub fn unlearn_frame(
        &mut self,
        scores: &[f32],
        was_dark: &[bool],
        levels: &[(Option<f32>, Option<f32>)],
        out: &mut [f32],
    ) {
        if !self.learnt_this_frame {
            // The frame taught nothing: its correction stands.
            return;
        }
        self.coupling.clone_from(&self.before_frame.coupling);
        self.normal.clone_from(&self.before_frame.normal);
        self.rhs.clone_from(&self.before_frame.rhs);
        self.lowest.clone_from(&self.before_frame.lowest);
        self.learnt_this_frame = false;
        self.write_corrected(scores, was_dark, levels, out);
    }

    /// Saves what is learnt before this frame's first change to it (into buffers kept
    /// from earlier frames: no allocation once warm).
    fn save_before_change(&mut self) {
        if !self.learnt_this_frame {
            self.before_frame.coupling.clone_from(&self.coupling);
            self.before_frame.normal.clone_from(&self.normal);
            self.before_frame.rhs.clone_from(&self.rhs);
            self.before_frame.lowest.clone_from(&self.lowest);
            self.learnt_this_frame = true;
        }
    }

    /// Writes each lamp's score less the glow of the lamps that emit.
    fn write_corrected(
        &self,
        scores: &[f32],
        was_dark: &[bool],
        levels: &[(Option<f32>, Option<f32>)],
        out: &mut [f32],
    ) {
        let n = self.n;
        // A dark lamp that did not just switch on emits nothing: what it shows above
        // its dark level is its neighbours' glow, and must not be taken out of them
        // again (two lenses stacked without a gap light each other).
        let emits = |j: usize| !was_dark[j] || self.sources[j] > 0.0;
        for i in 0..n {
            let glow: f32 = (0..n)
                .filter(|&j| j != i && emits(j))
                .map(|j| {
                    let dark = levels[j].0.or(self.tower_dark).unwrap_or(self.lowest[j]);
                    self.coupling[i * n + j] * (scores[j] - dark).max(0.0)
                })
                .sum();
            out[i] = scores[i] - glow;
        }
    }

    /// Lamp `i`'s move in (Cb, Cr) since the last frame, along colour direction `c`.
    fn chroma_move_along(&self, i: usize, chroma: &[(f32, f32)], c: (f32, f32)) -> f32 {
        let (du, dv) = (chroma[i].0 - self.previous_chroma[i].0, chroma[i].1 - self.previous_chroma[i].1);
        du * c.0 + dv * c.1
    }

    /// A lamp's move further along another lamp's colour than along its own, by more
    /// than this, is that lamp's light.
    fn colour_margin(&self) -> f32 {
        0.25 * self.tuning.min_edge
    }

    /// See [`Self::own_rise`]; `delta` is every lamp's move since the last frame.
    fn rise_of_its_own(&self, i: usize, delta: &[f32], chroma: &[(f32, f32)], was_dark: &[bool]) -> f32 {
        let rise = delta[i];
        if rise <= 0.0 {
            return 0.0;
        }
        let own_colour = self.chroma_move_along(i, chroma, self.colors[i]);
        let alone = (0..self.n).filter(|&j| j != i).all(|j| {
            delta[j].abs() <= self.tuning.max_coupling * rise
                && (was_dark[j]
                    || self.chroma_move_along(i, chroma, self.colors[j]) <= own_colour + self.colour_margin())
        });
        if alone { rise } else { 0.0 }
    }

    /// Lamp `i`'s ([`Self::rise_unexplained`], [`Self::fall_unexplained`]); `delta` is
    /// every lamp's move since the last frame, `totals` the sum of every lamp's rise and
    /// of every lamp's fall.
    fn moves_no_glow_explains(
        &self,
        i: usize,
        delta: &[f32],
        chroma: &[(f32, f32)],
        (rise_total, fall_total): (f32, f32),
    ) -> (f32, f32) {
        let own = delta[i];
        if own == 0.0 {
            return (0.0, 0.0);
        }
        // How far the lens's colour moved along its own colour, and the most and the
        // least along another lamp's.
        let own_colour = self.chroma_move_along(i, chroma, self.colors[i]);
        let (toward, away) = (0..self.n).filter(|&j| j != i).fold((f32::MIN, f32::MAX), |(hi, lo), j| {
            let along = self.chroma_move_along(i, chroma, self.colors[j]);
            (hi.max(along), lo.min(along))
        });
        let margin = self.colour_margin();
        let c = self.tuning.max_coupling;
        if own > 0.0 && toward <= own_colour + margin {
            ((own - c * (rise_total - own)).max(0.0), 0.0)
        } else if own < 0.0 && away >= own_colour - margin {
            (0.0, (-own - c * (fall_total + own)).max(0.0))
        } else {
            (0.0, 0.0)
        }
    }

    /// Learns lamp `i`'s couplings from its move `own` and the edges of the `sources`.
    fn learn(&mut self, i: usize, own: f32, sources: &[f32], chroma: &[(f32, f32)]) {
        let (n, t) = (self.n, self.tuning);
        let (strongest, largest) = (0..n)
            .filter(|&j| j != i)
            .map(|j| (j, sources[j].abs()))
            .fold((i, 0.0f32), |best, c| if c.1 > best.1 { c } else { best });
        if largest < t.min_edge || own.abs() > t.max_coupling * largest {
            return;
        }
        // Glow fades with distance: lamp i's move, if glow, follows the nearest lamp
        // that switched. Rising while the lamp beside it went dark, it lit itself.
        let nearest = (0..n)
            .filter(|&j| j != i && sources[j] != 0.0)
            .min_by(|&a, &b| a.abs_diff(i).cmp(&b.abs_diff(i)).then(sources[b].abs().total_cmp(&sources[a].abs())));
        if own.abs() >= 0.5 * t.min_edge && nearest.is_some_and(|j| sources[j].signum() != own.signum()) {
            return;
        }
        // Glow has the colour of the light it comes from: a move of lamp i in its own
        // colour, more than in the colour of the lamp that switched, is its own light.
        let sign = sources[strongest].signum();
        let along = |c: (f32, f32)| sign * self.chroma_move_along(i, chroma, c);
        if along(self.colors[i]) > along(self.colors[strongest]) + self.colour_margin() {
            return;
        }
        self.save_before_change();
        let a = &mut self.normal[i];
        let b = &mut self.rhs[i];
        let f = t.forgetting;
        let x = |j: usize| if j == i { 0.0 } else { f64::from(sources[j]) };
        // Only what this edge informs is forgotten: the lamps that moved in it.
        let forget = |j: usize| if x(j) != 0.0 { f } else { 1.0 };
        for j in 0..n {
            b[j] = forget(j) * b[j] + x(j) * f64::from(own);
            for k in 0..n {
                a[j * n + k] = forget(j).min(forget(k)) * a[j * n + k] + x(j) * x(k);
            }
        }
        if let Some(c) = solve_without(a, b, n, i) {
            for (j, cj) in c.into_iter().enumerate() {
                if j != i {
                    self.coupling[i * n + j] = (cj as f32).clamp(0.0, t.max_coupling);
                }
            }
        }
    }
}

/// Solves the normal equations `a x = b` over every index but `skip`, with a little
/// ridge so that lamps that never switched keep a coupling of zero.
fn solve_without(a: &[f64], b: &[f64], n: usize, skip: usize) -> Option<Vec<f64>> {
    let idx: Vec<usize> = (0..n).filter(|&j| j != skip).collect();
    let m = idx.len();
    let mut mat: Vec<f64> = vec![0.0; m * (m + 1)];
    let scale = idx.iter().map(|&j| a[j * n + j]).fold(0.0, f64::max).max(1.0);
    for (r, &jr) in idx.iter().enumerate() {
        for (c, &jc) in idx.iter().enumerate() {
            mat[r * (m + 1) + c] = a[jr * n + jc] + if r == c { 1e-3 * scale } else { 0.0 };
        }
        mat[r * (m + 1) + m] = b[jr];
    }
    // Gaussian elimination with partial pivoting (m <= a tower's lamps).
    for col in 0..m {
        let pivot = (col..m).max_by(|&x, &y| mat[x * (m + 1) + col].abs().total_cmp(&mat[y * (m + 1) + col].abs()))?;
        if mat[pivot * (m + 1) + col].abs() < 1e-12 {
            return None;
        }
        for k in 0..=m {
            mat.swap(col * (m + 1) + k, pivot * (m + 1) + k);
        }
        for r in 0..m {
            if r != col {
                let factor = mat[r * (m + 1) + col] / mat[col * (m + 1) + col];
                for k in col..=m {
                    mat[r * (m + 1) + k] -= factor * mat[col * (m + 1) + k];
                }
            }
        }
    }
    let mut x = vec![0.0; n];
    for (r, &j) in idx.iter().enumerate() {
        x[j] = mat[r * (m + 1) + m] / mat[r * (m + 1) + r];
    }
    Some(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RED: (f32, f32) = (-0.32, 0.95);
    const YELLOW: (f32, f32) = (-0.99, 0.16);
    const GREEN: (f32, f32) = (-0.62, -0.78);

    /// A tower of red, yellow, green; `lit` per frame; glow of 35 % between neighbours.
    fn frame(lit: [bool; 3]) -> ([f32; 3], [(f32, f32); 3]) {
        let colors = [RED, YELLOW, GREEN];
        let own = |k: usize| if lit[k] { 150.0 } else { 0.0 };
        let mut scores = [60.0; 3];
        let mut chroma = [(0.0, 0.0); 3];
        for i in 0..3 {
            scores[i] += own(i);
            chroma[i] = (colors[i].0 * own(i) * 0.3, colors[i].1 * own(i) * 0.3);
            for j in [i.wrapping_sub(1), i + 1] {
                if j < 3 {
                    scores[i] += 0.35 * own(j);
                    chroma[i].0 += colors[j].0 * 0.35 * own(j) * 0.3;
                    chroma[i].1 += colors[j].1 * 0.35 * own(j) * 0.3;
                }
            }
        }
        (scores, chroma)
    }

    const BLUE: (f32, f32) = (0.99, -0.16);

    /// A tower of blue, green and white shown `before`, then `scores` and `chroma`:
    /// the model after the second frame.
    fn blue_green_white_after(
        before: ([f32; 3], [(f32, f32); 3]),
        was_dark: [bool; 3],
        scores: [f32; 3],
        chroma: [(f32, f32); 3],
    ) -> GlowModel {
        let levels = [(None, None); 3];
        let mut model = GlowModel::new(&[BLUE, GREEN, (0.0, 0.0)], GlowTuning::default());
        let mut out = [0.0; 3];
        model.correct(&before.0, &before.1, &was_dark, &levels, &mut out);
        for lamp in 0..3 {
            let moves = (model.own_rise(lamp), model.rise_unexplained(lamp), model.fall_unexplained(lamp));
            assert_eq!(moves, (0.0, 0.0, 0.0), "no last frame");
        }
        model.correct(&scores, &chroma, &was_dark, &levels, &mut out);
        model
    }

    #[test]
    fn a_lamp_rises_as_its_own_light_alone_and_in_its_own_colour() {
        // Blue (lamp 0) flashes, +87 and +40 along blue, beside green, lit, and white,
        // unlit: both take its glow and move less.
        let before = ([100.0, 250.0, 130.0], [(12.0, -16.0), (-30.0, -44.0), (2.0, 4.0)]);
        let rise = |scores: [f32; 3], chroma: [(f32, f32); 3], lamp: usize| {
            blue_green_white_after(before, [true, false, true], scores, chroma).own_rise(lamp)
        };
        let chroma = [(52.0, -22.0), (-20.0, -48.0), (15.0, -2.0)];
        assert_eq!(rise([187.0, 277.0, 142.0], chroma, 0), 87.0);
        assert_eq!(rise([187.0, 277.0, 142.0], chroma, 2), 0.0, "white's rise is blue's glow");
        assert_eq!(rise([187.0, 330.0, 130.0], chroma, 0), 0.0, "green rose with it");
        assert_eq!(rise([187.0, 180.0, 130.0], chroma, 0), 0.0, "green went out as it rose");
        // The same rise, its chroma moving toward green (lit) more than toward blue:
        // green's glow flickering into it.
        let greener = [(2.0, -36.0), (-30.0, -44.0), (2.0, 4.0)];
        assert_eq!(rise([187.0, 250.0, 130.0], greener, 0), 0.0, "in green's colour");
    }

    #[test]
    fn a_rise_larger_than_the_glow_of_every_neighbours_rise_is_unexplained() {
        // Blue (lamp 0) lights by 45, 30 of it along blue, while green beside it lights
        // by 40: at most half of green's rise (20) can be its glow.
        let before = ([100.0, 110.0, 130.0], [(12.0, -16.0), (-20.0, -30.0), (2.0, 4.0)]);
        let unexplained = |scores: [f32; 3], chroma: [(f32, f32); 3], lamp: usize| {
            let model = blue_green_white_after(before, [true; 3], scores, chroma);
            (model.rise_unexplained(lamp), model.own_rise(lamp))
        };
        let bluer = [(42.0, -21.0), (-30.0, -45.0), (2.0, 4.0)];
        assert_eq!(unexplained([145.0, 150.0, 130.0], bluer, 0), (25.0, 0.0), "green rose too: no own rise");
        assert_eq!(unexplained([145.0, 150.0, 140.0], bluer, 0), (20.0, 0.0), "white's rise may explain 5 more");
        assert_eq!(unexplained([145.0, 200.0, 130.0], bluer, 0).0, 0.0, "half of green's 90 is all of it");
        assert_eq!(unexplained([100.0, 150.0, 130.0], bluer, 0).0, 0.0, "no rise");
        // The same rise toward green's colour: green's glow, however large.
        let greener = [(0.0, -40.0), (-30.0, -45.0), (2.0, 4.0)];
        assert_eq!(unexplained([145.0, 150.0, 130.0], greener, 0).0, 0.0, "in green's colour");
    }

    #[test]
    fn a_fall_larger_than_every_neighbours_fall_can_explain_is_unexplained() {
        // Blue (lamp 0) falls by 45, 30 of it away from blue, while green beside it falls
        // by 40: at most half of green's fall (20) can be glow lost.
        let before = ([145.0, 150.0, 130.0], [(42.0, -21.0), (-30.0, -45.0), (2.0, 4.0)]);
        let fall = |scores: [f32; 3], chroma: [(f32, f32); 3]| {
            let model = blue_green_white_after(before, [false, false, true], scores, chroma);
            (model.fall_unexplained(0), model.rise_unexplained(0))
        };
        let greyer = [(12.0, -16.0), (-20.0, -30.0), (2.0, 4.0)];
        assert_eq!(fall([100.0, 110.0, 130.0], greyer), (25.0, 0.0));
        assert_eq!(fall([100.0, 60.0, 130.0], greyer).0, 0.0, "half of green's 90 is all of it");
        assert_eq!(fall([100.0, 200.0, 130.0], greyer).0, 45.0, "green rose: none of it is glow lost");
        // Losing more of green's colour than of its own: green's glow lost.
        let less_green = [(40.0, -5.0), (-20.0, -30.0), (2.0, 4.0)];
        assert_eq!(fall([100.0, 110.0, 130.0], less_green).0, 0.0, "green's glow lost");
    }

    #[test]
    fn glow_of_a_blinking_neighbour_is_taken_out_from_the_first_edge() {
        let mut model = GlowModel::new(&[RED, YELLOW, GREEN], GlowTuning::default());
        let mut out = [0.0; 3];
        for k in 0..40 {
            // Yellow blinks from dark; red and green stay dark.
            let (s, c) = frame([false, k % 4 >= 2, false]);
            let levels = [(Some(60.0), None), ((k > 2).then_some(60.0), (k > 3).then_some(210.0)), (Some(60.0), None)];
            model.correct(&s, &c, &[true, k % 4 != 3 && k % 4 != 0 || k == 0, true], &levels, &mut out);
            assert!((out[0] - 60.0).abs() < 2.0 && (out[2] - 60.0).abs() < 2.0, "frame {k}: {out:?}");
        }
        assert!((model.coupling(0, 1) - 0.35).abs() < 0.02, "{}", model.coupling(0, 1));
    }

    #[test]
    fn a_neighbours_glow_is_kept_through_the_edges_of_a_lamp_farther_off() {
        // Yellow lights once beside dark red and stays lit; then green, below yellow and
        // too far from red to light it, blinks for a minute. Its edges say nothing of
        // yellow's glow in red, which must stay taken out.
        let mut model = GlowModel::new(&[RED, YELLOW, GREEN], GlowTuning::default());
        let mut out = [0.0; 3];
        let levels = [(Some(60.0), None), (Some(60.0), Some(210.0)), (Some(60.0), Some(210.0))];
        for k in 0..400 {
            let yellow = k >= 2;
            let green = k >= 10 && k % 4 >= 2;
            let (s, c) = frame([false, yellow, green]);
            model.correct(&s, &c, &[true, !yellow, !green], &levels, &mut out);
            // (While green is lit, yellow's score carries green's glow too, which the
            // model reads as more of yellow's light in red.)
            if !green {
                assert!((out[0] - 60.0).abs() < 5.0, "frame {k}: {out:?}, coupling {}", model.coupling(0, 1));
            }
        }
        assert!(model.coupling(0, 1) > 0.3, "{}", model.coupling(0, 1));
    }

    #[test]
    fn a_frame_taken_back_teaches_nothing() {
        // Yellow between dark red and green. A dark sleeve over a lit yellow lamp
        // darkens all three at once, yellow most; a bright one over an unlit yellow lamp
        // brightens all three, yellow most (no lens at a new low). Each frame by itself
        // reads as yellow's glow in red and green.
        let neutral = [(0.0, 0.0); 3];
        let sleeve = |lit: bool, covered: [f32; 3], take_back: bool| {
            let mut model = GlowModel::new(&[RED, YELLOW, GREEN], GlowTuning::default());
            let mut out = [0.0; 3];
            let was_dark = [true, !lit, true];
            let yellow = if lit { (None, Some(250.0)) } else { (Some(60.0), None) };
            let levels = [(Some(60.0), None), yellow, (Some(60.0), None)];
            let before = [60.0, if lit { 250.0 } else { 60.0 }, 60.0];
            model.correct(&before, &neutral, &was_dark, &levels, &mut out);
            model.correct(&covered, &neutral, &was_dark, &levels, &mut out);
            if take_back {
                model.unlearn_frame(&covered, &was_dark, &levels, &mut out);
                // Taking back twice is taking back once.
                model.unlearn_frame(&covered, &was_dark, &levels, &mut out);
            }
            (model.coupling(0, 1), model.coupling(2, 1), out)
        };
        for (lit, covered) in [(true, [35.0, 40.0, 30.0]), (false, [100.0, 250.0, 95.0])] {
            let (red, green, _) = sleeve(lit, covered, false);
            assert!(red > 0.1 && green > 0.1, "the sleeve alone teaches glow: {red} {green}");
            let (red, green, out) = sleeve(lit, covered, true);
            assert_eq!((red, green), (0.0, 0.0));
            assert_eq!(out, covered, "no glow left to take out");
        }
    }

    #[test]
    fn a_lamp_lighting_with_its_neighbour_is_not_glow() {
        let mut model = GlowModel::new(&[RED, YELLOW, GREEN], GlowTuning::default());
        let mut out = [0.0; 3];
        for k in 0..40 {
            // Red and yellow blink together from dark: red's rise is its own light.
            let on = k % 4 >= 2;
            let was_on = k % 4 == 3 || k % 4 == 0 && k > 0;
            let (s, c) = frame([on, on, false]);
            model.correct(&s, &c, &[!was_on, !was_on, true], &[(None, None); 3], &mut out);
            // Green, below the blinking yellow, is glow only (which of the two lamps
            // that switch together it comes from cannot be told, their sum can).
            assert!((out[2] - 60.0).abs() < 2.0, "frame {k}: {out:?}");
            if on {
                assert!(out[0] > 180.0, "frame {k}: red's own light kept: {out:?}");
            }
        }
        assert_eq!(model.coupling(0, 1), 0.0);
    }
}
