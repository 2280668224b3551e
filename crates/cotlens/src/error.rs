//! Errors the user can fix (bad flags, bad input files): reported in one line, exit code 2.
//! A selection over its pressure budget exits with 3. The bottom layer of the crate: it imports
//! nothing of it.

/// An error caused by the user's input. `main` exits with code 2 for these.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BadInput(pub String);

/// A selection went over its pressure budget: exit code 3.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct OverBudget(pub String);

/// Shorthand: `Err(bad_input(format!(…)))?`.
pub fn bad_input(message: impl std::fmt::Display) -> anyhow::Error {
    anyhow::Error::new(BadInput(message.to_string()))
}

/// Exit code for an error: 2 for input the user can fix, 3 for a selection over its pressure
/// budget, 1 otherwise.
pub fn exit_code(error: &anyhow::Error) -> i32 {
    for cause in error.chain() {
        if cause.is::<OverBudget>() {
            return 3;
        }
        if cause.is::<BadInput>()
            || cause.is::<cotlens_local::LoadError>()
            || cause.is::<cotlens_core::datasets::DatasetError>()
            || cause.is::<cotlens_remote::ConfigError>()
        {
            return 2;
        }
        if let Some(e) = cause.downcast_ref::<cotlens_core::BackendError>() {
            if matches!(
                e,
                cotlens_core::BackendError::Unsupported { .. }
                    | cotlens_core::BackendError::Rejected { .. }
            ) {
                return 2;
            }
        }
    }
    1
}
