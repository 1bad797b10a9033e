//! What the property-test files of core/tests/ share (each is its own crate: `mod common;`).

use proptest::test_runner::{Config as ProptestConfig, FileFailurePersistence};

/// The default number of cases unless `PROPTEST_CASES` asks for more (or fewer).
pub fn cases(default: u32) -> ProptestConfig {
    // `ProptestConfig::default()` reads every `PROPTEST_*` variable.
    let mut config = ProptestConfig {
        // Next to the test's source: core/tests/NAME.proptest-regressions.
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource(
            "proptest-regressions",
        ))),
        ..ProptestConfig::default()
    };
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = default;
    }
    config
}

/// `input` cut at `cuts` (positions taken modulo its length, in any order).
#[allow(dead_code)] // not every test crate cuts its input
pub fn chunks<'a>(input: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut at: Vec<usize> = cuts.iter().map(|c| c % (input.len() + 1)).collect();
    at.push(0);
    at.push(input.len());
    at.sort_unstable();
    at.windows(2).map(|w| &input[w[0]..w[1]]).collect()
}
