//! Pictures for people: the overlay of an inspection (the drawing over the photo, each
//! feature coloured by its verdict, the measured edge coloured by its deviation, the
//! failures labelled) and the residual map of a calibration. Drawn by hand on RGB
//! buffers: lines, dots and a 5x7 capital-letter font are all these pictures need.

use image::{GrayImage, Rgb, RgbImage};
use sheetsight_drawing::{Loop, Part};

use crate::calibrate::Calibration;
use crate::measure::Inspection;
use crate::report::{FeatureReport, Verdict};
use crate::table::{Mm, Px, TableModel};

const GREEN: Rgb<u8> = Rgb([40, 200, 70]);
const YELLOW: Rgb<u8> = Rgb([240, 200, 30]);
const RED: Rgb<u8> = Rgb([235, 40, 40]);
const ORANGE: Rgb<u8> = Rgb([255, 140, 0]);
const MAGENTA: Rgb<u8> = Rgb([230, 60, 230]);
const WHITE: Rgb<u8> = Rgb([255, 255, 255]);

/// The longest side of the overlay, pixels.
const OVERLAY_PX: f64 = 1800.0;

/// A crop of the photo, scaled: photo pixel to picture pixel.
struct View {
    x0: f64,
    y0: f64,
    scale: f64,
}

impl View {
    fn at(&self, p: Px) -> (f64, f64) {
        ((p.x - self.x0) * self.scale, (p.y - self.y0) * self.scale)
    }
}

/// The photo, dimmed, cropped to `min..max` (photo pixels) and scaled to at most `size_px`.
fn backdrop(photo: &GrayImage, min: Px, max: Px, size_px: f64) -> (RgbImage, View) {
    let (w, h) = photo.dimensions();
    let x0 = min.x.max(0.0).floor();
    let y0 = min.y.max(0.0).floor();
    let x1 = max.x.min(w as f64 - 1.0).ceil();
    let y1 = max.y.min(h as f64 - 1.0).ceil();
    let scale = (size_px / (x1 - x0).max(y1 - y0).max(1.0)).min(2.0);
    let (ow, oh) = (((x1 - x0) * scale).ceil().max(1.0) as u32, ((y1 - y0) * scale).ceil().max(1.0) as u32);
    let picture = RgbImage::from_fn(ow, oh, |x, y| {
        let sx = (x0 + x as f64 / scale).min(w as f64 - 1.0) as u32;
        let sy = (y0 + y as f64 / scale).min(h as f64 - 1.0) as u32;
        let v = (photo.get_pixel(sx, sy).0[0] as f32 * 0.55 + 20.0) as u8;
        Rgb([v, v, v])
    });
    (picture, View { x0, y0, scale })
}

/// The overlay of an inspection.
pub fn inspection(
    photo: &GrayImage,
    model: &TableModel,
    part: &Part,
    found: &Inspection,
    tolerance_mm: f64,
) -> RgbImage {
    let (mut min, mut max) = (Px::new(f64::MAX, f64::MAX), Px::new(f64::MIN, f64::MIN));
    for (p, _) in &found.edges {
        min = Px::new(min.x.min(p.x), min.y.min(p.y));
        max = Px::new(max.x.max(p.x), max.y.max(p.y));
    }
    let margin = 0.06 * (max.x - min.x).max(max.y - min.y) + 20.0;
    let (mut picture, view) =
        backdrop(photo, Px::new(min.x - margin, min.y - margin), Px::new(max.x + margin, max.y + margin), OVERLAY_PX);
    let pose = found.report.pose;
    let to_px = |p: Mm| view.at(model.to_pixel(pose.to_table(p)));
    // The drawing, by verdict.
    let loops: Vec<&Loop> = part.features.iter().map(|f| &f.outline).chain(std::iter::once(&part.outline)).collect();
    for (k, l) in loops.iter().enumerate() {
        let verdict = found.report.features.get(k).map_or(Verdict::Pass, |f| f.verdict());
        let colour = match verdict {
            Verdict::Pass => GREEN,
            Verdict::Fail => RED,
            Verdict::Missing => ORANGE,
        };
        let points: Vec<(f64, f64)> = ring(l).into_iter().map(to_px).collect();
        for i in 0..points.len() {
            line(
                &mut picture,
                points[i],
                points[(i + 1) % points.len()],
                colour,
                1.0 + (verdict != Verdict::Pass) as u8 as f64,
            );
        }
    }
    // The measured edge, by deviation.
    for (p, deviation) in &found.edges {
        let d = deviation.abs();
        let colour = if d <= tolerance_mm / 2.0 {
            continue;
        } else if d <= tolerance_mm {
            YELLOW
        } else {
            RED
        };
        let (x, y) = view.at(*p);
        dot(&mut picture, x, y, 1.5, colour);
    }
    // Labels for what is wrong.
    for (k, f) in found.report.features.iter().enumerate() {
        if f.verdict() == Verdict::Pass {
            continue;
        }
        let Some(l) = loops.get(k) else { continue };
        let ring = ring(l);
        let (x, y) =
            ring.iter().map(|p| to_px(*p)).fold((f64::MIN, f64::MAX), |(mx, my), (x, y)| (mx.max(x), my.min(y)));
        let text = match f {
            FeatureReport::Hole { id, verdict: Verdict::Missing, .. }
            | FeatureReport::Cutout { id, verdict: Verdict::Missing, .. } => {
                format!("{id} MISSING")
            }
            FeatureReport::Hole { id, position_error_mm, diameter_error_mm, .. } => format!(
                "{id} POS {:.2} D {:+.2}",
                position_error_mm.unwrap_or(f64::NAN),
                diameter_error_mm.unwrap_or(f64::NAN)
            ),
            FeatureReport::Cutout { id, max_deviation_mm, .. } => {
                format!("{id} MAX {:.2}", max_deviation_mm.unwrap_or(f64::NAN))
            }
            FeatureReport::Outline { id, max_deviation_mm, .. } => format!("{id} MAX {max_deviation_mm:.2}"),
        };
        label(&mut picture, x + 6.0, y - 4.0, &text, RED);
    }
    for e in &found.report.extra {
        let (x, y) = to_px(Mm::new(e.x_mm, e.y_mm));
        let r = e.d_mm / 2.0 / model.mm_per_px_at(pose.to_table(Mm::new(e.x_mm, e.y_mm))) * view.scale + 8.0;
        circle(&mut picture, (x, y), r, MAGENTA, 2.5);
        label(&mut picture, x + r + 4.0, y - 4.0, &format!("EXTRA {} D {:.2}", e.kind, e.d_mm), MAGENTA);
    }
    let verdict = match found.report.verdict {
        Verdict::Pass => ("PASS", GREEN),
        _ => ("FAIL", RED),
    };
    label(&mut picture, 12.0, 12.0, &format!("{}  TOL {:.2} MM", verdict.0, tolerance_mm), verdict.1);
    picture
}

/// The residual map of a calibration: each hole's residual, magnified.
pub fn residuals(photo: &GrayImage, calibration: &Calibration) -> RgbImage {
    let (w, h) = photo.dimensions();
    let (mut picture, view) = backdrop(photo, Px::new(0.0, 0.0), Px::new(w as f64, h as f64), 1600.0);
    // The largest residual drawn two fifths of a pitch long (about 80 px of a 12 MP photo).
    let magnify = (w.max(h) as f64 / 50.0) / calibration.residual_max_px.max(1e-6);
    let magnify = magnify.clamp(10.0, 10_000.0).round();
    for r in &calibration.residuals {
        let at = Px::new(r.measured_px[0], r.measured_px[1]);
        let size = (r.residual_px[0].powi(2) + r.residual_px[1].powi(2)).sqrt();
        let colour = if size <= 2.0 * calibration.residual_rms_px {
            GREEN
        } else if size <= 4.0 * calibration.residual_rms_px {
            YELLOW
        } else {
            RED
        };
        let (x, y) = view.at(at);
        let tip = view.at(Px::new(at.x + magnify * r.residual_px[0], at.y + magnify * r.residual_px[1]));
        dot(&mut picture, x, y, 2.0, WHITE);
        line(&mut picture, (x, y), tip, colour, 2.5);
    }
    label(
        &mut picture,
        12.0,
        12.0,
        &format!(
            "RESIDUALS X{magnify}  RMS {:.3} PX {:.4} MM  {} HOLES",
            calibration.residual_rms_px, calibration.residual_rms_mm, calibration.holes_used
        ),
        WHITE,
    );
    picture
}

/// A loop's points (a circle as 96 of them).
fn ring(l: &Loop) -> Vec<Mm> {
    match l.circle {
        Some((c, r)) => (0..96)
            .map(|k| {
                let a = k as f64 / 96.0 * std::f64::consts::TAU;
                Mm::new(c.x + r * a.cos(), c.y + r * a.sin())
            })
            .collect(),
        None => l.points.clone(),
    }
}

fn circle(picture: &mut RgbImage, centre: (f64, f64), r: f64, colour: Rgb<u8>, width: f64) {
    for k in 0..64 {
        let (a, b) = (k as f64 / 64.0 * std::f64::consts::TAU, (k + 1) as f64 / 64.0 * std::f64::consts::TAU);
        line(
            picture,
            (centre.0 + r * a.cos(), centre.1 + r * a.sin()),
            (centre.0 + r * b.cos(), centre.1 + r * b.sin()),
            colour,
            width,
        );
    }
}

fn put(picture: &mut RgbImage, x: i64, y: i64, colour: Rgb<u8>) {
    if x >= 0 && y >= 0 && (x as u32) < picture.width() && (y as u32) < picture.height() {
        picture.put_pixel(x as u32, y as u32, colour);
    }
}

fn dot(picture: &mut RgbImage, x: f64, y: f64, radius: f64, colour: Rgb<u8>) {
    let r = radius.ceil() as i64;
    for dy in -r..=r {
        for dx in -r..=r {
            if (dx * dx + dy * dy) as f64 <= radius * radius {
                put(picture, x.round() as i64 + dx, y.round() as i64 + dy, colour);
            }
        }
    }
}

fn line(picture: &mut RgbImage, a: (f64, f64), b: (f64, f64), colour: Rgb<u8>, width: f64) {
    let steps = ((b.0 - a.0).abs().max((b.1 - a.1).abs()).ceil() as usize).clamp(1, 100_000);
    for k in 0..=steps {
        let t = k as f64 / steps as f64;
        let (x, y) = (a.0 + (b.0 - a.0) * t, a.1 + (b.1 - a.1) * t);
        if width <= 1.0 {
            put(picture, x.round() as i64, y.round() as i64, colour);
        } else {
            dot(picture, x, y, width / 2.0, colour);
        }
    }
}

/// Text in a 5x7 font at twice its size, on a dark box, kept inside the picture;
/// lower case is drawn in capitals.
fn label(picture: &mut RgbImage, x: f64, y: f64, text: &str, colour: Rgb<u8>) {
    let width = text.chars().count() as i64 * 12 + 4;
    let x = (x.round() as i64).min(picture.width() as i64 - width).max(2);
    let y = (y.round() as i64).clamp(2, (picture.height() as i64 - 16).max(2));
    for dy in -2..16 {
        for dx in -2..width {
            put(picture, x + dx, y + dy, Rgb([0, 0, 0]));
        }
    }
    for (k, c) in text.chars().enumerate() {
        let rows = glyph(c.to_ascii_uppercase());
        for (row, bits) in rows.iter().enumerate() {
            for col in 0..5 {
                if bits & (0b10000 >> col) != 0 {
                    for (sx, sy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                        put(picture, x + k as i64 * 12 + col * 2 + sx, y + row as i64 * 2 + sy, colour);
                    }
                }
            }
        }
    }
}

fn glyph(c: char) -> [u8; 7] {
    match c {
        '0' => [14, 17, 19, 21, 25, 17, 14],
        '1' => [4, 12, 4, 4, 4, 4, 14],
        '2' => [14, 17, 1, 2, 4, 8, 31],
        '3' => [31, 2, 4, 2, 1, 17, 14],
        '4' => [2, 6, 10, 18, 31, 2, 2],
        '5' => [31, 16, 30, 1, 1, 17, 14],
        '6' => [6, 8, 16, 30, 17, 17, 14],
        '7' => [31, 1, 2, 4, 8, 8, 8],
        '8' => [14, 17, 17, 14, 17, 17, 14],
        '9' => [14, 17, 17, 15, 1, 2, 12],
        'A' => [14, 17, 17, 31, 17, 17, 17],
        'B' => [30, 17, 17, 30, 17, 17, 30],
        'C' => [14, 17, 16, 16, 16, 17, 14],
        'D' => [28, 18, 17, 17, 17, 18, 28],
        'E' => [31, 16, 16, 30, 16, 16, 31],
        'F' => [31, 16, 16, 30, 16, 16, 16],
        'G' => [14, 17, 16, 23, 17, 17, 15],
        'H' => [17, 17, 17, 31, 17, 17, 17],
        'I' => [14, 4, 4, 4, 4, 4, 14],
        'K' => [17, 18, 20, 24, 20, 18, 17],
        'L' => [16, 16, 16, 16, 16, 16, 31],
        'M' => [17, 27, 21, 21, 17, 17, 17],
        'N' => [17, 17, 25, 21, 19, 17, 17],
        'O' => [14, 17, 17, 17, 17, 17, 14],
        'P' => [30, 17, 17, 30, 16, 16, 16],
        'R' => [30, 17, 17, 30, 20, 18, 17],
        'S' => [15, 16, 16, 14, 1, 1, 30],
        'T' => [31, 4, 4, 4, 4, 4, 4],
        'U' => [17, 17, 17, 17, 17, 17, 14],
        'V' => [17, 17, 17, 17, 17, 10, 4],
        'X' => [17, 17, 10, 4, 10, 17, 17],
        'Y' => [17, 17, 10, 4, 4, 4, 4],
        '-' => [0, 0, 0, 31, 0, 0, 0],
        '+' => [0, 4, 4, 31, 4, 4, 0],
        '.' => [0, 0, 0, 0, 0, 12, 12],
        ':' => [0, 12, 12, 0, 12, 12, 0],
        _ => [0; 7],
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_capital_and_digit_of_the_labels_has_a_glyph() {
        for c in "0123456789ABCDEFGHIKLMNOPRSTUVXY-+.:".chars() {
            assert_ne!(super::glyph(c), [0; 7], "{c}");
        }
    }
}
