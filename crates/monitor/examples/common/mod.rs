//! What the diagnostic examples share: `EXAMPLE CONFIG MACHINE FROM_S TO_S`.

use sheetsight_config::MachineConfig;
use sheetsight_media::FrameSource;

pub struct Trace {
    pub machine: MachineConfig,
    pub source: Box<dyn FrameSource>,
    pub from_s: f64,
    pub to_s: f64,
}

/// Reads the arguments, loads the configuration and opens the machine's camera.
pub fn open_trace() -> Result<Trace, Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 5 {
        return Err("usage: CONFIG MACHINE FROM_S TO_S".into());
    }
    let config = sheetsight_config::load(std::path::Path::new(&args[1]))?;
    let machine = config.machines.iter().find(|m| m.id == args[2]).ok_or("no such machine")?.clone();
    let camera = config.camera(&machine.camera).ok_or("no camera")?;
    let sheetsight_config::SourceSpec::File(path) = &camera.source else { return Err("not a recorded source".into()) };
    let source = sheetsight_media::open(path, camera.fps.unwrap_or(10.0))?;
    Ok(Trace { machine, source, from_s: args[3].parse()?, to_s: args[4].parse()? })
}
