//! H.264 decoding and encoding with OpenH264 (bundled C source, no system library).
//!
//! Decoding B-frame streams: the `openh264` crate's default flushes the decoder after
//! every call that returns no picture. For a stream with B-frames that happens while the
//! reorder buffer fills, and OpenH264's `FlushFrame` on its single-threaded path never
//! returns those pictures to its pool of `num_ref_frames + 2`: after a few frames the
//! pool is exhausted and most pictures are lost (17 of 200 in a High-profile test). We
//! therefore decode with `Flush::NoFlush`, let OpenH264 reorder, drain the buffer once at
//! the end of the stream, and give every output picture the smallest presentation time
//! still pending (pictures come out in presentation order).

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use openh264::OpenH264API;
use openh264::decoder::{Decoder, DecoderConfig, Flush};
use openh264::encoder::{
    Encoder, EncoderConfig, FrameRate, FrameType, IntraFramePeriod, QpRange, RateControlMode, UsageType,
};
use openh264::formats::{YUVSlices, YUVSource};
use sheetsight_vision::YuvFrame;

use crate::error::CodecError;

/// A frame with its presentation time in the stream's own timescale.
pub type PtsFrame = (i64, YuvFrame);

/// An H.264 decoder that returns frames in presentation order with their times.
pub struct H264Decoder {
    decoder: Decoder,
    pending_pts: BinaryHeap<Reverse<i64>>,
}

fn to_frame(yuv: &impl YUVSource) -> Option<YuvFrame> {
    let (w, h) = yuv.dimensions();
    let (sy, su, sv) = yuv.strides();
    YuvFrame::from_strided(u32::try_from(w).ok()?, u32::try_from(h).ok()?, [yuv.y(), yuv.u(), yuv.v()], [sy, su, sv])
}

impl H264Decoder {
    pub fn new() -> Result<Self, CodecError> {
        let config = DecoderConfig::new().flush_after_decode(Flush::NoFlush);
        let decoder = Decoder::with_api_config(OpenH264API::from_source(), config)
            .map_err(CodecError::openh264("start a decoder"))?;
        Ok(Self { decoder, pending_pts: BinaryHeap::new() })
    }

    /// Decodes one access unit in Annex B form (parameter sets may be included).
    /// Returns the frames that became ready, in presentation order.
    pub fn decode(&mut self, annex_b: &[u8], pts: i64) -> Result<Vec<PtsFrame>, CodecError> {
        match self.decoder.decode(annex_b) {
            Ok(picture) => {
                self.pending_pts.push(Reverse(pts));
                let mut out = Vec::new();
                if let Some(yuv) = picture
                    && let Some(frame) = to_frame(&yuv)
                    && let Some(Reverse(t)) = self.pending_pts.pop()
                {
                    out.push((t, frame));
                }
                Ok(out)
            }
            Err(e) => Err(CodecError::openh264("decode an access unit")(e)),
        }
    }

    /// Feeds parameter sets (SPS/PPS) only; they produce no picture.
    pub fn configure(&mut self, annex_b: &[u8]) -> Result<(), CodecError> {
        self.decoder.decode(annex_b).map(|_| ()).map_err(CodecError::openh264("take the parameter sets"))
    }

    /// Drains the pictures still held for reordering at the end of the stream.
    pub fn flush(&mut self) -> Vec<PtsFrame> {
        let mut out = Vec::new();
        match self.decoder.flush_remaining() {
            Ok(pictures) => {
                for yuv in pictures {
                    if let (Some(frame), Some(Reverse(t))) = (to_frame(&yuv), self.pending_pts.pop()) {
                        out.push((t, frame));
                    }
                }
            }
            Err(e) => tracing::warn!("H.264 decoder flush failed: {e}"),
        }
        self.pending_pts.clear();
        out
    }
}

/// Splits an Annex B byte stream into NAL units (without start codes).
pub fn split_annex_b(data: &[u8]) -> Vec<&[u8]> {
    let mut starts = Vec::new();
    let mut i = 0;
    while i + 3 <= data.len() {
        if data[i] == 0 && data[i + 1] == 0 && data[i + 2] == 1 {
            starts.push(i + 3);
            i += 3;
        } else {
            i += 1;
        }
    }
    let mut nals = Vec::with_capacity(starts.len());
    for (k, &s) in starts.iter().enumerate() {
        let mut end = starts.get(k + 1).map_or(data.len(), |&n| n - 3);
        while end > s && data[end - 1] == 0 {
            end -= 1;
        }
        if end > s {
            nals.push(&data[s..end]);
        }
    }
    nals
}

/// One encoded picture.
#[derive(Clone, Debug)]
pub struct EncodedPicture {
    /// NAL units without start codes, parameter sets included when the encoder sent them.
    pub nal_units: Vec<Vec<u8>>,
    pub is_idr: bool,
}

impl EncodedPicture {
    /// The picture as an Annex B byte stream (start codes), as the decoder takes it.
    pub fn to_annex_b(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.nal_units.iter().map(|n| n.len() + 4).sum());
        for nal in &self.nal_units {
            out.extend_from_slice(&[0, 0, 0, 1]);
            out.extend_from_slice(nal);
        }
        out
    }
}

/// Settings of the H.264 encoder.
#[derive(Clone, Copy, Debug)]
pub struct EncoderSettings {
    pub fps: f64,
    /// Frames between two IDR pictures.
    pub idr_interval_frames: u32,
    /// Quantiser, 0 (best) ..= 51; IP cameras use about 26-32.
    pub qp: u8,
}

/// An H.264 (Constrained Baseline) encoder, as cheap IP cameras produce.
pub struct H264Encoder {
    encoder: Encoder,
    width_px: u32,
    height_px: u32,
}

impl H264Encoder {
    pub fn new(width_px: u32, height_px: u32, settings: EncoderSettings) -> Result<Self, CodecError> {
        if settings.qp > 51 {
            return Err(CodecError::Quantiser { qp: settings.qp });
        }
        if !width_px.is_multiple_of(2) || !height_px.is_multiple_of(2) || width_px < 16 || height_px < 16 {
            return Err(CodecError::FrameSize { width_px, height_px });
        }
        let config = EncoderConfig::new()
            .usage_type(UsageType::CameraVideoRealTime)
            // Constant quantiser like a cheap camera's fixed-quality mode (rate control
            // with frame skipping off makes OpenH264 warn on every start).
            .rate_control_mode(RateControlMode::Off)
            .qp(QpRange::new(settings.qp, settings.qp))
            .max_frame_rate(FrameRate::from_hz(settings.fps as f32))
            .skip_frames(false)
            .intra_frame_period(IntraFramePeriod::from_num_frames(settings.idr_interval_frames));
        let encoder = Encoder::with_api_config(OpenH264API::from_source(), config)
            .map_err(CodecError::openh264("start an encoder"))?;
        Ok(Self { encoder, width_px, height_px })
    }

    pub fn encode(&mut self, frame: &YuvFrame) -> Result<EncodedPicture, CodecError> {
        if frame.width_px() != self.width_px || frame.height_px() != self.height_px {
            return Err(CodecError::FrameMismatch {
                width_px: frame.width_px(),
                height_px: frame.height_px(),
                encoder_width_px: self.width_px,
                encoder_height_px: self.height_px,
            });
        }
        let (w, h) = (self.width_px as usize, self.height_px as usize);
        let slices = YUVSlices::new((frame.y_plane(), frame.u_plane(), frame.v_plane()), (w, h), (w, w / 2, w / 2));
        let stream = self.encoder.encode(&slices).map_err(CodecError::openh264("encode a frame"))?;
        let is_idr = matches!(stream.frame_type(), FrameType::IDR);
        let bytes = stream.to_vec();
        let nal_units = split_annex_b(&bytes).into_iter().map(<[u8]>::to_vec).collect();
        Ok(EncodedPicture { nal_units, is_idr })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_three_and_four_byte_start_codes() {
        let data = [0, 0, 0, 1, 0x67, 1, 2, 0, 0, 1, 0x68, 3, 0, 0, 0, 1, 0x65, 4, 5, 0];
        let nals = split_annex_b(&data);
        assert_eq!(nals, vec![&[0x67, 1, 2][..], &[0x68, 3][..], &[0x65, 4, 5][..]]);
    }

    #[test]
    fn encode_then_decode_round_trips() {
        let settings = EncoderSettings { fps: 10.0, idr_interval_frames: 20, qp: 26 };
        let mut enc = H264Encoder::new(64, 48, settings).expect("encoder");
        let mut dec = H264Decoder::new().expect("decoder");
        let mut frames = Vec::new();
        for i in 0..30u8 {
            let f = YuvFrame::filled(64, 48, 60 + i * 4, 120, 140);
            let pic = enc.encode(&f).expect("encode");
            frames.extend(dec.decode(&pic.to_annex_b(), i64::from(i)).expect("decode"));
        }
        frames.extend(dec.flush());
        assert_eq!(frames.len(), 30);
        for (k, (pts, f)) in frames.iter().enumerate() {
            assert_eq!(*pts, k as i64);
            let expected = 60.0 + k as f64 * 4.0;
            let got = f64::from(f.y_plane()[100]);
            assert!((got - expected).abs() < 6.0, "frame {k}: {got} vs {expected}");
        }
    }

    #[test]
    fn odd_sizes_are_refused() {
        let settings = EncoderSettings { fps: 10.0, idr_interval_frames: 10, qp: 26 };
        assert!(H264Encoder::new(63, 48, settings).is_err());
    }
}
