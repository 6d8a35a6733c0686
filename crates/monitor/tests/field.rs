//! Field scenes end to end: the first development scenes of the field set (towers of
//! every size, with and without gaps, coloured unlit lenses, glow, a camera that
//! re-exposes and re-balances, heavy noise, shake, people; x264 Baseline and High with
//! B-frames at low bit rates, through `ffmpeg`), analysed and scored against their truth.
//!
//! This is a regression floor under the figures `sheetsight accuracy --set dev` and
//! `--set validation` print (quoted in the README); it holds them on one minute per
//! scene so that CI can afford it.

use sheetsight_monitor::VideoEvent;
use sheetsight_monitor::evaluate::{false_unknown_after, score};
use sheetsight_sim::field::{SceneSet, field_scenes};
use sheetsight_sim::{Scene, config_toml, write_encoded_video};

#[test]
fn field_scenes_are_read_within_the_regression_floor() {
    sheetsight_testkit::require_program("ffmpeg", &["-version"], "ffmpeg");
    let seconds = 60.0;
    let dir = tempfile::tempdir().expect("tempdir");
    let fields = field_scenes(SceneSet::Development, 0..4, seconds);
    let scenes: Vec<Scene> = fields.iter().map(|f| Scene::generate(&f.spec)).collect();
    let jobs: Vec<_> = fields.iter().zip(&scenes).collect();
    std::thread::scope(|scope| {
        for pair in jobs.chunks(2) {
            let dir = dir.path();
            scope.spawn(move || {
                for (field, scene) in pair {
                    let path = dir.join(format!("{}.mp4", field.id));
                    write_encoded_video(scene, &path, field.encoding, |_, _| {}).expect("video written");
                }
            });
        }
    });
    let cameras: Vec<(String, String, &Scene)> =
        fields.iter().zip(&scenes).map(|(f, s)| (f.id.clone(), format!("{}.mp4", f.id), s)).collect();
    let config_path = dir.path().join("sheetsight.toml");
    std::fs::write(&config_path, config_toml(&cameras)).expect("config written");
    let config = sheetsight_config::load(&config_path).expect("config loads");
    let mut events: Vec<VideoEvent> = Vec::new();
    let report =
        sheetsight_monitor::analyze::analyze(&config, None, |e| events.push(e.clone())).expect("analysis runs");
    assert_eq!(report.failed_cameras().count(), 0);
    let truth: Vec<VideoEvent> = scenes.iter().flat_map(Scene::truth).collect();
    let s = score(&truth, &events, seconds, 2.0);
    eprintln!("{s}");
    assert!(s.lamp.compared > 500 && s.state.compared > 500, "{s}");
    assert!(s.lamp.ratio() >= 0.97, "lamp agreement {}\n{s}", s.lamp.ratio());
    assert!(s.state.ratio() >= 0.97, "state agreement {}\n{s}", s.state.ratio());
    assert!(s.strokes.f1() >= 0.98, "stroke F1 {}\n{s}", s.strokes.f1());
    // After the whole picture changes (exposure jumps, room lights), lamps nobody stands
    // in front of are not lost for long.
    let changes: Vec<(String, f64)> = scenes
        .iter()
        .flat_map(|s| {
            s.global_changes_s().into_iter().flat_map(move |t| s.machines.iter().map(move |m| (m.id.clone(), t)))
        })
        .collect();
    assert!(!changes.is_empty());
    let longest = false_unknown_after(&truth, &events, &changes, 5.0).into_iter().fold(0.0, f64::max);
    assert!(longest <= 2.0, "a visible lamp read unknown for {longest:.2} s after a global change");
}
