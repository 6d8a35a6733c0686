//! Photos of parts on a backlit table, with ground truth: a real pinhole camera
//! (tilted, off-centre principal point, radial and tangential distortion) over the
//! table, the part's silhouette (the bottom face and, for a thick part, the top face as
//! the camera sees it) blurred as the lens blurs it before the pixels gather the light,
//! an uneven backlight, dust and sensor noise.
//!
//! The geometry is evaluated from the drawing's loops and circles directly, per pixel
//! near an edge: the share of a Gaussian (the lens's blur and the pixel's width) that
//! falls on the material ([`crate::gaussian_cover`]), independently of how the
//! inspection measures. Blurring sampled pixel coverage instead would step each edge's
//! profile with its phase on the pixel grid, which no lens does.

use image::GrayImage;
use nalgebra::{Matrix3, Point2, Vector2, Vector3};
use rand::{Rng, SeedableRng, rngs::SmallRng};
use sheetsight_drawing::{Loop, Part};

use crate::gaussian_cover;

type Mm = Point2<f64>;

/// A pinhole camera looking down at the table (world: table millimetres, z up).
#[derive(Clone, Debug)]
pub struct Pinhole {
    pub width_px: u32,
    pub height_px: u32,
    pub f_px: f64,
    pub principal_px: (f64, f64),
    /// Brown–Conrady, on normalised coordinates.
    pub k1: f64,
    pub k2: f64,
    pub p1: f64,
    pub p2: f64,
    /// World to camera.
    pub rotation: Matrix3<f64>,
    pub centre_mm: Vector3<f64>,
}

impl Pinhole {
    /// A camera `height_mm` above the table, aimed at `target`, tilted by
    /// `tilt_deg` (about its x and y axes), with `f_px` giving `mm_per_px` at the
    /// target's distance.
    pub fn overhead(
        width_px: u32,
        height_px: u32,
        target: Mm,
        height_mm: f64,
        mm_per_px: f64,
        tilt_deg: (f64, f64),
    ) -> Self {
        let down = Matrix3::new(1.0, 0.0, 0.0, 0.0, -1.0, 0.0, 0.0, 0.0, -1.0);
        let (a, b) = (tilt_deg.0.to_radians(), tilt_deg.1.to_radians());
        let rx = Matrix3::new(1.0, 0.0, 0.0, 0.0, a.cos(), -a.sin(), 0.0, a.sin(), a.cos());
        let ry = Matrix3::new(b.cos(), 0.0, b.sin(), 0.0, 1.0, 0.0, -b.sin(), 0.0, b.cos());
        let rotation = rx * ry * down;
        let axis = rotation.transpose() * Vector3::new(0.0, 0.0, 1.0);
        let distance = height_mm / -axis.z;
        let centre_mm = Vector3::new(target.x, target.y, 0.0) - axis * distance;
        Self {
            width_px,
            height_px,
            f_px: distance / mm_per_px,
            principal_px: ((width_px as f64 - 1.0) / 2.0, (height_px as f64 - 1.0) / 2.0),
            k1: 0.0,
            k2: 0.0,
            p1: 0.0,
            p2: 0.0,
            rotation,
            centre_mm,
        }
    }

    fn distort(&self, x: f64, y: f64) -> (f64, f64) {
        let r2 = x * x + y * y;
        let radial = 1.0 + self.k1 * r2 + self.k2 * r2 * r2;
        (
            x * radial + 2.0 * self.p1 * x * y + self.p2 * (r2 + 2.0 * x * x),
            y * radial + self.p1 * (r2 + 2.0 * y * y) + 2.0 * self.p2 * x * y,
        )
    }

    /// A world point to its pixel.
    pub fn project(&self, p: Vector3<f64>) -> Point2<f64> {
        let c = self.rotation * (p - self.centre_mm);
        let (x, y) = self.distort(c.x / c.z, c.y / c.z);
        Point2::new(self.principal_px.0 + self.f_px * x, self.principal_px.1 + self.f_px * y)
    }

    /// Where the ray through pixel `px` meets the plane at height `z_mm`.
    pub fn ray_at(&self, px: Point2<f64>, z_mm: f64) -> Mm {
        let (xd, yd) = ((px.x - self.principal_px.0) / self.f_px, (px.y - self.principal_px.1) / self.f_px);
        let (mut x, mut y) = (xd, yd);
        for _ in 0..12 {
            let (dx, dy) = self.distort(x, y);
            x += xd - dx;
            y += yd - dy;
        }
        let dir = self.rotation.transpose() * Vector3::new(x, y, 1.0);
        let s = (z_mm - self.centre_mm.z) / dir.z;
        Mm::new(self.centre_mm.x + s * dir.x, self.centre_mm.y + s * dir.y)
    }
}

/// Where a part lies on the table: drawing frame to table frame.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Placement {
    pub x_mm: f64,
    pub y_mm: f64,
    pub angle_deg: f64,
    /// Upside down: the drawing's x axis reversed before turning.
    pub mirrored: bool,
}

impl Placement {
    /// Where the drawing puts it.
    pub const AS_DRAWN: Placement = Placement { x_mm: 0.0, y_mm: 0.0, angle_deg: 0.0, mirrored: false };

    pub fn apply(&self, p: Mm) -> Mm {
        let x = if self.mirrored { -p.x } else { p.x };
        let (s, c) = self.angle_deg.to_radians().sin_cos();
        Mm::new(self.x_mm + c * x - s * p.y, self.y_mm + s * x + c * p.y)
    }

    pub fn place_loop(&self, l: &Loop) -> Loop {
        Loop {
            points: l.points.iter().map(|p| self.apply(*p)).collect(),
            circle: l.circle.map(|(c, r)| (self.apply(c), r)),
        }
    }
}

/// What lies on the table: material inside `outline` and outside every void.
#[derive(Clone, Debug)]
pub struct Solid {
    pub outline: Loop,
    pub voids: Vec<Loop>,
    pub thickness_mm: f64,
}

impl Solid {
    pub fn placed(part: &Part, placement: &Placement, thickness_mm: f64) -> Self {
        Solid {
            outline: placement.place_loop(&part.outline),
            voids: part.features.iter().map(|f| placement.place_loop(&f.outline)).collect(),
            thickness_mm,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Lighting {
    /// The backlight's level at the image centre (0..255).
    pub light: f64,
    /// How much darker the corners are (0.3: 30 %).
    pub falloff: f64,
    /// A linear slope across the picture, as a fraction of `light` (x, y).
    pub slope: (f64, f64),
    /// The part's level (ambient light on its top face).
    pub dark: f64,
    /// The lens's blur: a Gaussian's σ in pixels (the pixel's own width comes on top).
    pub blur_px: f64,
    pub noise: f64,
    /// Specks of dust on the table's glass: how many, each 0.1–0.6 mm across and
    /// 30–90 % opaque, strewn (from the photo's seed) over the lit table and inside
    /// holes, never within 1.2 mm of an edge (dust on a cut edge reads as a burr).
    pub dust_specks: u32,
}

impl Default for Lighting {
    fn default() -> Self {
        Self { light: 205.0, falloff: 0.25, slope: (0.05, -0.04), dark: 22.0, blur_px: 1.0, noise: 2.0, dust_specks: 0 }
    }
}

impl Lighting {
    /// The backlight's level at pixel `(x, y)` of a `w` x `h` photo (above 255 where
    /// it is clipped at white).
    pub fn light_at(&self, x: f64, y: f64, w: f64, h: f64) -> f64 {
        let (cx, cy) = (w / 2.0, h / 2.0);
        let r2 = ((x - cx).powi(2) + (y - cy).powi(2)) / (cx * cx + cy * cy);
        self.light * (1.0 - self.falloff * r2) * (1.0 + self.slope.0 * (x - cx) / cx + self.slope.1 * (y - cy) / cy)
    }

    /// The share of a `w` x `h` photo's table clipped at white (a 64 x 48 sample).
    pub fn clipped_fraction(&self, w: f64, h: f64) -> f64 {
        let mut clipped = 0;
        for j in 0..48 {
            for i in 0..64 {
                let (x, y) = ((i as f64 + 0.5) * w / 64.0, (j as f64 + 0.5) * h / 48.0);
                clipped += (self.light_at(x, y, w, h) >= 255.0) as u32;
            }
        }
        clipped as f64 / (64.0 * 48.0)
    }
}

/// One loop's edges, on a grid, for signed distances near the edge.
struct Edges {
    /// (a, b, loop): a segment, or a circle as (centre, (r, NaN)).
    elements: Vec<(Mm, Mm, usize)>,
    cell_mm: f64,
    origin: Mm,
    columns: usize,
    rows: usize,
    cells: Vec<Vec<u32>>,
    /// Each loop's bounding box and whether it is the outline.
    loops: Vec<(Loop, Mm, Mm, bool)>,
    /// Whether each loop's points run counter-clockwise.
    counter_clockwise: Vec<bool>,
}

impl Edges {
    fn new(solid: &Solid, cell_mm: f64) -> Self {
        let mut elements = Vec::new();
        let mut loops = Vec::new();
        for (k, (l, outline)) in
            std::iter::once((&solid.outline, true)).chain(solid.voids.iter().map(|v| (v, false))).enumerate()
        {
            let (lo, hi) = match l.circle {
                Some((c, r)) => {
                    elements.push((c, Mm::new(r, f64::NAN), k));
                    (Mm::new(c.x - r, c.y - r), Mm::new(c.x + r, c.y + r))
                }
                None => {
                    let n = l.points.len();
                    for i in 0..n {
                        elements.push((l.points[i], l.points[(i + 1) % n], k));
                    }
                    let xs = l.points.iter().map(|p| p.x);
                    let ys = l.points.iter().map(|p| p.y);
                    (
                        Mm::new(xs.clone().fold(f64::MAX, f64::min), ys.clone().fold(f64::MAX, f64::min)),
                        Mm::new(xs.fold(f64::MIN, f64::max), ys.fold(f64::MIN, f64::max)),
                    )
                }
            };
            loops.push((l.clone(), lo, hi, outline));
        }
        let lo = Mm::new(loops[0].1.x - 10.0, loops[0].1.y - 10.0);
        let hi = Mm::new(loops[0].2.x + 10.0, loops[0].2.y + 10.0);
        let columns = ((hi.x - lo.x) / cell_mm).ceil() as usize + 1;
        let rows = ((hi.y - lo.y) / cell_mm).ceil() as usize + 1;
        let mut cells = vec![Vec::new(); columns * rows];
        for (i, &(a, b, k)) in elements.iter().enumerate() {
            let (l0, l1) = if b.y.is_nan() {
                (loops[k].1, loops[k].2)
            } else {
                (Mm::new(a.x.min(b.x), a.y.min(b.y)), Mm::new(a.x.max(b.x), a.y.max(b.y)))
            };
            let cx = |v: f64| (((v - lo.x) / cell_mm).floor().max(0.0) as usize).min(columns - 1);
            let cy = |v: f64| (((v - lo.y) / cell_mm).floor().max(0.0) as usize).min(rows - 1);
            for y in cy(l0.y)..=cy(l1.y) {
                for x in cx(l0.x)..=cx(l1.x) {
                    cells[y * columns + x].push(i as u32);
                }
            }
        }
        let counter_clockwise = loops.iter().map(|(l, ..)| l.signed_area() > 0.0).collect();
        Edges { elements, cell_mm, origin: lo, columns, rows, cells, loops, counter_clockwise }
    }

    /// The loops on whose void side `p` lies (outside the outline, inside a void).
    fn void_sides(&self, p: Mm, out: &mut Vec<usize>) {
        out.clear();
        out.extend(self.loops.iter().enumerate().filter_map(|(k, (l, lo, hi, outline))| {
            let inside = p.x >= lo.x && p.x <= hi.x && p.y >= lo.y && p.y <= hi.y && l.contains(p);
            (inside != *outline).then_some(k)
        }));
    }

    /// The elements listed in the grid's cells within `reach_mm` of `p` (an element that
    /// spans several cells comes once for each).
    fn near(&self, p: Mm, reach_mm: f64) -> impl Iterator<Item = u32> + '_ {
        let cell = |v: f64, o: f64, n: usize| (((v - o) / self.cell_mm).floor().max(0.0) as usize).min(n - 1);
        let (x0, x1) =
            (cell(p.x - reach_mm, self.origin.x, self.columns), cell(p.x + reach_mm, self.origin.x, self.columns));
        let (y0, y1) = (cell(p.y - reach_mm, self.origin.y, self.rows), cell(p.y + reach_mm, self.origin.y, self.rows));
        (y0..=y1).flat_map(move |y| (x0..=x1).flat_map(move |x| self.cells[y * self.columns + x].iter().copied()))
    }

    /// The share of a Gaussian blur of `sigma_mm` centred at `p` that falls on material
    /// (see [`crate::gaussian_cover`]): the outline's share less the voids'. Loops with
    /// no edge within `reach_mm` count whole or not at all, by their side of a point
    /// near by, as in [`Self::material_distance`]. `found` is scratch.
    fn material_share(&self, p: Mm, sigma_mm: f64, reach_mm: f64, void_sides: &[usize], found: &mut Vec<u32>) -> f64 {
        found.clear();
        found.extend(self.near(p, reach_mm));
        // Elements are stored loop by loop: sorted, each loop's are together.
        found.sort_unstable();
        found.dedup();
        let loop_of = |i: u32| self.elements[i as usize].2;
        if void_sides.iter().any(|&k| !found.iter().any(|&i| loop_of(i) == k)) {
            return 0.0;
        }
        let (mut outline, mut voids) = (1.0, 0.0);
        let mut start = 0;
        while start < found.len() {
            let k = loop_of(found[start]);
            let end = start + found[start..].iter().take_while(|&&i| loop_of(i) == k).count();
            let (l, _, _, is_outline) = &self.loops[k];
            let share = match l.circle {
                Some((c, r)) => gaussian_cover::disc_share((p - c).norm(), r, sigma_mm),
                None => {
                    let segments = found[start..end].iter().map(|&i| {
                        let (a, b, _) = self.elements[i as usize];
                        ((a.x, a.y), (b.x, b.y))
                    });
                    gaussian_cover::polygon_share(
                        (p.x, p.y),
                        l.contains(p),
                        self.counter_clockwise[k],
                        segments,
                        sigma_mm,
                    )
                }
            };
            if *is_outline {
                outline = share;
            } else {
                voids += share;
            }
            start = end;
        }
        (outline - voids).clamp(0.0, 1.0)
    }

    /// The signed distance to the material's edge (positive in material), clamped to
    /// `reach_mm`; loops with no edge within reach take their side from a point near
    /// by, whose void sides are `void_sides`.
    fn material_distance(&self, p: Mm, reach_mm: f64, void_sides: &[usize], near: &mut Vec<(usize, f64)>) -> f64 {
        near.clear();
        for i in self.near(p, reach_mm) {
            let (a, b, k) = self.elements[i as usize];
            let d = if b.y.is_nan() {
                ((p - a).norm() - b.x).abs()
            } else {
                let ab = b - a;
                let t = ((p - a).dot(&ab) / ab.norm_squared().max(1e-300)).clamp(0.0, 1.0);
                (p - (a + ab * t)).norm()
            };
            match near.iter_mut().find(|(j, _)| *j == k) {
                Some(entry) => entry.1 = entry.1.min(d),
                None => near.push((k, d)),
            }
        }
        // Material is inside the outline and outside every void.
        let term = |k: usize, is_inside: bool, d: f64| if self.loops[k].3 == is_inside { d } else { -d };
        let mut sd = reach_mm;
        // Loops without an edge in reach: only those that make the point void matter.
        if void_sides.iter().any(|&k| !near.iter().any(|(j, d)| *j == k && *d < reach_mm)) {
            sd = -reach_mm;
        }
        for &(k, d) in near.iter() {
            if d >= reach_mm {
                continue;
            }
            let l = &self.loops[k].0;
            let is_inside = match l.circle {
                Some((c, r)) => (p - c).norm() < r,
                None => l.contains(p),
            };
            sd = sd.min(term(k, is_inside, d));
        }
        sd
    }
}

/// Renders `solids` on the backlit table as `camera` sees them.
pub fn render(camera: &Pinhole, solids: &[Solid], lighting: &Lighting, seed: u64) -> GrayImage {
    let (w, h) = (camera.width_px as usize, camera.height_px as usize);
    let mut coverage = vec![0f32; w * h];
    const TILE: usize = 8;
    let sigma = lighting.blur_px;
    // The lens's blur and the pixel's own width (a box of variance 1/12 px²) as one
    // Gaussian, applied to the exact silhouette.
    let sigma_px = (sigma * sigma + 1.0 / 12.0).sqrt();
    for solid in solids {
        let edges = Edges::new(solid, 1.0);
        let top = solid.thickness_mm;
        let (mut flags_bottom, mut flags_top, mut scratch, mut found) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for ty in (0..h).step_by(TILE) {
            for tx in (0..w).step_by(TILE) {
                let centre = Point2::new((tx + TILE / 2) as f64, (ty + TILE / 2) as f64);
                let pb = camera.ray_at(centre, 0.0);
                let mm_per_px = (camera.ray_at(Point2::new(centre.x + 1.0, centre.y), 0.0) - pb).norm();
                let tile_mm = TILE as f64 * mm_per_px;
                let reach = 3.0 * tile_mm;
                edges.void_sides(pb, &mut flags_bottom);
                let mut sd_centre = edges.material_distance(pb, reach, &flags_bottom, &mut scratch);
                let pt = (top > 0.0).then(|| camera.ray_at(centre, top));
                let mut mm_per_px_top = mm_per_px;
                if let Some(pt) = pt {
                    edges.void_sides(pt, &mut flags_top);
                    sd_centre = sd_centre.max(edges.material_distance(pt, reach, &flags_top, &mut scratch));
                    mm_per_px_top = (camera.ray_at(Point2::new(centre.x + 1.0, centre.y), top) - pt).norm();
                }
                let uniform = sd_centre.abs() >= reach - 1e-9;
                for y in ty..(ty + TILE).min(h) {
                    for x in tx..(tx + TILE).min(w) {
                        let value = if uniform {
                            if sd_centre > 0.0 { 1.0 } else { 0.0 }
                        } else {
                            let px = Point2::new(x as f64, y as f64);
                            let bottom = camera.ray_at(px, 0.0);
                            let mut share =
                                edges.material_share(bottom, sigma_px * mm_per_px, reach, &flags_bottom, &mut found);
                            if top > 0.0 {
                                // The union of the two faces' silhouettes: exact where
                                // their edges nest, as they do but where they cross.
                                let at_top = camera.ray_at(px, top);
                                let sigma_mm = sigma_px * mm_per_px_top;
                                share =
                                    share.max(edges.material_share(at_top, sigma_mm, reach, &flags_top, &mut found));
                            }
                            share as f32
                        };
                        let c = &mut coverage[y * w + x];
                        *c = c.max(value);
                    }
                }
            }
        }
    }
    let mut rng = SmallRng::seed_from_u64(seed);
    let dust = dust_cover(camera, &coverage, lighting.dust_specks, sigma, &mut rng);
    GrayImage::from_fn(w as u32, h as u32, |x, y| {
        let i = y as usize * w + x as usize;
        let light = lighting.light_at(x as f64, y as f64, w as f64, h as f64) * (1.0 - dust[i] as f64);
        let c = coverage[i] as f64;
        let v = light * (1.0 - c) + lighting.dark * c + lighting.noise * gaussian(&mut rng);
        image::Luma([v.round().clamp(0.0, 255.0) as u8])
    })
}

/// How much light dust takes away at each pixel (0: none): `count` specks where the
/// table is lit (in the open or inside a hole) and no edge lies within 1.2 mm, each
/// blurred by the lens's `sigma_px`.
fn dust_cover(camera: &Pinhole, coverage: &[f32], count: u32, sigma_px: f64, rng: &mut SmallRng) -> Vec<f32> {
    let (w, h) = (camera.width_px as usize, camera.height_px as usize);
    let mut dust = vec![0f32; w * h];
    let mm_per_px = (camera.ray_at(Point2::new(w as f64 / 2.0 + 1.0, h as f64 / 2.0), 0.0)
        - camera.ray_at(Point2::new(w as f64 / 2.0, h as f64 / 2.0), 0.0))
    .norm();
    let clear_px = (1.2 / mm_per_px).ceil() as usize;
    let blur_px = (3.0 * sigma_px).ceil() as usize;
    let mut placed = 0;
    let mut patch = Vec::new();
    for _ in 0..count * 50 {
        if placed == count {
            break;
        }
        let r_px = rng.random_range(0.05..0.3) / mm_per_px;
        let opacity = rng.random_range(0.3..0.9) as f32;
        let reach = clear_px + r_px.ceil() as usize;
        let (x, y) = (rng.random_range(reach..w - reach), rng.random_range(reach..h - reach));
        let clear =
            (y - reach..=y + reach).step_by(2).all(|j| (x - reach..=x + reach).all(|i| coverage[j * w + i] == 0.0));
        if !clear {
            continue;
        }
        // The speck's patch, blurred on its own (the speck lies clear of every edge).
        let r = (r_px.ceil() as usize + 1 + blur_px).min(reach);
        let side = 2 * r + 1;
        patch.clear();
        for j in 0..side {
            for i in 0..side {
                let d = ((i as f64 - r as f64).powi(2) + (j as f64 - r as f64).powi(2)).sqrt();
                patch.push(opacity * (r_px + 0.5 - d).clamp(0.0, 1.0) as f32);
            }
        }
        blur(&mut patch, side, side, sigma_px);
        for j in 0..side {
            for i in 0..side {
                let k = (y + j - r) * w + x + i - r;
                dust[k] = dust[k].max(patch[j * side + i]);
            }
        }
        placed += 1;
    }
    dust
}

pub(crate) fn gaussian(rng: &mut SmallRng) -> f64 {
    let (u1, u2): (f64, f64) = (rng.random::<f64>().max(1e-12), rng.random());
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// A separable Gaussian blur of standard deviation `sigma_px`.
pub(crate) fn blur(image: &mut [f32], w: usize, h: usize, sigma_px: f64) {
    if sigma_px <= 0.0 {
        return;
    }
    let radius = (3.0 * sigma_px).ceil() as isize;
    let kernel: Vec<f32> =
        (-radius..=radius).map(|i| (-(i * i) as f64 / (2.0 * sigma_px * sigma_px)).exp() as f32).collect();
    let sum: f32 = kernel.iter().sum();
    let kernel: Vec<f32> = kernel.iter().map(|k| k / sum).collect();
    let mut tmp = vec![0f32; w.max(h)];
    for y in 0..h {
        let row = &mut image[y * w..(y + 1) * w];
        for x in 0..w {
            tmp[x] = kernel
                .iter()
                .enumerate()
                .map(|(k, kv)| kv * row[(x as isize + k as isize - radius).clamp(0, w as isize - 1) as usize])
                .sum();
        }
        row.copy_from_slice(&tmp[..w]);
    }
    for x in 0..w {
        for y in 0..h {
            tmp[y] = kernel
                .iter()
                .enumerate()
                .map(|(k, kv)| kv * image[(y as isize + k as isize - radius).clamp(0, h as isize - 1) as usize * w + x])
                .sum();
        }
        for y in 0..h {
            image[y * w + x] = tmp[y];
        }
    }
}

/// What is wrong with a cut part, on purpose.
#[derive(Clone, Debug, PartialEq)]
pub enum Defect {
    /// Feature `index` (of the drawing's part) cut `by_mm` away from where it is drawn.
    Moved {
        index: usize,
        by_mm: Vector2<f64>,
    },
    /// A round hole cut with a diameter `by_mm` larger (or smaller).
    Resized {
        index: usize,
        by_mm: f64,
    },
    Missing {
        index: usize,
    },
    /// A hole the drawing has not (drawing frame).
    Extra {
        at: Mm,
        d_mm: f64,
    },
    /// A round bite of radius `r_mm` out of the outline at `at` (drawing frame).
    Notch {
        at: Mm,
        r_mm: f64,
    },
}

/// The part as cut: the drawing with the defects applied.
pub fn as_cut(part: &Part, defects: &[Defect]) -> Part {
    let mut cut = part.clone();
    let circle = |at: Mm, r: f64| sheetsight_drawing::Feature {
        kind: sheetsight_drawing::FeatureKind::Cutout { centroid: at },
        outline: Loop { points: Vec::new(), circle: Some((at, r)) },
    };
    let mut missing = Vec::new();
    for d in defects {
        match d {
            Defect::Moved { index, by_mm } => {
                let l = &mut cut.features[*index].outline;
                l.points.iter_mut().for_each(|p| *p += by_mm);
                if let Some((c, _)) = &mut l.circle {
                    *c += by_mm;
                }
            }
            Defect::Resized { index, by_mm } => {
                let l = &mut cut.features[*index].outline;
                if let Some((_, r)) = &mut l.circle {
                    *r += by_mm / 2.0;
                } else if let Some((c, r)) = sheetsight_drawing::topology::fit_circle(&l.points) {
                    let scale = (r + by_mm / 2.0) / r;
                    l.points.iter_mut().for_each(|p| *p = c + (*p - c) * scale);
                }
            }
            Defect::Missing { index } => missing.push(*index),
            Defect::Extra { at, d_mm } => cut.features.push(circle(*at, d_mm / 2.0)),
            Defect::Notch { at, r_mm } => cut.features.push(circle(*at, *r_mm)),
        }
    }
    let mut k = 0;
    cut.features.retain(|_| {
        k += 1;
        !missing.contains(&(k - 1))
    });
    cut
}

/// One test photo of a part: where it lies, the light, the camera's nuisances, and
/// what is wrong with it.
#[derive(Clone, Debug)]
pub struct Case {
    pub placement: Placement,
    pub lighting: Lighting,
    pub defects: Vec<Defect>,
    pub thickness_mm: f64,
    /// Saved as a JPEG of this quality and read back.
    pub jpeg_quality: Option<u8>,
    pub seed: u64,
}

/// `count` varied photos of `part` lying within `area_mm` (min, max corners) of the
/// table: random poses, a third upside down, varied light, blur and noise, some as
/// JPEG, some thick; every third exact, the others with one defect of 0.3 mm or more.
pub fn cases(part: &Part, area_mm: (Mm, Mm), count: usize, seed: u64) -> Vec<Case> {
    let mut rng = SmallRng::seed_from_u64(seed);
    let (lo, hi) = bounds(&part.outline);
    let middle = nalgebra::center(&lo, &hi);
    let radius = (hi - lo).norm() / 2.0;
    let holes: Vec<usize> = (0..part.features.len())
        .filter(|&k| matches!(part.features[k].kind, sheetsight_drawing::FeatureKind::Hole { .. }))
        .collect();
    (0..count)
        .map(|k| {
            let (lo, hi) = area_mm;
            let centre = |a: f64, b: f64, rng: &mut SmallRng| {
                if b - a > 2.0 * radius { rng.random_range(a + radius..b - radius) } else { (a + b) / 2.0 }
            };
            let target = Mm::new(centre(lo.x, hi.x, &mut rng), centre(lo.y, hi.y, &mut rng));
            let turned =
                Placement { x_mm: 0.0, y_mm: 0.0, angle_deg: rng.random_range(0.0..360.0), mirrored: k % 3 == 1 };
            let offset = turned.apply(middle);
            let placement = Placement { x_mm: target.x - offset.x, y_mm: target.y - offset.y, ..turned };
            let lighting = Lighting {
                light: rng.random_range(170.0..225.0),
                falloff: rng.random_range(0.1..0.35),
                slope: (rng.random_range(-0.08..0.08), rng.random_range(-0.08..0.08)),
                dark: rng.random_range(10.0..40.0),
                blur_px: rng.random_range(0.7..1.4),
                noise: rng.random_range(1.0..3.5),
                dust_specks: 0,
            };
            let mut defects = Vec::new();
            if k % 3 != 0 {
                let angle = rng.random_range(0.0..std::f64::consts::TAU);
                let size = rng.random_range(0.3..1.0);
                let kind = (k / 3 + k) % 5;
                match (kind, holes.is_empty()) {
                    (0, false) => defects.push(Defect::Moved {
                        index: holes[rng.random_range(0..holes.len())],
                        by_mm: Vector2::new(angle.cos(), angle.sin()) * size,
                    }),
                    (1, false) => defects.push(Defect::Resized {
                        index: holes[rng.random_range(0..holes.len())],
                        by_mm: if rng.random_bool(0.5) { size } else { -size },
                    }),
                    (2, false) => defects.push(Defect::Missing { index: holes[rng.random_range(0..holes.len())] }),
                    (3, _) => {
                        if let Some(at) = free_spot(part, 4.0, &mut rng) {
                            defects.push(Defect::Extra { at, d_mm: 3.0 });
                        }
                    }
                    _ => {
                        let at = outline_point(part, &mut rng);
                        defects.push(Defect::Notch { at, r_mm: size.max(0.4) });
                    }
                }
            }
            Case {
                placement,
                lighting,
                defects,
                thickness_mm: if k % 4 == 3 { rng.random_range(1.0..3.0) } else { 0.0 },
                jpeg_quality: (k % 5 == 2).then_some(90),
                seed: seed ^ (k as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15),
            }
        })
        .collect()
}

/// The photos of [`cases`] (same parts, poses and defects) as many real backlit
/// stations take them: the backlight clipped at white on 30–100 % of the table (where
/// all of it is clipped, up to 1.5 times over), stronger vignetting (corners 20–45 %
/// darker), a slightly uneven light, and 20–150 specks of dust.
pub fn shop_floor_cases(part: &Part, area_mm: (Mm, Mm), count: usize, seed: u64, camera: &Pinhole) -> Vec<Case> {
    let mut rng = SmallRng::seed_from_u64(seed ^ 0x5eed_c11b_0000_0001);
    let (w, h) = (camera.width_px as f64, camera.height_px as f64);
    cases(part, area_mm, count, seed)
        .into_iter()
        .map(|mut case| {
            let lighting = &mut case.lighting;
            lighting.falloff = rng.random_range(0.2..0.45);
            lighting.dust_specks = rng.random_range(20..150);
            let clipped = rng.random_range(0.3..1.15f64).min(1.0);
            let over = if clipped >= 1.0 { rng.random_range(1.0..1.5) } else { 1.0 };
            // The unit field's level below which a share `clipped` of the table lies above.
            let unit = Lighting { light: 1.0, ..lighting.clone() };
            let mut field: Vec<f64> = (0..48 * 64)
                .map(|k| unit.light_at(((k % 64) as f64 + 0.5) * w / 64.0, ((k / 64) as f64 + 0.5) * h / 48.0, w, h))
                .collect();
            field.sort_by(f64::total_cmp);
            let at = ((1.0 - clipped) * (field.len() - 1) as f64).round() as usize;
            lighting.light = over * 256.0 / field[at].max(1e-6);
            case
        })
        .collect()
}

/// A point of the part's material at least `clear_mm` from every edge.
fn free_spot(part: &Part, clear_mm: f64, rng: &mut SmallRng) -> Option<Mm> {
    let edges = Edges::new(
        &Solid {
            outline: part.outline.clone(),
            voids: part.features.iter().map(|f| f.outline.clone()).collect(),
            thickness_mm: 0.0,
        },
        1.0,
    );
    let (lo, hi) = bounds(&part.outline);
    let (mut flags, mut scratch) = (Vec::new(), Vec::new());
    for _ in 0..2000 {
        let p = Mm::new(rng.random_range(lo.x..hi.x.max(lo.x + 1e-9)), rng.random_range(lo.y..hi.y.max(lo.y + 1e-9)));
        edges.void_sides(p, &mut flags);
        if edges.material_distance(p, clear_mm, &flags, &mut scratch) >= clear_mm {
            return Some(p);
        }
    }
    None
}

/// A point on the part's outline, away from its corners where possible.
fn outline_point(part: &Part, rng: &mut SmallRng) -> Mm {
    if let Some((c, r)) = part.outline.circle {
        let a = rng.random_range(0.0..std::f64::consts::TAU);
        return Mm::new(c.x + r * a.cos(), c.y + r * a.sin());
    }
    let pts = &part.outline.points;
    let n = pts.len();
    // The longest edge's middle third.
    let k = (0..n)
        .max_by(|&a, &b| (pts[(a + 1) % n] - pts[a]).norm().total_cmp(&(pts[(b + 1) % n] - pts[b]).norm()))
        .unwrap_or(0);
    let t = rng.random_range(0.33..0.67);
    pts[k] + (pts[(k + 1) % n] - pts[k]) * t
}

/// The photo of a case.
pub fn render_case(camera: &Pinhole, part: &Part, case: &Case) -> GrayImage {
    let cut = as_cut(part, &case.defects);
    let img = render(camera, &[Solid::placed(&cut, &case.placement, case.thickness_mm)], &case.lighting, case.seed);
    match case.jpeg_quality {
        Some(q) => {
            let mut bytes = Vec::new();
            let encoded = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, q).encode_image(&img);
            match encoded.ok().and_then(|_| image::load_from_memory(&bytes).ok()) {
                Some(decoded) => decoded.to_luma8(),
                None => img,
            }
        }
        None => img,
    }
}

/// A loop's bounding box.
fn bounds(l: &Loop) -> (Mm, Mm) {
    if let Some((c, r)) = l.circle {
        return (Mm::new(c.x - r, c.y - r), Mm::new(c.x + r, c.y + r));
    }
    l.points.iter().fold((Mm::new(f64::MAX, f64::MAX), Mm::new(f64::MIN, f64::MIN)), |(a, b), p| {
        (Mm::new(a.x.min(p.x), a.y.min(p.y)), Mm::new(b.x.max(p.x), b.y.max(p.y)))
    })
}

/// The camera of the test material: 12 MP, 1 m over a 600 x 450 mm table (about
/// 0.15 mm per pixel), tilted by 5° and 3°, barrel distortion, a tangential term and a
/// principal point 30 px off the centre.
pub fn table_camera() -> Pinhole {
    let mut cam = Pinhole::overhead(4000, 3000, Mm::new(275.0, 200.0), 1000.0, 0.15, (5.0, -3.0));
    cam.k1 = -0.06;
    cam.k2 = 0.01;
    cam.p1 = 4e-4;
    cam.p2 = -3e-4;
    cam.principal_px = (2030.0, 1470.0);
    cam
}

/// The calibration plate of the test material (550 x 400 mm, 8 mm holes at 25 mm),
/// cut from 2 mm sheet.
pub const TEST_PLATE: sheetsight_drawing::plate::PlateSpec =
    sheetsight_drawing::plate::PlateSpec { width_mm: 550.0, height_mm: 400.0, pitch_mm: 25.0, hole_mm: 8.0 };
pub const TEST_PLATE_THICKNESS_MM: f64 = 2.0;

/// The test plate's drawing, its part, and its photo on the table by the test camera.
pub struct PlatePhoto {
    pub dxf: Vec<u8>,
    pub part: Part,
    pub photo: GrayImage,
}

pub fn test_plate_photo(seed: u64) -> Result<PlatePhoto, sheetsight_drawing::plate::PlateError> {
    let (dxf, _) = TEST_PLATE.to_dxf()?;
    let part = sample_part(&dxf)
        .ok_or_else(|| sheetsight_drawing::plate::PlateError::Write("the plate's drawing does not read back".into()))?;
    let solid = Solid::placed(&part, &Placement::AS_DRAWN, TEST_PLATE_THICKNESS_MM);
    let photo = render(&table_camera(), &[solid], &Lighting::default(), seed);
    Ok(PlatePhoto { dxf, part, photo })
}

/// Where the test material's parts lie: the table within the camera's view.
pub const TEST_AREA_MM: (Mm, Mm) = (Mm::new(40.0, 40.0), Mm::new(510.0, 360.0));

/// The part of a sample drawing (read in millimetres: one of them says so only in its
/// name), or of the test plate's drawing.
pub fn sample_part(bytes: &[u8]) -> Option<Part> {
    let options = sheetsight_drawing::ReadOptions {
        units: Some(sheetsight_drawing::LengthUnit::Millimetre),
        ..sheetsight_drawing::ReadOptions::default()
    };
    let drawing = sheetsight_drawing::read_dxf(bytes, &options).ok()?;
    sheetsight_drawing::topology::build(&drawing, 0.01).largest_part()
}

/// Real part drawings (see `drawings/README.md` for where they come from and their
/// licences): the parts of the test material and the demo.
pub const SAMPLE_DRAWINGS: [(&str, &[u8]); 4] = [
    ("open65_plate.dxf", include_bytes!("../drawings/open65_plate.dxf")),
    ("mendel90_y_carriage.dxf", include_bytes!("../drawings/mendel90_y_carriage.dxf")),
    ("laser4diy_chamber_sheet_left.dxf", include_bytes!("../drawings/laser4diy_chamber_sheet_left.dxf")),
    ("laser4diy_bigshim.dxf", include_bytes!("../drawings/laser4diy_bigshim.dxf")),
];
