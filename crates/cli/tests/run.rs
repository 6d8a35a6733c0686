//! `sheetsight run` as a process: killed with SIGKILL while it writes and restarted,
//! stopped with SIGTERM, its history reported; and a codec it cannot decode.

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use sheetsight_store::sqlite::SqliteStore;
use sheetsight_store::{CycleFilter, Query, Store};
use sheetsight_vision::event::{CameraHealth, Event, LiveEvent};
use sheetsight_vision::state::MachineState;

mod common;

use common::{looping_shop, sheetsight};

fn start(config: &Path, events: &Path, env: &[(&str, &str)]) -> Child {
    sheetsight()
        .arg("run")
        .arg(config)
        .arg("--events")
        .arg(events)
        .args(["--listen", "127.0.0.1:0"])
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start sheetsight run")
}

fn read_events(path: &Path) -> Vec<LiveEvent> {
    std::fs::read_to_string(path).unwrap_or_default().lines().filter_map(|l| serde_json::from_str(l).ok()).collect()
}

/// Waits until the event log satisfies `f`.
fn wait_events(path: &Path, timeout: Duration, f: impl Fn(&[LiveEvent]) -> bool) -> Vec<LiveEvent> {
    let deadline = Instant::now() + timeout;
    loop {
        let events = read_events(path);
        if f(&events) || Instant::now() > deadline {
            return events;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn terminate(child: Child) -> (i32, String) {
    // SAFETY: kill(2) on our own child's pid.
    let rc = unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    assert_eq!(rc, 0, "SIGTERM sent");
    let out = child.wait_with_output().expect("wait");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn sigkill_loses_at_most_the_last_second_and_the_gap_is_not_available() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = looping_shop(dir.path(), "");
    let (ev1, ev2) = (dir.path().join("run1.jsonl"), dir.path().join("run2.jsonl"));

    let mut first = start(&config, &ev1, &[]);
    // Run until every machine has a state and strokes have been counted, then a few seconds more.
    let events = wait_events(&ev1, Duration::from_secs(60), |e| {
        let states = e
            .iter()
            .filter(|e| matches!(e, Event::State { state, .. } if *state != MachineState::NotAvailable))
            .count();
        let strokes = e.iter().filter(|e| matches!(e, Event::Stroke { .. })).count();
        states >= 5 && strokes >= 3
    });
    assert!(events.len() > 10, "the service ran: {} events", events.len());
    std::thread::sleep(Duration::from_millis(2500));
    let kill_s = sheetsight_base::time::now_unix_s();
    first.kill().expect("SIGKILL");
    let _ = first.wait();

    let second = start(&config, &ev2, &[]);
    let restarted = wait_events(&ev2, Duration::from_secs(30), |e| {
        e.iter().filter(|e| matches!(e, Event::Health { health: CameraHealth::Streaming, .. })).count() >= 2
    });
    assert!(!restarted.is_empty());
    let (code, stderr) = terminate(second);
    assert_eq!(code, 0, "a clean stop on SIGTERM: {stderr}");

    let data_dir = dir.path().join("sheetsight-data");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let stored_cycles = rt.block_on(async {
        let store = SqliteStore::open(&data_dir).await.expect("open the history");
        assert_eq!(store.integrity_check().await.expect("check"), "ok");
        let runs = store.runs().await.expect("runs");
        assert_eq!(runs.len(), 2);
        assert_eq!(runs[0].stop_reason.as_deref(), Some("crash"));
        assert_eq!(runs[1].stop_reason.as_deref(), Some("stop"));
        let heartbeat = runs[0].heartbeat;
        assert!(
            heartbeat.as_unix_s() > kill_s - 1.5 && heartbeat.as_unix_s() <= kill_s + 0.1,
            "the last heartbeat {heartbeat} is within a second of the kill at {kill_s}"
        );

        let all = Query { from: sheetsight_store::UnixMillis::EPOCH, to: sheetsight_store::UnixMillis::MAX, key: None };
        let states = store.states(&all).await.expect("states");
        let lamps = store.lamps(&all).await.expect("lamps");
        let strokes = store.strokes(&all).await.expect("strokes");
        assert!(states.iter().all(|s| s.end.is_some()), "nothing left open");
        assert!(lamps.iter().all(|s| s.end.is_some()), "nothing left open");

        // Everything the first run saw up to a second before the kill is stored.
        let mut checked = 0;
        for e in read_events(&ev1) {
            if e.t().is_none_or(|t| t.as_unix_s() > kill_s - 1.2) {
                continue;
            }
            let found = match &e {
                Event::State { machine, state, t } => {
                    states.iter().any(|s| &s.key == machine && s.value == *state && s.start == *t)
                }
                Event::Lamp { machine, lamp, mode, t, .. } => lamps
                    .iter()
                    .any(|l| l.key.0 == *machine && l.key.1 as usize == *lamp && l.value.1 == *mode && l.start == *t),
                Event::Stroke { machine, end_t, .. } => {
                    strokes.iter().any(|s| &s.machine == machine && s.end == *end_t)
                }
                _ => continue,
            };
            assert!(found, "lost in the crash: {e:?}");
            checked += 1;
        }
        assert!(checked > 20, "{checked} events checked");

        // What was open at the kill ends at the heartbeat, then NotAvailable until the restart.
        let restart = runs[1].started;
        let machines: std::collections::BTreeSet<&String> = states.iter().map(|s| &s.key).collect();
        let mut closed_at_heartbeat = 0;
        for m in machines {
            let mine: Vec<_> = states.iter().filter(|s| &s.key == m).collect();
            let gap = mine
                .iter()
                .find(|s| s.value == MachineState::NotAvailable && s.start <= heartbeat && s.end >= Some(restart))
                .unwrap_or_else(|| panic!("{m}: no NotAvailable over the crash: {mine:?}"));
            let before = mine.iter().filter(|s| s.start < gap.start).max_by_key(|s| s.start);
            if let Some(before) = before.filter(|b| b.value != MachineState::NotAvailable) {
                assert_eq!(before.end, Some(gap.start), "{m}: known up to the heartbeat, not beyond");
                assert_eq!(gap.start, heartbeat, "{m}: the gap starts at the heartbeat");
                closed_at_heartbeat += 1;
            }
        }
        assert!(closed_at_heartbeat >= 3, "machines in a known state at the kill: {closed_at_heartbeat}");
        let cycles = CycleFilter { query: all, job: None, limit: None, offset: 0 };
        store.cycles(&cycles).await.expect("cycles").len() as u64
    });

    // The report over both runs: every second of the day is in exactly one column.
    let today = chrono::Utc::now().date_naive();
    let yesterday = today - chrono::Duration::days(1);
    let o = sheetsight()
        .arg("report")
        .arg(&config)
        .args(["--from", &yesterday.to_string(), "--to", &today.to_string(), "--format", "json"])
        .output()
        .expect("report");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&o.stdout).expect("json rows");
    assert_eq!(rows.len(), 10, "5 machines x 2 days");
    let mut executing = 0.0;
    for r in &rows {
        let f = |k: &str| r[k].as_f64().unwrap_or_else(|| panic!("{k} in {r}"));
        let sum = f("executing_s") + f("not_executing_s") + f("out_of_service_s") + f("not_available_s");
        assert!((sum - f("planned_s")).abs() < 0.01, "{r}");
        executing += f("executing_s");
    }
    assert!(executing > 0.0, "some machine ran: {rows:?}");
    // Every stored cycle counted once, in the day it ended, and per job.
    let count = |v: &serde_json::Value| v.as_u64().unwrap_or_else(|| panic!("a count: {v}"));
    for r in &rows {
        let by_job: u64 =
            r["cycles_by_job"].as_array().expect("cycles_by_job").iter().map(|j| count(&j["count"])).sum();
        assert_eq!(by_job, count(&r["cycles"]), "{r}");
    }
    let reported: u64 = rows.iter().map(|r| count(&r["cycles"])).sum();
    assert!(stored_cycles > 0, "the machines' strokes made cycles");
    assert_eq!(reported, stored_cycles, "{rows:?}");

    let o = sheetsight()
        .arg("report")
        .arg(&config)
        .args(["--from", &today.to_string(), "--to", &today.to_string(), "--format", "csv", "--machine", "brake-1"])
        .output()
        .expect("report");
    let csv = String::from_utf8_lossy(&o.stdout);
    assert!(csv.starts_with("machine,shift,date,start,end,planned_s"), "{csv}");
    assert!(
        csv.lines().next().is_some_and(|h| h.ends_with(
            ",cycles,cycles_over_standard,cycle_lost_min,executing_attended_s,executing_unattended_s,\
         not_executing_attended_s,not_executing_unattended_s",
        )),
        "{csv}"
    );
    assert_eq!(csv.lines().count(), 2, "{csv}");

    let o = sheetsight()
        .arg("report")
        .arg(&config)
        .args(["--from", &today.to_string(), "--to", &today.to_string(), "--machine", "brake1"])
        .output()
        .expect("report");
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("did you mean `brake-1`"));
}

#[test]
fn h265_without_ffmpeg_fails_with_the_codec_and_the_remedy() {
    let dir = tempfile::tempdir().expect("tempdir");
    let video = dir.path().join("cam.h265.mp4");
    sheetsight_testkit::make_video(&video, 320, 240, 10, 60, &["-c:v", "libx265", "-x265-params", "log-level=error"]);
    let server = sheetsight_testkit::RtspServer::start(
        sheetsight_testkit::free_port(),
        &[("hevc", video.display().to_string())],
        None,
    );
    let config = dir.path().join("sheetsight.toml");
    std::fs::write(&config, format!("[[camera]]\nid = \"hevc\"\nsource = \"{}\"\n", server.url("hevc")))
        .expect("config");
    let events = dir.path().join("events.jsonl");
    let child = start(&config, &events, &[("SHEETSIGHT_FFMPEG", "/nonexistent/ffmpeg")]);
    let seen = wait_events(&events, Duration::from_secs(30), |e| {
        e.iter().any(|e| matches!(e, Event::Health { health: CameraHealth::Failed, .. }))
    });
    let (code, stderr) = terminate(child);
    assert_eq!(code, 0);
    let detail = seen
        .iter()
        .find_map(|e| match e {
            Event::Health { health: CameraHealth::Failed, detail, .. } => detail.clone(),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no failure: {seen:?}\n{stderr}"));
    assert!(detail.contains("H.265") && detail.contains("apt-get install ffmpeg"), "{detail}");
}
