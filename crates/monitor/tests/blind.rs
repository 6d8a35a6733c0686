//! A camera that goes blind and comes back: lamps `unknown` and the machine
//! `NotAvailable` from that moment, readings decided afresh afterwards, and no event
//! repeated that did not change.

use sheetsight_base::time::VideoSeconds;
use sheetsight_config::{LampConfig, MachineConfig, MotionConfig};
use sheetsight_monitor::{CameraAnalyzer, Event, VideoEvent};
use sheetsight_sim::{Nuisances, Renderer, Scene, shop_specs};
use sheetsight_vision::lamp::LampMode;
use sheetsight_vision::state::{MachineState, StateRules};

fn analyse(analyzer: &mut CameraAnalyzer, renderer: &mut Renderer, from_s: f64, to_s: f64) -> Vec<VideoEvent> {
    let mut events = Vec::new();
    let mut t = from_s;
    while t < to_s {
        analyzer.process_frame(t, &renderer.render(t), &mut events);
        t += 0.1;
    }
    events
}

/// What a user would configure for every machine of a synthetic scene.
fn machines_of(scene: &Scene) -> Vec<MachineConfig> {
    scene
        .machines
        .iter()
        .map(|m| MachineConfig {
            id: m.id.clone(),
            camera: "cam".into(),
            kind: None,
            lamps: m.colors.iter().enumerate().map(|(k, &color)| LampConfig { color, roi_px: m.lamp_roi(k) }).collect(),
            motion: Some(MotionConfig::new(m.motion_roi())),
            rules: StateRules::default(),
            ideal_strokes_per_hour: None,
            cycle: Default::default(),
        })
        .collect()
}

#[test]
fn blind_then_back() {
    let (_, spec) = shop_specs(640, 360, 10.0, 30.0, 4, Nuisances::NONE).remove(0);
    let scene = Scene::generate(&spec);
    let machines = machines_of(&scene);
    let lamps: usize = machines.iter().map(|m| m.lamps.len()).sum();
    let mut analyzer = CameraAnalyzer::from_machines("cam", Some(10.0), &machines, 640, 360).expect("analyzer");
    let mut renderer = Renderer::new(scene.clone());

    let before = analyse(&mut analyzer, &mut renderer, 0.0, 5.0);
    let states_before = before.iter().filter(|e| matches!(e, Event::State { .. })).count();
    assert_eq!(states_before, machines.len(), "every machine has a state: {before:?}");

    let mut blind: Vec<VideoEvent> = Vec::new();
    analyzer.blind(5.0, &mut blind);
    let unknown = blind
        .iter()
        .filter(|e| matches!(e, Event::Lamp { mode: LampMode::Unknown, t, .. } if *t == VideoSeconds(5.0)))
        .count();
    let not_available = blind
        .iter()
        .filter(|e| matches!(e, Event::State { state: MachineState::NotAvailable, t, .. } if *t == VideoSeconds(5.0)))
        .count();
    assert_eq!((unknown, not_available), (lamps, machines.len()), "{blind:?}");
    let mut again: Vec<VideoEvent> = Vec::new();
    analyzer.blind(6.0, &mut again);
    assert!(again.is_empty(), "nothing changed, nothing sent: {again:?}");

    // Back: every lamp and machine is decided again, from fresh readers.
    let after = analyse(&mut analyzer, &mut renderer, 10.0, 15.0);
    let lamps_after =
        after.iter().filter(|e| matches!(e, Event::Lamp { mode, .. } if *mode != LampMode::Unknown)).count();
    assert!(lamps_after >= lamps, "{after:?}");
    let states_after: Vec<_> = after.iter().filter(|e| matches!(e, Event::State { .. })).collect();
    assert!(states_after.len() >= machines.len(), "{after:?}");
    assert!(states_after.iter().all(|e| matches!(e, Event::State { t, .. } if *t >= VideoSeconds(10.0))));
}

#[test]
fn edited_regions_continue_the_reported_states() {
    let (_, spec) = shop_specs(640, 360, 10.0, 30.0, 4, Nuisances::NONE).remove(0);
    let scene = Scene::generate(&spec);
    let machines = machines_of(&scene);
    let mut old = CameraAnalyzer::from_machines("cam", Some(10.0), &machines, 640, 360).expect("analyzer");
    let mut renderer = Renderer::new(scene.clone());
    analyse(&mut old, &mut renderer, 0.0, 5.0);
    let before = old.statuses();

    // A lamp region moved by a pixel: new readers, same machine.
    let mut edited = machines.clone();
    for p in &mut edited[0].lamps[0].roi_px {
        p[0] += 1.0;
    }
    let mut new = CameraAnalyzer::from_machines("cam", Some(10.0), &edited, 640, 360).expect("analyzer");
    new.continue_from(&old);
    for (b, a) in before.iter().zip(new.statuses()) {
        assert_eq!((b.state, b.state_since_s, b.strokes), (a.state, a.state_since_s, a.strokes), "{}", b.id);
    }
    // The same scene read again with the new regions: no state event repeats what was
    // reported, nor a lamp event for a steady or dark lamp. (A fresh reader first takes
    // a flashing lamp for blinking until it has seen a whole flash period.)
    let events = analyse(&mut new, &mut renderer, 5.0, 8.0);
    let settled = |machine: &str, lamp: usize| {
        before
            .iter()
            .find(|s| s.id == machine)
            .and_then(|s| s.lamps[lamp].1)
            .is_some_and(|m| matches!(m, LampMode::Steady | LampMode::Off))
    };
    let repeats: Vec<_> = events
        .iter()
        .filter(|e| match e {
            Event::State { .. } => true,
            Event::Lamp { machine, lamp, .. } => settled(machine, *lamp),
            _ => false,
        })
        .collect();
    assert!(repeats.is_empty(), "{repeats:?}");
    // Without continuing, the same reading would report every state again.
    let mut afresh = CameraAnalyzer::from_machines("cam", Some(10.0), &edited, 640, 360).expect("analyzer");
    let events = analyse(&mut afresh, &mut Renderer::new(scene), 5.0, 8.0);
    assert!(events.iter().filter(|e| matches!(e, Event::State { .. })).count() >= machines.len());
}
