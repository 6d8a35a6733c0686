//! A photo's bytes to a grey picture, refused with the reason before anything large is
//! decoded: more bytes than [`MAX_PHOTO_BYTES`], more pixels than [`MAX_PHOTO_PX`] (read
//! from the header), not a PNG or JPEG, cut short (a file still being written ends
//! without its end marker), or damaged.

use image::GrayImage;

use crate::StationError;

/// Photos larger than this are refused unread.
pub const MAX_PHOTO_BYTES: u64 = 64 << 20;
/// And photos with more pixels than this undecoded (a 100 MP camera's is the largest).
pub const MAX_PHOTO_PX: u64 = 100_000_000;

/// The formats a station reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PhotoFormat {
    Jpeg,
    Png,
}

impl PhotoFormat {
    /// The format by its first bytes.
    pub fn sniff(bytes: &[u8]) -> Option<Self> {
        if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(Self::Jpeg)
        } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(Self::Png)
        } else {
            None
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Self::Jpeg => "jpg",
            Self::Png => "png",
        }
    }

    /// Whether `bytes` end as a whole file of this format does: a JPEG with its EOI
    /// marker, a PNG with its IEND chunk. A file still being written does not. `bytes`:
    /// the file, or at least its last 64 bytes.
    pub fn is_complete(self, bytes: &[u8]) -> bool {
        match self {
            // Some cameras pad after EOI: look for it near the end.
            Self::Jpeg => bytes[bytes.len().saturating_sub(64)..].windows(2).any(|w| w == [0xFF, 0xD9]),
            Self::Png => bytes.len() >= 12 && &bytes[bytes.len() - 8..bytes.len() - 4] == b"IEND",
        }
    }
}

/// Decodes `bytes` (named `what` in errors) to grey.
pub fn decode(bytes: &[u8], what: &str) -> Result<GrayImage, StationError> {
    if bytes.len() as u64 > MAX_PHOTO_BYTES {
        return Err(StationError::bad(
            what,
            format!("{} MB is more than a station takes ({} MB at most)", bytes.len() >> 20, MAX_PHOTO_BYTES >> 20),
        ));
    }
    let Some(format) = PhotoFormat::sniff(bytes) else {
        return Err(StationError::bad(what, "not a picture a station reads (JPEG or PNG)"));
    };
    if !format.is_complete(bytes) {
        return Err(StationError::bad(what, "the picture is cut short (half written, or cut off in transfer)"));
    }
    let reader = || {
        let format = match format {
            PhotoFormat::Jpeg => image::ImageFormat::Jpeg,
            PhotoFormat::Png => image::ImageFormat::Png,
        };
        image::ImageReader::with_format(std::io::Cursor::new(bytes), format)
    };
    let (w, h) = reader()
        .into_dimensions()
        .map_err(|e| StationError::bad(what, format!("the picture's header is damaged: {e}")))?;
    if w as u64 * h as u64 > MAX_PHOTO_PX {
        return Err(StationError::bad(
            what,
            format!("{w}x{h} px is more than a station takes ({} MP at most)", MAX_PHOTO_PX / 1_000_000),
        ));
    }
    let mut reader = reader();
    reader.no_limits();
    let picture = reader.decode().map_err(|e| StationError::bad(what, format!("the picture is damaged: {e}")))?;
    Ok(picture.into_luma8())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    fn png(w: u32, h: u32) -> Vec<u8> {
        let mut bytes = Vec::new();
        GrayImage::from_pixel(w, h, image::Luma([200]))
            .write_to(&mut std::io::Cursor::new(&mut bytes), image::ImageFormat::Png)
            .expect("encode");
        bytes
    }

    fn jpeg(w: u32, h: u32) -> Vec<u8> {
        let mut bytes = Vec::new();
        GrayImage::from_pixel(w, h, image::Luma([200]))
            .write_to(&mut std::io::Cursor::new(&mut bytes), image::ImageFormat::Jpeg)
            .expect("encode");
        bytes
    }

    #[test]
    fn whole_pictures_decode_and_bad_ones_are_named() {
        assert_eq!(decode(&png(40, 30), "a.png").expect("png").dimensions(), (40, 30));
        assert_eq!(decode(&jpeg(40, 30), "a.jpg").expect("jpeg").dimensions(), (40, 30));
        let e = decode(b"%PDF-1.4 not a photo", "scan.pdf").expect_err("not a picture");
        assert_eq!(e.kind(), ErrorKind::BadInput);
        assert!(e.to_string().starts_with("scan.pdf: not a picture"), "{e}");
        for whole in [png(400, 300), jpeg(400, 300)] {
            let half = &whole[..whole.len() / 2];
            let e = decode(half, "half.jpg").expect_err("half written");
            assert!(e.to_string().contains("cut short"), "{e}");
        }
    }

    #[test]
    fn a_200_mp_photo_is_refused_from_its_header() {
        // A JPEG whose frame header claims 20000 x 10000 px: never decoded.
        let mut bytes = jpeg(20, 10);
        let sof = bytes.windows(2).position(|w| w == [0xFF, 0xC0]).expect("SOF0") + 5;
        bytes[sof..sof + 2].copy_from_slice(&10_000u16.to_be_bytes());
        bytes[sof + 2..sof + 4].copy_from_slice(&20_000u16.to_be_bytes());
        let e = decode(&bytes, "huge.jpg").expect_err("too large");
        assert!(e.to_string().contains("20000x10000 px is more than"), "{e}");
        let e = decode(&vec![0xFF; (MAX_PHOTO_BYTES + 1) as usize], "big.jpg").expect_err("too many bytes");
        assert!(e.to_string().contains("MB is more than"), "{e}");
    }
}
