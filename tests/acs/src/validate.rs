//! Schema validation of the CPE's envelopes with `tests/cwmp-schema/validate` (xmllint).

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::record::Validation;

/// What to tell a developer whose machine lacks xmllint.
pub(crate) const INSTALL_HINT: &str =
    "xmllint is needed to check the CPE's CWMP envelopes against the schema: \
     install libxml2-utils (apt-get install libxml2-utils, or run scripts/install-deps)";

/// The validator script, found from this crate's directory so tests work from any working
/// directory.
pub fn validator() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../cwmp-schema/validate")
}

/// Runs the validator on `files`. Bounded: xmllint on a few KiB is milliseconds, so a minute
/// means something is wrong and the result says so rather than hanging a test.
pub async fn run(files: &[PathBuf]) -> Validation {
    if files.is_empty() {
        return Validation::Valid;
    }
    let mut cmd = tokio::process::Command::new(validator());
    cmd.args(files).kill_on_drop(true);
    let out = match tokio::time::timeout(Duration::from_secs(60), cmd.output()).await {
        Ok(Ok(out)) => out,
        Ok(Err(e)) => return Validation::Unavailable(format!("cannot run {}: {e}", validator().display())),
        Err(_) => return Validation::Unavailable("the schema validator took over 60 s".into()),
    };
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    match out.status.code() {
        Some(0) => Validation::Valid,
        Some(2) => Validation::Unavailable(format!("{INSTALL_HINT}\n{report}")),
        _ => Validation::Invalid(report),
    }
}
