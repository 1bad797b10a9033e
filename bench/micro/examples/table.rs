//! Writes the generated CSV table the `transform` micro-benchmarks read, at any size, so that
//! `make bench` masks the same rows natively and through Envoy (`bench/tables.py`).
//!
//! ```sh
//! cd bench && CARGO_TARGET_DIR=../target/bench cargo run --release --example table -- 200000000 big.csv
//! ```

use std::io::Write;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(bytes), Some(path)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: table BYTES PATH");
        std::process::exit(2);
    };
    let Ok(bytes) = bytes.parse::<usize>() else {
        eprintln!("table: BYTES must be a number, not {bytes:?}");
        std::process::exit(2);
    };
    let table = s3gate_bench::csv_table(bytes);
    let written = std::fs::File::create(path).and_then(|mut f| f.write_all(&table));
    if let Err(error) = written {
        eprintln!("table: cannot write {path}: {error}");
        std::process::exit(1);
    }
}
