//! The error of a file the suite reads or writes (a profile, a state
//! file, a baseline): what kind of file, which file, what is wrong.

use std::fmt;
use std::path::PathBuf;

/// Why a file cannot be used: `{kind} {file}: {message}`.
#[derive(Debug)]
#[non_exhaustive]
pub struct FileError {
    /// What the file is, as messages name it (`profile`, `state file`,
    /// `baseline`).
    pub kind: &'static str,
    /// The file.
    pub file: PathBuf,
    /// What is wrong (naming the key, for a profile).
    pub message: String,
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.kind, self.file.display(), self.message)
    }
}

impl std::error::Error for FileError {}
