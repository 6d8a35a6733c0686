//! What an MP4 sample entry needs to know of an H.264 or H.265 stream, taken from the
//! parameter sets a key picture carries: the picture size and the decoder configuration
//! record (`avcC`, ISO/IEC 14496-15 5.3.3; `hvcC`, 8.3.3).
//!
//! H.264 sequence parameter sets are parsed by `h264-reader`. No maintained crate parses
//! H.265 ones, so the few fields `hvcC` needs (profile, tier, level, chroma format, bit
//! depths, size) are read here, with `h264-reader`'s unescaping and bit reader (H.265
//! escapes as H.264 does).

use crate::segment::VideoCodec;

/// Why a stream's configuration cannot be built.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("the key picture carries no {0} (a camera must send parameter sets with every key picture)")]
    Missing(&'static str),
    #[error("the sequence parameter set cannot be read: {0}")]
    BadSps(String),
}

/// The role of a NAL unit in a sample.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NalRole {
    /// A parameter set: kept in the sample entry, not in samples.
    ParameterSet,
    /// An access unit delimiter: dropped.
    Delimiter,
    Picture,
}

pub fn nal_role(codec: VideoCodec, nal: &[u8]) -> NalRole {
    let Some(&first) = nal.first() else { return NalRole::Delimiter };
    match codec {
        VideoCodec::H264 => match first & 0x1F {
            7 | 8 => NalRole::ParameterSet,
            9 => NalRole::Delimiter,
            _ => NalRole::Picture,
        },
        VideoCodec::H265 => match (first >> 1) & 0x3F {
            32..=34 => NalRole::ParameterSet,
            35 => NalRole::Delimiter,
            _ => NalRole::Picture,
        },
    }
}

/// A stream's sample entry contents.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodecConfig {
    pub codec: VideoCodec,
    pub width_px: u32,
    pub height_px: u32,
    /// The body of the `avcC` or `hvcC` box.
    pub record: Vec<u8>,
    /// The parameter sets the record holds, to tell a change of configuration.
    pub parameter_sets: Vec<Vec<u8>>,
}

/// Builds the configuration from the NAL units of a key picture.
pub fn codec_config(codec: VideoCodec, nals: &[&[u8]]) -> Result<CodecConfig, ConfigError> {
    match codec {
        VideoCodec::H264 => avc_config(nals),
        VideoCodec::H265 => hevc_config(nals),
    }
}

fn find<'a>(nals: &[&'a [u8]], wanted: impl Fn(u8) -> bool) -> Option<&'a [u8]> {
    nals.iter().copied().find(|n| n.first().is_some_and(|b| wanted(*b)))
}

fn avc_config(nals: &[&[u8]]) -> Result<CodecConfig, ConfigError> {
    let sps = find(nals, |b| b & 0x1F == 7).ok_or(ConfigError::Missing("SPS"))?;
    let pps = find(nals, |b| b & 0x1F == 8).ok_or(ConfigError::Missing("PPS"))?;
    if sps.len() < 4 {
        return Err(ConfigError::BadSps("shorter than 4 bytes".into()));
    }
    let rbsp = h264_reader::rbsp::decode_nal(sps).map_err(|e| ConfigError::BadSps(e.to_string()))?;
    let parsed = h264_reader::nal::sps::SeqParameterSet::from_bits(h264_reader::rbsp::BitReader::new(&rbsp[..]))
        .map_err(|e| ConfigError::BadSps(format!("{e:?}")))?;
    let (width_px, height_px) = parsed.pixel_dimensions().map_err(|e| ConfigError::BadSps(format!("{e:?}")))?;
    let mut record = vec![1, sps[1], sps[2], sps[3], 0xFF, 0xE1];
    push_u16_prefixed(&mut record, sps);
    record.push(1);
    push_u16_prefixed(&mut record, pps);
    // High profiles (100 and above) add chroma format and bit depths.
    if !matches!(sps[1], 66 | 77 | 88) {
        use h264_reader::nal::sps::ChromaFormat;
        let chroma = match parsed.chroma_info.chroma_format {
            ChromaFormat::Monochrome => 0,
            ChromaFormat::YUV422 => 2,
            ChromaFormat::YUV444 => 3,
            ChromaFormat::YUV420 | ChromaFormat::Invalid(_) => 1,
        };
        record.push(0xFC | (chroma & 3));
        record.push(0xF8 | (parsed.chroma_info.bit_depth_luma_minus8 & 7));
        record.push(0xF8 | (parsed.chroma_info.bit_depth_chroma_minus8 & 7));
        record.push(0);
    }
    Ok(CodecConfig {
        codec: VideoCodec::H264,
        width_px,
        height_px,
        record,
        parameter_sets: vec![sps.to_vec(), pps.to_vec()],
    })
}

fn push_u16_prefixed(out: &mut Vec<u8>, nal: &[u8]) {
    out.extend_from_slice(&(nal.len().min(usize::from(u16::MAX)) as u16).to_be_bytes());
    out.extend_from_slice(nal);
}

/// The fields of an H.265 SPS that `hvcC` and the sample entry need.
#[derive(Debug, PartialEq, Eq)]
struct HevcSps {
    /// General profile space, tier and profile, as one byte.
    profile_byte: u8,
    compatibility: [u8; 4],
    constraints: [u8; 6],
    level: u8,
    temporal_id_nesting: bool,
    max_sub_layers: u8,
    chroma_format_idc: u8,
    bit_depth_luma_minus8: u8,
    bit_depth_chroma_minus8: u8,
    width_px: u32,
    height_px: u32,
}

fn parse_hevc_sps(nal: &[u8]) -> Result<HevcSps, ConfigError> {
    use h264_reader::rbsp::{BitRead, BitReader, ByteReader};
    use std::io::Read;
    let bad = |e: h264_reader::rbsp::BitReaderError| ConfigError::BadSps(format!("{e:?}"));
    // H.265 escapes as H.264 does, after a two-byte NAL header.
    let mut rbsp = Vec::with_capacity(nal.len());
    let header = std::num::NonZeroUsize::new(2).ok_or_else(|| ConfigError::BadSps("no header".into()))?;
    ByteReader::skipping_bytes(nal, header).read_to_end(&mut rbsp).map_err(|e| ConfigError::BadSps(e.to_string()))?;
    let mut r = BitReader::new(&rbsp[..]);
    r.skip(4, "sps_video_parameter_set_id").map_err(bad)?;
    let max_sub_layers_minus1: u8 = r.read(3, "sps_max_sub_layers_minus1").map_err(bad)?;
    let temporal_id_nesting = r.read_bool("sps_temporal_id_nesting_flag").map_err(bad)?;
    // The general profile, tier and level.
    let profile_byte = r.read(8, "general_profile_space, tier, idc").map_err(bad)?;
    let mut compatibility = [0u8; 4];
    for b in &mut compatibility {
        *b = r.read(8, "general_profile_compatibility_flags").map_err(bad)?;
    }
    let mut constraints = [0u8; 6];
    for b in &mut constraints {
        *b = r.read(8, "general constraint flags").map_err(bad)?;
    }
    let level = r.read(8, "general_level_idc").map_err(bad)?;
    let mut present = Vec::new();
    for _ in 0..max_sub_layers_minus1 {
        let profile = r.read_bool("sub_layer_profile_present_flag").map_err(bad)?;
        present.push((profile, r.read_bool("sub_layer_level_present_flag").map_err(bad)?));
    }
    if max_sub_layers_minus1 > 0 {
        r.skip(2 * (8 - u32::from(max_sub_layers_minus1)), "reserved_zero_2bits").map_err(bad)?;
    }
    for (profile, level) in present {
        if profile {
            r.skip(88, "sub_layer profile").map_err(bad)?;
        }
        if level {
            r.skip(8, "sub_layer_level_idc").map_err(bad)?;
        }
    }
    r.read_ue("sps_seq_parameter_set_id").map_err(bad)?;
    let chroma_format_idc = r.read_ue("chroma_format_idc").map_err(bad)?;
    if chroma_format_idc == 3 {
        r.skip(1, "separate_colour_plane_flag").map_err(bad)?;
    }
    let mut width_px = r.read_ue("pic_width_in_luma_samples").map_err(bad)?;
    let mut height_px = r.read_ue("pic_height_in_luma_samples").map_err(bad)?;
    if r.read_bool("conformance_window_flag").map_err(bad)? {
        let (sub_w, sub_h): (u32, u32) = match chroma_format_idc {
            1 => (2, 2),
            2 => (2, 1),
            _ => (1, 1),
        };
        let mut offset = |name| r.read_ue(name).map_err(bad);
        let (left, right) = (offset("conf_win_left_offset")?, offset("conf_win_right_offset")?);
        let (top, bottom) = (offset("conf_win_top_offset")?, offset("conf_win_bottom_offset")?);
        width_px = width_px.saturating_sub(sub_w.saturating_mul(left.saturating_add(right)));
        height_px = height_px.saturating_sub(sub_h.saturating_mul(top.saturating_add(bottom)));
    }
    let bit_depth_luma_minus8 = r.read_ue("bit_depth_luma_minus8").map_err(bad)?;
    let bit_depth_chroma_minus8 = r.read_ue("bit_depth_chroma_minus8").map_err(bad)?;
    if chroma_format_idc > 3 || bit_depth_luma_minus8 > 8 || bit_depth_chroma_minus8 > 8 || width_px == 0 {
        return Err(ConfigError::BadSps("values out of range".into()));
    }
    Ok(HevcSps {
        profile_byte,
        compatibility,
        constraints,
        level,
        temporal_id_nesting,
        max_sub_layers: max_sub_layers_minus1 + 1,
        chroma_format_idc: chroma_format_idc as u8,
        bit_depth_luma_minus8: bit_depth_luma_minus8 as u8,
        bit_depth_chroma_minus8: bit_depth_chroma_minus8 as u8,
        width_px,
        height_px,
    })
}

fn hevc_config(nals: &[&[u8]]) -> Result<CodecConfig, ConfigError> {
    let kind = |b: u8| (b >> 1) & 0x3F;
    let vps = find(nals, |b| kind(b) == 32).ok_or(ConfigError::Missing("VPS"))?;
    let sps = find(nals, |b| kind(b) == 33).ok_or(ConfigError::Missing("SPS"))?;
    let pps = find(nals, |b| kind(b) == 34).ok_or(ConfigError::Missing("PPS"))?;
    let s = parse_hevc_sps(sps)?;
    let mut record = vec![1, s.profile_byte];
    record.extend_from_slice(&s.compatibility);
    record.extend_from_slice(&s.constraints);
    record.push(s.level);
    record.extend_from_slice(&[0xF0, 0x00, 0xFC, 0xFC | s.chroma_format_idc]);
    record.push(0xF8 | s.bit_depth_luma_minus8);
    record.push(0xF8 | s.bit_depth_chroma_minus8);
    record.extend_from_slice(&[0, 0]); // average frame rate: unspecified
    // Constant frame rate unknown, the sub-layers, nesting, 4-byte lengths.
    record.push(((s.max_sub_layers & 7) << 3) | (u8::from(s.temporal_id_nesting) << 2) | 3);
    record.push(3);
    for (nal_type, nal) in [(32u8, vps), (33, sps), (34, pps)] {
        record.push(0x80 | nal_type);
        record.extend_from_slice(&1u16.to_be_bytes());
        push_u16_prefixed(&mut record, nal);
    }
    Ok(CodecConfig {
        codec: VideoCodec::H265,
        width_px: s.width_px,
        height_px: s.height_px,
        record,
        parameter_sets: vec![vps.to_vec(), sps.to_vec(), pps.to_vec()],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The SPS x265 wrote for 640x360 4:2:0 (ffprobe: Main, level 63), with emulation
    /// prevention bytes and a conformance window that crops 368 to 360 rows.
    const X265_SPS_640X360: &[u8] = &[
        0x42, 0x01, 0x01, 0x01, 0x60, 0x00, 0x00, 0x03, 0x00, 0x90, 0x00, 0x00, 0x03, 0x00, 0x00, 0x03, 0x00, 0x3F,
        0xA0, 0x05, 0x02, 0x01, 0x69, 0x65, 0x95, 0x9A, 0x49, 0x32, 0xBC, 0x05, 0xA0, 0x20, 0x00, 0x00, 0x03, 0x00,
        0x20, 0x00, 0x00, 0x03, 0x03, 0x21,
    ];

    #[test]
    fn an_h265_sps_gives_what_hvcc_needs() {
        let sps = parse_hevc_sps(X265_SPS_640X360).expect("a valid SPS");
        assert_eq!(
            sps,
            HevcSps {
                profile_byte: 0x01,
                compatibility: [0x60, 0, 0, 0],
                constraints: [0x90, 0, 0, 0, 0, 0],
                level: 63,
                temporal_id_nesting: true,
                max_sub_layers: 1,
                chroma_format_idc: 1,
                bit_depth_luma_minus8: 0,
                bit_depth_chroma_minus8: 0,
                width_px: 640,
                height_px: 360,
            }
        );
        assert!(matches!(parse_hevc_sps(&X265_SPS_640X360[..20]), Err(ConfigError::BadSps(_))), "cut short");
    }

    #[test]
    fn a_key_picture_without_parameter_sets_is_refused_with_what_is_missing() {
        let idr: &[u8] = &[0x65, 0x88, 0x84];
        assert_eq!(codec_config(VideoCodec::H264, &[idr]), Err(ConfigError::Missing("SPS")));
        let hevc_idr: &[u8] = &[0x26, 0x01, 0xAF];
        assert_eq!(codec_config(VideoCodec::H265, &[hevc_idr]), Err(ConfigError::Missing("VPS")));
    }

    #[test]
    fn roles_of_nal_units() {
        assert_eq!(nal_role(VideoCodec::H264, &[0x67]), NalRole::ParameterSet);
        assert_eq!(nal_role(VideoCodec::H264, &[0x09]), NalRole::Delimiter);
        assert_eq!(nal_role(VideoCodec::H264, &[0x65]), NalRole::Picture);
        assert_eq!(nal_role(VideoCodec::H265, &[0x42, 0x01]), NalRole::ParameterSet);
        assert_eq!(nal_role(VideoCodec::H265, &[0x46, 0x01]), NalRole::Delimiter);
        assert_eq!(nal_role(VideoCodec::H265, &[0x26, 0x01]), NalRole::Picture);
    }
}
