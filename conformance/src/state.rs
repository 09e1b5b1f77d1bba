//! The state file: every account's password as the harness last knew it,
//! written each time it changes (and before each request that may change
//! it), so an interrupted run can resume and restore the originals. It
//! holds passwords in clear: it is created with mode 0600 and removed once
//! the original passwords are restored.
//!
//! Format 2 (written since the multi-account runner) holds one entry per
//! account; files of format 1 (one account, no `version`) still load.
//! Writes are atomic (a temporary file in the same folder, fsync, rename,
//! fsync of the folder). [`StateLock`] keeps a second run off the same
//! file: an advisory lock on `<state>.lock`, held for the run.

use std::fs::File;
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use serde::{Deserialize, Serialize};

use crate::file_error::FileError;
use crate::transformed::Candidate;

/// Whether writes are flushed to disk (fsync of the file and its folder).
static DURABLE: AtomicBool = AtomicBool::new(true);

/// Turns the fsyncs of state writes off (or back on) for this process.
/// Only for a throwaway state file: the embedded target's, which lives in
/// its temporary folder beside its temporary database, where the fsyncs
/// cost the default run about a third of its time on a busy disk and
/// protect nothing. Writes stay atomic (rename) either way.
pub fn set_durable_writes(on: bool) {
    DURABLE.store(on, Ordering::Relaxed);
}

/// One account as the single-account runner tracks it (and format 1 of
/// the file).
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

/// The current format of the file.
pub const FORMAT: u32 = 2;

/// The file's content: every account the run may change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateFile {
    /// [`FORMAT`].
    pub version: u32,
    /// `{base_url}/change_user_password` of the target.
    pub endpoint: String,
    /// One entry per account, in the order the run met them.
    pub accounts: Vec<AccountState>,
    /// Whether the run was seen to store a change the target refused
    /// (the active account's password found changed after refused
    /// requests, or its tracked password refused): the other accounts'
    /// candidates are checked by the restore only then. Absent in files
    /// written before it: inferred from recorded candidates (any means
    /// "maybe", as before).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stores_refused: Option<bool>,
    /// Accounts without a password in the profile that were sent changes
    /// a conformant target refuses (a made-up or wrong old password): the
    /// new passwords sent, recorded before each request. Nothing can set
    /// them back (there is no original); the restore names them when the
    /// target was seen to store a refused change.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub without_password: Vec<WithoutPassword>,
}

/// The new passwords sent to an account the profile gives no password.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WithoutPassword {
    /// Its subject.
    pub subject: String,
    /// The new passwords of the refused changes sent to it.
    pub candidates: Vec<String>,
}

/// One account's passwords.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountState {
    /// Its subject.
    pub subject: String,
    /// The password the run must restore.
    pub original: String,
    /// The password the target has, as far as the harness knows.
    pub current: String,
    /// A change was sent to this password and no answer was read.
    #[serde(default)]
    pub pending: Option<String>,
    /// Previous passwords the harness set or saw, oldest first.
    #[serde(default)]
    pub previous: Vec<String>,
    /// Consecutive wrong old passwords sent since the last success.
    #[serde(default)]
    pub failures: u32,
    /// The password before the 200 that set `current`, while no later
    /// answer showed that 200 took: if `current` is refused, a resumed run
    /// (or `conformance restore`) tries this one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before_last_change: Option<String>,
    /// New passwords sent to this account in requests that should have
    /// been refused (a wrong or made-up old password, a status that
    /// forbids the change): recorded before each is sent, since a target
    /// that stores a refused change anyway gives the account one of them.
    /// Tried (as the old password of a change back to the original) only
    /// when `current` is refused; cleared once a known password is
    /// confirmed. Absent in files written before it (still format 2).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub candidates: Vec<String>,
    /// The candidates whose request was answered (its refusal read), of
    /// the other accounts; the rest were in flight when the run stopped.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub answered: Vec<String>,
    /// After a 200 to `current`, neither it nor the password before it
    /// worked: what the target may have stored instead (the password
    /// before, and the usual transformations of `current`, see
    /// [`crate::transformed`]) that no answer has ruled out yet. Written
    /// before the first of them is tried; tried by a resumed run and by
    /// `conformance restore`; gone once the account's password is known.
    /// Absent when empty (files without it still load as format 2).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transformed: Vec<Candidate>,
}

impl From<State> for StateFile {
    fn from(s: State) -> StateFile {
        StateFile {
            version: FORMAT,
            endpoint: s.endpoint,
            accounts: vec![AccountState {
                subject: s.subject,
                original: s.original,
                current: s.current,
                pending: s.pending,
                previous: s.previous,
                failures: s.failures,
                before_last_change: None,
                candidates: Vec::new(),
                answered: Vec::new(),
                transformed: Vec::new(),
            }],
            stores_refused: None,
            without_password: Vec::new(),
        }
    }
}

impl StateFile {
    /// The entry of `subject`.
    pub fn account(&self, subject: &str) -> Option<&AccountState> {
        self.accounts.iter().find(|a| a.subject == subject)
    }

    /// Adds or replaces the entry of `entry.subject`.
    pub fn upsert(&mut self, entry: AccountState) {
        match self
            .accounts
            .iter_mut()
            .find(|a| a.subject == entry.subject)
        {
            Some(slot) => *slot = entry,
            None => self.accounts.push(entry),
        }
    }

    /// Reads the file (format 1 or 2); `None` when it does not exist.
    pub fn load(file: &Path) -> Result<Option<StateFile>, StateError> {
        let err = |message: String| StateError {
            kind: "state file",
            file: file.to_path_buf(),
            message,
        };
        let bytes = match std::fs::read(file) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(err(e.to_string())),
        };
        let unreadable = |e: serde_json::Error| {
            err(format!(
                "unreadable ({e}); remove it if no run is in progress"
            ))
        };
        let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(unreadable)?;
        match value.get("version").map(serde_json::Value::as_u64) {
            None => serde_json::from_value::<State>(value)
                .map(|s| Some(StateFile::from(s)))
                .map_err(unreadable),
            Some(Some(v)) if v == u64::from(FORMAT) => {
                serde_json::from_value(value).map(Some).map_err(unreadable)
            }
            Some(v) => Err(err(format!(
                "format {} is not one this harness reads (1 or {FORMAT})",
                v.map_or_else(|| "?".to_string(), |v| v.to_string())
            ))),
        }
    }

    /// Writes the file atomically, mode 0600: a temporary file in the same
    /// folder, fsync, rename over the file, fsync of the folder.
    pub fn save(&self, file: &Path) -> Result<(), StateError> {
        let err = |message: String| StateError {
            kind: "state file",
            file: file.to_path_buf(),
            message,
        };
        let dir = match file.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let json = serde_json::to_vec_pretty(self).map_err(|e| err(e.to_string()))?;
        // tempfile creates the file with mode 0600.
        let mut tmp = tempfile::Builder::new()
            .prefix(".conformance-state.")
            .suffix(".tmp")
            .tempfile_in(&dir)
            .map_err(|e| err(format!("temporary file in {}: {e}", dir.display())))?;
        tmp.write_all(&json).map_err(|e| err(e.to_string()))?;
        let durable = DURABLE.load(Ordering::Relaxed);
        if durable {
            tmp.as_file().sync_all().map_err(|e| err(e.to_string()))?;
        }
        tmp.persist(file).map_err(|e| err(e.error.to_string()))?;
        #[cfg(unix)]
        if durable {
            File::open(&dir)
                .and_then(|d| d.sync_all())
                .map_err(|e| err(format!("fsync of {}: {e}", dir.display())))?;
        }
        Ok(())
    }
}

/// Why the state file could not be used.
pub type StateError = FileError;

impl State {
    /// Reads the file (format 1 or 2); `None` when it does not exist. A
    /// file with several accounts is an error here (see [`StateFile`]).
    pub fn load(file: &Path) -> Result<Option<State>, StateError> {
        let Some(f) = StateFile::load(file)? else {
            return Ok(None);
        };
        let count = f.accounts.len();
        let Some(a) = f.accounts.into_iter().next().filter(|_| count == 1) else {
            return Err(StateError {
                kind: "state file",
                file: file.to_path_buf(),
                message: format!("holds {count} accounts where one was expected"),
            });
        };
        Ok(Some(State {
            endpoint: f.endpoint,
            subject: a.subject,
            original: a.original,
            current: a.current,
            pending: a.pending,
            previous: a.previous,
            failures: a.failures,
        }))
    }

    /// Writes the file (format 2, one account) atomically, mode 0600.
    pub fn save(&self, file: &Path) -> Result<(), StateError> {
        StateFile::from(self.clone()).save(file)
    }

    /// Removes the file (nothing left to resume).
    pub fn remove(file: &Path) -> Result<(), StateError> {
        match std::fs::remove_file(file) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(StateError {
                kind: "state file",
                file: file.to_path_buf(),
                message: e.to_string(),
            }),
        }
    }
}

/// An exclusive advisory lock (`flock`) on `<state>.lock`, held until
/// dropped. The lock file holds the holder's process id; it is left in
/// place (removing it would let two runs lock two different files). A
/// symbolic link in its place is refused (`O_NOFOLLOW`).
#[derive(Debug)]
pub struct StateLock {
    file: File,
    path: PathBuf,
}

impl StateLock {
    /// The lock file of `state_file`: the same name plus `.lock`.
    pub fn path_of(state_file: &Path) -> PathBuf {
        let mut name = state_file.as_os_str().to_os_string();
        name.push(".lock");
        PathBuf::from(name)
    }

    /// Takes the lock now or fails at once, naming the holder's pid.
    pub fn acquire(state_file: &Path) -> Result<StateLock, StateError> {
        let path = StateLock::path_of(state_file);
        let err = |message: String| StateError {
            kind: "state file",
            file: state_file.to_path_buf(),
            message,
        };
        let mut options = std::fs::OpenOptions::new();
        options.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            // A symbolic link planted where the lock goes is refused, never
            // followed: its target would be truncated and get our pid.
            options.mode(0o600).custom_flags(libc::O_NOFOLLOW);
        }
        let mut file = options.open(&path).map_err(|e| {
            #[cfg(unix)]
            if e.raw_os_error() == Some(libc::ELOOP) {
                return err(format!(
                    "lock file {} is a symbolic link: refused (it is never followed); \
                     remove it, or pass another --state",
                    path.display()
                ));
            }
            err(format!("lock file {}: {e}", path.display()))
        })?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut text = String::new();
                let _ = file.read_to_string(&mut text);
                let holder = match text.trim().parse::<u32>() {
                    Ok(pid) => format!("pid {pid}"),
                    Err(_) => "a process that has not written its pid yet".to_string(),
                };
                return Err(err(format!(
                    "in use by another run ({holder}, lock {}); wait for it to finish or \
                     stop it, or pass another --state",
                    path.display()
                )));
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(err(format!("lock file {}: {e}", path.display())));
            }
        }
        let write = |file: &mut File| -> std::io::Result<()> {
            file.set_len(0)?;
            file.rewind()?;
            writeln!(file, "{}", std::process::id())?;
            file.sync_all()
        };
        write(&mut file).map_err(|e| err(format!("lock file {}: {e}", path.display())))?;
        Ok(StateLock { file, path })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for StateLock {
    fn drop(&mut self) {
        let _ = self.file.unlock();
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

    #[test]
    fn several_accounts_round_trip_and_a_second_lock_fails() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("s.json");
        let mut f = StateFile {
            version: FORMAT,
            endpoint: "http://x/change_user_password".into(),
            accounts: vec![],
            stores_refused: Some(false),
            without_password: Vec::new(),
        };
        for subject in ["alice", "lou"] {
            f.upsert(AccountState {
                subject: subject.into(),
                original: format!("{subject}-1"),
                current: format!("{subject}-2"),
                pending: None,
                previous: vec![],
                failures: 0,
                before_last_change: None,
                candidates: vec![format!("{subject}-3")],
                answered: vec![format!("{subject}-3")],
                transformed: vec![Candidate {
                    transformation: "trimmed".into(),
                    password: format!("{subject}-4"),
                }],
            });
        }
        f.save(&file).unwrap();
        let loaded = StateFile::load(&file).unwrap().unwrap();
        assert_eq!(loaded, f);
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(text.contains(r#""transformation": "trimmed""#), "{text}");
        assert_eq!(loaded.account("lou").unwrap().current, "lou-2");
        // The single-account view refuses to pick one.
        let e = State::load(&file).unwrap_err();
        assert!(e.message.contains("2 accounts"), "{e}");
        // No temporary file is left behind.
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("s.json")]);
    }

    #[cfg(unix)]
    #[test]
    fn a_symbolic_link_where_the_lock_goes_is_refused_and_its_target_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("s.json");
        let victim = dir.path().join("victim.txt");
        std::fs::write(&victim, "precious").unwrap();
        std::os::unix::fs::symlink(&victim, StateLock::path_of(&file)).unwrap();
        let e = StateLock::acquire(&file).unwrap_err();
        assert!(e.message.contains("symbolic link"), "{e}");
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    }

    #[test]
    fn candidates_are_optional_and_left_out_when_empty() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("s.json");
        // A format-2 file written before `candidates` existed.
        let old = r#"{"version": 2, "endpoint": "http://x/change_user_password",
            "accounts": [{"subject": "bob", "original": "b1", "current": "b1"}]}"#;
        std::fs::write(&file, old).unwrap();
        let mut f = StateFile::load(&file).unwrap().unwrap();
        assert!(f.accounts[0].candidates.is_empty());
        f.save(&file).unwrap();
        assert!(
            !std::fs::read_to_string(&file)
                .unwrap()
                .contains("candidates")
        );
        f.accounts[0].candidates.push("b2".into());
        f.save(&file).unwrap();
        let loaded = StateFile::load(&file).unwrap().unwrap();
        assert_eq!(loaded.account("bob").unwrap().candidates, vec!["b2"]);
    }
}
