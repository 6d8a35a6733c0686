//! Reads every `.dxf` under a folder and prints what was read (curves, parts and their
//! holes, slots and cut-outs, open gaps), or why not.
//!
//! ```text
//! cargo run --release -p sheetsight-drawing --example read_corpus -- ../shared/data/dxf
//! ```

use std::path::{Path, PathBuf};

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            walk(&p, out);
        } else if p.extension().is_some_and(|x| x.eq_ignore_ascii_case("dxf")) {
            out.push(p);
        }
    }
}

fn main() {
    let root = std::env::args().nth(1).unwrap_or_else(|| "../shared/data/dxf".into());
    let mut files = Vec::new();
    walk(Path::new(&root), &mut files);
    files.sort();
    let (mut read, mut refused) = (0, 0);
    for f in &files {
        let bytes = match std::fs::read(f) {
            Ok(b) => b,
            Err(e) => {
                println!("{}: cannot read: {e}", f.display());
                refused += 1;
                continue;
            }
        };
        let started = std::time::Instant::now();
        match sheetsight_drawing::read_dxf(&bytes, &sheetsight_drawing::ReadOptions::default()) {
            Ok(d) => {
                read += 1;
                let t = sheetsight_drawing::topology::build(&d, 0.01);
                let count = |k: fn(&sheetsight_drawing::FeatureKind) -> bool| {
                    t.parts.iter().flat_map(|p| &p.features).filter(|f| k(&f.kind)).count()
                };
                println!(
                    "{}: {} curves, {:?}{}, layers {:?}; {} parts, {} holes, {} slots, {} cut-outs, {} gaps; {:.1} ms",
                    f.display(),
                    d.curves.len(),
                    d.units,
                    if d.units_assumed { " (assumed)" } else { "" },
                    d.layers_read,
                    t.parts.len(),
                    count(|k| matches!(k, sheetsight_drawing::FeatureKind::Hole { .. })),
                    count(|k| matches!(k, sheetsight_drawing::FeatureKind::Slot { .. })),
                    count(|k| matches!(k, sheetsight_drawing::FeatureKind::Cutout { .. })),
                    t.gaps.len(),
                    started.elapsed().as_secs_f64() * 1000.0
                );
            }
            Err(e) => {
                refused += 1;
                println!("{}: refused: {e}", f.display());
            }
        }
    }
    println!("{} files: {read} read, {refused} refused with a reason, 0 panics", files.len());
}
