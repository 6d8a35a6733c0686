//! Events as JSON Lines: one event per line.

use std::io::{BufRead, Write};
use std::path::Path;

use sheetsight_base::time::StreamTime;
use sheetsight_vision::event::Event;

/// Reading an events file failed.
#[derive(Debug, thiserror::Error)]
pub enum JsonlError {
    #[error("cannot read {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("{path}:{line}: not an event: {message}")]
    Parse { path: String, line: usize, message: String },
}

/// Reads every event of a JSON Lines file (blank lines are allowed), timed on the clock
/// `T` (a video's seconds, or wall time for events written live).
pub fn read_events<T: StreamTime>(path: &Path) -> Result<Vec<Event<T>>, JsonlError> {
    let name = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|source| JsonlError::Io { path: name.clone(), source })?;
    let mut events = Vec::new();
    for (i, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|source| JsonlError::Io { path: name.clone(), source })?;
        if line.trim().is_empty() {
            continue;
        }
        let event = serde_json::from_str(&line).map_err(|e| JsonlError::Parse {
            path: name.clone(),
            line: i + 1,
            message: e.to_string(),
        })?;
        events.push(event);
    }
    Ok(events)
}

/// Writes one event as a line.
pub fn write_event<T: StreamTime>(out: &mut impl Write, event: &Event<T>) -> std::io::Result<()> {
    serde_json::to_writer(&mut *out, event).map_err(std::io::Error::other)?;
    out.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use sheetsight_base::time::VideoSeconds;
    use sheetsight_vision::lamp::{LampColor, LampMode};
    use sheetsight_vision::state::MachineState;

    #[test]
    fn documented_line_format() {
        let mut out = Vec::new();
        let events = [
            Event::Lamp {
                machine: "brake-1".into(),
                lamp: 0,
                color: LampColor::Red,
                mode: LampMode::Steady,
                t: VideoSeconds(12.3000004),
            },
            Event::State { machine: "brake-1".into(), state: MachineState::Executing, t: VideoSeconds(12.3) },
            Event::Stroke {
                machine: "brake-1".into(),
                start_t: VideoSeconds(10.1),
                end_t: VideoSeconds(11.0),
                person_in_region: false,
            },
        ];
        for e in &events {
            write_event(&mut out, e).expect("write");
        }
        let text = String::from_utf8(out).expect("utf8");
        assert_eq!(
            text,
            concat!(
                r#"{"type":"lamp","machine":"brake-1","lamp":0,"color":"red","mode":"steady","t":12.3}"#,
                "\n",
                r#"{"type":"state","machine":"brake-1","state":"Executing","t":12.3}"#,
                "\n",
                r#"{"type":"stroke","machine":"brake-1","start_t":10.1,"end_t":11.0}"#,
                "\n"
            )
        );
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("e.jsonl");
        std::fs::write(&path, format!("{text}\n{{\"type\":\"lamp\"}}\n")).expect("write");
        let err = read_events::<VideoSeconds>(&path).expect_err("line 5 is incomplete");
        assert!(err.to_string().contains(":5: not an event"), "{err}");
    }
}
