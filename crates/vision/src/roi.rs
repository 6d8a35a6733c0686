//! Polygon regions of interest, rasterised once into horizontal pixel spans.
//!
//! A region is drawn by a user as a polygon in camera pixels. [`PolygonRoi::new`] checks
//! it against the frame size and turns it into spans of pixel centres inside the polygon
//! (even-odd rule), for the luma plane and for the half-resolution chroma planes. Every
//! per-frame statistic then touches only the pixels inside the region: the cost scales
//! with the region, never with the frame.

use crate::frame::YuvFrame;

/// A point in image pixels, origin top-left, x to the right, y down.
pub type PointPx = [f64; 2];

/// One run of pixels `x_start..x_end` on row `y`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    pub y: u32,
    pub x_start: u32,
    pub x_end: u32,
}

/// Axis-aligned box in pixels, `x0..x1`, `y0..y1` (exclusive ends).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BoxPx {
    pub x0: u32,
    pub y0: u32,
    pub x1: u32,
    pub y1: u32,
}

impl BoxPx {
    pub fn width(&self) -> u32 {
        self.x1.saturating_sub(self.x0)
    }
    pub fn height(&self) -> u32 {
        self.y1.saturating_sub(self.y0)
    }
    /// A whole frame.
    pub fn whole(width_px: u32, height_px: u32) -> BoxPx {
        BoxPx { x0: 0, y0: 0, x1: width_px, y1: height_px }
    }
    /// This box cut to a frame of the given size; `None` when nothing is left.
    pub fn clipped(&self, width_px: u32, height_px: u32) -> Option<BoxPx> {
        let b = BoxPx { x0: self.x0, y0: self.y0, x1: self.x1.min(width_px), y1: self.y1.min(height_px) };
        (b.x1 > b.x0 && b.y1 > b.y0).then_some(b)
    }
    /// The smallest box holding both.
    pub fn union(&self, other: &BoxPx) -> BoxPx {
        BoxPx {
            x0: self.x0.min(other.x0),
            y0: self.y0.min(other.y0),
            x1: self.x1.max(other.x1),
            y1: self.y1.max(other.y1),
        }
    }
}

/// Why a polygon cannot be a region.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum RoiError {
    #[error("a region needs at least 3 points, this one has {0}")]
    TooFewPoints(usize),
    #[error("point [{x}, {y}] lies outside the {width_px}x{height_px} frame")]
    OutsideFrame { x: f64, y: f64, width_px: u32, height_px: u32 },
    #[error("point [{x}, {y}] is not a finite number")]
    NotFinite { x: f64, y: f64 },
    #[error("the polygon covers no pixel centre (zero area)")]
    Empty,
}

/// A rasterised polygon region.
#[derive(Clone, Debug)]
pub struct PolygonRoi {
    spans: Vec<Span>,
    chroma_spans: Vec<Span>,
    bbox: BoxPx,
    pixel_count: u32,
}

/// Mean luma and chroma of a region in one frame.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct RegionMeans {
    pub luma: f32,
    /// Cb - 128
    pub u: f32,
    /// Cr - 128
    pub v: f32,
}

impl PolygonRoi {
    /// Rasterises `points_px` for a frame of `width_px` x `height_px`.
    pub fn new(points_px: &[PointPx], width_px: u32, height_px: u32) -> Result<Self, RoiError> {
        if points_px.len() < 3 {
            return Err(RoiError::TooFewPoints(points_px.len()));
        }
        for &[x, y] in points_px {
            if !x.is_finite() || !y.is_finite() {
                return Err(RoiError::NotFinite { x, y });
            }
            if x < 0.0 || y < 0.0 || x > f64::from(width_px) || y > f64::from(height_px) {
                return Err(RoiError::OutsideFrame { x, y, width_px, height_px });
            }
        }
        let spans = rasterise(points_px, 1.0, width_px, height_px);
        if spans.is_empty() {
            return Err(RoiError::Empty);
        }
        let mut chroma_spans = rasterise(points_px, 0.5, width_px.div_ceil(2), height_px.div_ceil(2));
        if chroma_spans.is_empty() {
            // A sliver (one pixel thin) covers no chroma sample's centre: read the
            // samples its pixels lie in.
            chroma_spans =
                spans.iter().map(|s| Span { y: s.y / 2, x_start: s.x_start / 2, x_end: s.x_end.div_ceil(2) }).collect();
            chroma_spans.dedup();
        }
        let bbox = BoxPx {
            x0: spans.iter().map(|s| s.x_start).min().unwrap_or(0),
            x1: spans.iter().map(|s| s.x_end).max().unwrap_or(0),
            y0: spans.first().map_or(0, |s| s.y),
            y1: spans.last().map_or(0, |s| s.y + 1),
        };
        let pixel_count = spans.iter().map(|s| s.x_end - s.x_start).sum();
        Ok(Self { spans, chroma_spans, bbox, pixel_count })
    }

    /// An axis-aligned rectangle region, clipped to the frame. `None` when nothing is left.
    pub fn rect(x0: f64, y0: f64, x1: f64, y1: f64, width_px: u32, height_px: u32) -> Option<Self> {
        let (w, h) = (f64::from(width_px), f64::from(height_px));
        let (x0, x1) = (x0.clamp(0.0, w), x1.clamp(0.0, w));
        let (y0, y1) = (y0.clamp(0.0, h), y1.clamp(0.0, h));
        Self::new(&[[x0, y0], [x1, y0], [x1, y1], [x0, y1]], width_px, height_px).ok()
    }

    pub fn spans(&self) -> &[Span] {
        &self.spans
    }
    pub fn bbox(&self) -> BoxPx {
        self.bbox
    }
    pub fn pixel_count(&self) -> u32 {
        self.pixel_count
    }

    /// Whether the pixel holding the point (`x`, `y`) belongs to the region.
    pub fn contains(&self, x: f64, y: f64) -> bool {
        if !(x >= 0.0 && y >= 0.0) {
            return false;
        }
        let (px, py) = (x as u32, y as u32);
        let first = self.spans.partition_point(|s| s.y < py);
        self.spans[first..].iter().take_while(|s| s.y == py).any(|s| (s.x_start..s.x_end).contains(&px))
    }

    /// Mean luma and chroma over the region moved by (`dx`, `dy`) pixels (camera shake);
    /// pixels moved out of the frame are left out, and a region moved wholly out is read
    /// where it is. Chroma moves by half as much.
    pub fn means_shifted(&self, frame: &YuvFrame, dx: i32, dy: i32) -> RegionMeans {
        let (w, h) = (frame.width_px() as usize, frame.height_px() as usize);
        let (cw, ch) = (frame.chroma_width(), frame.chroma_height());
        let (luma, n) = sum_spans(frame.y_plane(), &self.spans, w, h, dx, dy);
        if n == 0 && (dx, dy) != (0, 0) {
            return self.means(frame);
        }
        let (cdx, cdy) = ((dx as f32 / 2.0).round() as i32, (dy as f32 / 2.0).round() as i32);
        let (u, nc) = sum_spans(frame.u_plane(), &self.chroma_spans, cw, ch, cdx, cdy);
        let (v, _) = sum_spans(frame.v_plane(), &self.chroma_spans, cw, ch, cdx, cdy);
        let (n, nc) = (n.max(1) as f32, nc.max(1) as f32);
        RegionMeans { luma: luma as f32 / n, u: u as f32 / nc - 128.0, v: v as f32 / nc - 128.0 }
    }

    /// Mean luma and chroma over the region.
    pub fn means(&self, frame: &YuvFrame) -> RegionMeans {
        self.means_shifted(frame, 0, 0)
    }
}

/// Sum and count of the pixels of `spans` moved by (`dx`, `dy`) within a `w` x `h` plane.
fn sum_spans(plane: &[u8], spans: &[Span], w: usize, h: usize, dx: i32, dy: i32) -> (u64, u64) {
    let (mut sum, mut count) = (0u64, 0u64);
    for s in spans {
        let row = i64::from(s.y) + i64::from(dy);
        if row < 0 || row >= h as i64 {
            continue;
        }
        let a = (i64::from(s.x_start) + i64::from(dx)).clamp(0, w as i64) as usize;
        let b = (i64::from(s.x_end) + i64::from(dx)).clamp(0, w as i64) as usize;
        sum += sum_u8(&plane[row as usize * w + a..row as usize * w + b]);
        count += (b - a) as u64;
    }
    (sum, count)
}

fn sum_u8(px: &[u8]) -> u64 {
    // Sum in u32 chunks: the compiler vectorises this; 2^24 bytes never overflow.
    px.chunks(1 << 16).map(|c| c.iter().map(|&b| u32::from(b)).sum::<u32>() as u64).sum()
}

/// Even-odd scanline fill at pixel centres of a grid scaled by `scale`.
fn rasterise(points_px: &[PointPx], scale: f64, width: u32, height: u32) -> Vec<Span> {
    let pts: Vec<[f64; 2]> = points_px.iter().map(|p| [p[0] * scale, p[1] * scale]).collect();
    let y_min = pts.iter().map(|p| p[1]).fold(f64::INFINITY, f64::min);
    let y_max = pts.iter().map(|p| p[1]).fold(f64::NEG_INFINITY, f64::max);
    let row_start = (y_min - 0.5).ceil().max(0.0) as u32;
    let row_end = ((y_max - 0.5).floor() + 1.0).clamp(0.0, f64::from(height)) as u32;
    let mut spans = Vec::new();
    let mut xs: Vec<f64> = Vec::new();
    for row in row_start..row_end {
        let yc = f64::from(row) + 0.5;
        xs.clear();
        for i in 0..pts.len() {
            let a = pts[i];
            let b = pts[(i + 1) % pts.len()];
            if (a[1] <= yc) != (b[1] <= yc) {
                xs.push(a[0] + (yc - a[1]) / (b[1] - a[1]) * (b[0] - a[0]));
            }
        }
        xs.sort_by(f64::total_cmp);
        for pair in xs.chunks_exact(2) {
            // pixel centres x + 0.5 inside [pair[0], pair[1])
            let x_start = (pair[0] - 0.5).ceil().clamp(0.0, f64::from(width)) as u32;
            let x_end = (pair[1] - 0.5).ceil().clamp(0.0, f64::from(width)) as u32;
            if x_end > x_start {
                spans.push(Span { y: row, x_start, x_end });
            }
        }
    }
    spans
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_one_pixel_sliver_reads_the_chroma_it_lies_in() {
        let f = YuvFrame::filled(64, 64, 100, 140, 110);
        let sliver = PolygonRoi::rect(10.0, 0.0, 30.0, 1.0, 64, 64).expect("one row of pixels");
        let m = sliver.means(&f);
        assert_eq!((m.luma, m.u, m.v), (100.0, 12.0, -18.0));
    }

    #[test]
    fn rectangle_covers_exact_pixels() {
        let roi = PolygonRoi::new(&[[10.0, 20.0], [30.0, 20.0], [30.0, 25.0], [10.0, 25.0]], 64, 64).expect("valid");
        assert_eq!(roi.pixel_count(), 20 * 5);
        assert_eq!(roi.bbox(), BoxPx { x0: 10, y0: 20, x1: 30, y1: 25 });
    }

    #[test]
    fn triangle_area_is_close_to_geometry() {
        let roi = PolygonRoi::new(&[[0.0, 0.0], [100.0, 0.0], [0.0, 100.0]], 128, 128).expect("valid");
        let area = f64::from(roi.pixel_count());
        assert!((area - 5000.0).abs() < 100.0, "area {area}");
    }

    #[test]
    fn rejects_bad_polygons() {
        assert_eq!(PolygonRoi::new(&[[0.0, 0.0], [1.0, 1.0]], 10, 10).unwrap_err(), RoiError::TooFewPoints(2));
        assert!(matches!(
            PolygonRoi::new(&[[0.0, 0.0], [11.0, 0.0], [0.0, 5.0]], 10, 10),
            Err(RoiError::OutsideFrame { .. })
        ));
        assert_eq!(PolygonRoi::new(&[[1.0, 1.0], [5.0, 1.0], [9.0, 1.0]], 10, 10).unwrap_err(), RoiError::Empty);
        assert!(matches!(
            PolygonRoi::new(&[[f64::NAN, 1.0], [5.0, 1.0], [9.0, 4.0]], 10, 10),
            Err(RoiError::NotFinite { .. })
        ));
    }

    #[test]
    fn shifted_means_read_the_moved_region() {
        let mut frame = YuvFrame::filled(16, 16, 50, 128, 128);
        let (y, _, _) = frame.planes_mut();
        for row in 6..10 {
            for col in 5..9 {
                y[row * 16 + col] = 200;
            }
        }
        let roi = PolygonRoi::new(&[[4.0, 4.0], [8.0, 4.0], [8.0, 8.0], [4.0, 8.0]], 16, 16).expect("valid");
        assert!((roi.means_shifted(&frame, 1, 2).luma - 200.0).abs() < 1e-3);
        assert!(roi.means(&frame).luma < 200.0);
        assert!((roi.means_shifted(&frame, 0, 0).luma - roi.means(&frame).luma).abs() < 1e-6);
        // Moved half out of the frame: only what is left counts.
        let corner = PolygonRoi::new(&[[0.0, 0.0], [4.0, 0.0], [4.0, 4.0], [0.0, 4.0]], 16, 16).expect("valid");
        assert!((corner.means_shifted(&frame, -2, -2).luma - 50.0).abs() < 1e-3);
    }

    #[test]
    fn means_read_only_the_region() {
        let mut frame = YuvFrame::filled(16, 16, 50, 128, 128);
        {
            let (y, u, _) = frame.planes_mut();
            for row in 4..8 {
                for col in 4..8 {
                    y[row * 16 + col] = 200;
                }
            }
            for row in 2..4 {
                for col in 2..4 {
                    u[row * 8 + col] = 178;
                }
            }
        }
        let roi = PolygonRoi::new(&[[4.0, 4.0], [8.0, 4.0], [8.0, 8.0], [4.0, 8.0]], 16, 16).expect("valid");
        let m = roi.means(&frame);
        assert!((m.luma - 200.0).abs() < 1e-3);
        assert!((m.u - 50.0).abs() < 1e-3);
        assert!(m.v.abs() < 1e-3);
    }
}
