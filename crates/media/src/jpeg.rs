//! Frames as JPEG pictures: the live views, snapshots and the pictures kept for events.

use sheetsight_vision::YuvFrame;

/// Quality of the pictures SheetSight makes (sharp enough to read a stack light).
pub const JPEG_QUALITY: u8 = 75;

/// `frame` as a JPEG picture.
pub fn encode_jpeg(frame: &YuvFrame) -> Result<Vec<u8>, image::ImageError> {
    let rgb = frame.to_rgb8();
    let mut out = Vec::with_capacity(rgb.len() / 10);
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY).encode(
        &rgb,
        frame.width_px(),
        frame.height_px(),
        image::ExtendedColorType::Rgb8,
    )?;
    Ok(out)
}
