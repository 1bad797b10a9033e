//! Times the footer work of a masked Parquet view natively: decode alone, and decode + mask +
//! encode, on the footer of a Parquet file given as its path.
//!
//! ```sh
//! .venv/bin/python bench/parquet-footer/make_fixture.py /tmp/rg1000.parquet
//! cd bench && CARGO_TARGET_DIR=../target/bench cargo run --release -p s3gate-bench-parquet-footer \
//!     --example footer -- /tmp/rg1000.parquet
//! ```
//!
//! `footer FILE RUNS mask` runs only decode + mask + encode, RUNS times, and prints nothing
//! else: for `perf stat -e instructions:u`, whose count the machine's load does not move.

use std::time::Instant;

use parquet::file::metadata::ParquetMetaDataReader;

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: footer FILE.parquet");
        std::process::exit(2);
    };
    let file = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(error) => {
            eprintln!("footer: cannot read {path}: {error}");
            std::process::exit(1);
        }
    };
    let Some((rest, tail)) = file.split_last_chunk::<8>() else {
        eprintln!("footer: {path} is too short for Parquet");
        std::process::exit(1);
    };
    let (len, magic) = tail.split_at(4);
    let len = u32::from_le_bytes([len[0], len[1], len[2], len[3]]) as usize;
    if magic != b"PAR1" || len > rest.len() {
        eprintln!("footer: {path} has no plain Parquet footer");
        std::process::exit(1);
    }
    let footer = &rest[rest.len() - len..];
    if let (Some(runs), Some("mask")) =
        (std::env::args().nth(2), std::env::args().nth(3).as_deref())
    {
        for _ in 0..runs.parse::<u32>().unwrap_or(1) {
            std::hint::black_box(s3gate_bench_parquet_footer::mask_footer(footer, &[1, 2]));
        }
        return;
    }
    let metadata = ParquetMetaDataReader::decode_metadata(footer).expect("a footer");
    println!(
        "footer {} bytes, {} row groups x {} columns",
        footer.len(),
        metadata.num_row_groups(),
        metadata.file_metadata().schema_descr().num_columns()
    );
    let runs = 20;
    let start = Instant::now();
    for _ in 0..runs {
        std::hint::black_box(ParquetMetaDataReader::decode_metadata(footer).ok());
    }
    let decode = start.elapsed() / runs;
    let start = Instant::now();
    let mut masked_len = 0;
    for _ in 0..runs {
        masked_len = s3gate_bench_parquet_footer::mask_footer(footer, &[1, 2])
            .expect("masked")
            .len();
    }
    let rewrite = start.elapsed() / runs;
    println!(
        "decode {decode:?}; decode + mask 2 columns + encode {rewrite:?} ({masked_len} bytes)"
    );
}
