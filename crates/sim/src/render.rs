//! Draws a [`Scene`] frame by frame into YUV 4:2:0.
//!
//! The static background (wall, floor, machines, stack-light housings, unlit lenses) is
//! drawn once. Each frame then applies the light of the moment through lookup tables,
//! shakes the camera by whole pixels, draws the rams, the lit lamps with their glow
//! (emissive: not dimmed by the room light), the people in front, and sensor noise from
//! a pre-drawn Gaussian table. A 1280x720 frame takes a few milliseconds.
//!
//! The camera of a field scene ([`crate::scene::CameraResponse`]) re-exposes: its
//! exposure multiplies everything, the lamps too (a lit lamp clips towards white), and
//! follows the metered brightness, in which the lit lamps weigh; its white balance pulls
//! the lamps' colour out of the picture; exposure jumps change the whole picture at once.
//! Glow in a field scene is light added in the lamp's colour, also onto its neighbours'
//! lenses.

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use sheetsight_vision::frame::{YuvFrame, rgb_to_yuv};

use crate::scene::Scene;

/// Renders frames of one scene.
pub struct Renderer {
    scene: Scene,
    background: YuvFrame,
    noise: Vec<i8>,
    rng: SmallRng,
    /// Mean luma above black of the background at the reference exposure.
    background_level: f32,
    /// Auto-exposure state (multiplies the reference exposure) and auto white balance
    /// offsets (Cb, Cr); `None` before the first frame.
    exposure: Option<f32>,
    white_balance: (f32, f32),
    last_t_s: Option<f64>,
}

fn fill_rect_rgb(rgb: &mut [u8], w: usize, h: usize, rect: (f64, f64, f64, f64), color: [u8; 3]) {
    let x0 = rect.0.max(0.0) as usize;
    let y0 = rect.1.max(0.0) as usize;
    let x1 = (rect.2.max(0.0) as usize).min(w);
    let y1 = (rect.3.max(0.0) as usize).min(h);
    for y in y0..y1 {
        for x in x0..x1 {
            rgb[(y * w + x) * 3..(y * w + x) * 3 + 3].copy_from_slice(&color);
        }
    }
}

fn fill_disc_rgb(rgb: &mut [u8], w: usize, h: usize, c: (f64, f64), r: f64, color: [u8; 3]) {
    let (x0, x1) = ((c.0 - r).floor().max(0.0) as usize, ((c.0 + r).ceil() as usize).min(w));
    let (y0, y1) = ((c.1 - r).floor().max(0.0) as usize, ((c.1 + r).ceil() as usize).min(h));
    for y in y0..y1 {
        for x in x0..x1 {
            let (dx, dy) = (x as f64 + 0.5 - c.0, y as f64 + 0.5 - c.1);
            if dx * dx + dy * dy <= r * r {
                rgb[(y * w + x) * 3..(y * w + x) * 3 + 3].copy_from_slice(&color);
            }
        }
    }
}

impl Renderer {
    pub fn new(scene: Scene) -> Self {
        let (w, h) = (scene.spec.width_px as usize, scene.spec.height_px as usize);
        let mut rng = SmallRng::seed_from_u64(scene.spec.seed ^ 0x5eed);
        let mut rgb = vec![0u8; w * h * 3];
        let floor_y = 0.62 * h as f64;
        for y in 0..h {
            let f = y as f64 / h as f64;
            let c = if (y as f64) < floor_y {
                let g = 150.0 - 30.0 * f;
                [g as u8, g as u8, (g - 4.0) as u8]
            } else if (y / 24) % 2 == 0 {
                [92, 90, 86]
            } else {
                [84, 83, 80]
            };
            for x in 0..w {
                rgb[(y * w + x) * 3..(y * w + x) * 3 + 3].copy_from_slice(&c);
            }
        }
        // Clutter on the wall: shelves, cabinets, posters.
        for _ in 0..14 {
            let x0 = rng.random_range(0.0..w as f64);
            let y0 = rng.random_range(0.0..floor_y * 0.9);
            let rw = rng.random_range(0.03..0.15) * w as f64;
            let rh = rng.random_range(0.04..0.25) * h as f64;
            let c = [rng.random_range(60..200), rng.random_range(60..200), rng.random_range(60..200)];
            fill_rect_rgb(&mut rgb, w, h, (x0, y0, x0 + rw, y0 + rh), c);
        }
        for m in &scene.machines {
            let paint = [rng.random_range(150..215), rng.random_range(150..215), rng.random_range(140..210)];
            fill_rect_rgb(&mut rgb, w, h, m.body_px, paint);
            let (rx0, ry0, rx1, ry1) = m.ram_px;
            // Dark back plate behind the ram's travel, and the bed below it.
            fill_rect_rgb(
                &mut rgb,
                w,
                h,
                (rx0 - 12.0, ry0 - 12.0, rx1 + 12.0, ry1 + m.ram_travel_px + 14.0),
                [52, 52, 58],
            );
            fill_rect_rgb(
                &mut rgb,
                w,
                h,
                (rx0 - 12.0, ry1 + m.ram_travel_px + 14.0, rx1 + 12.0, ry1 + m.ram_travel_px + 30.0),
                [110, 110, 115],
            );
            // Stack light: pole, housing, unlit lenses.
            let r = m.lamp_radius_px;
            let (lx, top) = m.lamp_centers_px[0];
            let bottom = m.lamp_centers_px.last().map_or(top, |c| c.1);
            fill_rect_rgb(&mut rgb, w, h, (lx - 0.3 * r, bottom, lx + 0.3 * r, m.body_px.1), [70, 70, 72]);
            fill_rect_rgb(&mut rgb, w, h, (lx - r - 2.0, top - r - 5.0, lx + r + 2.0, bottom + r + 3.0), [44, 44, 46]);
            for (&c, &lens) in m.lamp_centers_px.iter().zip(&m.look.lens_off_rgb) {
                fill_disc_rgb(&mut rgb, w, h, c, r, lens);
            }
        }
        let background = YuvFrame::from_rgb8(scene.spec.width_px, scene.spec.height_px, &rgb)
            .unwrap_or_else(|| YuvFrame::filled(scene.spec.width_px, scene.spec.height_px, 128, 128, 128));
        // Box-Muller noise table.
        let sigma = scene.spec.nuisances.noise_sigma;
        let noise = (0..(1 << 20) + 7919)
            .map(|_| {
                let u1: f32 = rng.random_range(1e-6..1.0);
                let u2: f32 = rng.random();
                let z = (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos();
                (z * sigma).round().clamp(-127.0, 127.0) as i8
            })
            .collect();
        let background_level = {
            let y = background.y_plane();
            (y.iter().step_by(97).map(|&v| f64::from(v) - 16.0).sum::<f64>() / (y.len() / 97).max(1) as f64) as f32
        };
        Self {
            scene,
            background,
            noise,
            rng,
            background_level: background_level.max(8.0),
            exposure: None,
            white_balance: (0.0, 0.0),
            last_t_s: None,
        }
    }

    /// Share of each lamp's exposure time in which it is lit at `t_s`.
    fn lit_share(scene: &Scene, pattern: &crate::scene::LampPattern, t_s: f64) -> f32 {
        let samples = 4;
        (0..samples)
            .filter(|&i| pattern.lit(t_s + scene.exposure_s * (f64::from(i) + 0.5) / f64::from(samples)))
            .count() as f32
            / samples as f32
    }

    /// Moves the camera's auto-exposure and white balance on to `t_s`; returns the
    /// exposure (1 = the reference) and the white balance's (Cb, Cr) offsets.
    fn camera_at(&mut self, t_s: f64) -> (f32, (f32, f32)) {
        let scene = &self.scene;
        let cam = &scene.camera;
        let dt_s = self.last_t_s.map_or(0.0, |last| (t_s - last).max(0.0));
        self.last_t_s = Some(t_s);
        // What the camera meters: the room, plus the lit lamps weighted as a spot meter
        // centred on the tower would weigh them.
        let frame_area = f64::from(scene.spec.width_px) * f64::from(scene.spec.height_px);
        let (mut lamp_luma, mut lamp_u, mut lamp_v) = (0.0f32, 0.0f32, 0.0f32);
        for (m, layout) in scene.machines.iter().enumerate() {
            let share = (10.0 * std::f64::consts::PI * layout.lamp_radius_px.powi(2) / frame_area) as f32;
            for (k, pattern) in scene.lamp_patterns(m, t_s).iter().enumerate() {
                let lit = Self::lit_share(scene, pattern, t_s) * share * layout.look.intensity;
                let (y, u, v) = rgb_to_yuv_f32(layout.colors[k].rgb());
                lamp_luma += lit * (y - 16.0);
                lamp_u += lit * (u - 128.0);
                lamp_v += lit * (v - 128.0);
            }
        }
        let metered = scene.lighting.gain(t_s) * self.background_level + cam.ae_lamp_weight * lamp_luma;
        let target = (self.background_level / metered.max(1.0)).powf(cam.ae_strength);
        let wb_target = (-cam.awb_strength * lamp_u, -cam.awb_strength * lamp_v);
        let follow = |tau_s: f64| 1.0 - (-dt_s / tau_s.max(1e-3)).exp() as f32;
        let exposure = match self.exposure {
            None => {
                self.white_balance = wb_target;
                target
            }
            Some(e) => {
                let a = follow(cam.awb_time_constant_s);
                self.white_balance.0 += a * (wb_target.0 - self.white_balance.0);
                self.white_balance.1 += a * (wb_target.1 - self.white_balance.1);
                e + follow(cam.ae_time_constant_s) * (target - e)
            }
        };
        self.exposure = Some(exposure);
        (exposure * cam.jump_factor(t_s), self.white_balance)
    }

    pub fn scene(&self) -> &Scene {
        &self.scene
    }

    /// Draws the frame at `t_s`.
    pub fn render(&mut self, t_s: f64) -> YuvFrame {
        let (exposure, (wb_u, wb_v)) = self.camera_at(t_s);
        let scene = &self.scene;
        let (w, h) = (scene.spec.width_px as usize, scene.spec.height_px as usize);
        let gain = scene.lighting.gain(t_s) * exposure;
        let (tint_u, tint_v) = scene.lighting.tint(t_s);
        let (tint_u, tint_v) = (tint_u + wb_u, tint_v + wb_v);
        let mut lut_y = [0u8; 256];
        let mut lut_u = [0u8; 256];
        let mut lut_v = [0u8; 256];
        for v in 0..256 {
            let f = v as f32;
            lut_y[v] = (16.0 + (f - 16.0) * gain).round().clamp(0.0, 255.0) as u8;
            lut_u[v] = (128.0 + (f - 128.0) * gain + tint_u).round().clamp(0.0, 255.0) as u8;
            lut_v[v] = (128.0 + (f - 128.0) * gain + tint_v).round().clamp(0.0, 255.0) as u8;
        }
        let striking = (0..scene.machines.len()).any(|m| scene.ram_position(m, t_s) > 0.0);
        let s = scene.spec.nuisances.shake_px;
        let (dx, dy) = if s > 0 && (striking && self.rng.random_bool(0.7) || self.rng.random_bool(0.05)) {
            let s = if striking { s } else { 1 };
            (self.rng.random_range(-s..=s), self.rng.random_range(-s..=s))
        } else {
            (0, 0)
        };
        let mut frame = YuvFrame::filled(scene.spec.width_px, scene.spec.height_px, 0, 128, 128);
        let (cw, ch) = (frame.chroma_width(), frame.chroma_height());
        {
            let (y_out, u_out, v_out) = frame.planes_mut();
            shift_through_lut(self.background.y_plane(), y_out, w, h, dx, dy, &lut_y);
            shift_through_lut(self.background.u_plane(), u_out, cw, ch, dx / 2, dy / 2, &lut_u);
            shift_through_lut(self.background.v_plane(), v_out, cw, ch, dx / 2, dy / 2, &lut_v);
        }
        let shade = |rgb: [u8; 3], k: f32| -> [f32; 3] {
            let (y, u, v) = rgb_to_yuv(rgb[0], rgb[1], rgb[2]);
            [
                16.0 + (f32::from(y) - 16.0) * k,
                128.0 + (f32::from(u) - 128.0) * k + tint_u,
                128.0 + (f32::from(v) - 128.0) * k + tint_v,
            ]
        };
        let (sx, sy) = (f64::from(dx), f64::from(dy));
        for (m, layout) in scene.machines.iter().enumerate() {
            let drop = scene.ram_position(m, t_s) * layout.ram_travel_px;
            let (x0, y0, x1, y1) = layout.ram_px;
            let steel = shade([165, 170, 176], gain);
            let edge = shade([90, 92, 96], gain);
            paint(&mut frame, (x0 + sx, y0 + drop + sy, x1 + sx, y1 + drop + sy - 4.0), |_, _| Some((steel, 1.0)));
            paint(&mut frame, (x0 + sx, y1 + drop + sy - 4.0, x1 + sx, y1 + drop + sy), |_, _| Some((edge, 1.0)));
        }
        // Lamps: emissive lens and glow.
        let field = scene.spec.nuisances.varied_towers;
        for (m, layout) in scene.machines.iter().enumerate() {
            let patterns = scene.lamp_patterns(m, t_s);
            let r = layout.lamp_radius_px;
            for (k, (&c, pattern)) in layout.lamp_centers_px.iter().zip(patterns).enumerate() {
                let lit = Self::lit_share(scene, pattern, t_s);
                if lit <= 0.0 {
                    continue;
                }
                let rgb = layout.colors[k].rgb();
                // Emissive: the exposure scales it, the room light does not.
                let k_emit = exposure * layout.look.intensity;
                let (lens, core) = if field {
                    (emissive(shade(rgb, 1.0), 0.0, 1.0, k_emit), emissive(shade(rgb, 1.0), 90.0, 0.5, k_emit))
                } else {
                    let lens = shade(rgb, 1.0);
                    (
                        lens,
                        [
                            235.0f32.min(lens[0] + 90.0),
                            128.0 + 0.5 * (lens[1] - 128.0),
                            128.0 + 0.5 * (lens[2] - 128.0),
                        ],
                    )
                };
                let glow = scene.spec.nuisances.glow;
                let length_px = scene.glow.length_r * r;
                let reach = if !glow {
                    r
                } else if field {
                    r + 4.0 * length_px
                } else {
                    2.6 * r
                };
                let center = (c.0 + sx, c.1 + sy);
                let rect = (center.0 - reach, center.1 - reach, center.0 + reach, center.1 + reach);
                let distance = |x: f64, y: f64| ((x - center.0).powi(2) + (y - center.1).powi(2)).sqrt();
                paint(&mut frame, rect, |x, y| {
                    let d = distance(x, y);
                    if d <= r {
                        let u = (d / r) as f32;
                        let col = [
                            core[0] + (lens[0] - core[0]) * u * u,
                            core[1] + (lens[1] - core[1]) * u,
                            core[2] + (lens[2] - core[2]) * u,
                        ];
                        Some((col, lit))
                    } else if glow && !field {
                        Some((lens, lit * 0.45 * (-(d - r) / (0.6 * r)).exp() as f32))
                    } else {
                        None
                    }
                });
                if glow && field {
                    let strength = lit * scene.glow.strength;
                    let added = [lens[0] - 16.0, lens[1] - 128.0, lens[2] - 128.0];
                    paint_added(&mut frame, rect, |x, y| {
                        let d = distance(x, y);
                        (d > r).then(|| {
                            let a = strength * (-(d - r) / length_px).exp() as f32;
                            [a * added[0], a * added[1], a * added[2]]
                        })
                    });
                }
            }
        }
        // People in front.
        for walk in &scene.walks {
            let Some(bbox) = walk.box_at(t_s) else { continue };
            let (x0, y0, x1, y1) = bbox;
            let head = walk.head_px();
            let cloth = shade(walk.clothing_rgb, gain);
            let cloth_dark = shade(walk.clothing_rgb, gain * 0.65);
            let skin = shade([205, 160, 130], gain);
            let stripe = f64::from(walk.stripe_px);
            paint(&mut frame, (x0 + sx, y0 + sy, x1 + sx, y1 + sy), |x, y| {
                let (x, y) = (x - sx, y - sy);
                if !walk.covers(bbox, x, y) {
                    None
                } else if y < y0 + head {
                    Some((skin, 1.0))
                } else {
                    let band = ((y - y0) / stripe) as i64 % 2 == 0;
                    Some((if band { cloth } else { cloth_dark }, 1.0))
                }
            });
        }
        if scene.spec.nuisances.noise_sigma > 0.0 {
            let offset = self.rng.random_range(0..self.noise.len() / 2);
            let (y_out, u_out, v_out) = frame.planes_mut();
            add_noise(y_out, &self.noise[offset..]);
            let off_c = self.rng.random_range(0..self.noise.len() / 2);
            add_noise_halved(u_out, &self.noise[off_c..]);
            add_noise_halved(v_out, &self.noise[off_c + 101..]);
        }
        frame
    }
}

/// The YUV of an sRGB colour, unrounded.
fn rgb_to_yuv_f32(rgb: [u8; 3]) -> (f32, f32, f32) {
    let (y, u, v) = rgb_to_yuv(rgb[0], rgb[1], rgb[2]);
    (f32::from(y), f32::from(u), f32::from(v))
}

/// A lamp's light as the camera records it: `yuv` brightened by `boost_luma`, its
/// chroma scaled by `chroma`, all of it by the exposure `k`; what passes the sensor's
/// top clips towards white.
fn emissive(yuv: [f32; 3], boost_luma: f32, chroma: f32, k: f32) -> [f32; 3] {
    let luma = (yuv[0] + boost_luma - 16.0) * k;
    let (mut u, mut v) = (chroma * (yuv[1] - 128.0) * k, chroma * (yuv[2] - 128.0) * k);
    let top = 250.0 - 16.0;
    if luma > top {
        let keep = (1.0 - (luma - top) / top).max(0.0);
        u *= keep;
        v *= keep;
    }
    [16.0 + luma.min(top), 128.0 + u.clamp(-112.0, 112.0), 128.0 + v.clamp(-112.0, 112.0)]
}

/// Adds light `f(x, y) -> Some(delta yuv)` to the pixels of `rect`.
fn paint_added(frame: &mut YuvFrame, rect: (f64, f64, f64, f64), mut f: impl FnMut(f64, f64) -> Option<[f32; 3]>) {
    paint(frame, rect, |x, y| f(x, y).map(|d| (d, f32::NAN)));
}

/// Paints the pixels of `rect` (with sub-pixel centres) by `f(x, y) -> (yuv, alpha)`;
/// an alpha of NaN adds `yuv` as light instead (luma added, chroma added about 128).
fn paint(frame: &mut YuvFrame, rect: (f64, f64, f64, f64), mut f: impl FnMut(f64, f64) -> Option<([f32; 3], f32)>) {
    let (w, h) = (frame.width_px() as usize, frame.height_px() as usize);
    let cw = frame.chroma_width();
    let ch = frame.chroma_height();
    let (y_plane, u_plane, v_plane) = frame.planes_mut();
    let range = |a: f64, b: f64, n: usize, scale: f64| {
        let lo = (a * scale).floor().max(0.0) as usize;
        let hi = ((b * scale).ceil().max(0.0) as usize).min(n);
        lo..hi
    };
    let blend = |p: &mut u8, target: f32, alpha: f32| {
        let v = f32::from(*p);
        let out = if alpha.is_nan() { v + target } else { v + alpha.clamp(0.0, 1.0) * (target - v) };
        *p = out.round().clamp(0.0, 255.0) as u8;
    };
    for y in range(rect.1, rect.3, h, 1.0) {
        for x in range(rect.0, rect.2, w, 1.0) {
            if let Some((c, a)) = f(x as f64 + 0.5, y as f64 + 0.5) {
                blend(&mut y_plane[y * w + x], c[0], a);
            }
        }
    }
    for y in range(rect.1, rect.3, ch, 0.5) {
        for x in range(rect.0, rect.2, cw, 0.5) {
            if let Some((c, a)) = f(2.0 * x as f64 + 1.0, 2.0 * y as f64 + 1.0) {
                blend(&mut u_plane[y * cw + x], c[1], a);
                blend(&mut v_plane[y * cw + x], c[2], a);
            }
        }
    }
}

fn shift_through_lut(src: &[u8], dst: &mut [u8], w: usize, h: usize, dx: i32, dy: i32, lut: &[u8; 256]) {
    for y in 0..h {
        let sy = (y as i64 - i64::from(dy)).clamp(0, h as i64 - 1) as usize;
        let src_row = &src[sy * w..(sy + 1) * w];
        let dst_row = &mut dst[y * w..(y + 1) * w];
        for (x, out) in dst_row.iter_mut().enumerate() {
            let sx = (x as i64 - i64::from(dx)).clamp(0, w as i64 - 1) as usize;
            *out = lut[usize::from(src_row[sx])];
        }
    }
}

fn add_noise(plane: &mut [u8], noise: &[i8]) {
    for (p, &n) in plane.iter_mut().zip(noise.iter().cycle()) {
        *p = p.saturating_add_signed(n);
    }
}

fn add_noise_halved(plane: &mut [u8], noise: &[i8]) {
    for (p, &n) in plane.iter_mut().zip(noise.iter().cycle()) {
        *p = p.saturating_add_signed(n / 2);
    }
}
