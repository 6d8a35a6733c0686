//! What happens in a synthetic scene: the layout of machines in the picture, the lamp
//! and stroke schedule of every machine, people walking past, and the light.
//!
//! Everything is drawn from one seed, so a scene is reproducible, and everything the
//! renderer shows is also written down as ground truth in the event format.

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use sheetsight_base::time::VideoSeconds;
use sheetsight_vision::cycle::{CycleRules, CycleTracker};
use sheetsight_vision::event::{Event, VideoEvent};
use sheetsight_vision::lamp::{LampColor, LampMode};
use sheetsight_vision::state::{MachineState, StateRules};

/// Which real-camera nuisances a scene contains.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Nuisances {
    /// Amplitude of the slow illumination drift (0.3 = +-30 %).
    pub drift: f32,
    /// Room lights switched on and off now and then.
    pub light_steps: bool,
    /// White-balance tint drift.
    pub tint: bool,
    /// Glow of a lit lamp bleeding onto its neighbours.
    pub glow: bool,
    /// Sensor noise, standard deviation in luma steps.
    pub noise_sigma: f32,
    /// Camera shake, largest offset in pixels.
    pub shake_px: i32,
    /// People walking past the stack lights.
    pub people: bool,
    /// Stack lights drawn per machine as they come in the field: lamps from 6 to 100 px
    /// tall, stacked with and without gaps, regions drawn tight or loose, strongly
    /// coloured unlit lenses, lamp brightness, and a glow radius and strength per scene
    /// (see [`TowerLook`] and [`GlowLook`]).
    pub varied_towers: bool,
    /// A camera that re-exposes and re-balances: auto-exposure and auto white balance
    /// that react to the lamps and the room light, and sudden exposure jumps (see
    /// [`CameraResponse`]).
    pub auto_exposure: bool,
}

impl Nuisances {
    pub const ALL: Nuisances = Nuisances {
        drift: 0.3,
        light_steps: true,
        tint: true,
        glow: true,
        noise_sigma: 3.0,
        shake_px: 2,
        people: true,
        varied_towers: false,
        auto_exposure: false,
    };
    /// Every nuisance of [`Self::ALL`] plus varied towers and a reacting camera: the
    /// material of the field sets ([`crate::field`]), which also draw noise and shake.
    pub const FIELD: Nuisances = Nuisances { varied_towers: true, auto_exposure: true, ..Self::ALL };
    pub const NONE: Nuisances = Nuisances {
        drift: 0.0,
        light_steps: false,
        tint: false,
        glow: false,
        noise_sigma: 0.0,
        shake_px: 0,
        people: false,
        varied_towers: false,
        auto_exposure: false,
    };
}

/// Where one machine is in the picture.
#[derive(Clone, Debug)]
pub struct MachineLayout {
    pub id: String,
    pub colors: Vec<LampColor>,
    /// Lamp centres (x, y) in pixels, top to bottom, and the lens radius.
    pub lamp_centers_px: Vec<(f64, f64)>,
    pub lamp_radius_px: f64,
    /// The machine body: x0, y0, x1, y1.
    pub body_px: (f64, f64, f64, f64),
    /// The ram at rest: x0, y0, x1, y1; it travels `ram_travel_px` down.
    pub ram_px: (f64, f64, f64, f64),
    pub ram_travel_px: f64,
    /// How the tower looks and how its regions were drawn.
    pub look: TowerLook,
}

/// How one stack light looks, and how its user drew the lamp regions.
#[derive(Clone, Debug, PartialEq)]
pub struct TowerLook {
    /// Empty space between two lenses (0: stacked without a gap).
    pub gap_px: f64,
    /// Region size as a fraction of the lens radius (1: drawn up to the lens edge).
    pub roi_scale: f64,
    /// The region is a square rather than an octagon (its corners reach past the lens
    /// when drawn loose).
    pub roi_square: bool,
    /// Colour of each unlit lens (sRGB), top to bottom.
    pub lens_off_rgb: Vec<[u8; 3]>,
    /// Brightness of the lit lamps relative to the nominal (a bright lamp clips white).
    pub intensity: f32,
}

impl TowerLook {
    /// The tower of the classic scenes: a 3 px gap, careful octagons at 0.7 of the
    /// radius, greyish unlit lenses.
    fn classic(colors: &[LampColor]) -> Self {
        let lens_off_rgb = colors
            .iter()
            .map(|c| {
                let lit = c.rgb();
                [0, 1, 2].map(|k| (f32::from(lit[k]) * 0.28 + 38.0) as u8)
            })
            .collect();
        Self { gap_px: 3.0, roi_scale: 0.7, roi_square: false, lens_off_rgb, intensity: 1.0 }
    }

    /// A tower as found in the field, drawn from `rng`.
    fn draw(rng: &mut SmallRng, colors: &[LampColor], radius_px: f64) -> Self {
        let gap_px = if rng.random_bool(0.5) { 0.0 } else { (rng.random_range(0.05..0.4) * radius_px).round() };
        let roi_scale = if rng.random_bool(0.5) { rng.random_range(0.85..1.0) } else { rng.random_range(0.45..0.85) };
        // Unlit lenses from nearly grey to strongly coloured (the lens tints the
        // housing's dark interior).
        let saturation: f32 = rng.random_range(0.0..1.0);
        let darkness: f32 = rng.random_range(0.25..0.55);
        let lens_off_rgb = colors
            .iter()
            .map(|c| {
                let lit = c.rgb();
                let grey = 0.5 * (f32::from(lit[0]) + f32::from(lit[1]) + f32::from(lit[2])) / 3.0 + 20.0;
                [0, 1, 2].map(|k| {
                    let coloured = f32::from(lit[k]) * darkness + 12.0;
                    (grey + saturation * (coloured - grey)).clamp(0.0, 255.0) as u8
                })
            })
            .collect();
        Self {
            gap_px,
            roi_scale,
            roi_square: rng.random_bool(0.3),
            lens_off_rgb,
            intensity: rng.random_range(0.7..1.6),
        }
    }
}

/// The glow of a lit lamp on what is around it (the neighbouring lenses too): light
/// added in the lamp's colour, `strength` of the lens's own brightness at its edge,
/// falling off as exp(-distance / (`length_r` x radius)).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GlowLook {
    pub strength: f32,
    pub length_r: f64,
}

/// A camera that re-exposes and re-balances by itself.
#[derive(Clone, Debug, PartialEq)]
pub struct CameraResponse {
    /// How far the auto-exposure undoes a change of the metered brightness (0: fixed
    /// exposure, 1: fully).
    pub ae_strength: f32,
    /// Weight of the lit lamps in the metering (spot metering on the tower is high).
    pub ae_lamp_weight: f32,
    pub ae_time_constant_s: f64,
    /// How far the auto white balance pulls the lamps' colour out of the picture.
    pub awb_strength: f32,
    pub awb_time_constant_s: f64,
    /// Sudden exposure jumps: (start, end, factor), the whole picture at once.
    pub jumps: Vec<(f64, f64, f32)>,
}

impl CameraResponse {
    /// A camera with a fixed exposure and white balance.
    pub const FIXED: CameraResponse = CameraResponse {
        ae_strength: 0.0,
        ae_lamp_weight: 0.0,
        ae_time_constant_s: 1.0,
        awb_strength: 0.0,
        awb_time_constant_s: 1.0,
        jumps: Vec::new(),
    };

    fn draw(rng: &mut SmallRng, duration_s: f64) -> Self {
        let mut jumps = Vec::new();
        let mut t = rng.random_range(10.0..40.0);
        while t < duration_s - 5.0 {
            let factor = if rng.random_bool(0.5) { rng.random_range(0.55..0.8) } else { rng.random_range(1.25..1.7) };
            let end = t + rng.random_range(3.0..25.0);
            jumps.push((t, end, factor));
            t = end + rng.random_range(10.0..50.0);
        }
        Self {
            ae_strength: rng.random_range(0.3..0.9),
            ae_lamp_weight: rng.random_range(0.0..1.0),
            ae_time_constant_s: rng.random_range(0.2..2.0),
            awb_strength: rng.random_range(0.0..0.8),
            awb_time_constant_s: rng.random_range(0.5..4.0),
            jumps,
        }
    }

    /// The factor of the exposure jumps at `t_s` (1 outside a jump).
    pub fn jump_factor(&self, t_s: f64) -> f32 {
        self.jumps.iter().find(|j| (j.0..j.1).contains(&t_s)).map_or(1.0, |j| j.2)
    }
}

impl MachineLayout {
    /// A lamp's region as drawn by a careful user: an octagon inside the lens.
    pub fn lamp_roi(&self, lamp: usize) -> Vec<[f64; 2]> {
        let (cx, cy) = self.lamp_centers_px[lamp];
        let r = self.lamp_radius_px * self.look.roi_scale;
        if self.look.roi_square {
            let h = 0.85 * r;
            let (x0, y0, x1, y1) = ((cx - h).round(), (cy - h).round(), (cx + h).round(), (cy + h).round());
            return vec![[x0, y0], [x1, y0], [x1, y1], [x0, y1]];
        }
        (0..8)
            .map(|k| {
                let a = std::f64::consts::TAU * (f64::from(k) + 0.5) / 8.0;
                [(cx + r * a.cos()).round(), (cy + r * a.sin()).round()]
            })
            .collect()
    }

    /// The motion region: the ram's whole travel with a margin.
    pub fn motion_roi(&self) -> Vec<[f64; 2]> {
        let (x0, y0, x1, y1) = self.ram_px;
        let m = 8.0;
        let (x0, x1, y0, y1) =
            ((x0 - m).round(), (x1 + m).round(), (y0 - m).round(), (y1 + self.ram_travel_px + m).round());
        vec![[x0, y0], [x1, y0], [x1, y1], [x0, y1]]
    }
}

/// A lamp pattern over time.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LampPattern {
    pub mode: LampMode,
    pub freq_hz: f64,
    pub phase: f64,
    /// On-time of one flash pulse.
    pub pulse_s: f64,
}

impl LampPattern {
    pub const OFF: Self = Self { mode: LampMode::Off, freq_hz: 0.0, phase: 0.0, pulse_s: 0.0 };
    pub const STEADY: Self = Self { mode: LampMode::Steady, freq_hz: 0.0, phase: 0.0, pulse_s: 0.0 };

    /// Is the lamp lit at time `t_s`?
    pub fn lit(&self, t_s: f64) -> bool {
        match self.mode {
            LampMode::Steady => true,
            LampMode::Blinking => (t_s * self.freq_hz + self.phase).rem_euclid(1.0) < 0.5,
            LampMode::Flashing => (t_s * self.freq_hz + self.phase).rem_euclid(1.0) < self.pulse_s * self.freq_hz,
            LampMode::Off | LampMode::Unknown => false,
        }
    }
}

/// One period of constant lamp patterns.
#[derive(Clone, Debug)]
pub struct Episode {
    pub start_s: f64,
    pub end_s: f64,
    pub lamps: Vec<LampPattern>,
}

/// One true stroke: down, dwell, up.
#[derive(Clone, Copy, Debug)]
pub struct TrueStroke {
    pub start_s: f64,
    pub down_s: f64,
    pub dwell_s: f64,
    pub up_s: f64,
}

impl TrueStroke {
    pub fn end_s(&self) -> f64 {
        self.start_s + self.down_s + self.dwell_s + self.up_s
    }

    /// Ram position 0 (rest) .. 1 (bottom) at `t_s`.
    pub fn position(&self, t_s: f64) -> f64 {
        let x = t_s - self.start_s;
        let ease = |u: f64| 0.5 - 0.5 * (std::f64::consts::PI * u.clamp(0.0, 1.0)).cos();
        if x <= 0.0 || t_s >= self.end_s() {
            0.0
        } else if x < self.down_s {
            ease(x / self.down_s)
        } else if x < self.down_s + self.dwell_s {
            1.0
        } else {
            1.0 - ease((x - self.down_s - self.dwell_s) / self.up_s)
        }
    }
}

/// A person walking past: horizontal path, possibly stopping in front of a machine.
#[derive(Clone, Copy, Debug)]
pub struct Walk {
    pub start_s: f64,
    pub x_from_px: f64,
    pub x_to_px: f64,
    pub speed_px_s: f64,
    /// Where and how long the person stops (x of the stop, seconds).
    pub stop: Option<(f64, f64)>,
    /// Top and bottom of the silhouette.
    pub y_top_px: f64,
    pub y_bottom_px: f64,
    pub width_px: f64,
    pub clothing_rgb: [u8; 3],
    pub stripe_px: u32,
}

impl Walk {
    fn walk_s(&self) -> f64 {
        (self.x_to_px - self.x_from_px).abs() / self.speed_px_s
    }
    pub fn end_s(&self) -> f64 {
        self.start_s + self.walk_s() + self.stop.map_or(0.0, |s| s.1)
    }

    /// Centre x of the person at `t_s`, or `None` when not in the scene.
    pub fn center_x(&self, t_s: f64) -> Option<f64> {
        if t_s < self.start_s || t_s > self.end_s() {
            return None;
        }
        let dir = (self.x_to_px - self.x_from_px).signum();
        let mut dt = t_s - self.start_s;
        if let Some((stop_x, stop_s)) = self.stop {
            let reach_s = (stop_x - self.x_from_px).abs() / self.speed_px_s;
            if dt > reach_s {
                dt = if dt < reach_s + stop_s { reach_s } else { dt - stop_s };
            }
        }
        Some(self.x_from_px + dir * dt * self.speed_px_s)
    }

    /// The silhouette's bounding box at `t_s`: x0, y0, x1, y1.
    pub fn box_at(&self, t_s: f64) -> Option<(f64, f64, f64, f64)> {
        let cx = self.center_x(t_s)?;
        Some((cx - 0.5 * self.width_px, self.y_top_px, cx + 0.5 * self.width_px, self.y_bottom_px))
    }

    /// Height of the head (a disc on top of the torso).
    pub fn head_px(&self) -> f64 {
        0.22 * (self.y_bottom_px - self.y_top_px).min(3.0 * self.width_px)
    }

    /// Does the silhouette (head disc and torso) cover the point `(x, y)` at `t_s`?
    /// `box_at` is passed in by callers that test many points.
    pub fn covers(&self, bbox: (f64, f64, f64, f64), x: f64, y: f64) -> bool {
        let (x0, y0, x1, y1) = bbox;
        if x < x0 || x >= x1 || y < y0 || y >= y1 {
            return false;
        }
        let head = self.head_px();
        if y >= y0 + head {
            return true;
        }
        let (hx, hy) = (0.5 * (x0 + x1), y0 + 0.5 * head);
        (x - hx).powi(2) + (y - hy).powi(2) <= (0.5 * head).powi(2)
    }
}

/// Light over time: a global gain and a white-balance tint.
#[derive(Clone, Debug)]
pub struct Lighting {
    pub drift: f32,
    pub drift_period_s: f64,
    /// (time, gain factor) of room-light switches.
    pub steps: Vec<(f64, f32)>,
    pub tint_amplitude: f32,
}

impl Lighting {
    pub fn gain(&self, t_s: f64) -> f32 {
        let drift = 1.0 + self.drift * (std::f64::consts::TAU * t_s / self.drift_period_s).sin() as f32;
        let step: f32 = self.steps.iter().filter(|s| s.0 <= t_s).map(|s| s.1).product();
        drift * step
    }

    /// White-balance offsets (Cb, Cr) at `t_s`.
    pub fn tint(&self, t_s: f64) -> (f32, f32) {
        let a = self.tint_amplitude;
        let w = std::f64::consts::TAU * t_s;
        let switched = self.steps.iter().filter(|s| s.0 <= t_s).count() as f32;
        ((a * (w / 517.0).sin() as f32) + 0.5 * a * (switched % 2.0), (a * (w / 389.0).cos() as f32))
    }
}

/// One camera's whole scene.
#[derive(Clone, Debug)]
pub struct Scene {
    /// What was asked for.
    pub spec: SceneSpec,
    pub machines: Vec<MachineLayout>,
    pub episodes: Vec<Vec<Episode>>,
    pub strokes: Vec<Vec<TrueStroke>>,
    pub walks: Vec<Walk>,
    pub lighting: Lighting,
    pub glow: GlowLook,
    pub camera: CameraResponse,
    /// Camera exposure per frame.
    pub exposure_s: f64,
}

/// What to make.
#[derive(Clone, Debug)]
pub struct SceneSpec {
    pub width_px: u32,
    pub height_px: u32,
    pub fps: f64,
    pub duration_s: f64,
    pub seed: u64,
    pub nuisances: Nuisances,
    /// Machine ids with their lamp counts (3–5).
    pub machines: Vec<(String, usize)>,
    /// How strokes follow each other while a machine runs.
    pub strokes: StrokePattern,
}

/// How a running machine's strokes are spaced.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum StrokePattern {
    /// One stroke every 3 to 12 s (pauses around `[machine.cycle] gap_s`: no cycles to
    /// find). The field sets keep it, so that their material stays as it was measured.
    #[default]
    Even,
    /// Parts: bursts of 2 to 6 strokes 0.8 to 2.5 s apart, then 9 to 25 s of handling
    /// before the next part, as a press brake bends them.
    Bursts,
}

fn lamp_colors(count: usize) -> Vec<LampColor> {
    use LampColor::*;
    match count {
        0..=3 => vec![Red, Yellow, Green],
        4 => vec![Red, Yellow, Green, Blue],
        _ => vec![Red, Yellow, Green, Blue, White],
    }
}

fn pick_pulsing(rng: &mut SmallRng, flashing: bool) -> LampPattern {
    if flashing {
        LampPattern {
            mode: LampMode::Flashing,
            freq_hz: rng.random_range(0.8..1.2),
            phase: rng.random(),
            pulse_s: rng.random_range(0.12..0.18),
        }
    } else {
        LampPattern { mode: LampMode::Blinking, freq_hz: rng.random_range(0.5..3.0), phase: rng.random(), pulse_s: 0.0 }
    }
}

fn pick_lit(rng: &mut SmallRng) -> LampPattern {
    match rng.random_range(0..10) {
        0..=4 => LampPattern::STEADY,
        5..=7 => pick_pulsing(rng, false),
        _ => pick_pulsing(rng, true),
    }
}

/// Lamp patterns for an intended machine state.
fn episode_lamps(rng: &mut SmallRng, colors: &[LampColor], state: MachineState) -> Vec<LampPattern> {
    colors
        .iter()
        .map(|&c| match (state, c) {
            (MachineState::Executing, LampColor::Green) => LampPattern::STEADY,
            (MachineState::Executing, LampColor::Red) => LampPattern::OFF,
            (MachineState::NotExecuting, LampColor::Red) => LampPattern::OFF,
            (MachineState::NotExecuting, LampColor::Green) => {
                if rng.random_bool(0.4) {
                    let flashing = rng.random_bool(0.3);
                    pick_pulsing(rng, flashing)
                } else {
                    LampPattern::OFF
                }
            }
            (MachineState::NotExecuting, LampColor::Yellow) => pick_lit(rng),
            (MachineState::OutOfService, LampColor::Red) => pick_lit(rng),
            (MachineState::OutOfService, _) if rng.random_bool(0.7) => LampPattern::OFF,
            (_, _) => {
                if rng.random_bool(0.25) {
                    pick_lit(rng)
                } else {
                    LampPattern::OFF
                }
            }
        })
        .collect()
}

impl Scene {
    /// Lays out and schedules a scene.
    pub fn generate(spec: &SceneSpec) -> Scene {
        let mut rng = SmallRng::seed_from_u64(spec.seed);
        // The field's variety comes from its own stream, so that the classic scenes
        // stay what they were.
        let mut field_rng = SmallRng::seed_from_u64(spec.seed ^ 0xF1E1_D5CE_7E00);
        let varied = spec.nuisances.varied_towers;
        let (w, h) = (f64::from(spec.width_px), f64::from(spec.height_px));
        let n = spec.machines.len().max(1) as f64;
        let column = w / n;
        let lamp_radius_px = (h / 60.0).max(5.0).round();
        let mut machines = Vec::new();
        for (i, (id, lamp_count)) in spec.machines.iter().enumerate() {
            let x0 = column * i as f64;
            let body = (x0 + 0.12 * column, 0.5 * h, x0 + 0.88 * column, 0.94 * h);
            let lamp_x = (x0 + 0.5 * column + rng.random_range(-0.15..0.15) * column).round();
            let top = (0.1 * h + rng.random_range(0.0..0.06) * h).round();
            let count = (*lamp_count).clamp(3, 5);
            let colors = lamp_colors(count);
            let (lamp_radius_px, top, look) = if varied {
                // Lamps from 6 px to 100 px tall (log-uniform), the tower ending above
                // the ram.
                let largest = (0.42 * h / (2.4 * count as f64)).clamp(3.0, 50.0);
                let r = (3.0f64.ln() + field_rng.random_range(0.0..1.0) * (largest.ln() - 3.0f64.ln())).exp().round();
                let top = (0.05 * h + field_rng.random_range(0.0..0.03) * h).round();
                (r, top, TowerLook::draw(&mut field_rng, &colors, r))
            } else {
                (lamp_radius_px, top, TowerLook::classic(&colors))
            };
            let pitch = 2.0 * lamp_radius_px + look.gap_px;
            let lamp_centers_px = (0..count).map(|k| (lamp_x, top + lamp_radius_px + k as f64 * pitch)).collect();
            let ram_w = 0.5 * column;
            let ram_x0 = (x0 + 0.5 * column - 0.5 * ram_w).round();
            let ram = (ram_x0, (0.54 * h).round(), (ram_x0 + ram_w).round(), (0.54 * h + 0.04 * h).round());
            machines.push(MachineLayout {
                id: id.clone(),
                colors,
                lamp_centers_px,
                lamp_radius_px,
                body_px: body,
                ram_px: ram,
                ram_travel_px: (0.1 * h).round(),
                look,
            });
        }

        let (episodes, strokes): (Vec<_>, Vec<_>) = machines.iter().map(|m| schedule(&mut rng, spec, m)).unzip();
        let walks = people_walking(&mut rng, spec, &machines);

        let mut steps = Vec::new();
        if spec.nuisances.light_steps {
            let mut t = rng.random_range(60.0..200.0);
            let mut on = true;
            while t < spec.duration_s {
                steps.push((t, if on { 0.75 } else { 1.0 / 0.75 }));
                on = !on;
                t += rng.random_range(90.0..300.0);
            }
        }
        let lighting = Lighting {
            drift: spec.nuisances.drift,
            drift_period_s: rng.random_range(300.0..600.0),
            steps,
            tint_amplitude: if spec.nuisances.tint { 5.0 } else { 0.0 },
        };
        let glow = if varied {
            GlowLook { strength: field_rng.random_range(0.15..0.7), length_r: field_rng.random_range(0.25..0.9) }
        } else {
            GlowLook { strength: 0.45, length_r: 0.6 }
        };
        let camera = if spec.nuisances.auto_exposure {
            CameraResponse::draw(&mut field_rng, spec.duration_s)
        } else {
            CameraResponse::FIXED
        };
        Scene { spec: spec.clone(), machines, episodes, strokes, walks, lighting, glow, camera, exposure_s: 0.02 }
    }

    /// When the whole picture changed at once: room lights switched, exposure jumps
    /// (their start and their end).
    pub fn global_changes_s(&self) -> Vec<f64> {
        let mut t: Vec<f64> = self.lighting.steps.iter().map(|s| s.0).collect();
        t.extend(self.camera.jumps.iter().flat_map(|j| [j.0, j.1]));
        t.sort_by(f64::total_cmp);
        t
    }

    /// The lamp patterns of machine `m` at `t_s`.
    pub fn lamp_patterns(&self, m: usize, t_s: f64) -> &[LampPattern] {
        let list = &self.episodes[m];
        let idx = list.partition_point(|e| e.end_s <= t_s).min(list.len().saturating_sub(1));
        &list[idx].lamps
    }

    /// Ram position 0..1 of machine `m` at `t_s`.
    pub fn ram_position(&self, m: usize, t_s: f64) -> f64 {
        let list = &self.strokes[m];
        let idx = list.partition_point(|s| s.end_s() <= t_s);
        list.get(idx).map_or(0.0, |s| s.position(t_s))
    }

    /// Is lamp `lamp` of machine `m` covered by a person at `t_s` (a quarter of its
    /// region or more)?
    pub fn lamp_occluded(&self, m: usize, lamp: usize, t_s: f64) -> bool {
        let layout = &self.machines[m];
        let (cx, cy) = layout.lamp_centers_px[lamp];
        let r = layout.lamp_radius_px * layout.look.roi_scale;
        self.walks.iter().any(|w| {
            let Some(bbox) = w.box_at(t_s) else { return false };
            // Share of the lamp's region that the silhouette covers, on a 9x9 grid.
            let (mut inside, mut covered) = (0, 0);
            for i in 0..9 {
                for j in 0..9 {
                    let (x, y) = (cx + r * (f64::from(i) / 4.0 - 1.0), cy + r * (f64::from(j) / 4.0 - 1.0));
                    if (x - cx).powi(2) + (y - cy).powi(2) <= r * r {
                        inside += 1;
                        covered += usize::from(w.covers(bbox, x, y));
                    }
                }
            }
            covered * 4 >= inside
        })
    }

    /// The ground truth as events: lamp modes (with `unknown` while a person covers a
    /// lamp), machine states by the default rules, and strokes. Changes are found on a
    /// 10 ms grid.
    pub fn truth(&self) -> Vec<VideoEvent> {
        let rules = StateRules::default();
        let mut events = Vec::new();
        let step_s = 0.01;
        let n = (self.spec.duration_s / step_s).ceil() as usize;
        for (m, layout) in self.machines.iter().enumerate() {
            let mut last_modes: Vec<Option<LampMode>> = vec![None; layout.colors.len()];
            let mut last_state = None;
            for k in 0..n {
                let t = k as f64 * step_s;
                let patterns = self.lamp_patterns(m, t);
                let modes: Vec<LampMode> = (0..layout.colors.len())
                    .map(|i| if self.lamp_occluded(m, i, t) { LampMode::Unknown } else { patterns[i].mode })
                    .collect();
                for (i, &mode) in modes.iter().enumerate() {
                    if last_modes[i] != Some(mode) {
                        last_modes[i] = Some(mode);
                        events.push(Event::Lamp {
                            machine: layout.id.clone(),
                            lamp: i,
                            color: layout.colors[i],
                            mode,
                            t: VideoSeconds(t),
                        });
                    }
                }
                let lamps: Vec<_> = layout.colors.iter().zip(&modes).map(|(&c, &m)| (c, Some(m))).collect();
                let state = rules.evaluate(&lamps);
                if state != last_state {
                    last_state = state;
                    if let Some(state) = state {
                        events.push(Event::State { machine: layout.id.clone(), state, t: VideoSeconds(t) });
                    }
                }
            }
            for s in &self.strokes[m] {
                events.push(Event::Stroke {
                    machine: layout.id.clone(),
                    start_t: VideoSeconds(s.start_s),
                    end_t: VideoSeconds(s.end_s()),
                    person_in_region: false,
                });
            }
        }
        let cycles: Vec<VideoEvent> = self
            .machines
            .iter()
            .flat_map(|layout| true_cycles(&layout.id, &events, CycleRules::default(), self.spec.duration_s))
            .collect();
        events.extend(cycles);
        events
    }
}

/// The true cycles of `machine` by `rules`, from its true states and strokes taken in
/// the order the analysis learns of them (a stroke at its end). A burst is split only by
/// a pause of `gap_s` between strokes, so time is let go on only at the end.
fn true_cycles(machine: &str, events: &[VideoEvent], rules: CycleRules, duration_s: f64) -> Vec<VideoEvent> {
    let mut known: Vec<(f64, &VideoEvent)> = events
        .iter()
        .filter(|e| e.machine() == Some(machine))
        .filter_map(|e| match e {
            Event::State { t, .. } => Some((t.0, e)),
            Event::Stroke { end_t, .. } => Some((end_t.0, e)),
            _ => None,
        })
        .collect();
    known.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut tracker = CycleTracker::new(rules);
    let mut found = Vec::new();
    for (_, e) in known {
        found.extend(match e {
            Event::State { state, t, .. } => tracker.state(*state, t.0),
            Event::Stroke { start_t, end_t, .. } => tracker.stroke(start_t.0, end_t.0),
            _ => None,
        });
    }
    found.extend(tracker.tick(duration_s));
    found
        .into_iter()
        .map(|c| Event::Cycle {
            machine: machine.to_string(),
            start_t: VideoSeconds(c.start_s),
            end_t: VideoSeconds(c.end_s),
            strokes: c.strokes,
        })
        .collect()
}

/// One machine's episodes (state and lamp modes) and strokes over the scene.
fn schedule(rng: &mut SmallRng, spec: &SceneSpec, m: &MachineLayout) -> (Vec<Episode>, Vec<TrueStroke>) {
    let mut list = Vec::new();
    let mut ss = Vec::new();
    let mut t = 0.0;
    let mut state = match rng.random_range(0..10) {
        0..=5 => MachineState::Executing,
        6..=8 => MachineState::NotExecuting,
        _ => MachineState::OutOfService,
    };
    while t < spec.duration_s {
        let len = match state {
            MachineState::Executing => rng.random_range(40.0..160.0),
            _ => rng.random_range(20.0..90.0),
        };
        let end = (t + len).min(spec.duration_s);
        let lamps = episode_lamps(rng, &m.colors, state);
        if state == MachineState::Executing {
            let mut s = t + rng.random_range(2.0..6.0);
            // Strokes left in the part being bent (bursts only).
            let mut left_in_part = 0;
            loop {
                let stroke = TrueStroke {
                    start_s: s,
                    down_s: rng.random_range(0.5..0.9),
                    dwell_s: rng.random_range(0.1..0.5),
                    up_s: rng.random_range(0.4..0.8),
                };
                if stroke.end_s() > end - 0.5 {
                    break;
                }
                ss.push(stroke);
                s = stroke.end_s()
                    + match spec.strokes {
                        StrokePattern::Even => rng.random_range(3.0..12.0),
                        StrokePattern::Bursts => {
                            if left_in_part == 0 {
                                left_in_part = rng.random_range(2..=6);
                            }
                            left_in_part -= 1;
                            if left_in_part > 0 { rng.random_range(0.8..2.5) } else { rng.random_range(9.0..25.0) }
                        }
                    };
            }
        }
        list.push(Episode { start_s: t, end_s: end, lamps });
        t = end;
        state = match (state, rng.random_range(0..10)) {
            (MachineState::Executing, 0..=6) => MachineState::NotExecuting,
            (MachineState::Executing, _) => MachineState::OutOfService,
            (_, 0..=7) => MachineState::Executing,
            (MachineState::NotExecuting, _) => MachineState::OutOfService,
            (_, _) => MachineState::NotExecuting,
        };
    }
    (list, ss)
}

/// People walking past the towers (when the scene has them), one after another.
fn people_walking(rng: &mut SmallRng, spec: &SceneSpec, machines: &[MachineLayout]) -> Vec<Walk> {
    let w = f64::from(spec.width_px);
    let mut walks = Vec::new();
    if spec.nuisances.people && !machines.is_empty() {
        let mut t = rng.random_range(20.0..60.0);
        while t < spec.duration_s - 20.0 {
            let target = &machines[rng.random_range(0..machines.len())];
            let (lx, ly) = target.lamp_centers_px[0];
            let width_px = (0.07 * w).max(4.0 * target.lamp_radius_px);
            let left_to_right = rng.random_bool(0.5);
            let (from, to) = if left_to_right { (-width_px, w + width_px) } else { (w + width_px, -width_px) };
            let stop = rng
                .random_bool(0.6)
                .then(|| (lx + rng.random_range(-0.2..0.2) * width_px, rng.random_range(3.0..15.0)));
            let shade = rng.random_range(0..5);
            let clothing_rgb = [[40, 50, 90], [200, 90, 30], [70, 70, 70], [30, 110, 60], [150, 30, 40]][shade];
            let walk = Walk {
                start_s: t,
                x_from_px: from,
                x_to_px: to,
                speed_px_s: rng.random_range(0.12..0.25) * w,
                stop,
                y_top_px: (ly - 4.0 * target.lamp_radius_px).max(0.0),
                y_bottom_px: target.body_px.1,
                width_px,
                clothing_rgb,
                stripe_px: rng.random_range(4..12),
            };
            t = walk.end_s() + rng.random_range(40.0..150.0);
            walks.push(walk);
        }
    }
    walks
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(seed: u64) -> SceneSpec {
        SceneSpec {
            strokes: StrokePattern::Even,
            width_px: 640,
            height_px: 360,
            fps: 10.0,
            duration_s: 600.0,
            seed,
            nuisances: Nuisances::ALL,
            machines: vec![("a".into(), 3), ("b".into(), 4), ("c".into(), 5)],
        }
    }

    #[test]
    fn same_seed_same_scene() {
        let a = Scene::generate(&spec(7));
        let b = Scene::generate(&spec(7));
        assert_eq!(a.truth(), b.truth());
        assert_ne!(a.truth(), Scene::generate(&spec(8)).truth());
    }

    #[test]
    fn schedule_covers_every_mode_and_state() {
        let scene = Scene::generate(&spec(3));
        let truth = scene.truth();
        for mode in LampMode::ALL {
            assert!(truth.iter().any(|e| matches!(e, Event::Lamp { mode: m, .. } if *m == mode)), "{mode:?} missing");
        }
        for state in MachineState::ALL {
            assert!(
                truth.iter().any(|e| matches!(e, Event::State { state: s, .. } if *s == state)),
                "{state:?} missing"
            );
        }
        assert!(truth.iter().filter(|e| matches!(e, Event::Stroke { .. })).count() > 20);
    }

    #[test]
    fn bursts_are_parts_of_two_to_six_strokes_with_handling_between_them() {
        let scene = Scene::generate(&SceneSpec { strokes: StrokePattern::Bursts, ..spec(3) });
        let mut parts = 0;
        for strokes in &scene.strokes {
            let mut in_part = 1;
            for pair in strokes.windows(2) {
                let pause = pair[1].start_s - pair[0].end_s();
                // Within a part, or between parts (a state change may also come between).
                assert!((0.8..2.5).contains(&pause) || pause >= 9.0, "a pause of {pause:.2} s");
                if pause < 2.5 {
                    in_part += 1;
                } else {
                    assert!(in_part <= 6, "{in_part} strokes in one part");
                    in_part = 1;
                    parts += 1;
                }
            }
        }
        assert!(parts > 20, "{parts} parts");
    }

    #[test]
    fn strokes_go_down_and_up() {
        let s = TrueStroke { start_s: 1.0, down_s: 0.5, dwell_s: 0.2, up_s: 0.5 };
        assert_eq!(s.position(0.9), 0.0);
        assert!((s.position(1.25) - 0.5).abs() < 1e-9);
        assert_eq!(s.position(1.6), 1.0);
        assert_eq!(s.position(2.3), 0.0);
    }
}
