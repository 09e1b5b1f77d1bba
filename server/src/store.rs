//! The durable user store: one SQLite file (WAL, `synchronous = FULL`), its
//! schema and migrations, and the few transactions the endpoint needs.
//!
//! Every method is blocking; async callers run them on tokio's blocking
//! threads. Writes go through one connection and reads through another, so
//! a read never queues behind a write (WAL lets readers run beside a writer).
//! A write that cannot get SQLite's lock within the busy timeout is
//! [`StoreError::Busy`] (answered 503), never a silent loss of a failure.
//!
//! Guesses at an old password are counted in two places: settled failures in
//! the database, and guesses in flight (reserved before hashing, see
//! [`Store::reserve_attempt`]) plus failures whose write failed in a table in
//! memory, which the next settled guess of that user writes. The lockout
//! threshold applies to the sum, so no number of concurrent requests gets
//! more guesses verified, and a busy database loses no failure. The table
//! belongs to this process: one server process per database.
//!
//! A change is one transaction that compares and swaps the user's
//! `credential_version`, so of several concurrent changes only the first to
//! commit wins, and a crash leaves either the old or the new credential with a
//! history that matches it. Each credential and history entry keeps the argon2
//! cost of its digest and the normalisation form it was made under.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, OptionalExtension, TransactionBehavior, params};

use crate::config::Normalization;
use crate::hashing::Cost;

/// Newest schema version; `PRAGMA user_version` records the applied one.
const SCHEMA_VERSION: i64 = 2;

/// History entries kept per user: the largest allowed history depth.
pub const HISTORY_KEPT: i64 = 128;

const MIGRATIONS: &[&str] = &[
    // 1: users and their password history.
    "CREATE TABLE users (
        id                 INTEGER PRIMARY KEY,
        subject            TEXT    NOT NULL UNIQUE,
        password_hash      TEXT    NOT NULL,
        history_salt       BLOB    NOT NULL,
        history_m_kib      INTEGER NOT NULL,
        history_t          INTEGER NOT NULL,
        history_p          INTEGER NOT NULL,
        current_digest     BLOB    NOT NULL,
        credential_version INTEGER NOT NULL DEFAULT 1,
        frozen             INTEGER NOT NULL DEFAULT 0,
        admin_locked       INTEGER NOT NULL DEFAULT 0,
        failed_attempts    INTEGER NOT NULL DEFAULT 0,
        locked_until_ms    INTEGER,
        changed_at_ms      INTEGER NOT NULL
    );
    CREATE TABLE password_history (
        user_id  INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        version  INTEGER NOT NULL,
        digest   BLOB    NOT NULL,
        PRIMARY KEY (user_id, version)
    ) WITHOUT ROWID;",
    // 2: the cost and normalisation form of each digest and credential.
    // `history_*` on users becomes the cost of the current
    // digest; history entries get the cost they were made with (the user's,
    // which all of them shared). A NULL form predates this version: such a
    // credential is verified under the configured form.
    "ALTER TABLE users RENAME COLUMN history_m_kib TO digest_m_kib;
    ALTER TABLE users RENAME COLUMN history_t TO digest_t;
    ALTER TABLE users RENAME COLUMN history_p TO digest_p;
    ALTER TABLE users ADD COLUMN normalization TEXT;
    ALTER TABLE password_history ADD COLUMN m_kib INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE password_history ADD COLUMN t INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE password_history ADD COLUMN p INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE password_history ADD COLUMN normalization TEXT;
    UPDATE password_history SET
        m_kib = (SELECT digest_m_kib FROM users WHERE users.id = user_id),
        t = (SELECT digest_t FROM users WHERE users.id = user_id),
        p = (SELECT digest_p FROM users WHERE users.id = user_id);",
];

/// What can go wrong in the store.
#[derive(Debug)]
#[non_exhaustive]
pub enum StoreError {
    /// SQLite reported an error.
    Sqlite(rusqlite::Error),
    /// The database stayed locked by another writer for the busy timeout.
    Busy,
    /// The file was written by a newer version of this program.
    TooNew(i64),
    /// A row holds a value this program cannot use.
    Corrupt(&'static str),
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::Sqlite(e) => write!(f, "database error: {e}"),
            StoreError::Busy => write!(f, "database is locked by another writer"),
            StoreError::TooNew(v) => write!(
                f,
                "database schema version {v} is newer than this server ({SCHEMA_VERSION})"
            ),
            StoreError::Corrupt(what) => write!(f, "corrupt database row: {what}"),
        }
    }
}

impl std::error::Error for StoreError {}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        match e.sqlite_error_code() {
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => StoreError::Busy,
            _ => StoreError::Sqlite(e),
        }
    }
}

/// A user's status as the endpoint sees it at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// May change the password.
    Normal,
    /// Frozen by an administrator; never released automatically.
    Frozen,
    /// Locked by an administrator, or by too many wrong old passwords until a time.
    Locked,
}

/// Status as written in `users.toml` and by administrators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdminFlags {
    /// Frozen by an administrator.
    pub frozen: bool,
    /// Locked by an administrator (no automatic release).
    pub locked: bool,
}

/// A user's credential row.
#[derive(Debug, Clone)]
pub struct User {
    /// Row id.
    pub id: i64,
    /// PHC string of the current password.
    pub password_hash: String,
    /// Normalisation form of the current password (`None`: recorded before
    /// forms were stored; the configured form applies).
    pub normalization: Option<Normalization>,
    /// Per-user salt of the history digests.
    pub history_salt: Vec<u8>,
    /// Argon2 cost of the current password's history digest.
    pub digest_cost: Cost,
    /// Version of the current credential; bumped by every change.
    pub credential_version: i64,
    /// Administrator flags.
    pub flags: AdminFlags,
    /// Consecutive wrong old passwords (settled and written).
    pub failed_attempts: i64,
    /// End of an automatic lock, in Unix milliseconds.
    pub locked_until_ms: Option<i64>,
}

impl User {
    /// Effective status at `now_ms`; frozen wins over locked.
    pub fn status(&self, now_ms: i64) -> Status {
        if self.flags.frozen {
            Status::Frozen
        } else if self.flags.locked || self.locked_until_ms.is_some_and(|t| t > now_ms) {
            Status::Locked
        } else {
            Status::Normal
        }
    }
}

/// One previous password's history digest, with how it was made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEntry {
    /// Argon2 output under the user's history salt.
    pub digest: Vec<u8>,
    /// The cost it was made at.
    pub cost: Cost,
    /// The form the password was normalised to (`None`: before forms were stored).
    pub normalization: Option<Normalization>,
}

/// A new credential ready to be committed.
#[derive(Debug, Clone)]
pub struct NewCredential {
    /// User row id.
    pub user_id: i64,
    /// The version the old password was verified against.
    pub expected_version: i64,
    /// PHC string of the new password.
    pub password_hash: String,
    /// History digest of the new password (kept until it becomes history).
    pub digest: Vec<u8>,
    /// The cost of `digest`.
    pub digest_cost: Cost,
    /// The form the new password was normalised to.
    pub normalization: Normalization,
}

/// Result of a compare-and-swap commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Commit {
    /// The new credential is durable.
    Committed,
    /// Another change committed first (or the status changed): nothing written.
    Conflict,
}

/// Result of [`Store::reserve_attempt`].
#[derive(Debug, Clone)]
pub enum Reservation {
    /// The guess may be verified; the user as read in the same transaction.
    Reserved(User),
    /// Frozen: nothing reserved.
    Frozen,
    /// Locked: nothing reserved.
    Locked,
    /// The failures so far plus the guesses in flight already reach the
    /// threshold: nothing reserved until one of them settles.
    Saturated,
    /// No such user.
    Missing,
}

/// A new user for seeding.
#[derive(Debug, Clone)]
pub struct NewUser<'a> {
    /// Subject (the JWT `sub`).
    pub subject: &'a str,
    /// PHC string of the password.
    pub password_hash: String,
    /// The form the password was normalised to.
    pub normalization: Normalization,
    /// History salt.
    pub history_salt: Vec<u8>,
    /// The cost of `digest`.
    pub digest_cost: Cost,
    /// History digest of the password.
    pub digest: Vec<u8>,
    /// Administrator flags.
    pub flags: AdminFlags,
}

/// Handle to the database; cheap to clone. One connection writes, one reads.
#[derive(Debug, Clone)]
pub struct Store {
    write: Arc<Mutex<Connection>>,
    read: Arc<Mutex<Connection>>,
    guesses: Arc<Mutex<HashMap<i64, Pending>>>,
}

/// A user's guesses not (yet) in the database.
#[derive(Debug, Default, Clone, Copy)]
struct Pending {
    /// Reserved and not settled.
    in_flight: i64,
    /// Wrong, but their write failed; the next settled guess writes them.
    unwritten: i64,
    /// Unwritten ones a settling guess is writing now (still counted, so a
    /// reservation never sees them in neither place, and no two settles
    /// write the same ones).
    writing: i64,
}

impl Pending {
    /// Guesses not in the database that count toward the threshold.
    fn counted(&self) -> i64 {
        self.in_flight + self.unwritten + self.writing
    }
}

const USER_COLUMNS: &str = "id, password_hash, normalization, history_salt, digest_m_kib,
    digest_t, digest_p, credential_version, frozen, admin_locked, failed_attempts,
    locked_until_ms";

fn user_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<User> {
    Ok(User {
        id: r.get(0)?,
        password_hash: r.get(1)?,
        normalization: form_from(r.get(2)?),
        history_salt: r.get(3)?,
        digest_cost: Cost {
            m_kib: r.get(4)?,
            t: r.get(5)?,
            p: r.get(6)?,
        },
        credential_version: r.get(7)?,
        flags: AdminFlags {
            frozen: r.get(8)?,
            locked: r.get(9)?,
        },
        failed_attempts: r.get(10)?,
        locked_until_ms: r.get(11)?,
    })
}

fn form_name(form: Normalization) -> &'static str {
    match form {
        Normalization::Nfc => "nfc",
        Normalization::Nfkc => "nfkc",
        Normalization::None => "none",
    }
}

/// An unknown name reads as `None` (the configured form), like a missing one.
fn form_from(name: Option<String>) -> Option<Normalization> {
    match name.as_deref() {
        Some("nfc") => Some(Normalization::Nfc),
        Some("nfkc") => Some(Normalization::Nfkc),
        Some("none") => Some(Normalization::None),
        _ => None,
    }
}

fn connect(path: &Path, busy_timeout: Duration) -> Result<Connection, StoreError> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(busy_timeout)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(conn)
}

/// Creates the database file empty (a valid empty database) with mode
/// 0600 when it does not exist yet: it holds the password hashes and the
/// history digests. SQLite gives its `-wal` and `-shm` files the mode of
/// the database file. An existing file keeps its mode.
fn create_private(path: &Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

fn guard(conn: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    // A panic while holding the lock cannot leave a half-done transaction:
    // rusqlite rolls back on drop. The connection stays usable.
    conn.lock().unwrap_or_else(|p| p.into_inner())
}

impl Store {
    /// Opens (creating if needed) and migrates the database at `path`. A
    /// write waits at most `busy_timeout` for another writer's lock.
    pub fn open(path: &Path, busy_timeout: Duration) -> Result<Store, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| {
                StoreError::Sqlite(rusqlite::Error::InvalidPath(dir.join(e.to_string())))
            })?;
        }
        create_private(path).map_err(|e| {
            StoreError::Sqlite(rusqlite::Error::InvalidPath(path.join(e.to_string())))
        })?;
        let mut conn = connect(path, busy_timeout)?;
        migrate(&mut conn)?;
        let read = connect(path, busy_timeout)?;
        Ok(Store {
            write: Arc::new(Mutex::new(conn)),
            read: Arc::new(Mutex::new(read)),
            guesses: Arc::new(Mutex::new(HashMap::new())),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        guard(&self.write)
    }

    fn reader(&self) -> MutexGuard<'_, Connection> {
        guard(&self.read)
    }

    /// Whether a user with this subject exists.
    pub fn exists(&self, subject: &str) -> Result<bool, StoreError> {
        let conn = self.reader();
        Ok(conn
            .query_row("SELECT 1 FROM users WHERE subject = ?1", [subject], |_| {
                Ok(())
            })
            .optional()?
            .is_some())
    }

    /// Inserts a user unless the subject exists; returns whether it inserted.
    pub fn insert_user(&self, user: &NewUser<'_>, now_ms: i64) -> Result<bool, StoreError> {
        let conn = self.lock();
        let n = conn.execute(
            "INSERT INTO users (subject, password_hash, normalization, history_salt,
                 digest_m_kib, digest_t, digest_p, current_digest, frozen, admin_locked,
                 changed_at_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
             ON CONFLICT (subject) DO NOTHING",
            params![
                user.subject,
                user.password_hash,
                form_name(user.normalization),
                user.history_salt,
                user.digest_cost.m_kib,
                user.digest_cost.t,
                user.digest_cost.p,
                user.digest,
                user.flags.frozen,
                user.flags.locked,
                now_ms
            ],
        )?;
        Ok(n == 1)
    }

    /// Sets a user's administrator flags (and clears any automatic lock if unlocking).
    pub fn set_flags(&self, subject: &str, flags: AdminFlags) -> Result<bool, StoreError> {
        let conn = self.lock();
        let n = conn.execute(
            "UPDATE users SET frozen = ?2, admin_locked = ?3,
                 failed_attempts = CASE WHEN ?3 THEN failed_attempts ELSE 0 END,
                 locked_until_ms = CASE WHEN ?3 THEN locked_until_ms ELSE NULL END
             WHERE subject = ?1",
            params![subject, flags.frozen, flags.locked],
        )?;
        Ok(n == 1)
    }

    /// The user with this subject, if any (read connection).
    pub fn find(&self, subject: &str) -> Result<Option<User>, StoreError> {
        let conn = self.reader();
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE subject = ?1");
        Ok(conn.query_row(&sql, [subject], user_row).optional()?)
    }

    /// The newest `depth` history entries of a user (previous passwords only).
    pub fn history(&self, user_id: i64, depth: usize) -> Result<Vec<HistoryEntry>, StoreError> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(
            "SELECT digest, m_kib, t, p, normalization FROM password_history
             WHERE user_id = ?1 ORDER BY version DESC LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![user_id, depth as i64], |r| {
            Ok(HistoryEntry {
                digest: r.get(0)?,
                cost: Cost {
                    m_kib: r.get(1)?,
                    t: r.get(2)?,
                    p: r.get(3)?,
                },
                normalization: form_from(r.get(4)?),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Reserves the right to verify one guess at `user_id`'s old password.
    /// Under one lock with the reservation table, the user is read afresh: a
    /// guess is reserved only while the user is neither frozen nor locked and
    /// its written failures plus its guesses in flight or unwritten stay below
    /// `max_failures` (0: no limit). A reserved guess must be settled with
    /// [`Store::settle_attempt`]. No write: a busy database does not stop it.
    pub fn reserve_attempt(
        &self,
        user_id: i64,
        max_failures: u32,
        now_ms: i64,
    ) -> Result<Reservation, StoreError> {
        let mut guesses = self.guesses.lock().unwrap_or_else(|p| p.into_inner());
        let user = {
            let conn = self.reader();
            let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?1");
            conn.query_row(&sql, [user_id], user_row).optional()?
        };
        let Some(user) = user else {
            return Ok(Reservation::Missing);
        };
        Ok(match user.status(now_ms) {
            Status::Frozen => Reservation::Frozen,
            Status::Locked => Reservation::Locked,
            Status::Normal => {
                let pending = guesses.entry(user_id).or_default();
                let counted = user.failed_attempts + pending.counted();
                if max_failures > 0 && counted >= i64::from(max_failures) {
                    if pending.counted() == 0 {
                        guesses.remove(&user_id);
                    }
                    Reservation::Saturated
                } else {
                    pending.in_flight += 1;
                    Reservation::Reserved(user)
                }
            }
        })
    }

    /// Settles a reserved guess. A correct one resets the consecutive-failure
    /// count; a wrong one adds to it (with any unwritten ones), and the
    /// `max_failures`-th (0: never) locks the user until `now_ms + lock_ms`
    /// and resets the count, so a count never spans two locks. Returns the
    /// count after this guess. If the write fails, a wrong guess stays counted
    /// in memory and the next settled guess writes it.
    pub fn settle_attempt(
        &self,
        user_id: i64,
        correct: bool,
        max_failures: u32,
        lock_ms: i64,
        now_ms: i64,
    ) -> Result<i64, StoreError> {
        let unwritten = {
            let mut guesses = self.guesses.lock().unwrap_or_else(|p| p.into_inner());
            guesses.get_mut(&user_id).map_or(0, |p| {
                let taken = std::mem::take(&mut p.unwritten);
                p.writing += taken;
                taken
            })
        };
        let written = self.write_guess(user_id, correct, unwritten, max_failures, lock_ms, now_ms);
        // Only now (the count durable, or kept unwritten) does the guess leave
        // the in-flight count, so a reservation never sees it in neither.
        let mut guesses = self.guesses.lock().unwrap_or_else(|p| p.into_inner());
        let pending = guesses.entry(user_id).or_default();
        pending.in_flight = (pending.in_flight - 1).max(0);
        pending.writing -= unwritten;
        match &written {
            Ok(_) => {}
            Err(_) if !correct => pending.unwritten += unwritten + 1,
            Err(_) => pending.unwritten += unwritten,
        }
        if pending.counted() == 0 {
            guesses.remove(&user_id);
        }
        written
    }

    /// Gives back a reservation whose guess was never verified (a hashing
    /// failure): nothing is counted.
    pub fn release_attempt(&self, user_id: i64) {
        let mut guesses = self.guesses.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(pending) = guesses.get_mut(&user_id) {
            pending.in_flight = (pending.in_flight - 1).max(0);
            if pending.counted() == 0 {
                guesses.remove(&user_id);
            }
        }
    }

    fn write_guess(
        &self,
        user_id: i64,
        correct: bool,
        unwritten: i64,
        max_failures: u32,
        lock_ms: i64,
        now_ms: i64,
    ) -> Result<i64, StoreError> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let (attempts, until): (i64, Option<i64>) = tx.query_row(
            "SELECT failed_attempts, locked_until_ms FROM users WHERE id = ?1",
            [user_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        if correct && attempts == 0 {
            return Ok(0); // nothing to write
        }
        let attempts = if correct { 0 } else { attempts + unwritten + 1 };
        let (attempts, until) = if max_failures > 0 && attempts >= i64::from(max_failures) {
            (0, Some(now_ms.saturating_add(lock_ms)))
        } else {
            (attempts, until.filter(|t| *t > now_ms))
        };
        tx.execute(
            "UPDATE users SET failed_attempts = ?2, locked_until_ms = ?3 WHERE id = ?1",
            params![user_id, attempts, until],
        )?;
        tx.commit()?;
        Ok(attempts)
    }

    /// Swaps in a new credential if the version is still `expected_version` and
    /// the user is still normal; the old digest moves into the history with
    /// its cost and form, and the history keeps the newest [`HISTORY_KEPT`]
    /// entries. One transaction.
    pub fn commit_change(&self, new: &NewCredential, now_ms: i64) -> Result<Commit, StoreError> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let moved = tx.execute(
            "INSERT INTO password_history (user_id, version, digest, m_kib, t, p, normalization)
             SELECT id, credential_version, current_digest, digest_m_kib, digest_t, digest_p,
                    normalization
             FROM users
             WHERE id = ?1 AND credential_version = ?2 AND frozen = 0 AND admin_locked = 0
               AND (locked_until_ms IS NULL OR locked_until_ms <= ?3)",
            params![new.user_id, new.expected_version, now_ms],
        )?;
        if moved == 0 {
            return Ok(Commit::Conflict);
        }
        tx.execute(
            "DELETE FROM password_history WHERE user_id = ?1 AND version <= ?2",
            params![new.user_id, new.expected_version - HISTORY_KEPT],
        )?;
        tx.execute(
            "UPDATE users SET password_hash = ?2, current_digest = ?3, digest_m_kib = ?4,
                 digest_t = ?5, digest_p = ?6, normalization = ?7,
                 credential_version = credential_version + 1, failed_attempts = 0,
                 locked_until_ms = NULL, changed_at_ms = ?8
             WHERE id = ?1",
            params![
                new.user_id,
                new.password_hash,
                new.digest,
                new.digest_cost.m_kib,
                new.digest_cost.t,
                new.digest_cost.p,
                form_name(new.normalization),
                now_ms
            ],
        )?;
        tx.commit()?;
        Ok(Commit::Committed)
    }

    /// `PRAGMA integrity_check` (for tests and fault checks).
    pub fn integrity_check(&self) -> Result<String, StoreError> {
        let conn = self.lock();
        Ok(conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))?)
    }
}

fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let current: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if current > SCHEMA_VERSION {
        return Err(StoreError::TooNew(current));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i as i64 + 1)?;
        tx.commit()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const COST: Cost = Cost {
        m_kib: 64,
        t: 1,
        p: 1,
    };

    const BUSY: Duration = Duration::from_millis(100);

    fn open() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("sub/db.sqlite3"), BUSY).unwrap();
        (dir, store)
    }

    fn seed(store: &Store, subject: &str) -> User {
        let user = NewUser {
            subject,
            password_hash: "h0".into(),
            normalization: Normalization::Nfc,
            history_salt: vec![1; 16],
            digest_cost: COST,
            digest: vec![0],
            flags: AdminFlags {
                frozen: false,
                locked: false,
            },
        };
        assert!(store.insert_user(&user, 0).unwrap());
        store.find(subject).unwrap().unwrap()
    }

    fn change(store: &Store, user: &User, version: i64, n: u8) -> Commit {
        store
            .commit_change(
                &NewCredential {
                    user_id: user.id,
                    expected_version: version,
                    password_hash: format!("h{n}"),
                    digest: vec![n],
                    digest_cost: COST,
                    normalization: Normalization::Nfc,
                },
                0,
            )
            .unwrap()
    }

    #[test]
    fn insert_is_idempotent_and_migration_reruns_cleanly() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite3");
        let store = Store::open(&path, BUSY).unwrap();
        seed(&store, "alice");
        drop(store);
        let store = Store::open(&path, BUSY).unwrap();
        assert!(store.exists("alice").unwrap());
        let version: i64 = store
            .lock()
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, SCHEMA_VERSION);
        let again = NewUser {
            subject: "alice",
            password_hash: "other".into(),
            normalization: Normalization::Nfkc,
            history_salt: vec![2; 16],
            digest_cost: COST,
            digest: vec![9],
            flags: AdminFlags {
                frozen: true,
                locked: false,
            },
        };
        assert!(!store.insert_user(&again, 0).unwrap());
        let u = store.find("alice").unwrap().unwrap();
        assert_eq!(u.password_hash, "h0");
        assert!(!u.flags.frozen);
        assert_eq!(store.integrity_check().unwrap(), "ok");
    }

    #[test]
    fn compare_and_swap_lets_one_change_win() {
        let (_d, store) = open();
        let u = seed(&store, "alice");
        assert_eq!(change(&store, &u, 1, 1), Commit::Committed);
        assert_eq!(change(&store, &u, 1, 2), Commit::Conflict);
        let u2 = store.find("alice").unwrap().unwrap();
        assert_eq!(u2.password_hash, "h1");
        assert_eq!(u2.credential_version, 2);
        assert_eq!(digests(&store.history(u.id, 5).unwrap()), vec![vec![0u8]]);
    }

    #[test]
    fn history_is_newest_first_and_capped() {
        let (_d, store) = open();
        let u = seed(&store, "alice");
        for n in 1..=140u8 {
            assert_eq!(change(&store, &u, i64::from(n), n), Commit::Committed);
        }
        let h = digests(&store.history(u.id, 3).unwrap());
        assert_eq!(h, vec![vec![139u8], vec![138], vec![137]]);
        let all = digests(&store.history(u.id, 1000).unwrap());
        assert_eq!(all.len(), HISTORY_KEPT as usize);
        assert_eq!(all.last().unwrap(), &vec![12u8]);
    }

    fn digests(entries: &[HistoryEntry]) -> Vec<Vec<u8>> {
        entries.iter().map(|e| e.digest.clone()).collect()
    }

    /// Reserves and settles one guess at `now`.
    fn guess(store: &Store, id: i64, correct: bool, now: i64) -> i64 {
        let r = store.reserve_attempt(id, 3, now).unwrap();
        assert!(matches!(r, Reservation::Reserved(_)), "{r:?}");
        store.settle_attempt(id, correct, 3, 1000, now).unwrap()
    }

    #[test]
    fn failures_lock_then_expire() {
        let (_d, store) = open();
        let u = seed(&store, "alice");
        assert_eq!(guess(&store, u.id, false, 10), 1);
        assert_eq!(guess(&store, u.id, false, 20), 2);
        assert_eq!(
            store.find("alice").unwrap().unwrap().status(20),
            Status::Normal
        );
        assert_eq!(guess(&store, u.id, false, 30), 0);
        let locked = store.find("alice").unwrap().unwrap();
        assert_eq!(locked.status(30), Status::Locked);
        assert_eq!(locked.status(1029), Status::Locked);
        assert_eq!(locked.status(1030), Status::Normal);
        // Nothing is reserved while locked, and a change is refused.
        assert!(matches!(
            store.reserve_attempt(u.id, 3, 1029).unwrap(),
            Reservation::Locked
        ));
        assert_eq!(
            store
                .commit_change(
                    &NewCredential {
                        user_id: u.id,
                        expected_version: 1,
                        password_hash: "x".into(),
                        digest: vec![1],
                        digest_cost: COST,
                        normalization: Normalization::Nfc,
                    },
                    500
                )
                .unwrap(),
            Commit::Conflict
        );
        // After expiry the lock is dropped and counting starts again.
        assert_eq!(guess(&store, u.id, false, 2000), 1);
        assert_eq!(store.find("alice").unwrap().unwrap().locked_until_ms, None);
        assert_eq!(guess(&store, u.id, true, 2000), 0);
        assert_eq!(store.find("alice").unwrap().unwrap().failed_attempts, 0);
    }

    #[test]
    fn guesses_in_flight_count_toward_the_threshold() {
        let (_d, store) = open();
        let u = seed(&store, "alice");
        assert_eq!(guess(&store, u.id, false, 0), 1);
        // Two more may be in flight (1 + 2 = 3), a third may not.
        for _ in 0..2 {
            let r = store.reserve_attempt(u.id, 3, 0).unwrap();
            assert!(matches!(r, Reservation::Reserved(_)), "{r:?}");
        }
        let r = store.reserve_attempt(u.id, 3, 0).unwrap();
        assert!(matches!(r, Reservation::Saturated), "{r:?}");
        // Both wrong: the second locks, and the table is empty again.
        assert_eq!(store.settle_attempt(u.id, false, 3, 1000, 0).unwrap(), 2);
        assert_eq!(store.settle_attempt(u.id, false, 3, 1000, 0).unwrap(), 0);
        assert_eq!(
            store.find("alice").unwrap().unwrap().status(0),
            Status::Locked
        );
        assert!(store.guesses.lock().unwrap().is_empty());
        // No limit: always reserved.
        for _ in 0..10 {
            let r = store.reserve_attempt(u.id, 0, 5000).unwrap();
            assert!(matches!(r, Reservation::Reserved(_)), "{r:?}");
        }
    }

    #[test]
    fn a_locked_database_is_busy_for_writes_and_keeps_the_failure() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite3");
        let store = Store::open(&path, BUSY).unwrap();
        let u = seed(&store, "alice");
        assert_eq!(guess(&store, u.id, false, 0), 1);
        let outside = Connection::open(&path).unwrap();
        outside.execute_batch("BEGIN EXCLUSIVE").unwrap();
        // Reads and reservations go on; the settling write is busy.
        assert!(store.find("alice").unwrap().is_some());
        assert_eq!(store.history(u.id, 5).unwrap(), vec![]);
        let r = store.reserve_attempt(u.id, 3, 0).unwrap();
        assert!(matches!(r, Reservation::Reserved(_)), "{r:?}");
        assert!(matches!(
            store.settle_attempt(u.id, false, 3, 1000, 0),
            Err(StoreError::Busy)
        ));
        outside.execute_batch("COMMIT").unwrap();
        // The unwritten failure still counts (1 written + 1 unwritten + 1
        // reserved = 3), and the next wrong guess writes it: the third locks.
        assert_eq!(store.find("alice").unwrap().unwrap().failed_attempts, 1);
        assert_eq!(guess(&store, u.id, false, 0), 0);
        assert_eq!(
            store.find("alice").unwrap().unwrap().status(0),
            Status::Locked
        );
        assert!(store.guesses.lock().unwrap().is_empty());
    }

    /// A store with alice, and another connection holding the database's
    /// write lock (commit it to let writes through).
    fn locked_from_outside() -> (tempfile::TempDir, Store, User, Connection) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite3");
        let store = Store::open(&path, BUSY).unwrap();
        let u = seed(&store, "alice");
        let outside = Connection::open(&path).unwrap();
        outside.execute_batch("BEGIN EXCLUSIVE").unwrap();
        (dir, store, u, outside)
    }

    #[test]
    fn a_released_reservation_counts_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db.sqlite3"), BUSY).unwrap();
        let u = seed(&store, "alice");
        for _ in 0..3 {
            let r = store.reserve_attempt(u.id, 3, 0).unwrap();
            assert!(matches!(r, Reservation::Reserved(_)), "{r:?}");
            store.release_attempt(u.id);
        }
        assert!(store.guesses.lock().unwrap().is_empty());
        assert_eq!(store.find("alice").unwrap().unwrap().failed_attempts, 0);
    }

    #[test]
    fn unwritten_failures_being_written_still_count_once() {
        let (_dir, store, u, outside) = locked_from_outside();
        store.reserve_attempt(u.id, 5, 0).unwrap();
        assert!(store.settle_attempt(u.id, false, 5, 1000, 0).is_err());
        // Another settle takes the unwritten failure to write it; while it
        // writes (simulated: taken, write failed again), it still counts.
        store.reserve_attempt(u.id, 5, 0).unwrap();
        assert!(store.settle_attempt(u.id, false, 5, 1000, 0).is_err());
        {
            let g = store.guesses.lock().unwrap();
            let p = g.get(&u.id).unwrap();
            assert_eq!((p.in_flight, p.unwritten, p.writing), (0, 2, 0));
        }
        outside.execute_batch("COMMIT").unwrap();
        // One more wrong guess writes all three, exactly once.
        store.reserve_attempt(u.id, 5, 0).unwrap();
        assert_eq!(store.settle_attempt(u.id, false, 5, 1000, 0).unwrap(), 3);
        assert_eq!(store.find("alice").unwrap().unwrap().failed_attempts, 3);
        assert!(store.guesses.lock().unwrap().is_empty());
    }

    /// Unwritten failures, and those a settling guess is writing, count
    /// toward the threshold of every reservation made meanwhile.
    #[test]
    fn unwritten_and_writing_failures_saturate_reservations() {
        let (_dir, store, u, outside) = locked_from_outside();
        for _ in 0..2 {
            store.reserve_attempt(u.id, 3, 0).unwrap();
            assert!(store.settle_attempt(u.id, false, 3, 1000, 0).is_err());
        }
        outside.execute_batch("COMMIT").unwrap();
        // 2 unwritten + 1 in flight reach K = 3.
        let r = store.reserve_attempt(u.id, 3, 0).unwrap();
        assert!(matches!(r, Reservation::Reserved(_)), "{r:?}");
        let r = store.reserve_attempt(u.id, 3, 0).unwrap();
        assert!(matches!(r, Reservation::Saturated), "{r:?}");
        // The reserved guess settles while the write connection is held: its
        // settle moves the 2 unwritten to `writing` and waits for the lock.
        let held = store.lock();
        std::thread::scope(|scope| {
            let settling = scope.spawn(|| store.settle_attempt(u.id, false, 3, 1000, 0));
            while store.guesses.lock().unwrap()[&u.id].writing != 2 {
                std::thread::yield_now();
            }
            let r = store.reserve_attempt(u.id, 3, 0).unwrap();
            assert!(matches!(r, Reservation::Saturated), "{r:?}");
            drop(held);
            // The third failure locks the user (and resets the count).
            assert_eq!(settling.join().unwrap().unwrap(), 0);
        });
        assert_eq!(
            store.find("alice").unwrap().unwrap().status(0),
            Status::Locked
        );
    }

    /// A correct guess whose write fails counts nothing new: the failures
    /// still unwritten stay counted, and no failure is added for it.
    #[test]
    fn a_correct_guess_that_cannot_be_written_adds_no_failure() {
        let (_dir, store, u, outside) = locked_from_outside();
        store.reserve_attempt(u.id, 5, 0).unwrap();
        assert!(store.settle_attempt(u.id, false, 5, 1000, 0).is_err());
        store.reserve_attempt(u.id, 5, 0).unwrap();
        assert!(matches!(
            store.settle_attempt(u.id, true, 5, 1000, 0),
            Err(StoreError::Busy)
        ));
        let g = store.guesses.lock().unwrap();
        let p = g.get(&u.id).unwrap();
        assert_eq!((p.in_flight, p.unwritten, p.writing), (0, 1, 0));
        drop(outside);
    }

    /// A settle never shortens a lock it finds, even one set behind its back
    /// (the reservations make that impossible within one process; the store
    /// does not rely on it).
    #[test]
    fn a_settle_keeps_a_lock_it_finds() {
        let (_d, store) = open();
        let u = seed(&store, "alice");
        for now in [10, 20, 30] {
            guess(&store, u.id, false, now);
        }
        assert_eq!(
            store.find("alice").unwrap().unwrap().locked_until_ms,
            Some(1030)
        );
        for correct in [false, true] {
            store.settle_attempt(u.id, correct, 3, 1000, 500).unwrap();
            let after = store.find("alice").unwrap().unwrap();
            assert_eq!(after.locked_until_ms, Some(1030), "correct = {correct}");
            assert_eq!(after.status(1029), Status::Locked);
        }
    }

    #[test]
    fn each_normalization_form_reads_back_as_written() {
        let (_d, store) = open();
        for (subject, form) in [
            ("nfc", Normalization::Nfc),
            ("nfkc", Normalization::Nfkc),
            ("none", Normalization::None),
        ] {
            let user = NewUser {
                subject,
                password_hash: "h0".into(),
                normalization: form,
                history_salt: vec![1; 16],
                digest_cost: COST,
                digest: vec![0],
                flags: AdminFlags {
                    frozen: false,
                    locked: false,
                },
            };
            assert!(store.insert_user(&user, 0).unwrap());
            let found = store.find(subject).unwrap().unwrap();
            assert_eq!(found.normalization, Some(form), "{subject}");
        }
    }

    #[test]
    fn a_correct_guess_clears_unwritten_failures() {
        let (_dir, store, u, outside) = locked_from_outside();
        for _ in 0..2 {
            store.reserve_attempt(u.id, 3, 0).unwrap();
            assert!(store.settle_attempt(u.id, false, 3, 1000, 0).is_err());
        }
        assert!(matches!(
            store.reserve_attempt(u.id, 3, 0).unwrap(),
            Reservation::Reserved(_)
        ));
        outside.execute_batch("COMMIT").unwrap();
        assert_eq!(store.settle_attempt(u.id, true, 3, 1000, 0).unwrap(), 0);
        assert!(store.guesses.lock().unwrap().is_empty());
        assert_eq!(guess(&store, u.id, false, 0), 1);
    }

    #[test]
    fn version_1_databases_migrate_with_costs_and_no_forms() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite3");
        let v1 = Connection::open(&path).unwrap();
        v1.execute_batch(MIGRATIONS[0]).unwrap();
        v1.execute_batch(
            "PRAGMA user_version = 1;
             INSERT INTO users (id, subject, password_hash, history_salt, history_m_kib,
                 history_t, history_p, current_digest, credential_version, changed_at_ms)
             VALUES (7, 'alice', 'h2', x'01', 64, 1, 1, x'02', 3, 0);
             INSERT INTO password_history VALUES (7, 1, x'00'), (7, 2, x'01');",
        )
        .unwrap();
        drop(v1);
        let store = Store::open(&path, BUSY).unwrap();
        let u = store.find("alice").unwrap().unwrap();
        assert_eq!((u.digest_cost, u.normalization), (COST, None));
        let cheap = |d: u8| HistoryEntry {
            digest: vec![d],
            cost: COST,
            normalization: None,
        };
        assert_eq!(store.history(7, 5).unwrap(), vec![cheap(1), cheap(0)]);
        // A change moves the recorded cost and form into the history.
        let owasp = Cost {
            m_kib: 19456,
            t: 2,
            p: 1,
        };
        let new = NewCredential {
            user_id: 7,
            expected_version: 3,
            password_hash: "h3".into(),
            digest: vec![3],
            digest_cost: owasp,
            normalization: Normalization::Nfkc,
        };
        assert_eq!(store.commit_change(&new, 0).unwrap(), Commit::Committed);
        let u = store.find("alice").unwrap().unwrap();
        assert_eq!(
            (u.digest_cost, u.normalization),
            (owasp, Some(Normalization::Nfkc))
        );
        assert_eq!(
            store.history(7, 1).unwrap(),
            vec![HistoryEntry {
                digest: vec![2],
                cost: COST,
                normalization: None
            }]
        );
        let new = NewCredential {
            expected_version: 4,
            digest: vec![4],
            ..new
        };
        assert_eq!(store.commit_change(&new, 0).unwrap(), Commit::Committed);
        assert_eq!(
            store.history(7, 1).unwrap(),
            vec![HistoryEntry {
                digest: vec![3],
                cost: owasp,
                normalization: Some(Normalization::Nfkc)
            }]
        );
    }

    #[test]
    fn frozen_wins_over_locked() {
        let (_d, store) = open();
        seed(&store, "alice");
        let both = AdminFlags {
            frozen: true,
            locked: true,
        };
        assert!(store.set_flags("alice", both).unwrap());
        assert_eq!(
            store.find("alice").unwrap().unwrap().status(0),
            Status::Frozen
        );
        let locked = AdminFlags {
            frozen: false,
            locked: true,
        };
        store.set_flags("alice", locked).unwrap();
        assert_eq!(
            store.find("alice").unwrap().unwrap().status(i64::MAX),
            Status::Locked
        );
    }

    #[test]
    fn errors_say_what_is_wrong() {
        assert_eq!(
            StoreError::TooNew(99).to_string(),
            "database schema version 99 is newer than this server (2)"
        );
        assert_eq!(
            StoreError::Corrupt("hash").to_string(),
            "corrupt database row: hash"
        );
    }

    #[test]
    fn newer_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite3");
        Connection::open(&path)
            .unwrap()
            .pragma_update(None, "user_version", 99)
            .unwrap();
        assert!(matches!(
            Store::open(&path, BUSY),
            Err(StoreError::TooNew(99))
        ));
    }
}
