//! Prints a machine's lamp readings and guard distances: `lamp_trace CONFIG MACHINE FROM_S TO_S`.
use sheetsight_vision::exposure::{ExposureTracker, ExposureTuning};

mod common;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let common::Trace { machine, source: mut src, from_s: from, to_s: to } = common::open_trace()?;
    let info = src.info().clone();
    let mut m = sheetsight_monitor::MachineMonitor::new(&machine, info.width_px, info.height_px)?;
    let mut events: Vec<sheetsight_monitor::VideoEvent> = Vec::new();
    let mut exposure = ExposureTracker::new(ExposureTuning::default());
    while let Some(f) = src.next_frame()? {
        let g = exposure.measure(f.t_s, &f.frame);
        m.process(f.t_s, &f.frame, g, &mut events);
        if f.t_s >= from && f.t_s <= to {
            let sl = m.stack_light().ok_or("no lamps")?;
            let d: Vec<String> = sl.guard().last_distances().iter().map(|d| format!("{d:.2}")).collect();
            let lit: Vec<String> = sl.lit().iter().map(|l| format!("{}", u8::from(l.unwrap_or(false)))).collect();
            let (scores, corrected) = sl.last_scores();
            let s: Vec<String> = scores
                .iter()
                .zip(corrected)
                .zip(sl.last_chroma())
                .map(|((s, c), (u, v))| format!("{s:.0}/{c:.0}({u:+.0},{v:+.0})"))
                .collect();
            let level = |l: Option<f32>| l.map_or("-".to_string(), |l| format!("{l:.0}"));
            let levels: Vec<String> =
                sl.last_levels().iter().map(|(off, on)| format!("{}:{}", level(*off), level(*on))).collect();
            println!(
                "{:7.2} g={:.0} x{:.2} sh={:?} s=[{}] lv=[{}] lit={} modes={:?} d=[{}]",
                f.t_s,
                g.luma,
                g.exposure_gain,
                sl.last_shift_px(),
                s.join(" "),
                levels.join(" "),
                lit.join(""),
                sl.modes().iter().map(|m| m.map_or("-", |m| m.as_str())).collect::<Vec<_>>(),
                d.join(" ")
            );
        }
        if f.t_s > to {
            break;
        }
    }
    Ok(())
}
