//! Standard MP4 files cut from recorded pictures without re-encoding: `moov` before
//! `mdat` (a browser plays while it downloads), one video track, and an edit list so that
//! a clip that must begin at the key picture before the wanted start still plays from
//! the wanted start.
//!
//! Written by hand: the `mp4` crate writes `moov` last and no edit lists, and no other
//! maintained crate writes these files from already compressed pictures. The boxes are
//! those of ISO/IEC 14496-12 (`ftyp`, `moov`, `mvhd`, `trak`, `tkhd`, `edts`/`elst`,
//! `mdia`, `mdhd`, `hdlr`, `minf`, `vmhd`, `dinf`, `stbl`, `stsd`, `stts`, `ctts`,
//! `stss`, `stsc`, `stsz`, `stco`) and 14496-15 (`avc1`/`avcC`, `hvc1`/`hvcC`).
//!
//! Times: pictures come in decode order with presentation times; decode times are the
//! sorted presentation times shifted back by the stream's reordering delay, so that
//! B-frames get their composition offsets (`ctts`) from the times alone.

use crate::codec_config::{CodecConfig, NalRole, nal_role};
use crate::h264::split_annex_b;
use crate::segment::VideoCodec;

/// The media timescale: 90 kHz, as RTP video.
pub const TIMESCALE: u32 = 90_000;
const MOVIE_TIMESCALE: u32 = 1_000;

/// One picture of a clip, in decode order; its data is already in the clip's payload.
#[derive(Clone, Copy, Debug)]
pub struct ClipSample {
    pub pts_us: i64,
    pub key: bool,
    /// Bytes of the picture in the payload (length-prefixed NAL units).
    pub size: u32,
}

/// Appends an Annex B picture to `payload` as 4-byte length-prefixed NAL units, without
/// parameter sets and delimiters; returns the bytes added.
pub fn append_sample(codec: VideoCodec, annex_b: &[u8], payload: &mut Vec<u8>) -> u32 {
    let start = payload.len();
    for nal in split_annex_b(annex_b) {
        if nal_role(codec, nal) == NalRole::Picture {
            payload.extend_from_slice(&(nal.len() as u32).to_be_bytes());
            payload.extend_from_slice(nal);
        }
    }
    (payload.len() - start) as u32
}

/// Why no clip could be written.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ClipError {
    #[error("the clip holds no pictures")]
    Empty,
    #[error("the clip must begin with a key picture")]
    NoKeyFirst,
    #[error("the clip's pictures add up to {0} bytes, more than an MP4 file without 64-bit offsets holds")]
    TooLarge(u64),
}

/// The part of the pictures' time to show: presentation times, µs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShowSpan {
    pub from_us: i64,
    pub to_us: i64,
}

/// What [`write_mp4`] made.
#[derive(Debug)]
pub struct Mp4Clip {
    pub bytes: Vec<u8>,
    /// What the edit list shows, µs: the asked span, cut to the pictures there are.
    pub shown: ShowSpan,
}

struct Boxes(Vec<u8>);

impl Boxes {
    fn new() -> Self {
        Self(Vec::with_capacity(4096))
    }
    fn u16(&mut self, v: u16) -> &mut Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    fn u32(&mut self, v: u32) -> &mut Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    fn i32(&mut self, v: i32) -> &mut Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    fn bytes(&mut self, v: &[u8]) -> &mut Self {
        self.0.extend_from_slice(v);
        self
    }
    fn zeros(&mut self, n: usize) -> &mut Self {
        self.0.resize(self.0.len() + n, 0);
        self
    }
    /// A box: size, type, then what `body` writes.
    fn boxed(&mut self, kind: &[u8; 4], body: impl FnOnce(&mut Self)) -> &mut Self {
        let at = self.0.len();
        self.u32(0).bytes(kind);
        body(self);
        let size = (self.0.len() - at) as u32;
        self.0[at..at + 4].copy_from_slice(&size.to_be_bytes());
        self
    }
    /// A full box: a box with version and flags.
    fn full(&mut self, kind: &[u8; 4], version: u8, flags: u32, body: impl FnOnce(&mut Self)) -> &mut Self {
        self.boxed(kind, |b| {
            b.u32((u32::from(version) << 24) | (flags & 0xFF_FFFF));
            body(b);
        })
    }
    fn matrix(&mut self) -> &mut Self {
        for v in [0x0001_0000, 0, 0, 0, 0x0001_0000, 0, 0, 0, 0x4000_0000u32] {
            self.u32(v);
        }
        self
    }
}

/// Run-length `(count, value)` pairs.
fn runs<T: PartialEq + Copy>(values: impl Iterator<Item = T>) -> Vec<(u32, T)> {
    let mut out: Vec<(u32, T)> = Vec::new();
    for v in values {
        match out.last_mut() {
            Some((n, last)) if *last == v => *n += 1,
            _ => out.push((1, v)),
        }
    }
    out
}

fn to_ticks(us: i64) -> i64 {
    (us as i128 * i128::from(TIMESCALE) / 1_000_000) as i64
}

/// Timing of the samples in media ticks, decode order.
struct Timing {
    /// Decode-time deltas, one per sample.
    durations: Vec<u32>,
    /// Composition offsets, one per sample (all >= 0).
    offsets: Vec<u32>,
    /// The composition time of presentation time `0` (the first presented picture).
    composition_of_first: i64,
    total: u64,
}

fn timing(samples: &[ClipSample]) -> Timing {
    let base_us = samples.iter().map(|s| s.pts_us).min().unwrap_or(0);
    let pts: Vec<i64> = samples.iter().map(|s| to_ticks(s.pts_us - base_us)).collect();
    let mut sorted = pts.clone();
    sorted.sort_unstable();
    // The reordering delay: how far a picture is decoded ahead of its presentation.
    let delay = sorted.iter().zip(&pts).map(|(s, p)| s - p).max().unwrap_or(0).max(0);
    let dts: Vec<i64> = sorted.iter().map(|s| s - sorted[0]).collect();
    let mut deltas: Vec<i64> = dts.windows(2).map(|w| w[1] - w[0]).collect();
    let typical = {
        let mut d: Vec<i64> = deltas.iter().copied().filter(|d| *d > 0).collect();
        d.sort_unstable();
        d.get(d.len() / 2).copied().unwrap_or(i64::from(TIMESCALE) / 25)
    };
    deltas.push(typical);
    let durations: Vec<u32> = deltas.iter().map(|d| (*d).clamp(0, i64::from(u32::MAX)) as u32).collect();
    let offsets: Vec<u32> =
        pts.iter().zip(&dts).map(|(p, d)| (p + delay - d).clamp(0, i64::from(u32::MAX)) as u32).collect();
    let total = durations.iter().map(|d| u64::from(*d)).sum();
    Timing { durations, offsets, composition_of_first: delay, total }
}

/// Writes a clip of `samples` (decode order, the first a key picture, their data in
/// `payload` in the same order) that shows `span`.
pub fn write_mp4(
    config: &CodecConfig,
    samples: &[ClipSample],
    payload: &[u8],
    span: ShowSpan,
) -> Result<Mp4Clip, ClipError> {
    let first = samples.first().ok_or(ClipError::Empty)?;
    if !first.key {
        return Err(ClipError::NoKeyFirst);
    }
    let payload_len = payload.len() as u64;
    if payload_len > u64::from(u32::MAX) - (64 << 20) {
        return Err(ClipError::TooLarge(payload_len));
    }
    let t = timing(samples);
    let base_us = samples.iter().map(|s| s.pts_us).min().unwrap_or(0);
    let end_us = base_us + (t.total as i64 * 1_000_000 / i64::from(TIMESCALE));
    let shown = ShowSpan { from_us: span.from_us.clamp(base_us, end_us), to_us: span.to_us.clamp(base_us, end_us) };
    let skip_ticks = to_ticks(shown.from_us - base_us);
    let shown_ms = ((shown.to_us - shown.from_us).max(0) / 1_000) as u32;
    let media_start = (t.composition_of_first + skip_ticks) as u32;
    let (entry_kind, config_kind): (&[u8; 4], &[u8; 4]) = match config.codec {
        VideoCodec::H264 => (b"avc1", b"avcC"),
        VideoCodec::H265 => (b"hvc1", b"hvcC"),
    };
    let (w, h) = (config.width_px, config.height_px);

    let mut ftyp = Boxes::new();
    ftyp.boxed(b"ftyp", |b| {
        b.bytes(b"isom").u32(0x200).bytes(b"isom").bytes(b"iso2").bytes(entry_kind).bytes(b"mp41");
    });
    // The moov's size does not depend on the chunk offset it holds, so it is written
    // twice: once to measure, once with the offset of the pictures.
    let moov_with = |chunk_offset: u32| {
        let mut m = Boxes::new();
        m.boxed(b"moov", |b| {
            b.full(b"mvhd", 0, 0, |b| {
                b.u32(0).u32(0).u32(MOVIE_TIMESCALE).u32(shown_ms).u32(0x0001_0000).u16(0x0100).zeros(10);
                b.matrix().zeros(24).u32(2);
            });
            b.boxed(b"trak", |b| {
                b.full(b"tkhd", 0, 3, |b| {
                    b.u32(0).u32(0).u32(1).u32(0).u32(shown_ms).zeros(8).u16(0).u16(0).u16(0).u16(0);
                    b.matrix().u32(w << 16).u32(h << 16);
                });
                b.boxed(b"edts", |b| {
                    b.full(b"elst", 0, 0, |b| {
                        b.u32(1).u32(shown_ms).u32(media_start).u16(1).u16(0);
                    });
                });
                b.boxed(b"mdia", |b| {
                    b.full(b"mdhd", 0, 0, |b| {
                        b.u32(0).u32(0).u32(TIMESCALE).u32(t.total as u32).u16(0x55C4).u16(0);
                    });
                    b.full(b"hdlr", 0, 0, |b| {
                        b.u32(0).bytes(b"vide").zeros(12).bytes(b"SheetSight video\0");
                    });
                    b.boxed(b"minf", |b| {
                        b.full(b"vmhd", 0, 1, |b| {
                            b.zeros(8);
                        });
                        b.boxed(b"dinf", |b| {
                            b.full(b"dref", 0, 0, |b| {
                                b.u32(1).full(b"url ", 0, 1, |_| {});
                            });
                        });
                        b.boxed(b"stbl", |b| {
                            sample_table(b, config, entry_kind, config_kind, samples, &t, chunk_offset)
                        });
                    });
                });
            });
        });
        m.0
    };
    let moov_len = moov_with(0).len();
    let mdat_header = 8;
    let chunk_offset = (ftyp.0.len() + moov_len + mdat_header) as u32;
    let moov = moov_with(chunk_offset);
    let mut bytes = Vec::with_capacity(chunk_offset as usize + payload.len());
    bytes.extend_from_slice(&ftyp.0);
    bytes.extend_from_slice(&moov);
    bytes.extend_from_slice(&((payload.len() + mdat_header) as u32).to_be_bytes());
    bytes.extend_from_slice(b"mdat");
    bytes.extend_from_slice(payload);
    Ok(Mp4Clip { bytes, shown })
}

fn sample_table(
    b: &mut Boxes,
    config: &CodecConfig,
    entry_kind: &[u8; 4],
    config_kind: &[u8; 4],
    samples: &[ClipSample],
    t: &Timing,
    chunk_offset: u32,
) {
    let n = samples.len() as u32;
    b.full(b"stsd", 0, 0, |b| {
        b.u32(1).boxed(entry_kind, |b| {
            b.zeros(6).u16(1).zeros(16);
            b.u16(config.width_px as u16).u16(config.height_px as u16);
            b.u32(0x0048_0000).u32(0x0048_0000).u32(0).u16(1);
            let mut name = [0u8; 32];
            let text = b"SheetSight";
            name[0] = text.len() as u8;
            name[1..=text.len()].copy_from_slice(text);
            b.bytes(&name).u16(0x18).u16(0xFFFF);
            b.boxed(config_kind, |b| {
                b.bytes(&config.record);
            });
        });
    });
    let stts = runs(t.durations.iter().copied());
    b.full(b"stts", 0, 0, |b| {
        b.u32(stts.len() as u32);
        for (count, delta) in &stts {
            b.u32(*count).u32(*delta);
        }
    });
    if t.offsets.iter().any(|o| *o != t.offsets[0]) || t.offsets[0] != 0 {
        let ctts = runs(t.offsets.iter().copied());
        b.full(b"ctts", 0, 0, |b| {
            b.u32(ctts.len() as u32);
            for (count, offset) in &ctts {
                b.u32(*count).i32(*offset as i32);
            }
        });
    }
    let keys: Vec<u32> = samples.iter().enumerate().filter(|(_, s)| s.key).map(|(i, _)| i as u32 + 1).collect();
    if keys.len() < samples.len() {
        b.full(b"stss", 0, 0, |b| {
            b.u32(keys.len() as u32);
            for k in &keys {
                b.u32(*k);
            }
        });
    }
    b.full(b"stsc", 0, 0, |b| {
        b.u32(1).u32(1).u32(n).u32(1);
    });
    b.full(b"stsz", 0, 0, |b| {
        b.u32(0).u32(n);
        for s in samples {
            b.u32(s.size);
        }
    });
    b.full(b"stco", 0, 0, |b| {
        b.u32(1).u32(chunk_offset);
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(pts_ms: i64, key: bool) -> ClipSample {
        ClipSample { pts_us: pts_ms * 1_000, key, size: 10 }
    }

    #[test]
    fn without_b_frames_decode_and_presentation_agree() {
        let s: Vec<_> = (0..4).map(|i| sample(1_000 + i * 40, i == 0)).collect();
        let t = timing(&s);
        assert_eq!(t.durations, vec![3_600; 4]);
        assert_eq!(t.offsets, vec![0; 4]);
        assert_eq!(t.composition_of_first, 0);
    }

    #[test]
    fn b_frames_get_composition_offsets_that_restore_presentation_order() {
        // I0 P3 B1 B2 P6 B4 B5 in decode order, 40 ms apart in presentation.
        let order = [0, 3, 1, 2, 6, 4, 5];
        let s: Vec<_> = order.iter().map(|&k| sample(k * 40, k == 0)).collect();
        let t = timing(&s);
        let mut dts = 0i64;
        let mut composition = Vec::new();
        for (d, o) in t.durations.iter().zip(&t.offsets) {
            composition.push(dts + i64::from(*o) - t.composition_of_first);
            dts += i64::from(*d);
        }
        let expected: Vec<i64> = order.iter().map(|k| k * 3_600).collect();
        assert_eq!(composition, expected);
        assert!(t.composition_of_first > 0);
    }

    #[test]
    fn a_clip_starts_with_a_key_picture_and_its_moov_comes_first() {
        let config = CodecConfig {
            codec: VideoCodec::H264,
            width_px: 64,
            height_px: 48,
            record: vec![1, 66, 0, 30, 0xFF, 0xE1, 0, 0, 1, 0, 0],
            parameter_sets: vec![],
        };
        let s: Vec<_> = (0..3).map(|i| sample(i * 40, i == 0)).collect();
        let payload = vec![0u8; 30];
        assert_eq!(
            write_mp4(&config, &s[1..], &payload, ShowSpan { from_us: 0, to_us: 1 }).err(),
            Some(ClipError::NoKeyFirst)
        );
        assert_eq!(write_mp4(&config, &[], &payload, ShowSpan { from_us: 0, to_us: 1 }).err(), Some(ClipError::Empty));
        let clip = write_mp4(&config, &s, &payload, ShowSpan { from_us: 50_000, to_us: 500_000 }).expect("clip");
        assert_eq!(&clip.bytes[4..8], b"ftyp");
        let moov_at = u32::from_be_bytes(clip.bytes[0..4].try_into().expect("4")) as usize;
        assert_eq!(&clip.bytes[moov_at + 4..moov_at + 8], b"moov");
        assert!(clip.bytes.ends_with(&payload));
        // Cut to the pictures there are: three of 40 ms end at 120 ms.
        assert_eq!(clip.shown, ShowSpan { from_us: 50_000, to_us: 120_000 });
    }
}
