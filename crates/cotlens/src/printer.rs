//! The only place that writes to stdout: data and reports. Logs and progress go to stderr.

use std::io::Write;

pub fn stdout(text: &str) {
    let mut out = std::io::stdout().lock();
    // A closed pipe (e.g. `| head`) is not an error worth reporting.
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}
