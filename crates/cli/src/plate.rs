//! `sheetsight plate`: the calibration plate's drawing, written to a DXF file.

use std::path::Path;

use anyhow::Context;
use sheetsight_drawing::plate::PlateSpec;

pub fn write(spec: &PlateSpec, out: &Path) -> anyhow::Result<()> {
    let (bytes, layout) = spec.to_dxf()?;
    // Written beside and renamed, so that a half-written file never stands at `out`.
    let partial = out.with_extension("dxf.partial");
    std::fs::write(&partial, &bytes).with_context(|| format!("cannot write {}", partial.display()))?;
    std::fs::rename(&partial, out).with_context(|| format!("cannot write {}", out.display()))?;
    let marker = layout.holes.last().copied().unwrap_or_default();
    println!(
        "{}: {} x {} mm plate, {} x {} holes of {} mm at a pitch of {} mm, and a marker hole of {} mm at ({}, {}) mm",
        out.display(),
        spec.width_mm,
        spec.height_mm,
        layout.columns,
        layout.rows,
        spec.hole_mm,
        spec.pitch_mm,
        marker.2,
        marker.0,
        marker.1
    );
    Ok(())
}
