//! The calibration plate a shop cuts on its own laser: a rectangle with a grid of round
//! holes, plus one smaller marker hole in the middle of the bottom-left grid cell so
//! that a photo of the plate shows which way round (and which side up) it lies.
//!
//! Hole centres: `margin_mm` in from the edges, then every `pitch_mm`; the grid is
//! centred when the size is not a whole number of pitches.

use dxf::entities::{Circle, Entity, EntityType, LwPolyline};
use dxf::{Drawing, LwPolylineVertex, Point};

#[derive(Clone, Debug, PartialEq)]
pub struct PlateSpec {
    pub width_mm: f64,
    pub height_mm: f64,
    pub pitch_mm: f64,
    pub hole_mm: f64,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum PlateError {
    #[error("{0}")]
    Invalid(String),
    #[error("cannot write the DXF: {0}")]
    Write(String),
}

/// The holes of a plate: centres and diameters in millimetres, the marker last.
#[derive(Clone, Debug, PartialEq)]
pub struct PlateLayout {
    pub holes: Vec<(f64, f64, f64)>,
    pub columns: usize,
    pub rows: usize,
}

impl PlateSpec {
    /// The hole grid, or why this plate cannot be cut.
    pub fn layout(&self) -> Result<PlateLayout, PlateError> {
        let bad = |m: String| Err(PlateError::Invalid(m));
        for (name, v) in
            [("width", self.width_mm), ("height", self.height_mm), ("pitch", self.pitch_mm), ("hole", self.hole_mm)]
        {
            if !(v.is_finite() && v > 0.0) {
                return bad(format!("--{name}-mm must be a positive number of millimetres, not {v}"));
            }
        }
        if self.hole_mm > self.pitch_mm / 2.0 {
            return bad(format!(
                "holes of {} mm are too large for a pitch of {} mm: at most half the pitch ({} mm), so that the web between them holds",
                self.hole_mm,
                self.pitch_mm,
                self.pitch_mm / 2.0
            ));
        }
        let columns = ((self.width_mm - self.pitch_mm) / self.pitch_mm).floor() as i64 + 1;
        let rows = ((self.height_mm - self.pitch_mm) / self.pitch_mm).floor() as i64 + 1;
        if columns < 3 || rows < 3 {
            return bad(format!(
                "a {} x {} mm plate holds a grid of {} x {} holes at a pitch of {} mm: calibration needs at least 3 x 3",
                self.width_mm,
                self.height_mm,
                columns.max(0),
                rows.max(0),
                self.pitch_mm
            ));
        }
        if columns * rows > 100_000 {
            return bad(format!("{columns} x {rows} holes are more than a plate needs (at most 100 000)"));
        }
        let (columns, rows) = (columns as usize, rows as usize);
        let x0 = (self.width_mm - (columns - 1) as f64 * self.pitch_mm) / 2.0;
        let y0 = (self.height_mm - (rows - 1) as f64 * self.pitch_mm) / 2.0;
        let mut holes = Vec::with_capacity(columns * rows + 1);
        for row in 0..rows {
            for column in 0..columns {
                holes.push((x0 + column as f64 * self.pitch_mm, y0 + row as f64 * self.pitch_mm, self.hole_mm));
            }
        }
        holes.push((x0 + self.pitch_mm / 2.0, y0 + self.pitch_mm / 2.0, self.hole_mm / 2.0));
        Ok(PlateLayout { holes, columns, rows })
    }

    /// The plate as a DXF drawing (R2000, millimetres; the outline on OUTER_PROFILES and
    /// the holes on INTERIOR_PROFILES, as a flat pattern).
    pub fn to_dxf(&self) -> Result<(Vec<u8>, PlateLayout), PlateError> {
        let layout = self.layout()?;
        let mut d = Drawing::new();
        d.header.version = dxf::enums::AcadVersion::R2000;
        d.header.default_drawing_units = dxf::enums::Units::Millimeters;
        let outline = LwPolyline {
            flags: 1,
            vertices: [(0.0, 0.0), (self.width_mm, 0.0), (self.width_mm, self.height_mm), (0.0, self.height_mm)]
                .into_iter()
                .map(|(x, y)| LwPolylineVertex { x, y, ..Default::default() })
                .collect(),
            ..Default::default()
        };
        let mut e = Entity::new(EntityType::LwPolyline(outline));
        e.common.layer = "OUTER_PROFILES".into();
        d.add_entity(e);
        for &(x, y, diameter) in &layout.holes {
            let mut e = Entity::new(EntityType::Circle(Circle::new(Point::new(x, y, 0.0), diameter / 2.0)));
            e.common.layer = "INTERIOR_PROFILES".into();
            d.add_entity(e);
        }
        let mut out = Vec::new();
        d.save(&mut out).map_err(|e| PlateError::Write(e.to_string()))?;
        Ok((out, layout))
    }
}
