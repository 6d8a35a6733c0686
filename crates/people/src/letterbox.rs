//! From a camera crop to the model's input: scaled to fit an `input_px` square, placed
//! in its top-left corner, zero padding, BGR, normalised by the model's mean and spread.
//!
//! Resampling is a separable triangle filter whose support widens with the reduction
//! (as PIL's and OpenCV's area-aware bilinear do), so a 1080p crop shrunk to 416 px is
//! not aliased; at scale 1 it copies pixels exactly. Each source pixel is converted to
//! RGB once. Pure: no I/O.

use sheetsight_vision::YuvFrame;
use sheetsight_vision::frame::yuv_to_rgb;
use sheetsight_vision::roi::BoxPx;

/// Per-channel mean and spread of the model's training, in BGR order.
pub const MEAN_BGR: [f32; 3] = [103.53, 116.28, 123.675];
pub const STD_BGR: [f32; 3] = [57.375, 57.12, 58.395];

/// A picture the detector can read pixel by pixel in RGB.
pub trait RgbSource {
    fn width_px(&self) -> u32;
    fn height_px(&self) -> u32;
    /// Writes row `y`, columns `x0..x0 + out.len() / 3`, as packed RGB.
    fn rgb_row(&self, y: u32, x0: u32, out: &mut [u8]);
}

impl RgbSource for YuvFrame {
    fn width_px(&self) -> u32 {
        YuvFrame::width_px(self)
    }
    fn height_px(&self) -> u32 {
        YuvFrame::height_px(self)
    }
    fn rgb_row(&self, y: u32, x0: u32, out: &mut [u8]) {
        let w = YuvFrame::width_px(self) as usize;
        let cw = self.chroma_width();
        let (yp, up, vp) = (self.y_plane(), self.u_plane(), self.v_plane());
        let row = y as usize * w;
        let crow = (y as usize / 2) * cw;
        for (i, px) in out.chunks_exact_mut(3).enumerate() {
            let x = x0 as usize + i;
            let (r, g, b) = yuv_to_rgb(yp[row + x], up[crow + x / 2], vp[crow + x / 2]);
            px.copy_from_slice(&[r, g, b]);
        }
    }
}

impl RgbSource for image::RgbImage {
    fn width_px(&self) -> u32 {
        self.width()
    }
    fn height_px(&self) -> u32 {
        self.height()
    }
    fn rgb_row(&self, y: u32, x0: u32, out: &mut [u8]) {
        let stride = self.width() as usize * 3;
        let start = y as usize * stride + x0 as usize * 3;
        out.copy_from_slice(&self.as_raw()[start..start + out.len()]);
    }
}

/// How a crop sits in the model's square input.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Letterbox {
    pub input_px: u32,
    pub crop: BoxPx,
    /// Input pixels per frame pixel.
    pub scale: f32,
    /// Size of the scaled crop inside the input; the rest is padding.
    pub scaled_px: (u32, u32),
}

impl Letterbox {
    pub fn new(crop: BoxPx, input_px: u32) -> Self {
        let scale = (input_px as f32 / crop.width().max(1) as f32).min(input_px as f32 / crop.height().max(1) as f32);
        let fit = |n: u32| ((n as f32 * scale).round() as u32).clamp(1, input_px);
        Self { input_px, crop, scale, scaled_px: (fit(crop.width()), fit(crop.height())) }
    }

    /// A point of the input mapped back to frame pixels.
    pub fn to_frame(&self, x_in: f32, y_in: f32) -> (f32, f32) {
        (self.crop.x0 as f32 + x_in / self.scale, self.crop.y0 as f32 + y_in / self.scale)
    }

    /// The input tensor, `[3, input_px, input_px]` in BGR plane order, normalised.
    /// The crop must lie inside `source` (see [`BoxPx::clipped`]).
    pub fn tensor<S: RgbSource + ?Sized>(&self, source: &S) -> Vec<f32> {
        let n = self.input_px as usize;
        let (out_w, out_h) = (self.scaled_px.0 as usize, self.scaled_px.1 as usize);
        let (crop_w, crop_h) = (self.crop.width() as usize, self.crop.height() as usize);
        let columns = Taps::new(crop_w, out_w);
        let rows = Taps::new(crop_h, out_h);

        // Horizontal pass: every crop row shrunk to out_w RGB floats.
        let mut row_rgb = vec![0u8; crop_w * 3];
        let mut row_f = vec![0f32; crop_w * 3];
        let mut narrow = vec![0f32; crop_h * out_w * 3];
        for (y, dst) in narrow.chunks_exact_mut(out_w * 3).enumerate() {
            source.rgb_row(self.crop.y0 + y as u32, self.crop.x0, &mut row_rgb);
            row_f.iter_mut().zip(&row_rgb).for_each(|(f, &b)| *f = f32::from(b));
            for (ox, px) in dst.chunks_exact_mut(3).enumerate() {
                let (start, weights) = columns.get(ox);
                let mut acc = [0f32; 3];
                for (w, src) in weights.iter().zip(row_f[start * 3..].chunks_exact(3)) {
                    acc[0] += w * src[0];
                    acc[1] += w * src[1];
                    acc[2] += w * src[2];
                }
                px.copy_from_slice(&acc);
            }
        }

        // Vertical pass: whole rows at a time, then into the normalised BGR planes.
        // Padding stays 0, as in the model's training.
        let mut tensor = vec![0f32; 3 * n * n];
        let mut row = vec![0f32; out_w * 3];
        for oy in 0..out_h {
            let (start, weights) = rows.get(oy);
            row.fill(0.0);
            for (k, w) in weights.iter().enumerate() {
                let src = &narrow[(start + k) * out_w * 3..(start + k + 1) * out_w * 3];
                row.iter_mut().zip(src).for_each(|(r, s)| *r += w * s);
            }
            for (plane, channel) in [2usize, 1, 0].into_iter().enumerate() {
                let dst = &mut tensor[plane * n * n + oy * n..plane * n * n + oy * n + out_w];
                let (mean, std) = (MEAN_BGR[plane], STD_BGR[plane]);
                for (d, px) in dst.iter_mut().zip(row.chunks_exact(3)) {
                    *d = (px[channel].clamp(0.0, 255.0) - mean) / std;
                }
            }
        }
        tensor
    }
}

/// Filter taps of a 1-D resize: for each output sample, its first input sample and weights.
struct Taps {
    starts: Vec<usize>,
    offsets: Vec<usize>,
    weights: Vec<f32>,
}

impl Taps {
    fn new(in_len: usize, out_len: usize) -> Self {
        let ratio = in_len as f64 / out_len as f64;
        let widen = ratio.max(1.0);
        let support = widen;
        let mut taps = Self { starts: Vec::with_capacity(out_len), offsets: vec![0], weights: Vec::new() };
        for o in 0..out_len {
            let centre = (o as f64 + 0.5) * ratio;
            let first = ((centre - support + 0.5).floor().max(0.0)) as usize;
            let end = ((centre + support + 0.5).floor() as usize).min(in_len);
            let mut ws: Vec<f64> =
                (first..end).map(|i| (1.0 - ((i as f64 - centre + 0.5) / widen).abs()).max(0.0)).collect();
            let total: f64 = ws.iter().sum();
            if total > 0.0 {
                ws.iter_mut().for_each(|w| *w /= total);
            }
            taps.starts.push(first);
            taps.weights.extend(ws.iter().map(|&w| w as f32));
            taps.offsets.push(taps.weights.len());
        }
        taps
    }

    fn get(&self, o: usize) -> (usize, &[f32]) {
        (self.starts[o], &self.weights[self.offsets[o]..self.offsets[o + 1]])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gradient(w: u32, h: u32) -> image::RgbImage {
        image::RgbImage::from_fn(w, h, |x, y| {
            image::Rgb([(x * 7 % 256) as u8, (y * 5 % 256) as u8, ((x + y) % 256) as u8])
        })
    }

    #[test]
    fn scale_one_copies_pixels_exactly_in_bgr_planes() {
        let img = gradient(64, 64);
        let lb = Letterbox::new(BoxPx::whole(64, 64), 64);
        let t = lb.tensor(&img);
        let px = img.get_pixel(13, 21).0;
        let at = |plane: usize| t[plane * 64 * 64 + 21 * 64 + 13] * STD_BGR[plane] + MEAN_BGR[plane];
        assert!((at(0) - f32::from(px[2])).abs() < 1e-3, "blue plane first");
        assert!((at(1) - f32::from(px[1])).abs() < 1e-3);
        assert!((at(2) - f32::from(px[0])).abs() < 1e-3);
    }

    #[test]
    fn a_wide_crop_fits_the_width_and_pads_below() {
        let img = image::RgbImage::from_pixel(200, 100, image::Rgb([200, 200, 200]));
        let lb = Letterbox::new(BoxPx::whole(200, 100), 64);
        assert_eq!(lb.scaled_px, (64, 32));
        let t = lb.tensor(&img);
        let grey = (200.0 - MEAN_BGR[0]) / STD_BGR[0];
        assert!((t[10 * 64 + 10] - grey).abs() < 1e-3, "inside the picture");
        assert_eq!(t[50 * 64 + 10], 0.0, "padding below the picture stays zero");
        let (x, y) = lb.to_frame(32.0, 16.0);
        assert!((x - 100.0).abs() < 1e-3 && (y - 50.0).abs() < 1e-3);
    }

    #[test]
    fn shrinking_averages_instead_of_picking_one_pixel() {
        // Alternating black and white columns: a point sampler gives black or white,
        // an area-aware filter gives grey.
        let img = image::RgbImage::from_fn(256, 64, |x, _| {
            if x % 2 == 0 { image::Rgb([0, 0, 0]) } else { image::Rgb([255, 255, 255]) }
        });
        let lb = Letterbox::new(BoxPx::whole(256, 64), 64);
        let t = lb.tensor(&img);
        let v = t[5 * 64 + 20] * STD_BGR[0] + MEAN_BGR[0];
        assert!((v - 127.5).abs() < 20.0, "grey expected, got {v}");
    }

    #[test]
    fn yuv_and_rgb_sources_agree() {
        let img = gradient(32, 32);
        let frame = YuvFrame::from_rgb8(32, 32, img.as_raw()).expect("sizes match");
        let mut row = vec![0u8; 32 * 3];
        frame.rgb_row(4, 0, &mut row);
        let direct = img.get_pixel(6, 4).0;
        for c in 0..3 {
            assert!((i32::from(row[18 + c]) - i32::from(direct[c])).abs() <= 40, "channel {c}");
        }
        let crop = BoxPx { x0: 30, y0: 30, x1: 40, y1: 40 }.clipped(32, 32);
        assert_eq!(crop, Some(BoxPx { x0: 30, y0: 30, x1: 32, y1: 32 }));
        assert_eq!(BoxPx { x0: 40, y0: 0, x1: 44, y1: 4 }.clipped(32, 32), None);
    }
}
