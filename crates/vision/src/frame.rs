//! The frame type: planar YUV 4:2:0 (I420), full-range-agnostic, tightly packed.
//!
//! Invariants: `y.len() == width_px * height_px`, each chroma plane is
//! `chroma_width() * chroma_height()` bytes. Every source (decoder, image folder,
//! simulator) produces this type, so analyzers never convert whole frames to RGB.

/// Luma of black in video range (BT.601/709): brightness ratios are taken above it.
pub const BLACK_LUMA: f32 = 16.0;

/// One video frame in planar YUV 4:2:0.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct YuvFrame {
    width_px: u32,
    height_px: u32,
    y: Vec<u8>,
    u: Vec<u8>,
    v: Vec<u8>,
}

impl YuvFrame {
    /// A frame of one flat colour.
    pub fn filled(width_px: u32, height_px: u32, y: u8, u: u8, v: u8) -> Self {
        let (cw, ch) = chroma_size(width_px, height_px);
        Self {
            width_px,
            height_px,
            y: vec![y; width_px as usize * height_px as usize],
            u: vec![u; cw * ch],
            v: vec![v; cw * ch],
        }
    }

    /// Copies planes with row strides (as decoders hand them out) into a packed frame.
    /// Returns `None` when a plane is shorter than its strides say.
    pub fn from_strided(width_px: u32, height_px: u32, planes: [&[u8]; 3], strides: [usize; 3]) -> Option<Self> {
        let (cw, ch) = chroma_size(width_px, height_px);
        let copy = |src: &[u8], stride: usize, w: usize, h: usize| -> Option<Vec<u8>> {
            if h > 0 && (stride < w || src.len() < stride * (h - 1) + w) {
                return None;
            }
            let mut out = Vec::with_capacity(w * h);
            for row in 0..h {
                out.extend_from_slice(&src[row * stride..row * stride + w]);
            }
            Some(out)
        };
        Some(Self {
            width_px,
            height_px,
            y: copy(planes[0], strides[0], width_px as usize, height_px as usize)?,
            u: copy(planes[1], strides[1], cw, ch)?,
            v: copy(planes[2], strides[2], cw, ch)?,
        })
    }

    /// Converts packed 8-bit RGB (BT.601, limited range as H.264 cameras send it).
    pub fn from_rgb8(width_px: u32, height_px: u32, rgb: &[u8]) -> Option<Self> {
        let (w, h) = (width_px as usize, height_px as usize);
        if rgb.len() != w * h * 3 {
            return None;
        }
        let (cw, ch) = chroma_size(width_px, height_px);
        let mut frame = Self::filled(width_px, height_px, 16, 128, 128);
        for (dst, px) in frame.y.iter_mut().zip(rgb.chunks_exact(3)) {
            *dst = rgb_to_yuv(px[0], px[1], px[2]).0;
        }
        for cy in 0..ch {
            for cx in 0..cw {
                let (mut r, mut g, mut b, mut n) = (0u32, 0u32, 0u32, 0u32);
                for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                    let (x, y) = (cx * 2 + dx, cy * 2 + dy);
                    if x < w && y < h {
                        let i = (y * w + x) * 3;
                        r += u32::from(rgb[i]);
                        g += u32::from(rgb[i + 1]);
                        b += u32::from(rgb[i + 2]);
                        n += 1;
                    }
                }
                let (_, u, v) = rgb_to_yuv((r / n) as u8, (g / n) as u8, (b / n) as u8);
                frame.u[cy * cw + cx] = u;
                frame.v[cy * cw + cx] = v;
            }
        }
        Some(frame)
    }

    /// Converts to packed 8-bit RGB (for snapshots and overlays, not for analysis).
    pub fn to_rgb8(&self) -> Vec<u8> {
        let (w, h) = (self.width_px as usize, self.height_px as usize);
        let cw = self.chroma_width();
        let mut out = Vec::with_capacity(w * h * 3);
        for y in 0..h {
            for x in 0..w {
                let ci = (y / 2) * cw + x / 2;
                let (r, g, b) = yuv_to_rgb(self.y[y * w + x], self.u[ci], self.v[ci]);
                out.extend_from_slice(&[r, g, b]);
            }
        }
        out
    }

    pub fn width_px(&self) -> u32 {
        self.width_px
    }
    pub fn height_px(&self) -> u32 {
        self.height_px
    }
    pub fn chroma_width(&self) -> usize {
        chroma_size(self.width_px, self.height_px).0
    }
    pub fn chroma_height(&self) -> usize {
        chroma_size(self.width_px, self.height_px).1
    }
    pub fn y_plane(&self) -> &[u8] {
        &self.y
    }
    pub fn u_plane(&self) -> &[u8] {
        &self.u
    }
    pub fn v_plane(&self) -> &[u8] {
        &self.v
    }
    /// Mutable access to the three planes, for renderers.
    pub fn planes_mut(&mut self) -> (&mut [u8], &mut [u8], &mut [u8]) {
        (&mut self.y, &mut self.u, &mut self.v)
    }
}

/// Size of a chroma plane for a frame size (rounded up).
pub fn chroma_size(width_px: u32, height_px: u32) -> (usize, usize) {
    (width_px.div_ceil(2) as usize, height_px.div_ceil(2) as usize)
}

/// BT.601 limited-range RGB -> YUV.
pub fn rgb_to_yuv(r: u8, g: u8, b: u8) -> (u8, u8, u8) {
    let (r, g, b) = (f32::from(r), f32::from(g), f32::from(b));
    let y = 16.0 + 0.257 * r + 0.504 * g + 0.098 * b;
    let u = 128.0 - 0.148 * r - 0.291 * g + 0.439 * b;
    let v = 128.0 + 0.439 * r - 0.368 * g - 0.071 * b;
    (clamp_u8(y), clamp_u8(u), clamp_u8(v))
}

/// BT.601 limited-range YUV -> RGB.
pub fn yuv_to_rgb(y: u8, u: u8, v: u8) -> (u8, u8, u8) {
    let c = 1.164 * (f32::from(y) - 16.0);
    let d = f32::from(u) - 128.0;
    let e = f32::from(v) - 128.0;
    (clamp_u8(c + 1.596 * e), clamp_u8(c - 0.392 * d - 0.813 * e), clamp_u8(c + 2.017 * d))
}

fn clamp_u8(x: f32) -> u8 {
    x.round().clamp(0.0, 255.0) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rgb_round_trip_is_close() {
        for rgb in [(255u8, 0u8, 0u8), (0, 255, 0), (20, 40, 200), (128, 128, 128)] {
            let (y, u, v) = rgb_to_yuv(rgb.0, rgb.1, rgb.2);
            let back = yuv_to_rgb(y, u, v);
            assert!((i32::from(back.0) - i32::from(rgb.0)).abs() <= 3, "{rgb:?} -> {back:?}");
            assert!((i32::from(back.1) - i32::from(rgb.1)).abs() <= 3, "{rgb:?} -> {back:?}");
            assert!((i32::from(back.2) - i32::from(rgb.2)).abs() <= 3, "{rgb:?} -> {back:?}");
        }
    }

    #[test]
    fn from_strided_rejects_short_planes() {
        let y = vec![0u8; 10];
        assert!(YuvFrame::from_strided(4, 4, [&y, &y, &y], [4, 2, 2]).is_none());
        let y = vec![1u8; 32];
        let c = vec![2u8; 8];
        let f = YuvFrame::from_strided(4, 4, [&y, &c, &c], [8, 4, 4]).expect("fits");
        assert_eq!(f.y_plane().len(), 16);
        assert_eq!(f.u_plane().len(), 4);
    }

    #[test]
    fn odd_sizes_round_chroma_up() {
        let f = YuvFrame::filled(5, 3, 0, 0, 0);
        assert_eq!((f.chroma_width(), f.chroma_height()), (3, 2));
    }
}
