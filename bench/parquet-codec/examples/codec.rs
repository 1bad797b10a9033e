//! Times the footer work of a masked Parquet view natively on s3gate-core's focused codec:
//! the checks alone (no masks: the footer walked, nothing rewritten), and the masked view of 2
//! columns (regenerated chunks, spliced footer, overlay), on a Parquet file given as its path.
//!
//! ```sh
//! .venv/bin/python bench/parquet-footer/make_fixture.py /tmp/rg1000.parquet
//! cd bench && CARGO_TARGET_DIR=../target/bench cargo run --release -p s3gate-bench-parquet-codec \
//!     --example codec -- /tmp/rg1000.parquet
//! ```
//!
//! `codec FILE RUNS mask` runs only the masked view, RUNS times, and prints nothing else: for
//! `perf stat -e instructions:u`, whose count the machine's load does not move.

use std::time::Instant;

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: codec FILE.parquet");
        std::process::exit(2);
    };
    let file = std::fs::read(&path).unwrap_or_else(|error| {
        eprintln!("codec: cannot read {path}: {error}");
        std::process::exit(1);
    });
    let size = file.len() as u64;
    if let (Some(runs), Some("mask")) =
        (std::env::args().nth(2), std::env::args().nth(3).as_deref())
    {
        for _ in 0..runs.parse::<u32>().unwrap_or(1) {
            std::hint::black_box(s3gate_bench_parquet_codec::mask_view(
                size,
                &file,
                &["c01", "c02"],
            ));
        }
        return;
    }
    let Some(overlay) = s3gate_bench_parquet_codec::mask_view(size, &file, &["c01", "c02"]) else {
        eprintln!("codec: {path} refused");
        std::process::exit(1);
    };
    let footer = u32::from_le_bytes(
        file[file.len() - 8..file.len() - 4]
            .try_into()
            .unwrap_or([0; 4]),
    );
    println!("footer {footer} bytes; {} spans", overlay.spans().len());
    let runs = 50;
    let start = Instant::now();
    for _ in 0..runs {
        std::hint::black_box(s3gate_bench_parquet_codec::mask_view(size, &file, &[]));
    }
    let check = start.elapsed() / runs;
    let start = Instant::now();
    for _ in 0..runs {
        std::hint::black_box(s3gate_bench_parquet_codec::mask_view(
            size,
            &file,
            &["c01", "c02"],
        ));
    }
    let masked = start.elapsed() / runs;
    let start = Instant::now();
    let mut encoded = 0;
    for _ in 0..runs {
        encoded = std::hint::black_box(overlay.encode()).len();
    }
    let encode = start.elapsed() / runs;
    println!(
        "checks only (no masks) {check:?}; masked view of 2 columns {masked:?}; overlay encoded for the cache {encode:?} ({encoded} bytes)"
    );
}
