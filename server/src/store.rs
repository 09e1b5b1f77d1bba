//! The durable user store: one SQLite file (WAL, `synchronous = FULL`), its
//! schema and migrations, and the few transactions the endpoint needs.
//!
//! Every method is blocking; async callers run them on tokio's blocking
//! threads. A change is one transaction that compares and swaps the user's
//! `credential_version`, so of several concurrent changes only the first to
//! commit wins, and a crash leaves either the old or the new credential with a
//! history that matches it.

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use crate::hashing::Cost;

/// Newest schema version; `PRAGMA user_version` records the applied one.
const SCHEMA_VERSION: i64 = 1;

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
];

/// What can go wrong in the store.
#[derive(Debug)]
#[non_exhaustive]
pub enum StoreError {
    /// SQLite reported an error.
    Sqlite(rusqlite::Error),
    /// The file was written by a newer version of this program.
    TooNew(i64),
    /// A row holds a value this program cannot use.
    Corrupt(&'static str),
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::Sqlite(e) => write!(f, "database error: {e}"),
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
        StoreError::Sqlite(e)
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
    /// Per-user salt of the history digests.
    pub history_salt: Vec<u8>,
    /// Argon2 cost of the history digests.
    pub history_cost: Cost,
    /// Version of the current credential; bumped by every change.
    pub credential_version: i64,
    /// Administrator flags.
    pub flags: AdminFlags,
    /// Consecutive wrong old passwords.
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
}

/// Result of a compare-and-swap commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Commit {
    /// The new credential is durable.
    Committed,
    /// Another change committed first (or the status changed): nothing written.
    Conflict,
}

/// A new user for seeding.
#[derive(Debug, Clone)]
pub struct NewUser<'a> {
    /// Subject (the JWT `sub`).
    pub subject: &'a str,
    /// PHC string of the password.
    pub password_hash: String,
    /// History salt.
    pub history_salt: Vec<u8>,
    /// History cost.
    pub history_cost: Cost,
    /// History digest of the password.
    pub digest: Vec<u8>,
    /// Administrator flags.
    pub flags: AdminFlags,
}

/// Handle to the database; cheap to clone, serialises access with a mutex.
#[derive(Debug, Clone)]
pub struct Store {
    conn: Arc<Mutex<Connection>>,
}

impl Store {
    /// Opens (creating if needed) and migrates the database at `path`.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| {
                StoreError::Sqlite(rusqlite::Error::InvalidPath(dir.join(e.to_string())))
            })?;
        }
        let mut conn = Connection::open(path)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        migrate(&mut conn)?;
        Ok(Store {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave a half-done transaction:
        // rusqlite rolls back on drop. The connection stays usable.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether a user with this subject exists.
    pub fn exists(&self, subject: &str) -> Result<bool, StoreError> {
        let conn = self.lock();
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
            "INSERT INTO users (subject, password_hash, history_salt, history_m_kib, history_t,
                 history_p, current_digest, frozen, admin_locked, changed_at_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
             ON CONFLICT (subject) DO NOTHING",
            params![
                user.subject,
                user.password_hash,
                user.history_salt,
                user.history_cost.m_kib,
                user.history_cost.t,
                user.history_cost.p,
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

    /// The user with this subject, if any.
    pub fn find(&self, subject: &str) -> Result<Option<User>, StoreError> {
        let conn = self.lock();
        let row = conn
            .query_row(
                "SELECT id, password_hash, history_salt, history_m_kib, history_t, history_p,
                        credential_version, frozen, admin_locked, failed_attempts, locked_until_ms
                 FROM users WHERE subject = ?1",
                [subject],
                |r| {
                    Ok(User {
                        id: r.get(0)?,
                        password_hash: r.get(1)?,
                        history_salt: r.get(2)?,
                        history_cost: Cost {
                            m_kib: r.get(3)?,
                            t: r.get(4)?,
                            p: r.get(5)?,
                        },
                        credential_version: r.get(6)?,
                        flags: AdminFlags {
                            frozen: r.get(7)?,
                            locked: r.get(8)?,
                        },
                        failed_attempts: r.get(9)?,
                        locked_until_ms: r.get(10)?,
                    })
                },
            )
            .optional()?;
        Ok(row)
    }

    /// The newest `depth` history digests of a user (previous passwords only).
    pub fn history(&self, user_id: i64, depth: usize) -> Result<Vec<Vec<u8>>, StoreError> {
        let conn = self.lock();
        let mut stmt = conn.prepare_cached(
            "SELECT digest FROM password_history WHERE user_id = ?1
             ORDER BY version DESC LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![user_id, depth as i64], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Records a wrong old password. After `max_failures` consecutive ones
    /// (0 disables) the user is locked until `now_ms + lock_ms`. Returns the
    /// consecutive count after this failure (0 if it caused a lock).
    pub fn record_failure(
        &self,
        user_id: i64,
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
        // Setting a lock resets the count, so a count never spans two locks.
        let attempts = attempts + 1;
        let (attempts, until) = if max_failures > 0 && attempts >= i64::from(max_failures) {
            (0, Some(now_ms.saturating_add(lock_ms)))
        } else {
            // Keep a lock another request set meanwhile; drop an expired one.
            (attempts, until.filter(|t| *t > now_ms))
        };
        tx.execute(
            "UPDATE users SET failed_attempts = ?2, locked_until_ms = ?3 WHERE id = ?1",
            params![user_id, attempts, until],
        )?;
        tx.commit()?;
        Ok(attempts)
    }

    /// Resets the consecutive-failure count after a correct old password.
    pub fn reset_failures(&self, user_id: i64) -> Result<(), StoreError> {
        let conn = self.lock();
        conn.execute(
            "UPDATE users SET failed_attempts = 0 WHERE id = ?1 AND failed_attempts <> 0",
            [user_id],
        )?;
        Ok(())
    }

    /// Swaps in a new credential if the version is still `expected_version` and
    /// the user is still normal; the old digest moves into the history, which
    /// keeps the newest [`HISTORY_KEPT`] entries. One transaction.
    pub fn commit_change(&self, new: &NewCredential, now_ms: i64) -> Result<Commit, StoreError> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let old_digest: Option<Vec<u8>> = tx
            .query_row(
                "SELECT current_digest FROM users
                 WHERE id = ?1 AND credential_version = ?2 AND frozen = 0 AND admin_locked = 0
                   AND (locked_until_ms IS NULL OR locked_until_ms <= ?3)",
                params![new.user_id, new.expected_version, now_ms],
                |r| r.get(0),
            )
            .optional()?;
        let Some(old_digest) = old_digest else {
            return Ok(Commit::Conflict);
        };
        tx.execute(
            "INSERT INTO password_history (user_id, version, digest) VALUES (?1, ?2, ?3)",
            params![new.user_id, new.expected_version, old_digest],
        )?;
        tx.execute(
            "DELETE FROM password_history WHERE user_id = ?1 AND version <= ?2",
            params![new.user_id, new.expected_version - HISTORY_KEPT],
        )?;
        tx.execute(
            "UPDATE users SET password_hash = ?2, current_digest = ?3,
                 credential_version = credential_version + 1, failed_attempts = 0,
                 locked_until_ms = NULL, changed_at_ms = ?4
             WHERE id = ?1",
            params![new.user_id, new.password_hash, new.digest, now_ms],
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

    fn open() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("sub/db.sqlite3")).unwrap();
        (dir, store)
    }

    fn seed(store: &Store, subject: &str) -> User {
        let user = NewUser {
            subject,
            password_hash: "h0".into(),
            history_salt: vec![1; 16],
            history_cost: COST,
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
                },
                0,
            )
            .unwrap()
    }

    #[test]
    fn insert_is_idempotent_and_migration_reruns_cleanly() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite3");
        let store = Store::open(&path).unwrap();
        seed(&store, "alice");
        drop(store);
        let store = Store::open(&path).unwrap();
        assert!(store.exists("alice").unwrap());
        let version: i64 = store
            .lock()
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, SCHEMA_VERSION);
        let again = NewUser {
            subject: "alice",
            password_hash: "other".into(),
            history_salt: vec![2; 16],
            history_cost: COST,
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
        assert_eq!(store.history(u.id, 5).unwrap(), vec![vec![0u8]]);
    }

    #[test]
    fn history_is_newest_first_and_capped() {
        let (_d, store) = open();
        let u = seed(&store, "alice");
        for n in 1..=140u8 {
            assert_eq!(change(&store, &u, i64::from(n), n), Commit::Committed);
        }
        let h = store.history(u.id, 3).unwrap();
        assert_eq!(h, vec![vec![139u8], vec![138], vec![137]]);
        let all = store.history(u.id, 1000).unwrap();
        assert_eq!(all.len(), HISTORY_KEPT as usize);
        assert_eq!(all.last().unwrap(), &vec![12u8]);
    }

    #[test]
    fn failures_lock_then_expire() {
        let (_d, store) = open();
        let u = seed(&store, "alice");
        assert_eq!(store.record_failure(u.id, 3, 1000, 10).unwrap(), 1);
        assert_eq!(store.record_failure(u.id, 3, 1000, 20).unwrap(), 2);
        assert_eq!(
            store.find("alice").unwrap().unwrap().status(20),
            Status::Normal
        );
        assert_eq!(store.record_failure(u.id, 3, 1000, 30).unwrap(), 0);
        let locked = store.find("alice").unwrap().unwrap();
        assert_eq!(locked.status(30), Status::Locked);
        assert_eq!(locked.status(1029), Status::Locked);
        assert_eq!(locked.status(1030), Status::Normal);
        // A change is refused while locked, allowed after expiry.
        assert_eq!(
            store
                .commit_change(
                    &NewCredential {
                        user_id: u.id,
                        expected_version: 1,
                        password_hash: "x".into(),
                        digest: vec![1],
                    },
                    500
                )
                .unwrap(),
            Commit::Conflict
        );
        // A failure recorded by a request that passed the status check just
        // before another one set the lock keeps that lock.
        assert_eq!(store.record_failure(u.id, 3, 1000, 40).unwrap(), 1);
        let still = store.find("alice").unwrap().unwrap();
        assert_eq!(still.locked_until_ms, Some(1030));
        assert_eq!(still.status(1029), Status::Locked);
        // After expiry the expired lock is dropped and the count goes on.
        assert_eq!(store.record_failure(u.id, 3, 1000, 2000).unwrap(), 2);
        assert_eq!(store.find("alice").unwrap().unwrap().locked_until_ms, None);
        store.reset_failures(u.id).unwrap();
        assert_eq!(store.find("alice").unwrap().unwrap().failed_attempts, 0);
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
            "database schema version 99 is newer than this server (1)"
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
        assert!(matches!(Store::open(&path), Err(StoreError::TooNew(99))));
    }
}
