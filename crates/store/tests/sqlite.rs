//! The SQLite store on a real file: intervals, crash recovery, retention.

use sheetsight_store::sqlite::SqliteStore;
use sheetsight_store::{CycleFilter, Query, Store, UnixMillis};
use sheetsight_vision::event::{CameraHealth, Event, LiveEvent};
use sheetsight_vision::lamp::{LampColor, LampMode};
use sheetsight_vision::state::MachineState;

/// Seconds since 1970 as wall time.
fn unix_s(t_s: f64) -> UnixMillis {
    UnixMillis::from_unix_s(t_s)
}

fn state(machine: &str, state: MachineState, t_s: f64) -> LiveEvent {
    Event::State { machine: machine.into(), state, t: unix_s(t_s) }
}

fn all() -> Query {
    Query { from: UnixMillis(0), to: UnixMillis(i64::MAX), key: None }
}

#[tokio::test]
async fn events_become_intervals_and_a_clean_stop_closes_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open(dir.path()).await.expect("open");
    let run = store.begin_run(UnixMillis(1_000), "test").await.expect("run");
    let events = [
        Event::Health { camera: "c".into(), health: CameraHealth::Streaming, detail: None, t: unix_s(1.0) },
        state("m", MachineState::Executing, 1.0),
        Event::Lamp { machine: "m".into(), lamp: 0, color: LampColor::Green, mode: LampMode::Steady, t: unix_s(1.0) },
        Event::Stroke { machine: "m".into(), start_t: unix_s(2.0), end_t: unix_s(3.5), person_in_region: false },
        state("m", MachineState::NotExecuting, 5.0),
    ];
    store.write(run, &events, UnixMillis(5_000)).await.expect("write");
    let states = store.states(&all()).await.expect("states");
    assert_eq!(states.len(), 2);
    assert_eq!(
        (states[0].value, states[0].start, states[0].end),
        (MachineState::Executing, UnixMillis(1_000), Some(UnixMillis(5_000)))
    );
    assert_eq!(states[1].end, None, "the current state is open");
    store.end_run(run, UnixMillis(9_000)).await.expect("stop");
    let states = store.states(&all()).await.expect("states");
    assert_eq!(states[1].end, Some(UnixMillis(9_000)));
    assert_eq!(store.health(&all()).await.expect("health")[0].end, Some(UnixMillis(9_000)));
    assert_eq!(store.lamps(&all()).await.expect("lamps")[0].end, Some(UnixMillis(9_000)));
    assert_eq!(store.strokes(&all()).await.expect("strokes").len(), 1);
    // Overlap queries: the first interval ends at 5 s, so 5..9 s sees only the second.
    let q = Query { from: UnixMillis(5_000), to: UnixMillis(9_000), key: Some("m".into()) };
    assert_eq!(store.states(&q).await.expect("states").len(), 1);
    let q = Query { from: UnixMillis(0), to: UnixMillis(i64::MAX), key: Some("other".into()) };
    assert!(store.states(&q).await.expect("states").is_empty());
    let runs = store.runs().await.expect("runs");
    assert_eq!(runs[0].stop_reason.as_deref(), Some("stop"));
    assert_eq!(store.integrity_check().await.expect("check"), "ok");
}

#[tokio::test]
async fn a_crashed_run_is_closed_at_its_heartbeat_and_the_gap_is_not_available() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let store = SqliteStore::open(dir.path()).await.expect("open");
        let run = store.begin_run(UnixMillis(0), "test").await.expect("run");
        store.write(run, &[state("m", MachineState::Executing, 1.0)], UnixMillis(10_000)).await.expect("write");
        store.write(run, &[state("n", MachineState::NotAvailable, 2.0)], UnixMillis(11_000)).await.expect("write");
        // no end_run: the process dies here
    }
    let store = SqliteStore::open(dir.path()).await.expect("reopen");
    store.begin_run(UnixMillis(60_000), "test").await.expect("second run");
    let states = store.states(&all()).await.expect("states");
    let m: Vec<_> = states.iter().filter(|s| s.key == "m").map(|s| (s.value, s.start.0, s.end.map(|e| e.0))).collect();
    assert_eq!(
        m,
        [(MachineState::Executing, 1_000, Some(11_000)), (MachineState::NotAvailable, 11_000, Some(60_000))],
        "running only as long as known, then unknown until the restart"
    );
    let n: Vec<_> = states.iter().filter(|s| s.key == "n").map(|s| (s.value, s.start.0, s.end.map(|e| e.0))).collect();
    assert_eq!(n, [(MachineState::NotAvailable, 2_000, Some(60_000))]);
    let runs = store.runs().await.expect("runs");
    assert_eq!((runs[0].stop_reason.as_deref(), runs[0].stopped), (Some("crash"), Some(UnixMillis(11_000))));
    assert_eq!(runs[1].stopped, None);
}

#[tokio::test]
async fn retention_deletes_only_closed_history_older_than_the_cutoff() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open(dir.path()).await.expect("open");
    let run = store.begin_run(UnixMillis(0), "test").await.expect("run");
    let events = [
        state("m", MachineState::Executing, 1.0),
        Event::Stroke { machine: "m".into(), start_t: unix_s(1.0), end_t: unix_s(2.0), person_in_region: false },
        state("m", MachineState::NotExecuting, 100.0),
        Event::Stroke { machine: "m".into(), start_t: unix_s(200.0), end_t: unix_s(201.0), person_in_region: false },
    ];
    store.write(run, &events, UnixMillis(300_000)).await.expect("write");
    let deleted = store.purge(UnixMillis(150_000)).await.expect("purge");
    assert_eq!(deleted, 2, "the closed Executing interval and the first stroke");
    let states = store.states(&all()).await.expect("states");
    assert_eq!(states.len(), 1);
    assert_eq!(states[0].value, MachineState::NotExecuting);
    assert_eq!(store.strokes(&all()).await.expect("strokes").len(), 1);
    // The stroke counter is not lowered by retention, and goes on across a reopening.
    assert_eq!(store.stroke_totals().await.expect("totals"), [("m".to_string(), 2)]);
    store.close().await;
    let store = SqliteStore::open(dir.path()).await.expect("reopen");
    let run = store.begin_run(UnixMillis(400_000), "test").await.expect("run");
    let stroke =
        Event::Stroke { machine: "m".into(), start_t: unix_s(401.0), end_t: unix_s(402.0), person_in_region: false };
    store.write(run, &[stroke], UnixMillis(403_000)).await.expect("write");
    assert_eq!(store.stroke_totals().await.expect("totals"), [("m".to_string(), 3)]);
}

#[tokio::test]
async fn cycles_are_stored_with_the_job_that_ran_and_filtered_by_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open(dir.path()).await.expect("open");
    let run = store.begin_run(UnixMillis(0), "test").await.expect("run");
    let cycle = |machine: &str, a: f64, b: f64| Event::Cycle {
        machine: machine.into(),
        start_t: unix_s(a),
        end_t: unix_s(b),
        strokes: 3,
    };
    store.write(run, &[cycle("m", 1.0, 9.0)], UnixMillis(10_000)).await.expect("write");
    store.add_note("m", "job", "PN-7", UnixMillis(15_000), None, "ana", UnixMillis(15_000)).await.expect("job");
    store.add_note("m", "job", "PN-8", UnixMillis(40_000), None, "li", UnixMillis(40_000)).await.expect("job");
    let later = [cycle("m", 20.0, 30.0), cycle("m", 41.0, 50.0), cycle("other", 20.0, 25.0)];
    store.write(run, &later, UnixMillis(60_000)).await.expect("write");

    let filter = |key: Option<&str>, job: Option<&str>| CycleFilter {
        query: Query { key: key.map(String::from), ..all() },
        job: job.map(String::from),
        ..CycleFilter::default()
    };
    let mut stored = store.cycles(&filter(None, None)).await.expect("cycles");
    stored.reverse(); // newest first
    let jobs: Vec<(&str, Option<&str>, Option<&str>)> =
        stored.iter().map(|c| (c.machine.as_str(), c.job.as_deref(), c.operator.as_deref())).collect();
    assert_eq!(
        jobs,
        [("m", None, None), ("other", None, None), ("m", Some("PN-7"), Some("ana")), ("m", Some("PN-8"), Some("li"))]
    );
    assert_eq!((stored[0].start, stored[0].end, stored[0].strokes), (UnixMillis(1_000), UnixMillis(9_000), 3));
    let pn7 = store.cycles(&filter(None, Some("PN-7"))).await.expect("cycles");
    assert_eq!(pn7.len(), 1);
    assert_eq!(pn7[0].end, UnixMillis(30_000));
    assert_eq!(store.cycles(&filter(Some("other"), None)).await.expect("cycles").len(), 1);
    // A page: the newest two, then the rest.
    let page = CycleFilter { limit: Some(2), offset: 1, ..filter(Some("m"), None) };
    let ends: Vec<UnixMillis> = store.cycles(&page).await.expect("cycles").iter().map(|c| c.end).collect();
    assert_eq!(ends, [UnixMillis(30_000), UnixMillis(9_000)]);
    // Retention takes old cycles with the rest of the history.
    store.purge(UnixMillis(26_000)).await.expect("purge");
    assert_eq!(store.cycles(&filter(None, None)).await.expect("cycles").len(), 2);
}

#[tokio::test]
async fn a_golden_cycle_sets_the_standard_until_one_is_given_and_outlives_retention() {
    use sheetsight_store::standards::StandardEdit;
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open(dir.path()).await.expect("open");
    let run = store.begin_run(UnixMillis(0), "test").await.expect("run");
    store.add_note("m", "job", "PN-7", UnixMillis(0), None, "ana", UnixMillis(0)).await.expect("job");
    let cycle = |a: f64, b: f64| Event::Cycle { machine: "m".into(), start_t: unix_s(a), end_t: unix_s(b), strokes: 2 };
    store.write(run, &[cycle(1.0, 41.0), cycle(50.0, 95.0)], UnixMillis(100_000)).await.expect("write");
    let all_cycles = store.cycles(&CycleFilter { query: all(), ..CycleFilter::default() }).await.expect("cycles");
    let first = all_cycles.iter().find(|c| c.start == UnixMillis(1_000)).expect("first");

    // Steps first, then the golden cycle: its 40 s become the standard.
    let edit = StandardEdit { steps_en: Some("1. Bend A\n2. Bend B".into()), ..StandardEdit::default() };
    let s = store.edit_standard("m", "PN-7", &edit, "lead", UnixMillis(110_000)).await.expect("edit");
    assert_eq!((s.standard_ms, s.golden_cycle, s.steps_zh.as_str()), (None, None, ""));
    let s = store.set_golden(first.id, "m", "PN-7", "lead", UnixMillis(120_000)).await.expect("golden");
    assert_eq!((s.golden_cycle, s.standard_ms, s.standard_given), (Some(first.id), Some(40_000), false));
    assert_eq!(s.steps_en, "1. Bend A\n2. Bend B", "marking the golden cycle keeps the steps");
    // A given standard wins; `null` goes back to the golden cycle's duration.
    let given = StandardEdit { standard_ms: Some(Some(38_000)), ..StandardEdit::default() };
    let s = store.edit_standard("m", "PN-7", &given, "lead", UnixMillis(130_000)).await.expect("edit");
    assert_eq!((s.standard_ms, s.standard_given, s.steps_en.as_str()), (Some(38_000), true, "1. Bend A\n2. Bend B"));
    let back = StandardEdit { standard_ms: Some(None), ..StandardEdit::default() };
    let s = store.edit_standard("m", "PN-7", &back, "lead", UnixMillis(140_000)).await.expect("edit");
    assert_eq!((s.standard_ms, s.standard_given), (Some(40_000), false));

    // Retention takes the other old cycle, never the golden one.
    store.purge(UnixMillis(200_000)).await.expect("purge");
    let left = store.cycles(&CycleFilter { query: all(), ..CycleFilter::default() }).await.expect("cycles");
    assert_eq!(left.iter().map(|c| c.id).collect::<Vec<_>>(), vec![first.id]);
    assert_eq!(store.standards(Some("m")).await.expect("standards")[0].golden_cycle, Some(first.id));
    assert!(store.standards(Some("other")).await.expect("standards").is_empty());
}

fn presence(zone: &str, operator_of: Option<&str>, people: u32, t_s: f64) -> LiveEvent {
    Event::Presence { zone: zone.into(), operator_of: operator_of.map(String::from), people, t: unix_s(t_s) }
}

#[tokio::test]
async fn zone_counts_become_intervals_closed_by_a_stop_or_a_crash_and_safety_events_are_kept() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let store = SqliteStore::open(dir.path()).await.expect("open");
        let run = store.begin_run(UnixMillis(0), "test").await.expect("run");
        let events = [
            presence("op", Some("m"), 1, 10.0),
            presence("walk", None, 2, 12.0),
            Event::Safety {
                zone: "back".into(),
                machine: "m".into(),
                people: 1,
                advisory: true,
                t: unix_s(15.0),
                snapshot: Some("back-15000.jpg".into()),
            },
            // Dated when first seen: before the last event stored, and still in order
            // for its own zone.
            presence("op", Some("m"), 0, 14.0),
        ];
        store.write(run, &events, UnixMillis(20_000)).await.expect("write");
        // The process dies here: the open counts are known up to the heartbeat.
    }
    let store = SqliteStore::open(dir.path()).await.expect("reopen");
    let run = store.begin_run(UnixMillis(60_000), "test").await.expect("second run");
    let all_zones = store.presence(&all()).await.expect("presence");
    let seen: Vec<_> =
        all_zones.iter().map(|p| (p.key.as_str(), p.value.people, p.start.0, p.end.map(|e| e.0))).collect();
    assert_eq!(
        seen,
        [("op", 1, 10_000, Some(14_000)), ("op", 0, 14_000, Some(20_000)), ("walk", 2, 12_000, Some(20_000))]
    );
    let q = Query { key: Some("m".into()), ..all() };
    let operator = store.operator_presence(&q).await.expect("operator zones");
    assert_eq!(operator.len(), 2, "only the operator zone of m");
    assert!(operator.iter().all(|p| p.value.operator_of.as_deref() == Some("m")));
    let safety = store.safety_events(&all()).await.expect("safety");
    assert_eq!(safety.len(), 1);
    assert_eq!(
        (safety[0].zone.as_str(), safety[0].t.0, safety[0].snapshot.as_deref()),
        ("back", 15_000, Some("back-15000.jpg"))
    );
    store.write(run, &[presence("op", Some("m"), 1, 70.0)], UnixMillis(71_000)).await.expect("write");
    store.end_run(run, UnixMillis(80_000)).await.expect("stop");
    let q = Query { from: UnixMillis(65_000), to: UnixMillis(90_000), key: Some("op".into()) };
    let last = store.presence(&q).await.expect("presence");
    assert_eq!((last.len(), last[0].end), (1, Some(UnixMillis(80_000))), "a clean stop closes the count");
    // Retention takes closed counts and old safety events like the rest of the history.
    store.purge(UnixMillis(30_000)).await.expect("purge");
    assert_eq!(store.presence(&all()).await.expect("presence").len(), 1);
    assert!(store.safety_events(&all()).await.expect("safety").is_empty());
}

/// The outbox's readers: a row leaves once the hub and a Sparkplug primary host are both
/// past it; a reader new to the database starts where it should; a reader no longer
/// enabled holds nothing back; positions survive a restart.
#[tokio::test]
async fn outbox_rows_stay_until_every_reader_is_past_them() {
    use sheetsight_store::outbox::OutboxReader::{Hub, Sparkplug};
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = SqliteStore::open(dir.path()).await.expect("open");
    store.enable_outbox(i64::MAX).await.expect("hub only");
    let run = store.begin_run(UnixMillis(1_000), "test").await.expect("run");
    let stroke = |machine: &str, end_ms: i64| sheetsight_vision::event::Event::Stroke {
        machine: machine.into(),
        start_t: UnixMillis(end_ms - 400),
        end_t: UnixMillis(end_ms),
        person_in_region: false,
    };
    store.write(run, &[stroke("brake-1", 2_000)], UnixMillis(2_000)).await.expect("write");
    let before_sparkplug = store.outbox_last_seq().await.expect("last");
    drop(store);

    // Sparkplug joins: it starts at the end; the hub keeps what it has not acknowledged.
    let mut store = SqliteStore::open(dir.path()).await.expect("open");
    store.enable_outbox_for(i64::MAX, &[Hub, Sparkplug]).await.expect("both");
    assert_eq!(store.outbox_position(Sparkplug).await.expect("position"), before_sparkplug);
    assert_eq!(store.outbox_position(Hub).await.expect("position"), 0);
    for (i, machine) in ["brake-1", "brake-1", "punch-1"].into_iter().enumerate() {
        store.write(run, &[stroke(machine, 3_000 + i as i64 * 1_000)], UnixMillis(6_000)).await.expect("write");
    }
    let last = store.outbox_last_seq().await.expect("last");
    // 1 stroke of brake-1 before the rows Sparkplug has not read, and none of punch-1.
    let mut bases = store.outbox_stroke_bases(before_sparkplug).await.expect("bases");
    bases.sort();
    assert_eq!(bases, [("brake-1".to_string(), 1), ("punch-1".to_string(), 0)]);
    let events = store.outbox_events_after(before_sparkplug, 100).await.expect("events");
    assert_eq!(events.iter().map(|(_, e)| e.len()).sum::<usize>(), 3);

    assert_eq!(
        store.outbox_acknowledged(last).await.expect("ack"),
        before_sparkplug as u64,
        "Sparkplug holds the rest"
    );
    assert_eq!(store.outbox_forgotten().await.expect("forgotten"), last, "the hub has everything");
    assert_eq!(store.outbox_read(Sparkplug, last - 1).await.expect("read"), 2);
    assert_eq!(store.outbox_read(Sparkplug, 1).await.expect("read"), 0, "a position never goes back");
    assert_eq!(store.outbox_position(Sparkplug).await.expect("position"), last - 1);
    drop(store);

    // After a restart the positions hold; without Sparkplug, the hub alone decides.
    let mut store = SqliteStore::open(dir.path()).await.expect("open");
    store.enable_outbox_for(i64::MAX, &[Hub, Sparkplug]).await.expect("both");
    assert_eq!(store.outbox_position(Sparkplug).await.expect("position"), last - 1);
    store.write(run, &[stroke("punch-1", 9_000)], UnixMillis(9_000)).await.expect("write");
    drop(store);
    let mut store = SqliteStore::open(dir.path()).await.expect("open");
    store.enable_outbox(i64::MAX).await.expect("hub only");
    let newest = store.outbox_last_seq().await.expect("last");
    assert_eq!(store.outbox_acknowledged(newest).await.expect("ack"), 2, "Sparkplug no longer holds rows");
    assert_eq!(store.outbox_status().await.expect("status").rows, 0);
}
