//! Prints the motion signal of one machine: `motion_trace CONFIG MACHINE FROM_S TO_S`.
use sheetsight_vision::motion::{MotionAnalyzer, MotionTuning};
use sheetsight_vision::roi::PolygonRoi;

mod common;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let common::Trace { machine, source: mut src, from_s: from, to_s: to } = common::open_trace()?;
    let info = src.info().clone();
    let roi = PolygonRoi::new(&machine.motion.as_ref().ok_or("no motion")?.roi_px, info.width_px, info.height_px)?;
    let mut m = MotionAnalyzer::new(&roi, info.width_px, MotionTuning::default());
    while let Some(f) = src.next_frame()? {
        let u = m.process(f.t_s, &f.frame);
        if f.t_s >= from && f.t_s <= to {
            println!(
                "{:7.2} d={:.4} a={:.4} stroke={:?} in={}",
                f.t_s,
                u.displacement,
                u.activity,
                u.stroke.map(|s| (s.start_s, s.end_s)),
                m.in_stroke()
            );
        }
        if f.t_s > to {
            break;
        }
    }
    Ok(())
}
