//! Seed users from `users.toml`: parsed, validated, and inserted once each
//! (a subject already in the store is left exactly as it is, so restarts never
//! undo a password change).
//!
//! ```toml
//! [[user]]
//! subject = "alice"
//! password = "Alice-Passw0rd"
//! status = "active"   # or "frozen", "locked", "frozen+locked"
//! ```

use std::path::Path;

use serde::Deserialize;

use crate::hashing::Hasher;
use crate::policy::Policy;
use crate::secret::Password;
use crate::store::{AdminFlags, NewUser, Store};

/// What can go wrong seeding.
#[derive(Debug)]
#[non_exhaustive]
pub enum SeedError {
    /// The file could not be read.
    Io(String, std::io::Error),
    /// The file is not a valid seed file; the message names the entry.
    Invalid(String, String),
    /// The store or the hasher failed.
    Store(String),
}

impl std::fmt::Display for SeedError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SeedError::Io(file, e) => write!(f, "cannot read {file}: {e}"),
            SeedError::Invalid(file, why) => write!(f, "{file}: {why}"),
            SeedError::Store(why) => write!(f, "seeding failed: {why}"),
        }
    }
}

impl std::error::Error for SeedError {}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedFile {
    #[serde(default)]
    user: Vec<SeedUser>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedUser {
    subject: String,
    password: String,
    #[serde(default = "active")]
    status: String,
}

fn active() -> String {
    "active".into()
}

/// Inserts the users of `path` that the store does not have yet; returns how many.
pub fn seed(
    path: &Path,
    store: &Store,
    hasher: &Hasher,
    policy: &Policy,
) -> Result<usize, SeedError> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| SeedError::Io(name.clone(), e))?;
    let file: SeedFile =
        toml::from_str(&text).map_err(|e| SeedError::Invalid(name.clone(), e.message().into()))?;
    let mut inserted = 0;
    for (i, user) in file.user.iter().enumerate() {
        let flags = match user.status.as_str() {
            "active" => (false, false),
            "frozen" => (true, false),
            "locked" => (false, true),
            "frozen+locked" => (true, true),
            other => {
                return Err(SeedError::Invalid(
                    name,
                    format!(
                        "user[{i}].status: `{other}` is not active, frozen, locked or frozen+locked"
                    ),
                ));
            }
        };
        if user.subject.is_empty() {
            return Err(SeedError::Invalid(
                name,
                format!("user[{i}].subject is empty"),
            ));
        }
        let store_err = |e: &dyn std::fmt::Display| SeedError::Store(e.to_string());
        if store.exists(&user.subject).map_err(|e| store_err(&e))? {
            continue;
        }
        let password = policy.normalize(&Password::new(user.password.clone()));
        let salt = Hasher::new_salt();
        let cost = hasher.cost();
        let new_user = NewUser {
            subject: &user.subject,
            password_hash: hasher
                .hash_blocking(&password)
                .map_err(|e| store_err(&format!("{e:?}")))?,
            normalization: policy.normalization(),
            history_salt: salt.to_vec(),
            digest_cost: cost,
            digest: hasher
                .digest_blocking(cost, &salt, &password)
                .map_err(|e| store_err(&format!("{e:?}")))?
                .to_vec(),
            flags: AdminFlags {
                frozen: flags.0,
                locked: flags.1,
            },
        };
        if store
            .insert_user(&new_user, crate::now_ms())
            .map_err(|e| store_err(&e))?
        {
            inserted += 1;
        }
    }
    Ok(inserted)
}
