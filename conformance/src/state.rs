//! The state file: the active account's password as the harness last knew
//! it, written each time it changes (and before each request that may
//! change it), so an interrupted run can resume and restore the original.
//! It holds passwords in clear: it is created with mode 0600 and removed
//! once the original password is restored.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// What the file holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    /// `{base_url}/change_user_password` of the target.
    pub endpoint: String,
    /// The active account's subject.
    pub subject: String,
    /// The password the run must restore.
    pub original: String,
    /// The password the target has, as far as the harness knows.
    pub current: String,
    /// A change was sent to this password and no answer was read.
    pub pending: Option<String>,
    /// Previous passwords the harness set or saw, oldest first.
    pub previous: Vec<String>,
    /// Consecutive wrong old passwords sent since the last success.
    pub failures: u32,
}

/// Why the state file could not be used.
#[derive(Debug)]
#[non_exhaustive]
pub struct StateError {
    /// The file.
    pub file: PathBuf,
    /// What went wrong.
    pub message: String,
}

impl fmt::Display for StateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "state file {}: {}", self.file.display(), self.message)
    }
}

impl std::error::Error for StateError {}

impl State {
    /// Reads the file; `None` when it does not exist.
    pub fn load(file: &Path) -> Result<Option<State>, StateError> {
        let err = |message: String| StateError {
            file: file.to_path_buf(),
            message,
        };
        match std::fs::read(file) {
            Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
                err(format!(
                    "unreadable ({e}); remove it if no run is in progress"
                ))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(err(e.to_string())),
        }
    }

    /// Writes the file atomically (temporary file, then rename), mode 0600.
    pub fn save(&self, file: &Path) -> Result<(), StateError> {
        let err = |message: String| StateError {
            file: file.to_path_buf(),
            message,
        };
        let tmp = file.with_extension("tmp");
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut f = options.open(&tmp).map_err(|e| err(e.to_string()))?;
        let json = serde_json::to_vec_pretty(self).map_err(|e| err(e.to_string()))?;
        f.write_all(&json).map_err(|e| err(e.to_string()))?;
        f.sync_all().map_err(|e| err(e.to_string()))?;
        std::fs::rename(&tmp, file).map_err(|e| err(e.to_string()))
    }

    /// Removes the file (nothing left to resume).
    pub fn remove(file: &Path) -> Result<(), StateError> {
        match std::fs::remove_file(file) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(StateError {
                file: file.to_path_buf(),
                message: e.to_string(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_remove() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("s.json");
        assert_eq!(State::load(&file).unwrap(), None);
        let s = State {
            endpoint: "http://x/change_user_password".into(),
            subject: "alice".into(),
            original: "a".into(),
            current: "b".into(),
            pending: Some("c".into()),
            previous: vec!["a".into()],
            failures: 1,
        };
        s.save(&file).unwrap();
        assert_eq!(State::load(&file).unwrap(), Some(s));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&file).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        State::remove(&file).unwrap();
        assert_eq!(State::load(&file).unwrap(), None);
    }
}
