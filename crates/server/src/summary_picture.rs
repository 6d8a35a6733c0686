//! The summary's chart as a PNG for chat apps: per machine a bar of availability (blue)
//! and one of OEE (orange) on a 0-100 % scale, each with its figure, under the period.
//! Pure. Text is drawn with DejaVu Sans (compiled in; its licence is beside it in
//! `assets/fonts`): machine ids and figures are ASCII, and the message beside the picture
//! says in the configured language what the colours mean, so no CJK font is needed.

use ab_glyph::{Font, FontRef, PxScale, ScaleFont, point};
use image::{Rgb, RgbImage};
use sheetsight_store::summary::Summary;

const FONT: &[u8] = include_bytes!("../assets/fonts/DejaVuSans.ttf");
/// Narrow, with large text: a chat app shows the picture at a phone's width.
const WIDTH_PX: u32 = 720;
const BLUE: [u8; 3] = [0x25, 0x63, 0xeb];
const ORANGE: [u8; 3] = [0xd9, 0x77, 0x06];
const INK: [u8; 3] = [0x11, 0x18, 0x27];
const MUTED: [u8; 3] = [0x6b, 0x72, 0x80];
const GRID: [u8; 3] = [0xe5, 0xe7, 0xeb];

struct Pen<'a> {
    font: FontRef<'a>,
}

impl Pen<'_> {
    fn width(&self, text: &str, px: f32) -> f32 {
        let f = self.font.as_scaled(PxScale::from(px));
        text.chars().map(|c| f.h_advance(f.glyph_id(c))).sum()
    }

    /// Draws `text` with its baseline at `y`, starting at `x`; characters the font lacks
    /// are drawn as its missing-glyph box.
    fn text(&self, img: &mut RgbImage, text: &str, px: f32, x: f32, y: f32, color: [u8; 3]) {
        let f = self.font.as_scaled(PxScale::from(px));
        let mut caret = x;
        for c in text.chars() {
            let id = f.glyph_id(c);
            let glyph = id.with_scale_and_position(PxScale::from(px), point(caret, y));
            if let Some(outline) = self.font.outline_glyph(glyph) {
                let b = outline.px_bounds();
                outline.draw(|gx, gy, coverage| {
                    let (px_x, px_y) = (b.min.x as i64 + i64::from(gx), b.min.y as i64 + i64::from(gy));
                    if px_x < 0 || px_y < 0 || px_x >= i64::from(img.width()) || px_y >= i64::from(img.height()) {
                        return;
                    }
                    let p = img.get_pixel_mut(px_x as u32, px_y as u32);
                    for (channel, ink) in p.0.iter_mut().zip(color) {
                        *channel = (f32::from(*channel) * (1.0 - coverage) + f32::from(ink) * coverage).round() as u8;
                    }
                });
            }
            caret += f.h_advance(id);
        }
    }
}

fn fill(img: &mut RgbImage, x: u32, y: u32, w: u32, h: u32, color: [u8; 3]) {
    for yy in y..(y + h).min(img.height()) {
        for xx in x..(x + w).min(img.width()) {
            img.put_pixel(xx, yy, Rgb(color));
        }
    }
}

fn figure(x: Option<f64>) -> String {
    x.map_or_else(|| "-".into(), |x| format!("{:.1} %", 100.0 * x))
}

/// The PNG of `summary` under the title `period`.
pub fn render(summary: &Summary, period: &str) -> Vec<u8> {
    let Ok(font) = FontRef::try_from_slice(FONT) else { return Vec::new() };
    let pen = Pen { font };
    let (top, row_h, bar_h, bottom) = (84u32, 66u32, 22u32, 48u32);
    let rows = summary.machines.len().max(1) as u32;
    let height = top + rows * row_h + bottom;
    let mut img = RgbImage::from_pixel(WIDTH_PX, height, Rgb([255, 255, 255]));
    pen.text(&mut img, &format!("SheetSight  {period}"), 28.0, 20.0, 44.0, INK);
    let label_w = summary.machines.iter().map(|m| pen.width(&m.machine, 22.0)).fold(60.0f32, f32::max).min(240.0);
    let bar_x = 20 + label_w.ceil() as u32 + 14;
    let value_w = pen.width("100.0 %", 20.0).ceil() as u32 + 10;
    let bar_w = WIDTH_PX - bar_x - value_w - 20;
    // Grid at 0, 25, 50, 75 and 100 %, labelled below.
    for k in 0..=4u32 {
        let x = bar_x + bar_w * k / 4;
        fill(&mut img, x, top - 8, 1, rows * row_h + 8, GRID);
        let label = format!("{} %", k * 25);
        let w = pen.width(&label, 18.0);
        let x = (x as f32 - w / 2.0).min(WIDTH_PX as f32 - w - 4.0);
        pen.text(&mut img, &label, 18.0, x, (top + rows * row_h + 28) as f32, MUTED);
    }
    for (i, m) in summary.machines.iter().enumerate() {
        let y = top + i as u32 * row_h;
        pen.text(&mut img, &m.machine, 22.0, 20.0, (y + bar_h + 8) as f32, INK);
        for (k, (value, color)) in [(m.totals.availability, BLUE), (m.totals.oee, ORANGE)].into_iter().enumerate() {
            let by = y + k as u32 * (bar_h + 2);
            let w = (value.unwrap_or(0.0).clamp(0.0, 1.0) * f64::from(bar_w)).round() as u32;
            fill(&mut img, bar_x, by, w, bar_h, color);
            pen.text(&mut img, &figure(value), 20.0, (bar_x + bar_w + 8) as f32, (by + bar_h - 4) as f32, INK);
        }
    }
    let mut png = Vec::new();
    match img.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png) {
        Ok(()) => png,
        Err(e) => {
            tracing::error!(error = %e, "cannot encode the summary's picture");
            Vec::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sheetsight_store::summary::{MachineTotals, Totals};

    #[test]
    fn bars_are_as_long_as_the_figures_and_text_is_drawn() {
        let machine = |id: &str, a: f64, oee: Option<f64>| MachineTotals {
            machine: id.into(),
            totals: {
                let mut t = Totals::default();
                t.availability = Some(a);
                t.oee = oee;
                t
            },
            longest_stop_s: 0.0,
            longest_stop_start: None,
            longest_stop_reason: None,
        };
        let summary = Summary {
            machines: vec![machine("brake-1", 0.5, Some(0.25)), machine("laser-1", 1.0, None)],
            ..Default::default()
        };
        let png = render(&summary, "2026-12-04 08:00–20:00");
        let img = image::load_from_memory(&png).expect("a PNG").to_rgb8();
        assert_eq!(img.width(), WIDTH_PX);
        let blue_run = |y: u32| (0..img.width()).filter(|x| img.get_pixel(*x, y).0 == BLUE).count() as f64;
        let orange_run = |y: u32| (0..img.width()).filter(|x| img.get_pixel(*x, y).0 == ORANGE).count() as f64;
        // Row 0 availability 50 %, row 1 availability 100 %: twice as long.
        let (a0, a1) = (blue_run(84 + 10), blue_run(84 + 66 + 10));
        assert!(a0 > 100.0 && (a1 / a0 - 2.0).abs() < 0.02, "{a0} {a1}");
        assert!((orange_run(84 + 24 + 10) / a0 - 0.5).abs() < 0.02, "OEE 25 % is half of 50 %");
        assert_eq!(orange_run(84 + 66 + 24 + 10), 0.0, "no OEE, no bar");
        // The title is drawn: dark pixels in its band.
        let dark = (0..img.width())
            .flat_map(|x| (14..50).map(move |y| (x, y)))
            .filter(|(x, y)| img.get_pixel(*x, *y).0[0] < 100)
            .count();
        assert!(dark > 300, "{dark} dark pixels in the title");
    }
}
