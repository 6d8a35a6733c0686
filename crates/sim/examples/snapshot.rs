//! Writes one rendered frame of the standard shop as PNG: `cargo run -p sheetsight-sim --example snapshot -- T OUT.png`
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let t: f64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(30.0);
    let out = args.get(2).cloned().unwrap_or_else(|| "snapshot.png".into());
    let (_, spec) = sheetsight_sim::shop_specs(1280, 720, 10.0, 600.0, 1, sheetsight_sim::Nuisances::ALL).remove(0);
    let mut r = sheetsight_sim::Renderer::new(sheetsight_sim::Scene::generate(&spec));
    let f = r.render(t);
    let img = image::RgbImage::from_raw(f.width_px(), f.height_px(), f.to_rgb8()).expect("size");
    img.save(&out).expect("save");
    for w in &r.scene().walks {
        println!("walk {:.1}..{:.1}", w.start_s, w.end_s());
    }
}
