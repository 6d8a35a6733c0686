//! One part out of a drawing's bytes, as `inspect` and the parts library read it: the
//! units, the layers, the gap tolerance and which part (largest first) of a drawing
//! holding several. What the reader assumed or could not close comes back as warnings
//! for the caller to show.

use crate::{DrawingError, LengthUnit, Part, ReadOptions, read_dxf, topology};

/// How to read a drawing into one part.
#[derive(Clone, Debug, PartialEq)]
pub struct PickOptions {
    /// The drawing's unit when it does not say.
    pub units: Option<LengthUnit>,
    /// Read only these layers.
    pub layers: Option<Vec<String>>,
    pub exclude_layers: Vec<String>,
    /// Ends of curves closer than this are joined.
    pub gap_tolerance_mm: f64,
    /// Which part, 1 for the largest; `None` when the drawing must hold one.
    pub part: Option<usize>,
}

impl Default for PickOptions {
    fn default() -> Self {
        Self { units: None, layers: None, exclude_layers: Vec::new(), gap_tolerance_mm: 0.01, part: None }
    }
}

/// A part with what the reader had to say about its drawing.
pub struct Picked {
    pub part: Part,
    pub warnings: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum PickError {
    #[error(transparent)]
    Drawing(#[from] DrawingError),
    #[error("no closed outline in the drawing{}", if *.gaps > 0 { " (it has open loops: raise the gap tolerance?)" } else { "" })]
    NoOutline { gaps: usize },
    #[error("part {asked} asked for, but the drawing holds {count} part(s)")]
    NoSuchPart { asked: usize, count: usize },
    #[error("the drawing holds {count} parts (largest first: {list}); choose one")]
    SeveralParts { count: usize, list: String },
}

/// Reads `bytes` and picks the part `options` asks for.
pub fn pick_part(bytes: &[u8], options: &PickOptions) -> Result<Picked, PickError> {
    let read = ReadOptions {
        units: options.units,
        layers: options.layers.clone(),
        exclude_layers: options.exclude_layers.clone(),
        ..ReadOptions::default()
    };
    let drawing = read_dxf(bytes, &read)?;
    let mut warnings = Vec::new();
    if drawing.units_assumed {
        warnings.push("the drawing says nothing about its units: read as millimetres".to_string());
    }
    let mut topology = topology::build(&drawing, options.gap_tolerance_mm);
    for gap in &topology.gaps {
        warnings.push(format!(
            "a loop is open at ({:.3}, {:.3}) mm, a gap of {:.3} mm (more than the gap tolerance of {} mm)",
            gap.at.x, gap.at.y, gap.width_mm, options.gap_tolerance_mm
        ));
    }
    topology.parts.sort_by(|a, b| b.outline.area().total_cmp(&a.outline.area()));
    let count = topology.parts.len();
    let index = match (count, options.part) {
        (0, _) => return Err(PickError::NoOutline { gaps: topology.gaps.len() }),
        (1, None) => 0,
        (n, Some(k)) if (1..=n).contains(&k) => k - 1,
        (n, Some(k)) => return Err(PickError::NoSuchPart { asked: k, count: n }),
        (n, None) => {
            let list: Vec<String> = topology
                .parts
                .iter()
                .enumerate()
                .map(|(k, p)| format!("{}: {:.0} mm², {} features", k + 1, p.outline.area(), p.features.len()))
                .collect();
            return Err(PickError::SeveralParts { count: n, list: list.join("; ") });
        }
    };
    Ok(Picked { part: topology.parts.swap_remove(index), warnings })
}

/// A part's material area (the outline less its holes and cut-outs), mm².
pub fn material_area_mm2(part: &Part) -> f64 {
    part.outline.area().abs() - part.features.iter().map(|f| f.outline.area().abs()).sum::<f64>()
}
