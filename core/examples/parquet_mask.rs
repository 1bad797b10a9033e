//! Writes the masked view of a Parquet file to disk, as the gateway would serve it: the footer
//! read from the tail, the overlay applied to the upstream bytes in 64 KiB ranges. For the
//! codec's end-to-end test (tests/e2e/test_parquet_codec.py), which reads the outputs with
//! independent readers.
//!
//! ```sh
//! cargo run --release -p s3gate-core --example parquet_mask -- IN.parquet OUT.parquet \
//!     customer_email=null amount=constant:0
//! ```
//! Exit status 0 and the output written, or 3 and the refusal on stderr (`error: ...`).

use s3gate_core::tables::parquet::{self, ColumnMask, Mask};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(input), Some(output)) = (args.first(), args.get(1)) else {
        eprintln!("usage: parquet_mask IN OUT [COLUMN=null | COLUMN=constant:VALUE]...");
        std::process::exit(2);
    };
    let mut masks = Vec::new();
    for arg in args.iter().skip(2) {
        let Some((column, mask)) = arg.split_once('=') else {
            eprintln!("parquet_mask: {arg}: not COLUMN=MASK");
            std::process::exit(2);
        };
        let mask = match mask.strip_prefix("constant:") {
            Some(value) => Mask::Constant(value.to_string()),
            None if mask == "null" => Mask::Null,
            None => {
                eprintln!("parquet_mask: {arg}: the mask is null or constant:VALUE");
                std::process::exit(2);
            }
        };
        masks.push(ColumnMask {
            column: column.to_string(),
            mask,
        });
    }
    let bytes = match std::fs::read(input) {
        Ok(bytes) => bytes,
        Err(error) => {
            eprintln!("parquet_mask: {input}: {error}");
            std::process::exit(1);
        }
    };
    let size = bytes.len() as u64;
    // As the gateway reads: the last 8 bytes, then the tail holding the footer.
    let last = bytes
        .get(bytes.len().saturating_sub(8)..)
        .unwrap_or_default();
    let tail_len = match parquet::footer::locate(size, last, parquet::DEFAULT_MAX_FOOTER) {
        Ok(location) => location.tail_len(),
        Err(error) => refuse(&error),
    };
    let tail = bytes
        .get(bytes.len().saturating_sub(tail_len as usize)..)
        .unwrap_or_default();
    let overlay = match parquet::mask(size, tail, &masks, parquet::DEFAULT_MAX_FOOTER) {
        Ok(overlay) => overlay,
        Err(error) => refuse(&error),
    };
    let mut out = Vec::with_capacity(bytes.len());
    for (i, range) in bytes.chunks(64 << 10).enumerate() {
        out.extend_from_slice(&overlay.fill((i as u64) << 16, range));
    }
    if let Err(error) = std::fs::write(output, &out) {
        eprintln!("parquet_mask: {output}: {error}");
        std::process::exit(1);
    }
    println!("{} spans, {} bytes", overlay.spans().len(), out.len());
}

fn refuse(error: &parquet::Error) -> ! {
    eprintln!("error: {error:?}: {error}");
    std::process::exit(3);
}
