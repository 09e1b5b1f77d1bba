//! Argon2id hashing behind a bounded pool.
//!
//! Every evaluation runs on tokio's blocking threads, never on the async
//! workers, and only while the request holds one of `workers` permits. A
//! request that cannot get a permit within `queue_timeout` is refused
//! ([`HashError::Busy`], rendered as 503), so memory stays bounded at about
//! `workers` × the argon2 memory cost however many requests arrive.
//!
//! Two kinds of output:
//! - primary hashes: PHC strings with a fresh random salt each;
//! - history digests: raw 32-byte argon2id outputs under a per-user history
//!   salt and parameters stored with the user, so one evaluation of a
//!   candidate can be compared against every history entry.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::config::{HashingConfig, HashingProfile};
use crate::secret::Password;

/// Length of a history digest.
pub const DIGEST_LEN: usize = 32;
/// Length of a per-user history salt.
pub const SALT_LEN: usize = 16;

/// Argon2 cost parameters, as stored with each user's history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cost {
    /// Memory in KiB.
    pub m_kib: u32,
    /// Iterations.
    pub t: u32,
    /// Lanes.
    pub p: u32,
}

impl Cost {
    /// The parameters of a profile.
    pub fn of(profile: HashingProfile) -> Cost {
        match profile {
            HashingProfile::Owasp => Cost {
                m_kib: 19 * 1024,
                t: 2,
                p: 1,
            },
            HashingProfile::CheapTestOnly => Cost {
                m_kib: 64,
                t: 1,
                p: 1,
            },
        }
    }

    fn argon2(self) -> Result<Argon2<'static>, HashError> {
        let params = Params::new(self.m_kib, self.t, self.p, Some(DIGEST_LEN))
            .map_err(|_| HashError::Corrupt)?;
        Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
    }
}

/// What can go wrong while hashing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum HashError {
    /// No hashing slot became free within the queue timeout.
    Busy,
    /// A stored hash or cost could not be parsed.
    Corrupt,
    /// The blocking task died.
    Panicked,
}

/// The bounded hashing pool. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Hasher {
    cost: Cost,
    permits: Arc<Semaphore>,
    workers: usize,
    queue_timeout: Duration,
    evaluations: Arc<AtomicU64>,
}

impl Hasher {
    /// A pool from its configuration; `workers = 0` means the number of cores.
    pub fn new(config: &HashingConfig) -> Hasher {
        let workers = if config.workers == 0 {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        } else {
            config.workers
        };
        Hasher {
            cost: Cost::of(config.profile),
            permits: Arc::new(Semaphore::new(workers)),
            workers,
            queue_timeout: Duration::from_millis(config.queue_timeout_ms),
            evaluations: Arc::new(AtomicU64::new(0)),
        }
    }

    /// The cost of new hashes.
    pub fn cost(&self) -> Cost {
        self.cost
    }

    /// Number of concurrent hashing slots.
    pub fn workers(&self) -> usize {
        self.workers
    }

    /// Argon2 evaluations performed since start (all kinds).
    pub fn evaluations(&self) -> u64 {
        self.evaluations.load(Ordering::Relaxed)
    }

    /// Waits (at most the queue timeout) for a hashing slot.
    pub async fn session(&self) -> Result<HashSession, HashError> {
        let permit = tokio::time::timeout(self.queue_timeout, self.permits.clone().acquire_owned())
            .await
            .map_err(|_| HashError::Busy)?
            .map_err(|_| HashError::Busy)?;
        Ok(HashSession {
            hasher: self.clone(),
            _permit: permit,
        })
    }

    /// A fresh random history salt.
    pub fn new_salt() -> [u8; SALT_LEN] {
        let mut salt = [0u8; SALT_LEN];
        getrandom::fill(&mut salt).expect("the OS random source failed");
        salt
    }

    /// Primary hash with a fresh salt (blocking; for seeding and the pool).
    pub fn hash_blocking(&self, password: &Password) -> Result<String, HashError> {
        self.count();
        let hash = self
            .cost
            .argon2()?
            .hash_password(password.expose().as_bytes())
            .map_err(|_| HashError::Corrupt)?;
        Ok(hash.to_string())
    }

    /// History digest under `salt` and `cost` (blocking).
    pub fn digest_blocking(
        &self,
        cost: Cost,
        salt: &[u8],
        password: &Password,
    ) -> Result<[u8; DIGEST_LEN], HashError> {
        self.count();
        let mut out = [0u8; DIGEST_LEN];
        cost.argon2()?
            .hash_password_into(password.expose().as_bytes(), salt, &mut out)
            .map_err(|_| HashError::Corrupt)?;
        Ok(out)
    }

    /// Verifies against a PHC string, with the parameters stored in it (blocking).
    /// The comparison inside is constant-time.
    pub fn verify_blocking(&self, phc: &str, password: &Password) -> Result<bool, HashError> {
        self.count();
        match Argon2::default().verify_password(password.expose().as_bytes(), phc) {
            Ok(()) => Ok(true),
            Err(argon2::password_hash::Error::PasswordInvalid) => Ok(false),
            Err(_) => Err(HashError::Corrupt),
        }
    }

    fn count(&self) {
        self.evaluations.fetch_add(1, Ordering::Relaxed);
    }
}

/// A held hashing slot; each call runs one evaluation on a blocking thread.
#[derive(Debug)]
pub struct HashSession {
    hasher: Hasher,
    _permit: OwnedSemaphorePermit,
}

impl HashSession {
    /// See [`Hasher::verify_blocking`].
    pub async fn verify(&self, phc: String, password: Password) -> Result<bool, HashError> {
        let h = self.hasher.clone();
        blocking(move || h.verify_blocking(&phc, &password)).await
    }

    /// See [`Hasher::hash_blocking`].
    pub async fn hash(&self, password: Password) -> Result<String, HashError> {
        let h = self.hasher.clone();
        blocking(move || h.hash_blocking(&password)).await
    }

    /// See [`Hasher::digest_blocking`].
    pub async fn digest(
        &self,
        cost: Cost,
        salt: Vec<u8>,
        password: Password,
    ) -> Result<[u8; DIGEST_LEN], HashError> {
        let h = self.hasher.clone();
        blocking(move || h.digest_blocking(cost, &salt, &password)).await
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, HashError> + Send + 'static,
) -> Result<T, HashError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|_| HashError::Panicked)?
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cheap(workers: usize, timeout_ms: u64) -> Hasher {
        Hasher::new(&HashingConfig {
            profile: HashingProfile::CheapTestOnly,
            workers,
            queue_timeout_ms: timeout_ms,
        })
    }

    #[test]
    fn hash_then_verify() {
        let h = cheap(1, 1000);
        let phc = h.hash_blocking(&Password::new("Abcdefg1")).unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{phc}");
        assert!(h.verify_blocking(&phc, &Password::new("Abcdefg1")).unwrap());
        assert!(!h.verify_blocking(&phc, &Password::new("Abcdefg2")).unwrap());
        assert_eq!(
            h.verify_blocking("nonsense", &Password::new("x")),
            Err(HashError::Corrupt)
        );
        assert_eq!(h.evaluations(), 4);
    }

    #[test]
    fn primary_hashes_have_fresh_salts_and_digests_do_not() {
        let h = cheap(1, 1000);
        let pw = Password::new("Abcdefg1");
        assert_ne!(h.hash_blocking(&pw).unwrap(), h.hash_blocking(&pw).unwrap());
        let salt = Hasher::new_salt();
        let cost = h.cost();
        assert_eq!(
            h.digest_blocking(cost, &salt, &pw).unwrap(),
            h.digest_blocking(cost, &salt, &pw).unwrap()
        );
        let other = Hasher::new_salt();
        assert_ne!(salt, other);
        assert_ne!(
            h.digest_blocking(cost, &salt, &pw).unwrap(),
            h.digest_blocking(cost, &other, &pw).unwrap()
        );
    }

    #[test]
    fn owasp_profile_has_owasp_parameters() {
        assert_eq!(
            Cost::of(HashingProfile::Owasp),
            Cost {
                m_kib: 19456,
                t: 2,
                p: 1
            }
        );
    }

    #[tokio::test]
    async fn a_full_pool_refuses_after_the_timeout() {
        let h = cheap(1, 50);
        let held = h.session().await.unwrap();
        assert_eq!(h.session().await.unwrap_err(), HashError::Busy);
        drop(held);
        assert!(h.session().await.is_ok());
    }
}
