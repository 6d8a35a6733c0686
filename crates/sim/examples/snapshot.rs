//! Writes one rendered frame as PNG: the standard shop, or scene N of a field set.
//!
//! `cargo run -p sheetsight-sim --example snapshot -- T OUT.png [dev|validation N]`
use sheetsight_sim::field::{SceneSet, field_scene};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let t: f64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(30.0);
    let out = args.get(2).cloned().unwrap_or_else(|| "snapshot.png".into());
    let set = match args.get(3).map(String::as_str) {
        Some("dev") => Some(SceneSet::Development),
        Some("validation") => Some(SceneSet::Validation),
        _ => None,
    };
    let spec = match set {
        Some(set) => field_scene(set, args.get(4).and_then(|s| s.parse().ok()).unwrap_or(0), 600.0).spec,
        None => sheetsight_sim::shop_specs(1280, 720, 10.0, 600.0, 1, sheetsight_sim::Nuisances::ALL).remove(0).1,
    };
    let mut r = sheetsight_sim::Renderer::new(sheetsight_sim::Scene::generate(&spec));
    // Run the camera's exposure up to `t` as a camera would have.
    let mut f = r.render(0.0);
    let step = 1.0 / spec.fps;
    let mut now = step;
    while now <= t {
        f = r.render(now);
        now += step;
    }
    let img = image::RgbImage::from_raw(f.width_px(), f.height_px(), f.to_rgb8()).expect("size");
    img.save(&out).expect("save");
    for m in &r.scene().machines {
        println!("{}: lamp radius {} px, {:?}", m.id, m.lamp_radius_px, m.look);
    }
}
