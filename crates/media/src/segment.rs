//! Recording segment files: a camera's compressed pictures exactly as received, one after
//! another, each with its presentation time, so that recording needs no decoding and a
//! file alone says what it holds (the database index can always be rebuilt from it).
//!
//! Layout (little endian): a 16-byte header, `SSVIDEO1`, the codec (1 = H.264,
//! 2 = H.265) and seven zero bytes; then one record per picture: the marker `F5 5A`, a
//! flags byte (bit 0: key picture), the data length (u32), the presentation time in µs
//! since 1970 (i64), the CRC-32 of the data (u32), then the data (Annex B, as received).
//!
//! Invariants: a segment starts with a key picture; records are appended only, so after
//! a crash a file is whole up to its last complete record ([`scan`] finds it; a torn
//! record at the end is a crash, a bad record in the middle is damage, reported either way).

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::MediaError;

const FILE_MAGIC: &[u8; 8] = b"SSVIDEO1";
const FILE_HEADER_LEN: u64 = 16;
const RECORD_MARKER: [u8; 2] = [0xF5, 0x5A];
/// Marker, flags, length, time, CRC.
pub const RECORD_HEADER_LEN: u64 = 2 + 1 + 4 + 8 + 4;
/// No camera sends a picture this large; a length beyond it is damage.
const MAX_PICTURE_BYTES: u32 = 32 << 20;

sheetsight_base::named_enum! {
    /// The compressed video formats that are recorded as received.
    pub enum VideoCodec("video codec") {
        H264 = "h264",
        H265 = "h265",
    }
}

impl VideoCodec {
    fn code(self) -> u8 {
        match self {
            Self::H264 => 1,
            Self::H265 => 2,
        }
    }

    fn from_code(code: u8) -> Option<Self> {
        match code {
            1 => Some(Self::H264),
            2 => Some(Self::H265),
            _ => None,
        }
    }
}

/// Appends pictures to a new segment file.
pub struct SegmentWriter {
    path: PathBuf,
    file: BufWriter<File>,
    bytes: u64,
    frames: u64,
    first_pts_us: i64,
    last_pts_us: i64,
}

impl SegmentWriter {
    /// Creates `path` (which must not exist) for `codec`.
    pub fn create(path: &Path, codec: VideoCodec) -> Result<Self, std::io::Error> {
        let file = std::fs::OpenOptions::new().write(true).create_new(true).open(path)?;
        let mut file = BufWriter::with_capacity(256 << 10, file);
        let mut header = [0u8; FILE_HEADER_LEN as usize];
        header[..8].copy_from_slice(FILE_MAGIC);
        header[8] = codec.code();
        file.write_all(&header)?;
        Ok(Self {
            path: path.to_path_buf(),
            file,
            bytes: FILE_HEADER_LEN,
            frames: 0,
            first_pts_us: i64::MAX,
            last_pts_us: i64::MIN,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one picture (kept in the buffer until [`flush`](Self::flush)).
    pub fn append(&mut self, pts_us: i64, key: bool, annex_b: &[u8]) -> Result<(), std::io::Error> {
        let len = u32::try_from(annex_b.len())
            .ok()
            .filter(|l| *l <= MAX_PICTURE_BYTES)
            .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "picture larger than 32 MiB"))?;
        let mut header = [0u8; RECORD_HEADER_LEN as usize];
        header[..2].copy_from_slice(&RECORD_MARKER);
        header[2] = u8::from(key);
        header[3..7].copy_from_slice(&len.to_le_bytes());
        header[7..15].copy_from_slice(&pts_us.to_le_bytes());
        header[15..19].copy_from_slice(&crc32fast::hash(annex_b).to_le_bytes());
        self.file.write_all(&header)?;
        self.file.write_all(annex_b)?;
        self.bytes += RECORD_HEADER_LEN + u64::from(len);
        self.frames += 1;
        self.first_pts_us = self.first_pts_us.min(pts_us);
        self.last_pts_us = self.last_pts_us.max(pts_us);
        Ok(())
    }

    /// Hands what is buffered to the operating system (it survives the process's death).
    pub fn flush(&mut self) -> Result<(), std::io::Error> {
        self.file.flush()
    }

    /// Bytes written so far (header included).
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// The earliest and latest presentation times written, µs (None before the first picture).
    pub fn span_us(&self) -> Option<(i64, i64)> {
        (self.frames > 0).then_some((self.first_pts_us, self.last_pts_us))
    }

    /// Flushes and syncs the file to disk.
    pub fn finish(mut self) -> Result<(), std::io::Error> {
        self.file.flush()?;
        self.file.get_ref().sync_data()
    }
}

/// Where one picture's data lies in a segment file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameEntry {
    /// Byte offset of the data (after the record header).
    pub offset: u64,
    pub len: u32,
    pub pts_us: i64,
    pub key: bool,
}

/// Why the records of a segment end before the file does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScanFault {
    /// The last record is incomplete: the writer died while writing it.
    Torn { at: u64, bytes: u64 },
    /// Bytes that are not a record, or a picture whose checksum fails.
    Damaged { at: u64, reason: &'static str },
}

impl std::fmt::Display for ScanFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Torn { at, bytes } => write!(f, "a torn record at byte {at} ({bytes} bytes)"),
            Self::Damaged { at, reason } => write!(f, "damage at byte {at}: {reason}"),
        }
    }
}

/// What [`scan`] found in a segment file.
#[derive(Debug)]
pub struct SegmentScan {
    pub codec: VideoCodec,
    /// The whole records, in file (decode) order.
    pub frames: Vec<FrameEntry>,
    /// Bytes up to the end of the last whole record.
    pub valid_len: u64,
    pub file_len: u64,
    /// Why the records end before the file does.
    pub fault: Option<ScanFault>,
}

impl SegmentScan {
    /// The earliest and latest presentation times, µs.
    pub fn span_us(&self) -> Option<(i64, i64)> {
        let first = self.frames.iter().map(|f| f.pts_us).min()?;
        let last = self.frames.iter().map(|f| f.pts_us).max()?;
        Some((first, last))
    }
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> MediaError + '_ {
    move |source| MediaError::Io { path: path.to_path_buf(), source }
}

fn not_a_segment(path: &Path, reason: &str) -> MediaError {
    MediaError::Container { path: path.to_path_buf(), reason: format!("not a recording segment: {reason}") }
}

/// Reads the record headers of a segment file (the data is checked only when
/// `check_data`, which reads the whole file).
pub fn scan(path: &Path, check_data: bool) -> Result<SegmentScan, MediaError> {
    let file = File::open(path).map_err(io_error(path))?;
    let file_len = file.metadata().map_err(io_error(path))?.len();
    let mut reader = BufReader::with_capacity(64 << 10, file);
    let mut header = [0u8; FILE_HEADER_LEN as usize];
    reader.read_exact(&mut header).map_err(|_| not_a_segment(path, "shorter than its header"))?;
    if &header[..8] != FILE_MAGIC {
        return Err(not_a_segment(path, "wrong magic"));
    }
    let codec = VideoCodec::from_code(header[8]).ok_or_else(|| not_a_segment(path, "unknown codec"))?;
    let mut frames = Vec::new();
    let mut at = FILE_HEADER_LEN;
    let mut data = Vec::new();
    let fault = loop {
        if at == file_len {
            break None;
        }
        if file_len - at < RECORD_HEADER_LEN {
            break Some(ScanFault::Torn { at, bytes: file_len - at });
        }
        let mut rec = [0u8; RECORD_HEADER_LEN as usize];
        reader.read_exact(&mut rec).map_err(io_error(path))?;
        let len = u32::from_le_bytes([rec[3], rec[4], rec[5], rec[6]]);
        if rec[..2] != RECORD_MARKER || rec[2] > 1 || len > MAX_PICTURE_BYTES {
            break Some(ScanFault::Damaged { at, reason: "not a record header" });
        }
        let data_at = at + RECORD_HEADER_LEN;
        if file_len - data_at < u64::from(len) {
            break Some(ScanFault::Torn { at, bytes: file_len - at });
        }
        let pts_us = i64::from_le_bytes(rec[7..15].try_into().unwrap_or_default());
        if check_data {
            data.resize(len as usize, 0);
            reader.read_exact(&mut data).map_err(io_error(path))?;
            let crc = u32::from_le_bytes([rec[15], rec[16], rec[17], rec[18]]);
            if crc32fast::hash(&data) != crc {
                break Some(ScanFault::Damaged { at, reason: "the picture's checksum does not match" });
            }
        } else {
            reader.seek_relative(i64::from(len)).map_err(io_error(path))?;
        }
        frames.push(FrameEntry { offset: data_at, len, pts_us, key: rec[2] == 1 });
        at = data_at + u64::from(len);
    };
    Ok(SegmentScan { codec, frames, valid_len: at, file_len, fault })
}

/// Reads pictures of a segment file by their entries, checking each one's CRC.
pub struct SegmentReader {
    path: PathBuf,
    file: File,
}

impl SegmentReader {
    pub fn open(path: &Path) -> Result<Self, MediaError> {
        Ok(Self { path: path.to_path_buf(), file: File::open(path).map_err(io_error(path))? })
    }

    /// The picture of `entry`, appended to `out`.
    pub fn read_into(&mut self, entry: &FrameEntry, out: &mut Vec<u8>) -> Result<(), MediaError> {
        let path = &self.path;
        let start = out.len();
        out.resize(start + entry.len as usize, 0);
        let header_at = entry.offset - RECORD_HEADER_LEN;
        self.file.seek(SeekFrom::Start(header_at)).map_err(io_error(path))?;
        let mut rec = [0u8; RECORD_HEADER_LEN as usize];
        self.file.read_exact(&mut rec).map_err(io_error(path))?;
        self.file.read_exact(&mut out[start..]).map_err(io_error(path))?;
        let crc = u32::from_le_bytes([rec[15], rec[16], rec[17], rec[18]]);
        if crc32fast::hash(&out[start..]) != crc {
            out.truncate(start);
            return Err(not_a_segment(path, &format!("the picture at byte {header_at} is damaged (checksum)")));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, pictures: &[(i64, bool, &[u8])]) {
        let mut w = SegmentWriter::create(path, VideoCodec::H264).expect("create");
        for (t, key, data) in pictures {
            w.append(*t, *key, data).expect("append");
        }
        w.finish().expect("finish");
    }

    #[test]
    fn what_is_written_is_scanned_and_read_back() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("a.ssv");
        write(&path, &[(1_000, true, b"\0\0\0\x01key"), (41_000, false, b"\0\0\0\x01delta")]);
        let scan = scan(&path, true).expect("scan");
        assert_eq!(scan.codec, VideoCodec::H264);
        assert_eq!(scan.fault, None);
        assert_eq!(scan.valid_len, scan.file_len);
        assert_eq!(scan.span_us(), Some((1_000, 41_000)));
        assert_eq!(scan.frames.iter().map(|f| f.key).collect::<Vec<_>>(), vec![true, false]);
        let mut reader = SegmentReader::open(&path).expect("open");
        let mut out = Vec::new();
        reader.read_into(&scan.frames[1], &mut out).expect("read");
        assert_eq!(out, b"\0\0\0\x01delta");
    }

    #[test]
    fn a_torn_last_record_is_found_and_the_rest_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("a.ssv");
        write(&path, &[(0, true, &[7u8; 100]), (40_000, false, &[8u8; 100])]);
        let len = std::fs::metadata(&path).expect("meta").len();
        std::fs::OpenOptions::new().write(true).open(&path).expect("open").set_len(len - 30).expect("cut");
        let scan = scan(&path, false).expect("scan");
        assert_eq!(scan.frames.len(), 1);
        assert!(matches!(scan.fault, Some(ScanFault::Torn { .. })), "{:?}", scan.fault);
        assert_eq!(scan.valid_len, FILE_HEADER_LEN + RECORD_HEADER_LEN + 100);
    }

    #[test]
    fn damaged_data_fails_its_checksum_and_a_damaged_header_ends_the_scan() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("a.ssv");
        write(&path, &[(0, true, &[7u8; 100]), (40_000, false, &[8u8; 100]), (80_000, false, &[9u8; 100])]);
        let mut bytes = std::fs::read(&path).expect("read");
        let second = (FILE_HEADER_LEN + RECORD_HEADER_LEN + 100) as usize;
        bytes[second + RECORD_HEADER_LEN as usize + 5] ^= 0xFF;
        std::fs::write(&path, &bytes).expect("write");
        let checked = scan(&path, true).expect("scan");
        assert_eq!(checked.frames.len(), 1);
        assert!(checked.fault.as_ref().is_some_and(|f| f.to_string().contains("checksum")), "{:?}", checked.fault);
        let quick = scan(&path, false).expect("scan");
        assert_eq!(quick.frames.len(), 3, "headers alone look whole");
        let mut reader = SegmentReader::open(&path).expect("open");
        let err = reader.read_into(&quick.frames[1], &mut Vec::new()).expect_err("damaged");
        assert!(err.to_string().contains("damaged"), "{err}");
        bytes[second] = 0;
        std::fs::write(&path, &bytes).expect("write");
        let scan = scan(&path, false).expect("scan");
        assert_eq!(scan.frames.len(), 1);
        assert!(
            matches!(scan.fault, Some(ScanFault::Damaged { reason: "not a record header", .. })),
            "{:?}",
            scan.fault
        );
    }

    #[test]
    fn a_file_that_is_not_a_segment_is_refused_by_name() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("x.ssv");
        std::fs::write(&path, b"hello").expect("write");
        let err = scan(&path, false).expect_err("refused");
        assert!(err.to_string().contains("x.ssv") && err.to_string().contains("not a recording segment"), "{err}");
    }
}
