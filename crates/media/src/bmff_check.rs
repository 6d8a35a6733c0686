//! A structural check of an MP4 file's box tree before the `mp4` crate parses it.
//!
//! The `mp4` crate trusts box sizes and table counts: a damaged index can send it into
//! an endless loop (a box of size 0 inside `moov`) or an enormous allocation (a sample
//! table claiming 2^32 entries). This module walks the top-level boxes and the whole
//! `moov` tree with bounds checks and refuses such files with a message that says which
//! box is wrong and where. It allocates at most the `moov` box (capped).

use std::io::{Read, Seek, SeekFrom};

/// Largest `moov` box accepted (an hour of 30 fps video needs about 2 MB).
const MAX_MOOV_BYTES: u64 = 64 << 20;

const CONTAINERS: [&[u8; 4]; 8] = [b"moov", b"trak", b"mdia", b"minf", b"stbl", b"edts", b"dinf", b"mvex"];

/// (fourcc, bytes per entry, extra header bytes after version/flags before the count)
const TABLES: [(&[u8; 4], u64, u64); 7] = [
    (b"stts", 8, 0),
    (b"ctts", 8, 0),
    (b"stsc", 12, 0),
    (b"stco", 4, 0),
    (b"co64", 8, 0),
    (b"stss", 4, 0),
    (b"elst", 12, 0),
];

/// The first fault found in a file's boxes.
#[derive(Debug, thiserror::Error)]
pub enum BoxFault {
    #[error("cannot read the boxes")]
    Io(#[source] std::io::Error),
    /// What is wrong and at which byte.
    #[error("{0}")]
    Structure(String),
}

fn be32(b: &[u8]) -> u64 {
    u64::from(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

fn name(t: &[u8]) -> String {
    t.iter().map(|&c| if c.is_ascii_graphic() { c as char } else { '?' }).collect()
}

/// Checks the file's structure. Returns the size its top-level boxes add up to (more
/// than `file_size` when the file was cut short), or a description of the first fault.
pub fn check(file: &mut std::fs::File, file_size: u64) -> Result<u64, BoxFault> {
    let mut pos = 0u64;
    let mut moov = None;
    let mut header = [0u8; 16];
    while pos + 8 <= file_size {
        file.seek(SeekFrom::Start(pos)).map_err(BoxFault::Io)?;
        file.read_exact(&mut header[..8]).map_err(BoxFault::Io)?;
        let (mut size, kind) = (be32(&header[..4]), [header[4], header[5], header[6], header[7]]);
        if size == 1 {
            file.read_exact(&mut header[8..16]).map_err(BoxFault::Io)?;
            size = u64::from_be_bytes([
                header[8], header[9], header[10], header[11], header[12], header[13], header[14], header[15],
            ]);
        } else if size == 0 {
            size = file_size - pos;
        }
        if size < 8 {
            return Err(BoxFault::Structure(format!(
                "box `{}` at byte {pos} has an impossible size of {size} bytes",
                name(&kind)
            )));
        }
        if &kind == b"moov" {
            if pos + size > file_size {
                return Err(BoxFault::Structure(format!(
                    "the index (`moov` at byte {pos}, {size} bytes) is cut off at {file_size} bytes"
                )));
            }
            moov = Some((pos, size));
        }
        pos = pos.saturating_add(size);
    }
    let Some((start, size)) = moov else {
        return Err(BoxFault::Structure("no index (`moov` box) found: the file is cut short or not an MP4".into()));
    };
    if size > MAX_MOOV_BYTES {
        return Err(BoxFault::Structure(format!(
            "the index (`moov`) is {size} bytes, more than the {MAX_MOOV_BYTES} accepted"
        )));
    }
    let mut data = vec![0u8; size as usize];
    file.seek(SeekFrom::Start(start)).map_err(BoxFault::Io)?;
    file.read_exact(&mut data).map_err(BoxFault::Io)?;
    file.seek(SeekFrom::Start(0)).map_err(BoxFault::Io)?;
    check_children(&data, 8, data.len(), start, 0)?;
    Ok(pos)
}

fn check_children(data: &[u8], mut pos: usize, end: usize, file_offset: u64, depth: usize) -> Result<(), BoxFault> {
    if depth > 16 {
        return Err(BoxFault::Structure("boxes nested too deeply".into()));
    }
    while pos < end {
        if end - pos < 8 {
            return Err(BoxFault::Structure(format!("{} stray bytes at byte {}", end - pos, file_offset + pos as u64)));
        }
        let mut size = be32(&data[pos..]);
        let kind = &data[pos + 4..pos + 8];
        let mut header = 8usize;
        if size == 1 {
            if end - pos < 16 {
                return Err(BoxFault::Structure(format!(
                    "box `{}` at byte {} is cut off",
                    name(kind),
                    file_offset + pos as u64
                )));
            }
            size = u64::from_be_bytes(data[pos + 8..pos + 16].try_into().unwrap_or([0; 8]));
            header = 16;
        }
        let at = file_offset + pos as u64;
        if size < header as u64 || size > (end - pos) as u64 {
            return Err(BoxFault::Structure(format!(
                "box `{}` at byte {at} claims {size} bytes, its parent has {} left",
                name(kind),
                end - pos
            )));
        }
        let size = size as usize;
        if CONTAINERS.iter().any(|c| c.as_slice() == kind) {
            check_children(data, pos + header, pos + size, file_offset, depth + 1)?;
        } else if kind == b"stsz" {
            // version/flags, sample_size, count, then 4 bytes per entry if sample_size == 0
            let body = &data[pos + header..pos + size];
            if body.len() < 12 {
                return Err(BoxFault::Structure(format!("`stsz` at byte {at} is too short")));
            }
            let (sample_size, count) = (be32(&body[4..]), be32(&body[8..]));
            if sample_size == 0 && 12 + 4 * count > body.len() as u64 {
                return Err(BoxFault::Structure(format!(
                    "`stsz` at byte {at} claims {count} samples but holds {}",
                    (body.len() - 12) / 4
                )));
            }
        } else if let Some(&(_, entry, extra)) = TABLES.iter().find(|t| t.0.as_slice() == kind) {
            let body = &data[pos + header..pos + size];
            let entry = if kind == b"elst" && body.first() == Some(&1) { 20 } else { entry };
            let fixed = 8 + extra as usize;
            if body.len() < fixed {
                return Err(BoxFault::Structure(format!("`{}` at byte {at} is too short", name(kind))));
            }
            let count = be32(&body[4 + extra as usize..]);
            if fixed as u64 + entry * count > body.len() as u64 {
                return Err(BoxFault::Structure(format!(
                    "`{}` at byte {at} claims {count} entries but holds {}",
                    name(kind),
                    (body.len() - fixed) as u64 / entry
                )));
            }
        }
        pos += size;
    }
    Ok(())
}
