//! Prints the towers of field scenes: `towers dev|validation FIRST COUNT`.
use sheetsight_sim::Scene;
use sheetsight_sim::field::{SceneSet, field_scenes};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let set = if args.get(1).map(String::as_str) == Some("validation") {
        SceneSet::Validation
    } else {
        SceneSet::Development
    };
    let first: usize = args.get(2).map_or(Ok(0), |a| a.parse())?;
    let count: usize = args.get(3).map_or(Ok(1), |a| a.parse())?;
    for field in field_scenes(set, first..first + count, 180.0) {
        let scene = Scene::generate(&field.spec);
        println!(
            "{} {}x{} {} fps {} noise {:.1} shake {} glow {:.2}/{:.2} ae {:.2} lampw {:.2} tc {:.1} awb {:.2} jumps {}",
            field.id,
            field.spec.width_px,
            field.spec.height_px,
            field.spec.fps,
            field.encoding,
            field.spec.nuisances.noise_sigma,
            field.spec.nuisances.shake_px,
            scene.glow.strength,
            scene.glow.length_r,
            scene.camera.ae_strength,
            scene.camera.ae_lamp_weight,
            scene.camera.ae_time_constant_s,
            scene.camera.awb_strength,
            scene.camera.jumps.len()
        );
        for m in &scene.machines {
            let colors: Vec<&str> = m.colors.iter().map(|c| c.as_str()).collect();
            println!(
                "  {} h {:.1} px gap {:.1} roi {:.2}{} intensity {:.2} colours {:?} unlit {:?}",
                m.id,
                2.0 * m.lamp_radius_px,
                m.look.gap_px,
                m.look.roi_scale,
                if m.look.roi_square { " square" } else { "" },
                m.look.intensity,
                colors,
                m.look.lens_off_rgb
            );
        }
    }
    Ok(())
}
