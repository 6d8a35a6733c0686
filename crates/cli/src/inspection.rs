//! `sheetsight calibrate` and `sheetsight inspect`: the part inspection on the backlit
//! table, from files to files. The measuring itself is `sheetsight-inspect`'s; this
//! module reads the drawing, the photo and the calibration, names the file in every
//! error, and writes the results (each through a temporary file renamed into place, so
//! that a half-written result never stands under its name).

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use sheetsight_drawing::{LengthUnit, Part, PickError, PickOptions, pick_part};
use sheetsight_inspect::calibrate::{Calibration, PlateGrid};
use sheetsight_inspect::report::Verdict;
use sheetsight_inspect::{InspectOptions, html, overlay};

/// Photos larger than this are refused before they are decoded (a 100 MP camera's).
const MAX_PHOTO_PX: u64 = 100_000_000;

/// How to read the drawing.
#[derive(clap::Args)]
pub struct DrawingOptions {
    /// The drawing's unit when it does not say (mm, cm, m, in).
    #[arg(long)]
    pub units: Option<String>,
    /// Read only these layers (comma-separated).
    #[arg(long)]
    pub layers: Option<String>,
    /// Leave these layers out (comma-separated).
    #[arg(long)]
    pub exclude_layers: Option<String>,
    /// Ends of the drawing's curves closer than this are joined.
    #[arg(long, default_value_t = 0.01)]
    pub gap_tolerance_mm: f64,
    /// Which part of a drawing with several (1: the largest).
    #[arg(long)]
    pub part: Option<usize>,
}

pub struct CalibrateArgs {
    /// The plate's drawing, or else a printed chessboard (`COLSxROWS` inner corners and
    /// the square's side).
    pub plate: Option<PathBuf>,
    pub chessboard: Option<(String, f64)>,
    /// Or a printed circle grid: `COLSxROWS` dots, the pitch, whether asymmetric.
    pub circles: Option<(String, f64, bool)>,
    pub image: PathBuf,
    pub out: PathBuf,
    pub plate_thickness_mm: f64,
    pub residual_map: Option<PathBuf>,
}

#[derive(clap::Args)]
pub struct InspectArgs {
    /// The part's drawing.
    #[arg(long)]
    pub dxf: PathBuf,
    /// The photo of the part on the lit table (PNG or JPEG).
    #[arg(long)]
    pub image: PathBuf,
    /// The table's calibration (from `sheetsight calibrate`).
    #[arg(long)]
    pub calibration: PathBuf,
    /// Largest accepted error of a position, diameter or edge.
    #[arg(long, default_value_t = 0.2)]
    pub tolerance_mm: f64,
    /// The sheet's thickness: corrects the silhouette for the camera's perspective.
    #[arg(long, default_value_t = 0.0)]
    pub thickness_mm: f64,
    /// Where to write the report (JSON).
    #[arg(long)]
    pub report: PathBuf,
    /// Also draw the drawing over the photo, deviations coloured (PNG).
    #[arg(long)]
    pub overlay: Option<PathBuf>,
    /// Also write a report page that prints well (HTML, the overlay inside).
    #[arg(long)]
    pub html: Option<PathBuf>,
    #[command(flatten)]
    pub drawing: DrawingOptions,
}

/// Reads a drawing and picks its part.
pub fn read_part(path: &Path, options: &DrawingOptions) -> anyhow::Result<Part> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read the drawing {}", path.display()))?;
    let units = match options.units.as_deref() {
        None => None,
        Some(u) => Some(LengthUnit::parse(u).with_context(|| format!("--units {u}: give mm, cm, m or in"))?),
    };
    let list = |s: &Option<String>| {
        s.as_ref().map(|s| s.split(',').map(|l| l.trim().to_string()).filter(|l| !l.is_empty()).collect::<Vec<_>>())
    };
    let pick = PickOptions {
        units,
        layers: list(&options.layers),
        exclude_layers: list(&options.exclude_layers).unwrap_or_default(),
        gap_tolerance_mm: options.gap_tolerance_mm,
        part: options.part,
    };
    let picked = pick_part(&bytes, &pick).map_err(|e| match e {
        PickError::NoSuchPart { asked, count } => {
            anyhow::anyhow!("{}: --part {asked}, but the drawing holds {count} part(s)", path.display())
        }
        PickError::SeveralParts { count, list } => anyhow::anyhow!(
            "{}: the drawing holds {count} parts (largest first: {list}); choose one with --part N",
            path.display()
        ),
        e => anyhow::Error::new(e).context(path.display().to_string()),
    })?;
    for warning in &picked.warnings {
        eprintln!("warning: {}: {warning}", path.display());
    }
    Ok(picked.part)
}

fn read_photo(path: &Path) -> anyhow::Result<image::GrayImage> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read the photo {}", path.display()))?;
    let reader = || {
        image::ImageReader::new(std::io::Cursor::new(&bytes[..]))
            .with_guessed_format()
            .with_context(|| format!("cannot read the photo {}", path.display()))
    };
    // The size from the header first: a huge picture is refused before it is decoded.
    let (w, h) = reader()?
        .into_dimensions()
        .with_context(|| format!("{}: not a picture this program reads (PNG, JPEG)", path.display()))?;
    if w as u64 * h as u64 > MAX_PHOTO_PX {
        bail!(
            "{}: {w}x{h} px is more than this program takes ({} MP at most)",
            path.display(),
            MAX_PHOTO_PX / 1_000_000
        );
    }
    let img = reader()?
        .decode()
        .with_context(|| format!("{}: the picture is damaged or not a PNG or JPEG", path.display()))?;
    Ok(img.to_luma8())
}

/// Writes `bytes` to `path` through a temporary file beside it.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut partial = path.as_os_str().to_owned();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    std::fs::write(&partial, bytes).with_context(|| format!("cannot write {}", partial.display()))?;
    std::fs::rename(&partial, path).with_context(|| format!("cannot write {}", path.display()))
}

pub(crate) fn png(picture: &image::RgbImage) -> anyhow::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    picture
        .write_to(&mut std::io::Cursor::new(&mut bytes), image::ImageFormat::Png)
        .context("cannot encode the picture as PNG")?;
    Ok(bytes)
}

pub fn calibrate(args: &CalibrateArgs) -> anyhow::Result<bool> {
    let (calibration, photo, elapsed, what) = match (&args.plate, &args.chessboard, &args.circles) {
        (Some(plate_path), None, None) => {
            let options =
                DrawingOptions { units: None, layers: None, exclude_layers: None, gap_tolerance_mm: 0.01, part: None };
            let plate = read_part(plate_path, &options)?;
            let grid = PlateGrid::from_part(&plate).with_context(|| format!("{}", plate_path.display()))?;
            let photo = read_photo(&args.image)?;
            let started = std::time::Instant::now();
            let calibration = sheetsight_inspect::calibrate(&photo, &grid, args.plate_thickness_mm)
                .with_context(|| format!("{}", args.image.display()))?;
            (calibration, photo, started.elapsed(), "holes")
        }
        (None, None, Some((size, pitch_mm, asymmetric))) => {
            let grid = sheetsight_inspect::CircleGridSpec::parse(size, *pitch_mm, *asymmetric).context("--circles")?;
            let photo = read_photo(&args.image)?;
            let started = std::time::Instant::now();
            let calibration = sheetsight_inspect::calibrate_circles(&photo, &grid)
                .with_context(|| format!("{}", args.image.display()))?;
            (calibration, photo, started.elapsed(), "dots")
        }
        (None, Some((size, square_mm)), None) => {
            let board = sheetsight_inspect::BoardSpec::parse(size, *square_mm).context("--chessboard")?;
            let photo = read_photo(&args.image)?;
            let started = std::time::Instant::now();
            let calibration = sheetsight_inspect::calibrate_chessboard(&photo, &board)
                .with_context(|| format!("{}", args.image.display()))?;
            (calibration, photo, started.elapsed(), "inner corners")
        }
        _ => bail!(
            "give the plate's drawing (--plate) or a chessboard (--chessboard COLSxROWS --square-mm), one of them"
        ),
    };
    let json = serde_json::to_vec_pretty(&calibration).context("cannot write the calibration as JSON")?;
    write_atomically(&args.out, &json)?;
    let map = args.residual_map.clone().unwrap_or_else(|| args.out.with_extension("residuals.png"));
    write_atomically(&map, &png(&overlay::residuals(&photo, &calibration))?)?;
    println!(
        "{}: {} of {} {what}, residual {:.4} px RMS ({:.4} mm), at most {:.3} px; {:.4} mm per pixel at the centre{}{}; {:.2} s",
        args.out.display(),
        calibration.holes_used,
        calibration.holes_expected,
        calibration.residual_rms_px,
        calibration.residual_rms_mm,
        calibration.residual_max_px,
        calibration.mm_per_px,
        calibration.model.camera.as_ref().map_or(String::new(), |c| format!(
            "; camera {:.0} mm over ({:.0}, {:.0}) mm",
            c.height_mm, c.nadir_mm[0], c.nadir_mm[1]
        )),
        if calibration.plate_upside_down { "; it lay face down (fine)" } else { "" },
        elapsed.as_secs_f64()
    );
    println!("{}: the residual map", map.display());
    if calibration.covered_percent < 25.0 {
        println!(
            "warning: the {what} cover only {:.0} % of the photo; outside them the model is extrapolated (use a larger board, or the plate)",
            calibration.covered_percent
        );
    }
    Ok(true)
}

pub fn read_calibration(path: &Path) -> anyhow::Result<Calibration> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read the calibration {}", path.display()))?;
    serde_json::from_slice(&bytes)
        .with_context(|| format!("{}: not a calibration written by `sheetsight calibrate`", path.display()))
}

/// Inspects; `Ok(false)` when the part fails.
pub fn inspect(args: &InspectArgs) -> anyhow::Result<bool> {
    if !(args.tolerance_mm.is_finite() && args.tolerance_mm > 0.0) {
        bail!("--tolerance-mm must be a positive number of millimetres, not {}", args.tolerance_mm);
    }
    if !(args.thickness_mm.is_finite() && args.thickness_mm >= 0.0 && args.thickness_mm < 100.0) {
        bail!("--thickness-mm must be the sheet's thickness in millimetres (0 for thin), not {}", args.thickness_mm);
    }
    let part = read_part(&args.dxf, &args.drawing)?;
    let calibration = read_calibration(&args.calibration)?;
    let photo = read_photo(&args.image)?;
    let options = InspectOptions { tolerance_mm: args.tolerance_mm, thickness_mm: args.thickness_mm };
    let started = std::time::Instant::now();
    let found = sheetsight_inspect::inspect(&photo, &calibration.model, &part, &options)
        .with_context(|| format!("{}", args.image.display()))?;
    let elapsed = started.elapsed();
    let report = &found.report;
    write_atomically(&args.report, &serde_json::to_vec_pretty(report).context("cannot write the report as JSON")?)?;
    if args.overlay.is_some() || args.html.is_some() {
        let picture = png(&overlay::inspection(&photo, &calibration.model, &part, &found, args.tolerance_mm))?;
        if let Some(path) = &args.overlay {
            write_atomically(path, &picture)?;
        }
        if let Some(path) = &args.html {
            let sources = html::Sources {
                drawing: &args.dxf.display().to_string(),
                photo: &args.image.display().to_string(),
                calibration: &args.calibration.display().to_string(),
                tolerance_mm: args.tolerance_mm,
                thickness_mm: args.thickness_mm,
            };
            write_atomically(path, html::page(report, &picture, &sources).as_bytes())?;
        }
    }
    let bad: Vec<String> = report
        .features
        .iter()
        .filter(|f| f.verdict() != Verdict::Pass)
        .map(|f| format!("{} {:?}", f.id(), f.verdict()).to_lowercase())
        .chain(report.extra.iter().map(|e| format!("extra {} at ({:.2}, {:.2})", e.kind, e.x_mm, e.y_mm)))
        .collect();
    let pass = report.verdict == Verdict::Pass;
    println!(
        "{}: {} ({} features{}); pose {:.2}, {:.2} mm, {:.2}°{}; {:.0} ms",
        args.report.display(),
        if pass { "PASS" } else { "FAIL" },
        report.features.len(),
        if bad.is_empty() { String::new() } else { format!("; {}", bad.join(", ")) },
        report.pose.x_mm,
        report.pose.y_mm,
        report.pose.angle_deg,
        if report.pose.mirrored { ", upside down" } else { "" },
        elapsed.as_secs_f64() * 1000.0
    );
    Ok(pass)
}

/// `sheetsight holes`: the round holes of the part on the table, in table millimetres,
/// without a drawing (a quick check, and the like-for-like comparison with OpenCV).
pub fn holes(image: &Path, calibration: &Path, json: bool) -> anyhow::Result<bool> {
    let calibration = read_calibration(calibration)?;
    let photo = read_photo(image)?;
    let started = std::time::Instant::now();
    let holes = sheetsight_inspect::measure::holes(&photo, &calibration.model)
        .with_context(|| format!("{}", image.display()))?;
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    if json {
        println!("{}", serde_json::json!({"holes": holes, "ms": ms}));
    } else {
        for h in &holes {
            println!("{:10.3} {:10.3}  d {:8.3}  roundness {:.3} mm", h.x_mm, h.y_mm, h.d_mm, h.roundness_mm);
        }
        println!("{}: {} round holes; {ms:.0} ms", image.display(), holes.len());
    }
    Ok(true)
}
