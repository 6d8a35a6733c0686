//! Prints a machine's lamp readings and guard distances: `lamp_trace CONFIG MACHINE FROM_S TO_S`.
use sheetsight_vision::occlusion::global_look;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let config = sheetsight_config::load(std::path::Path::new(&args[1]))?;
    let machine = config.machines.iter().find(|m| m.id == args[2]).ok_or("no such machine")?;
    let (from, to): (f64, f64) = (args[3].parse()?, args[4].parse()?);
    let cam = config.camera(&machine.camera).ok_or("no camera")?;
    let sheetsight_config::SourceSpec::File(path) = &cam.source else { return Err("not a file".into()) };
    let mut src = sheetsight_media::open(path, 10.0)?;
    let info = src.info().clone();
    let mut m = sheetsight_monitor::MachineMonitor::new(machine, info.width_px, info.height_px)?;
    let mut events = Vec::new();
    while let Some(f) = src.next_frame()? {
        let g = global_look(&f.frame);
        m.process(f.t_s, &f.frame, g, &mut events);
        if f.t_s >= from && f.t_s <= to {
            let sl = m.stack_light().ok_or("no lamps")?;
            let d: Vec<String> = sl.guard().last_distances().iter().map(|d| format!("{d:.2}")).collect();
            let lit: Vec<String> = sl.lit().iter().map(|l| format!("{}", u8::from(l.unwrap_or(false)))).collect();
            println!("{:7.2} g={:.0} lit={} modes={:?} d=[{}]", f.t_s, g.luma, lit.join(""), sl.modes().iter().map(|m| m.map_or("-", |m| m.as_str())).collect::<Vec<_>>(), d.join(" "));
        }
        if f.t_s > to {
            break;
        }
    }
    Ok(())
}
