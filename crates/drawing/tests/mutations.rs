//! Damaged drawings: thousands of mutations of a real DXF (bytes flipped, lines dropped
//! or doubled, numbers changed, the file cut short) must each be read or refused with an
//! error, never panic, and their topology built without panicking either.

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use sheetsight_drawing::plate::PlateSpec;
use sheetsight_drawing::{ReadOptions, read_dxf, topology};

fn mutate(base: &[u8], rng: &mut SmallRng) -> Vec<u8> {
    let text = String::from_utf8_lossy(base);
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    for _ in 0..rng.random_range(1..4) {
        if lines.len() < 2 {
            break;
        }
        let i = rng.random_range(0..lines.len());
        match rng.random_range(0..6) {
            0 => {
                lines.remove(i);
            }
            1 => {
                let l = lines[i].clone();
                lines.insert(i, l);
            }
            2 => lines[i] = ["-1e308", "NaN", "1e999", "-0", "999999999999", "0.0"][rng.random_range(0..6)].into(),
            3 => {
                lines[i] = ["0", "SECTION", "ENDSEC", "EOF", "LWPOLYLINE", "SPLINE", "INSERT", "71", "40", "10"]
                    [rng.random_range(0..10)]
                .into()
            }
            4 => lines.truncate(i.max(1)),
            _ => {
                let mut b = lines[i].clone().into_bytes();
                if !b.is_empty() {
                    let k = rng.random_range(0..b.len());
                    b[k] = rng.random();
                }
                lines[i] = String::from_utf8_lossy(&b).into_owned();
            }
        }
    }
    lines.join("\r\n").into_bytes()
}

#[test]
fn mutated_drawings_are_read_or_refused_never_a_panic() {
    let (base, _) =
        PlateSpec { width_mm: 100.0, height_mm: 80.0, pitch_mm: 20.0, hole_mm: 6.0 }.to_dxf().expect("plate");
    let mut rng = SmallRng::seed_from_u64(7);
    let (mut read, mut refused) = (0, 0);
    for round in 0..3000 {
        let bytes = mutate(&base, &mut rng);
        let outcome = std::panic::catch_unwind(|| {
            read_dxf(&bytes, &ReadOptions::default()).map(|d| topology::build(&d, 0.01).parts.len())
        });
        match outcome {
            Ok(Ok(_)) => read += 1,
            Ok(Err(_)) => refused += 1,
            Err(_) => panic!("round {round}: a panic on a damaged drawing:\n{}", String::from_utf8_lossy(&bytes)),
        }
    }
    eprintln!("3000 damaged drawings: {read} read, {refused} refused");
    assert!(read > 0 && refused > 0, "the mutations both break and spare files: {read} read, {refused} refused");
}
