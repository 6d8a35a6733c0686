//! The HTML report: one self-contained page (the overlay embedded) that a person reads
//! on screen and that prints on A4: the verdict first, then every feature, failures
//! marked, then what the part has that the drawing has not.

use base64::Engine;

use crate::report::{FeatureReport, Report, Verdict};

/// What the page says about where the measurement came from.
pub struct Sources<'a> {
    pub drawing: &'a str,
    pub photo: &'a str,
    pub calibration: &'a str,
    pub tolerance_mm: f64,
    pub thickness_mm: f64,
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn mm(v: Option<f64>) -> String {
    v.map_or("–".into(), |v| format!("{v:.3}"))
}

fn verdict_cell(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "<td class=pass>pass</td>",
        Verdict::Fail => "<td class=fail>fail</td>",
        Verdict::Missing => "<td class=fail>missing</td>",
    }
}

pub fn page(report: &Report, overlay_png: &[u8], sources: &Sources) -> String {
    let mut rows = String::new();
    for f in &report.features {
        let class = if f.verdict() == Verdict::Pass { "" } else { " class=bad" };
        let cells = match f {
            FeatureReport::Hole { id, nominal, measured, position_error_mm, diameter_error_mm, verdict } => format!(
                "<td>{id}</td><td>hole</td><td>{:.3}, {:.3} ⌀{:.3}</td><td>{}</td><td>{}</td><td>{}</td>{}",
                nominal.x_mm,
                nominal.y_mm,
                nominal.d_mm,
                measured.map_or("–".into(), |m| format!("{:.3}, {:.3} ⌀{:.3}", m.x_mm, m.y_mm, m.d_mm)),
                mm(*position_error_mm),
                diameter_error_mm.map_or("–".into(), |d| format!("⌀ {d:+.3}")),
                verdict_cell(*verdict)
            ),
            FeatureReport::Cutout { id, nominal, measured, max_deviation_mm, verdict } => format!(
                "<td>{id}</td><td>cut-out</td><td>{:.3}, {:.3}</td><td>{}</td><td>{}</td><td>max {}</td>{}",
                nominal.x_mm,
                nominal.y_mm,
                measured.map_or("–".into(), |m| format!("{:.3}, {:.3}", m.x_mm, m.y_mm)),
                measured.map_or("–".into(), |m| format!(
                    "{:.3}",
                    ((m.x_mm - nominal.x_mm).powi(2) + (m.y_mm - nominal.y_mm).powi(2)).sqrt()
                )),
                mm(*max_deviation_mm),
                verdict_cell(*verdict)
            ),
            FeatureReport::Outline { id, max_deviation_mm, rms_deviation_mm, verdict } => format!(
                "<td>{id}</td><td>outline</td><td></td><td></td><td></td><td>max {max_deviation_mm:.3}, RMS {rms_deviation_mm:.3}</td>{}",
                verdict_cell(*verdict)
            ),
        };
        rows += &format!("<tr{class}>{cells}</tr>\n");
    }
    let extra = if report.extra.is_empty() {
        "<p>Nothing that the drawing has not.</p>".to_string()
    } else {
        let items: String = report
            .extra
            .iter()
            .map(|e| {
                format!(
                    "<li class=fail>{} at {:.3}, {:.3} mm, {:.3} mm across</li>",
                    escape(&e.kind),
                    e.x_mm,
                    e.y_mm,
                    e.d_mm
                )
            })
            .collect();
        format!("<ul>{items}</ul>")
    };
    let failing = report.features.iter().filter(|f| f.verdict() != Verdict::Pass).count() + report.extra.len();
    // What is wrong, first, in words.
    let findings: String = report
        .features
        .iter()
        .filter(|f| f.verdict() != Verdict::Pass)
        .map(|f| match f {
            FeatureReport::Hole { id, verdict: Verdict::Missing, .. }
            | FeatureReport::Cutout { id, verdict: Verdict::Missing, .. } => {
                format!("<li>{id}: missing</li>")
            }
            FeatureReport::Hole { id, position_error_mm, diameter_error_mm, .. } => format!(
                "<li>{id}: position off by {} mm, diameter {} mm</li>",
                mm(*position_error_mm),
                diameter_error_mm.map_or("–".into(), |d| format!("{d:+.3}"))
            ),
            FeatureReport::Cutout { id, max_deviation_mm, .. } => {
                format!("<li>{id}: edge up to {} mm off</li>", mm(*max_deviation_mm))
            }
            FeatureReport::Outline { id, max_deviation_mm, .. } => {
                format!("<li>{id}: edge up to {max_deviation_mm:.3} mm off</li>")
            }
        })
        .chain(
            report
                .extra
                .iter()
                .map(|e| format!("<li>extra {} at {:.3}, {:.3} mm</li>", escape(&e.kind), e.x_mm, e.y_mm)),
        )
        .collect();
    let findings = if findings.is_empty() { String::new() } else { format!("<ul class=findings>{findings}</ul>") };
    let (verdict, class) = match report.verdict {
        Verdict::Pass => ("PASS".to_string(), "pass"),
        _ => (format!("FAIL: {failing} finding{}", if failing == 1 { "" } else { "s" }), "fail"),
    };
    let image = base64::engine::general_purpose::STANDARD.encode(overlay_png);
    let p = &report.pose;
    format!(
        r#"<!doctype html>
<html lang=en><head><meta charset=utf-8><meta name=viewport content="width=device-width, initial-scale=1">
<title>{title}: {verdict}</title>
<style>
body {{ font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #111; }}
h1 {{ font-size: 1.4em; margin: 0 0 .3em; }}
.banner {{ font-size: 1.6em; font-weight: 700; padding: .3em .6em; display: inline-block; border-radius: 4px; }}
.banner.pass {{ background: #1b8a3a; color: #fff; }} .banner.fail {{ background: #c62828; color: #fff; }}
table {{ border-collapse: collapse; width: 100%; margin: 1em 0; font-variant-numeric: tabular-nums; }}
th, td {{ border-bottom: 1px solid #ccc; padding: .25em .5em; text-align: left; }}
tr.bad {{ background: #fde8e8; }} td.fail, li.fail {{ color: #b71c1c; font-weight: 700; }} td.pass {{ color: #1b5e20; }}
img {{ max-width: 100%; max-height: 85vh; border: 1px solid #999; }}
ul.findings {{ color: #b71c1c; font-weight: 700; }}
dl {{ display: grid; grid-template-columns: max-content auto; gap: .1em 1em; }} dt {{ color: #555; }}
@media print {{ body {{ margin: 0; font-size: 10pt; }} img {{ max-height: 120mm; }} tr {{ break-inside: avoid; }} @page {{ size: A4; margin: 12mm; }} }}
</style></head><body>
<h1>Inspection of {title}</h1>
<div class="banner {class}">{verdict}</div>
{findings}
<dl>
<dt>Drawing</dt><dd>{drawing}</dd><dt>Photo</dt><dd>{photo}</dd><dt>Calibration</dt><dd>{calibration}</dd>
<dt>Tolerance</dt><dd>± {tol:.3} mm</dd><dt>Sheet thickness</dt><dd>{thickness}</dd>
<dt>Pose</dt><dd>{px:.3}, {py:.3} mm, {pa:.3}°{mirrored}</dd>
</dl>
<img alt="The drawing over the photo: green within tolerance, red out of it, orange missing, magenta extra" src="data:image/png;base64,{image}">
<table><thead><tr><th>feature</th><th>kind</th><th>nominal (mm)</th><th>measured (mm)</th><th>position error (mm)</th><th>size / deviation (mm)</th><th>verdict</th></tr></thead>
<tbody>
{rows}</tbody></table>
<h2>Extra</h2>
{extra}
<p>Coordinates in the drawing's own frame, in millimetres.</p>
</body></html>
"#,
        title = escape(sources.drawing),
        drawing = escape(sources.drawing),
        photo = escape(sources.photo),
        calibration = escape(sources.calibration),
        tol = sources.tolerance_mm,
        thickness = if sources.thickness_mm > 0.0 {
            format!("{:.2} mm (silhouette corrected)", sources.thickness_mm)
        } else {
            "thin (not corrected)".into()
        },
        px = p.x_mm,
        py = p.y_mm,
        pa = p.angle_deg,
        mirrored = if p.mirrored { ", upside down" } else { "" },
    )
}
