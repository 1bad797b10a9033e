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
