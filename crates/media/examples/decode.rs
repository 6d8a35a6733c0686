//! Decodes a file and prints each frame's time: `cargo run -p sheetsight-media --example decode -- FILE`.
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).ok_or("usage: decode FILE")?;
    let mut src = sheetsight_media::open(std::path::Path::new(&path), 10.0)?;
    println!("{:?}", src.info());
    let mut n = 0;
    loop {
        match src.next_frame() {
            Ok(Some(f)) => {
                n += 1;
                if n <= 3 || n % 100 == 0 {
                    println!("frame {n} t = {:.3} s {}x{}", f.t_s, f.frame.width_px(), f.frame.height_px());
                }
            }
            Ok(None) => break,
            Err(e) => {
                println!("error after {n} frames: {e}");
                break;
            }
        }
    }
    for issue in src.issues() {
        println!("issue: {issue}");
    }
    println!("{n} frames");
    Ok(())
}
