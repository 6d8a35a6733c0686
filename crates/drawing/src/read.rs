//! DXF (text or binary, R12 to 2018, through the `dxf` crate) to the cut geometry of a
//! part: every entity that draws an edge, with blocks placed (nested INSERTs with
//! scale, rotation, mirroring and arrays), in millimetres.
//!
//! Which layers are cut edges: `layers` when given, minus `exclude_layers`; by
//! default, a Fusion 360 flat pattern's OUTER_PROFILES and INTERIOR_PROFILES when the
//! drawing has them, else every layer but bend lines (BEND, BEND_EXTENT). Entities that
//! draw no edge (text, dimensions, hatches, points, images...) are counted, not read.

use std::collections::{BTreeMap, BTreeSet};

use dxf::entities::{Entity, EntityType};
use nalgebra::{Matrix3, Vector2};

use crate::flatten::{self, Nurbs};
use crate::{LengthUnit, Point};

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum DrawingError {
    #[error("not a readable DXF file: {0}")]
    Parse(String),
    #[error("no layer `{layer}` in the drawing; its layers: {available}")]
    UnknownLayer { layer: String, available: String },
    #[error("block `{0}` is inserted in itself (directly or through other blocks)")]
    BlockCycle(String),
    #[error("the drawing has no cut geometry{layers}{skipped}")]
    Empty { layers: String, skipped: String },
}

#[derive(Clone, Debug)]
pub struct ReadOptions {
    /// The unit of a drawing without `$INSUNITS` (also overrides one that has it).
    pub units: Option<LengthUnit>,
    /// Read only these layers.
    pub layers: Option<Vec<String>>,
    pub exclude_layers: Vec<String>,
    /// The largest distance between a flattened curve and the drawn one.
    pub chord_error_mm: f64,
}

impl Default for ReadOptions {
    fn default() -> Self {
        Self { units: None, layers: None, exclude_layers: Vec::new(), chord_error_mm: 0.002 }
    }
}

/// One edge of the part.
#[derive(Clone, Debug, PartialEq)]
pub enum Shape {
    Circle { center: Point, radius_mm: f64 },
    Polyline { points: Vec<Point>, closed: bool },
}

#[derive(Clone, Debug, PartialEq)]
pub struct Curve {
    pub layer: String,
    /// The DXF entity it came from (`LINE`, `ARC`, `SPLINE`...).
    pub entity: &'static str,
    pub shape: Shape,
}

#[derive(Clone, Debug, PartialEq)]
pub struct PartDrawing {
    pub curves: Vec<Curve>,
    pub units: LengthUnit,
    /// The file said nothing about its units and none were given: millimetres assumed.
    pub units_assumed: bool,
    /// The layers whose geometry was read.
    pub layers_read: Vec<String>,
    /// Entities not read, by kind: those that draw no edge, and those out of the plane.
    pub skipped: BTreeMap<String, usize>,
}

/// Bend lines of sheet-metal flat patterns: not cut.
const BEND_LAYERS: [&str; 2] = ["BEND", "BEND_EXTENT"];
/// Cut edges of a Fusion 360 flat pattern.
const PROFILE_LAYERS: [&str; 2] = ["OUTER_PROFILES", "INTERIOR_PROFILES"];
/// Nesting deeper than this is taken for a cycle.
const MAX_BLOCK_DEPTH: usize = 32;

std::thread_local! {
    /// Set while this thread runs the DXF parser: its panics are its errors.
    static IN_PARSER: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// The `dxf` crate's parser, whose panics on some damaged files (a date that
/// overflows, say) become the file's error. The panic hook in place is wrapped once so
/// that it stays silent for those panics only, on the parsing thread only.
fn load(bytes: &[u8]) -> Result<dxf::Drawing, DrawingError> {
    static QUIET_HOOK: std::sync::Once = std::sync::Once::new();
    QUIET_HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !IN_PARSER.with(|p| p.get()) {
                previous(info);
            }
        }));
    });
    IN_PARSER.with(|p| p.set(true));
    let loaded =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| dxf::Drawing::load(&mut std::io::Cursor::new(bytes))));
    IN_PARSER.with(|p| p.set(false));
    match loaded {
        Ok(drawing) => drawing.map_err(|e| DrawingError::Parse(e.to_string())),
        Err(panic) => {
            let why = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "an internal error".into());
            Err(DrawingError::Parse(format!("the DXF parser broke down on it ({why})")))
        }
    }
}

/// Reads a DXF file's bytes.
pub fn read_dxf(bytes: &[u8], options: &ReadOptions) -> Result<PartDrawing, DrawingError> {
    let drawing = load(bytes)?;
    let file_units = LengthUnit::from_dxf(drawing.header.default_drawing_units);
    let units = options.units.or(file_units).unwrap_or(LengthUnit::Millimetre);
    let units_assumed = options.units.is_none() && file_units.is_none();
    if units_assumed {
        tracing::debug!("the drawing has no units ($INSUNITS): read as millimetres");
    }
    let blocks: BTreeMap<String, &dxf::Block> = drawing.blocks().map(|b| (b.name.clone(), b)).collect();
    let mut all_layers = BTreeSet::new();
    collect_layers(drawing.entities(), &blocks, None, &mut all_layers, 0);
    let selected = select_layers(&all_layers, options)?;
    let mut reader = Reader {
        blocks: &blocks,
        layers: &selected,
        chord_error_mm: options.chord_error_mm,
        out: Vec::new(),
        skipped: BTreeMap::new(),
    };
    let scale = Matrix3::new_scaling(units.mm());
    for e in drawing.entities() {
        reader.entity(e, &scale, None, 0)?;
    }
    if reader.out.is_empty() {
        let skipped: Vec<String> = reader.skipped.iter().map(|(k, n)| format!("{n} {k}")).collect();
        let layers = selected.iter().cloned().collect::<Vec<_>>().join(", ");
        return Err(DrawingError::Empty {
            layers: if layers.is_empty() {
                ": it draws nothing".into()
            } else {
                format!(" on the layers read ({layers})")
            },
            skipped: if skipped.is_empty() { String::new() } else { format!("; skipped: {}", skipped.join(", ")) },
        });
    }
    Ok(PartDrawing {
        curves: reader.out,
        units,
        units_assumed,
        layers_read: selected.iter().cloned().collect(),
        skipped: reader.skipped,
    })
}

/// The layer an entity draws on: a block's entities on layer `0` take their INSERT's.
fn effective_layer<'a>(e: &'a Entity, insert_layer: Option<&'a str>) -> &'a str {
    match insert_layer {
        Some(l) if e.common.layer == "0" => l,
        _ => &e.common.layer,
    }
}

fn collect_layers<'a>(
    entities: impl Iterator<Item = &'a Entity>,
    blocks: &BTreeMap<String, &'a dxf::Block>,
    insert_layer: Option<&str>,
    out: &mut BTreeSet<String>,
    depth: usize,
) {
    for e in entities {
        let layer = effective_layer(e, insert_layer).to_string();
        match &e.specific {
            EntityType::Insert(i) if depth < MAX_BLOCK_DEPTH => {
                if let Some(b) = blocks.get(&i.name) {
                    collect_layers(b.entities.iter(), blocks, Some(&layer), out, depth + 1);
                }
            }
            _ => {
                out.insert(layer);
            }
        }
    }
}

fn select_layers(all: &BTreeSet<String>, options: &ReadOptions) -> Result<BTreeSet<String>, DrawingError> {
    let find = |name: &str| all.iter().find(|l| l.eq_ignore_ascii_case(name)).cloned();
    let available = || all.iter().cloned().collect::<Vec<_>>().join(", ");
    let mut selected: BTreeSet<String> = match &options.layers {
        Some(wanted) => {
            let mut s = BTreeSet::new();
            for w in wanted {
                s.insert(
                    find(w).ok_or_else(|| DrawingError::UnknownLayer { layer: w.clone(), available: available() })?,
                );
            }
            s
        }
        None if PROFILE_LAYERS.iter().any(|p| find(p).is_some()) => {
            PROFILE_LAYERS.iter().filter_map(|p| find(p)).collect()
        }
        None => all.iter().filter(|l| !BEND_LAYERS.iter().any(|b| l.eq_ignore_ascii_case(b))).cloned().collect(),
    };
    for x in &options.exclude_layers {
        let name = find(x).ok_or_else(|| DrawingError::UnknownLayer { layer: x.clone(), available: available() })?;
        selected.remove(&name);
    }
    Ok(selected)
}

struct Reader<'a> {
    blocks: &'a BTreeMap<String, &'a dxf::Block>,
    layers: &'a BTreeSet<String>,
    /// On the part, after every scale (units, blocks) is applied.
    chord_error_mm: f64,
    out: Vec<Curve>,
    skipped: BTreeMap<String, usize>,
}

fn apply(m: &Matrix3<f64>, p: Point) -> Point {
    m.transform_point(&p)
}

/// The object coordinate system of an extrusion direction: only the drawing plane,
/// seen from above (+Z, identity) or from below (-Z, mirrored in x).
fn ocs(normal: &dxf::Vector) -> Option<Matrix3<f64>> {
    if normal.x.abs() > 1e-9 || normal.y.abs() > 1e-9 {
        return None;
    }
    Some(if normal.z < 0.0 { Matrix3::new_nonuniform_scaling(&Vector2::new(-1.0, 1.0)) } else { Matrix3::identity() })
}

/// The largest factor by which `m` lengthens a vector (its largest singular value).
fn max_stretch(m: &Matrix3<f64>) -> f64 {
    let linear = m.fixed_view::<2, 2>(0, 0).into_owned();
    linear.singular_values().max().max(1e-12)
}

/// Scale of a transform if it keeps circles circles (a similarity), else `None`.
fn similarity_scale(m: &Matrix3<f64>) -> Option<f64> {
    let a = Vector2::new(m[(0, 0)], m[(1, 0)]);
    let b = Vector2::new(m[(0, 1)], m[(1, 1)]);
    let (la, lb) = (a.norm(), b.norm());
    ((la - lb).abs() <= 1e-9 * la.max(1.0) && a.dot(&b).abs() <= 1e-9 * la * lb).then_some(la)
}

impl Reader<'_> {
    /// Counts an entity that is not read.
    fn skip(&mut self, what: &str) -> Result<(), DrawingError> {
        *self.skipped.entry(what.to_string()).or_default() += 1;
        Ok(())
    }

    fn push(&mut self, layer: &str, entity: &'static str, m: &Matrix3<f64>, points: Vec<Point>, closed: bool) {
        let points: Vec<Point> = points.into_iter().map(|p| apply(m, p)).collect();
        if points.len() >= 2 {
            self.out.push(Curve { layer: layer.to_string(), entity, shape: Shape::Polyline { points, closed } });
        }
    }

    /// Reads the block an INSERT places (every copy of its array), on `layer` for the
    /// block's entities on layer `0`.
    fn insert(
        &mut self,
        ins: &dxf::entities::Insert,
        m: &Matrix3<f64>,
        layer: &str,
        depth: usize,
    ) -> Result<(), DrawingError> {
        let Some(block) = self.blocks.get(&ins.name).copied() else {
            return self.skip("INSERT of a missing block");
        };
        if depth >= MAX_BLOCK_DEPTH {
            return Err(DrawingError::BlockCycle(ins.name.clone()));
        }
        let Some(o) = ocs(&ins.extrusion_direction) else {
            return self.skip("INSERT out of the plane");
        };
        let rotation = ins.rotation.to_radians();
        let (sx, sy) = (ins.x_scale_factor, ins.y_scale_factor);
        let base = Matrix3::new_translation(&Vector2::new(-block.base_point.x, -block.base_point.y));
        for row in 0..ins.row_count.max(1) {
            for column in 0..ins.column_count.max(1) {
                let offset = Vector2::new(f64::from(column) * ins.column_spacing, f64::from(row) * ins.row_spacing);
                let place = o
                    * Matrix3::new_translation(&Vector2::new(ins.location.x, ins.location.y))
                    * Matrix3::new_rotation(rotation)
                    * Matrix3::new_translation(&offset)
                    * Matrix3::new_nonuniform_scaling(&Vector2::new(sx, sy))
                    * base;
                let m2 = m * place;
                for child in &block.entities {
                    self.entity(child, &m2, Some(layer), depth + 1)?;
                }
            }
        }
        Ok(())
    }

    /// Reads one entity placed by `m`; `layer` is the INSERT's layer for entities on
    /// layer `0` inside a block (DXF's rule).
    fn entity(
        &mut self,
        e: &Entity,
        m: &Matrix3<f64>,
        insert_layer: Option<&str>,
        depth: usize,
    ) -> Result<(), DrawingError> {
        let layer = effective_layer(e, insert_layer).to_string();
        let wanted = self.layers.contains(&layer);
        // Curves are flattened in their own units, then placed: the error allowed there
        // is the one on the part divided by the largest stretch of the placement.
        let tol = self.chord_error_mm / max_stretch(m);
        match &e.specific {
            EntityType::Insert(ins) => self.insert(ins, m, &layer, depth)?,
            _ if !wanted => {}
            EntityType::Line(l) => {
                self.push(&layer, "LINE", m, vec![Point::new(l.p1.x, l.p1.y), Point::new(l.p2.x, l.p2.y)], false);
            }
            EntityType::Circle(c) => {
                let Some(o) = ocs(&c.normal) else { return self.skip("CIRCLE out of the plane") };
                let mo = m * o;
                let center = apply(&mo, Point::new(c.center.x, c.center.y));
                match similarity_scale(&mo) {
                    Some(s) if c.radius > 0.0 => self.out.push(Curve {
                        layer,
                        entity: "CIRCLE",
                        shape: Shape::Circle { center, radius_mm: c.radius * s },
                    }),
                    Some(_) => self.skip("CIRCLE of no radius")?,
                    None => {
                        let pts =
                            flatten::arc(Point::new(c.center.x, c.center.y), c.radius, 0.0, std::f64::consts::TAU, tol);
                        self.push(&layer, "CIRCLE", &mo, pts, true);
                    }
                }
            }
            EntityType::Arc(a) => {
                let Some(o) = ocs(&a.normal) else { return self.skip("ARC out of the plane") };
                if a.radius <= 0.0 {
                    return self.skip("ARC of no radius");
                }
                let start = a.start_angle.to_radians();
                let mut sweep = a.end_angle.to_radians() - start;
                if sweep <= 0.0 {
                    sweep += std::f64::consts::TAU;
                }
                let pts = flatten::arc(Point::new(a.center.x, a.center.y), a.radius, start, sweep, tol);
                self.push(&layer, "ARC", &(m * o), pts, false);
            }
            EntityType::Ellipse(el) => {
                let Some(o) = ocs(&el.normal) else { return self.skip("ELLIPSE out of the plane") };
                let pts = flatten::ellipse(
                    Point::new(el.center.x, el.center.y),
                    Vector2::new(el.major_axis.x, el.major_axis.y),
                    el.minor_axis_ratio,
                    el.start_parameter,
                    el.end_parameter,
                    tol,
                );
                let closed = (el.end_parameter - el.start_parameter - std::f64::consts::TAU).abs() < 1e-9;
                self.push(&layer, "ELLIPSE", &(m * o), pts, closed);
            }
            EntityType::LwPolyline(p) => {
                let Some(o) = ocs(&p.extrusion_direction) else { return self.skip("LWPOLYLINE out of the plane") };
                let vertices: Vec<(Point, f64)> = p.vertices.iter().map(|v| (Point::new(v.x, v.y), v.bulge)).collect();
                let closed = p.flags & 1 != 0;
                let pts = with_bulges(&vertices, closed, tol);
                self.push(&layer, "LWPOLYLINE", &(m * o), pts, closed);
            }
            EntityType::Polyline(p) => {
                // Polygon and polyface meshes draw no flat edge; a 3D polyline does when
                // all of it lies at one height.
                if p.flags & (16 | 64) != 0 {
                    return self.skip("POLYLINE (mesh)");
                }
                if p.flags & 8 != 0 {
                    let mut z = p.vertices().map(|v| v.location.z);
                    let first = z.next().unwrap_or(0.0);
                    if z.any(|z| (z - first).abs() > 1e-9) {
                        return self.skip("POLYLINE (3D, not flat)");
                    }
                }
                let Some(o) = ocs(&p.normal) else { return self.skip("POLYLINE out of the plane") };
                let vertices: Vec<(Point, f64)> =
                    p.vertices().map(|v| (Point::new(v.location.x, v.location.y), v.bulge)).collect();
                let closed = p.flags & 1 != 0;
                let pts = with_bulges(&vertices, closed, tol);
                self.push(&layer, "POLYLINE", &(m * o), pts, closed);
            }
            EntityType::Spline(s) => {
                let Some(o) = ocs(&s.normal) else { return self.skip("SPLINE out of the plane") };
                let points: Vec<Point> = s.control_points.iter().map(|p| Point::new(p.x, p.y)).collect();
                let closed = s.flags & 1 != 0;
                if points.is_empty() {
                    // Only fit points: the curve through them, drawn as their polyline.
                    let fit: Vec<Point> = s.fit_points.iter().map(|p| Point::new(p.x, p.y)).collect();
                    return self.skip_if_short(&layer, "SPLINE", &(m * o), fit, closed);
                }
                let nurbs = Nurbs {
                    degree: usize::try_from(s.degree_of_curve).unwrap_or(0),
                    knots: &s.knot_values,
                    points: &points,
                    weights: &s.weight_values,
                };
                match nurbs.check() {
                    Ok(()) => {
                        let pts = nurbs.flatten(tol);
                        self.push(&layer, "SPLINE", &(m * o), pts, closed);
                    }
                    Err(why) => {
                        tracing::warn!(layer = %layer, %why, "a SPLINE that is not a curve was left out");
                        self.skip("SPLINE (invalid)")?;
                    }
                }
            }
            other => {
                let name = format!("{other:?}");
                let kind = name.split(['(', ' ', '{']).next().unwrap_or("entity").to_uppercase();
                self.skip(&kind)?;
            }
        }
        Ok(())
    }

    fn skip_if_short(
        &mut self,
        layer: &str,
        entity: &'static str,
        m: &Matrix3<f64>,
        points: Vec<Point>,
        closed: bool,
    ) -> Result<(), DrawingError> {
        if points.len() < 2 {
            return self.skip("SPLINE without points");
        }
        self.push(layer, entity, m, points, closed);
        Ok(())
    }
}

/// A polyline's points with its bulge arcs flattened (a closed one also bulges from
/// its last vertex back to its first).
fn with_bulges(vertices: &[(Point, f64)], closed: bool, tol: f64) -> Vec<Point> {
    let Some(&(first, _)) = vertices.first() else { return Vec::new() };
    let mut out = vec![first];
    let n = vertices.len();
    let edges = if closed { n } else { n - 1 };
    for i in 0..edges {
        let (p0, b) = vertices[i];
        let (p1, _) = vertices[(i + 1) % n];
        out.extend(flatten::bulge(p0, p1, b, tol));
    }
    if closed && out.len() > 1 && (out[out.len() - 1] - out[0]).norm() < 1e-12 {
        out.pop();
    }
    out
}
