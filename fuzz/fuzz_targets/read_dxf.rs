//! The DXF reader on arbitrary bytes: it returns a drawing or an error, never panics,
//! and what it returns builds a topology without panicking either.
//!
//! `cargo +nightly fuzz run read_dxf fuzz/corpus/read_dxf` (seed the corpus with the
//! shared DXF files: `cp ../shared/data/dxf/**/*.dxf fuzz/corpus/read_dxf/`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use sheetsight_drawing::{ReadOptions, read_dxf, topology};

fuzz_target!(|bytes: &[u8]| {
    if let Ok(drawing) = read_dxf(bytes, &ReadOptions::default()) {
        let _ = topology::build(&drawing, 0.01);
    }
});
