//! Argon2id hashing on a fixed pool of worker threads.
//!
//! `workers` OS threads (default: one per core) do every evaluation, each
//! reusing one memory block for its whole life, so the server's argon2 memory
//! is exactly `workers` × the memory cost however many requests arrive (a
//! fresh 19 MiB allocation per hash on tokio's blocking threads let glibc
//! spread them over per-thread arenas: 1 GiB peak RSS under overload, measured
//! by the overload fault test). A request first takes one of its subject's
//! `slots_per_subject` slots (default 1), then one of `workers` permits,
//! waiting at most `queue_timeout` for both together ([`HashError::Busy`],
//! rendered as 503), and keeps them for all its evaluations. So one token
//! flooding the endpoint holds at most `slots_per_subject` workers while its
//! other requests queue behind each other, not in front of other users (the
//! permits are handed out first come, first served). Holding a permit
//! guarantees a free worker, so jobs never queue behind each other. Seeding
//! at start-up uses the same workers, so no argon2 memory is ever allocated
//! elsewhere.
//!
//! Every evaluation is counted ([`Hasher::evaluations`]) and logged at
//! `debug` with its kind (`verify`, `digest`, `hash`), never with its input.
//!
//! Two kinds of output:
//! - primary hashes: PHC strings (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`)
//!   with a fresh random salt each, verified with the parameters they carry;
//! - history digests: raw 32-byte outputs under a per-user history salt and
//!   cost stored with each digest, so one evaluation of a candidate per
//!   distinct cost can be compared against every history entry.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use argon2::{Algorithm, Argon2, Block, Params, Version};
use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD as B64;
use subtle::ConstantTimeEq;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot};

use crate::config::{HashingConfig, HashingProfile};
use crate::secret::Password;

/// Length of a history digest and of a primary hash output.
pub const DIGEST_LEN: usize = 32;
/// Length of salts.
pub const SALT_LEN: usize = 16;
/// Largest memory cost accepted from a stored hash (KiB), so a corrupt row
/// cannot make a worker allocate without bound.
const MAX_M_KIB: u32 = 1024 * 1024;

/// Argon2 cost parameters.
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
}

/// What can go wrong while hashing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum HashError {
    /// No hashing slot became free within the queue timeout.
    Busy,
    /// A stored hash or cost could not be parsed or used.
    Corrupt,
    /// A worker thread is gone.
    WorkerLost,
}

/// One worker's reusable argon2 memory.
type Memory = Vec<Block>;
type Job = Box<dyn FnOnce(&mut Memory) + Send>;

/// The bounded hashing pool. Cheap to clone; the threads stop when the last
/// clone is dropped.
#[derive(Debug, Clone)]
pub struct Hasher {
    cost: Cost,
    permits: Arc<Semaphore>,
    jobs: mpsc::Sender<Job>,
    workers: usize,
    queue_timeout: Duration,
    evaluations: Arc<AtomicU64>,
    subjects: Arc<Subjects>,
}

/// The per-subject slots: one semaphore per subject with a request holding
/// or awaiting it; an entry goes when its last request does, so the map is
/// bounded by the requests in flight.
#[derive(Debug)]
struct Subjects {
    slots: usize,
    map: Mutex<HashMap<String, Arc<Semaphore>>>,
}

/// A request's claim on its subject's slots: held while waiting and hashing.
#[derive(Debug)]
struct SubjectClaim {
    subjects: Arc<Subjects>,
    subject: String,
    slots: Arc<Semaphore>,
    permit: Option<OwnedSemaphorePermit>,
}

impl SubjectClaim {
    fn new(subjects: &Arc<Subjects>, subject: &str) -> SubjectClaim {
        let mut map = subjects.map.lock().unwrap_or_else(|p| p.into_inner());
        let slots = map
            .entry(subject.to_string())
            .or_insert_with(|| Arc::new(Semaphore::new(subjects.slots)))
            .clone();
        SubjectClaim {
            subjects: subjects.clone(),
            subject: subject.to_string(),
            slots,
            permit: None,
        }
    }
}

impl Drop for SubjectClaim {
    fn drop(&mut self) {
        self.permit = None;
        // Every clone of `slots` lives in a claim and is dropped under this
        // lock, so the last claim sees 2 references (the map's and its own).
        let mut map = self.subjects.map.lock().unwrap_or_else(|p| p.into_inner());
        if Arc::strong_count(&self.slots) == 2 {
            map.remove(&self.subject);
        }
    }
}

impl Hasher {
    /// A pool from its configuration; `workers = 0` means the number of cores.
    pub fn new(config: &HashingConfig) -> Hasher {
        let workers = if config.workers == 0 {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        } else {
            config.workers
        };
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for i in 0..workers {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || {
                    let mut memory = Memory::new();
                    loop {
                        let job = match queue.lock() {
                            Ok(q) => q.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(&mut memory),
                            Err(_) => return, // every Hasher dropped
                        }
                    }
                })
                .expect("cannot start a hashing thread");
        }
        Hasher {
            cost: Cost::of(config.profile),
            permits: Arc::new(Semaphore::new(workers)),
            jobs,
            workers,
            queue_timeout: Duration::from_millis(config.queue_timeout_ms),
            evaluations: Arc::new(AtomicU64::new(0)),
            subjects: Arc::new(Subjects {
                slots: config.slots_per_subject.max(1),
                map: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// The cost of new hashes.
    pub fn cost(&self) -> Cost {
        self.cost
    }

    /// Number of worker threads (and of concurrent hashing requests).
    pub fn workers(&self) -> usize {
        self.workers
    }

    /// Argon2 evaluations performed since start (all kinds).
    pub fn evaluations(&self) -> u64 {
        self.evaluations.load(Ordering::Relaxed)
    }

    /// Waits (at most the queue timeout, in all) for one of `subject`'s
    /// slots, then for a hashing permit.
    pub async fn session(&self, subject: &str) -> Result<HashSession, HashError> {
        let deadline = tokio::time::Instant::now() + self.queue_timeout;
        let mut claim = SubjectClaim::new(&self.subjects, subject);
        let slot = tokio::time::timeout_at(deadline, claim.slots.clone().acquire_owned());
        claim.permit = Some(
            slot.await
                .map_err(|_| HashError::Busy)?
                .map_err(|_| HashError::Busy)?,
        );
        let permit = tokio::time::timeout_at(deadline, self.permits.clone().acquire_owned())
            .await
            .map_err(|_| HashError::Busy)?
            .map_err(|_| HashError::Busy)?;
        Ok(HashSession {
            hasher: self.clone(),
            _permit: permit,
            _claim: claim,
        })
    }

    /// Subjects with a request holding or awaiting a slot.
    pub fn subjects_in_flight(&self) -> usize {
        let map = self.subjects.map.lock().unwrap_or_else(|p| p.into_inner());
        map.len()
    }

    /// A fresh random salt.
    pub fn new_salt() -> [u8; SALT_LEN] {
        let mut salt = [0u8; SALT_LEN];
        getrandom::fill(&mut salt).expect("the OS random source failed");
        salt
    }

    /// Primary hash, waiting on the calling thread (seeding at start-up).
    pub fn hash_blocking(&self, password: &Password) -> Result<String, HashError> {
        let (cost, password) = (self.cost, password.clone());
        self.run_blocking("hash", move |m| phc_hash(cost, &password, m))
    }

    /// History digest, waiting on the calling thread (seeding at start-up).
    pub fn digest_blocking(
        &self,
        cost: Cost,
        salt: &[u8],
        password: &Password,
    ) -> Result<[u8; DIGEST_LEN], HashError> {
        let (salt, password) = (salt.to_vec(), password.clone());
        self.run_blocking("digest", move |m| {
            let mut out = [0u8; DIGEST_LEN];
            evaluate(cost, password.expose().as_bytes(), &salt, &mut out, m)?;
            Ok(out)
        })
    }

    /// Verification, waiting on the calling thread (tests).
    pub fn verify_blocking(&self, phc: &str, password: &Password) -> Result<bool, HashError> {
        let (phc, password) = (phc.to_string(), password.clone());
        self.run_blocking("verify", move |m| phc_verify(&phc, &password, m))
    }

    fn count(&self, kind: &'static str) {
        self.evaluations.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(kind, "argon2 evaluation");
    }

    /// Runs `f` on a worker and blocks this thread for the result. Takes no
    /// permit: for start-up, before requests are served. Never call it from
    /// an async task.
    fn run_blocking<T: Send + 'static>(
        &self,
        kind: &'static str,
        f: impl FnOnce(&mut Memory) -> Result<T, HashError> + Send + 'static,
    ) -> Result<T, HashError> {
        let (tx, rx) = mpsc::channel();
        self.submit(kind, f, move |r| {
            let _ = tx.send(r);
        })?;
        rx.recv().map_err(|_| HashError::WorkerLost)?
    }

    /// Runs `f` on a worker with its memory; the caller holds a permit.
    async fn run<T: Send + 'static>(
        &self,
        kind: &'static str,
        f: impl FnOnce(&mut Memory) -> Result<T, HashError> + Send + 'static,
    ) -> Result<T, HashError> {
        let (tx, rx) = oneshot::channel();
        self.submit(kind, f, move |r| {
            let _ = tx.send(r);
        })?;
        rx.await.map_err(|_| HashError::WorkerLost)?
    }

    /// Counts one evaluation and queues `f` for a worker; `reply` gets its result.
    fn submit<T: Send + 'static>(
        &self,
        kind: &'static str,
        f: impl FnOnce(&mut Memory) -> Result<T, HashError> + Send + 'static,
        reply: impl FnOnce(Result<T, HashError>) + Send + 'static,
    ) -> Result<(), HashError> {
        self.count(kind);
        self.jobs
            .send(Box::new(move |memory: &mut Memory| reply(f(memory))))
            .map_err(|_| HashError::WorkerLost)
    }
}

/// A held hashing slot (and subject slot); each call runs one evaluation on
/// a worker thread.
#[derive(Debug)]
pub struct HashSession {
    hasher: Hasher,
    _permit: OwnedSemaphorePermit,
    _claim: SubjectClaim,
}

impl HashSession {
    /// Whether `password` matches the PHC string (constant-time comparison).
    pub async fn verify(&self, phc: String, password: Password) -> Result<bool, HashError> {
        self.hasher
            .run("verify", move |m| phc_verify(&phc, &password, m))
            .await
    }

    /// A primary hash of `password` with a fresh salt.
    pub async fn hash(&self, password: Password) -> Result<String, HashError> {
        let cost = self.hasher.cost;
        self.hasher
            .run("hash", move |m| phc_hash(cost, &password, m))
            .await
    }

    /// The history digest of `password` under `salt` and `cost`.
    pub async fn digest(
        &self,
        cost: Cost,
        salt: Vec<u8>,
        password: Password,
    ) -> Result<[u8; DIGEST_LEN], HashError> {
        self.hasher
            .run("digest", move |m| {
                let mut out = [0u8; DIGEST_LEN];
                evaluate(cost, password.expose().as_bytes(), &salt, &mut out, m)?;
                Ok(out)
            })
            .await
    }
}

/// One argon2id (v0x13) evaluation into `out`, reusing `memory`.
fn evaluate(
    cost: Cost,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
    memory: &mut Memory,
) -> Result<(), HashError> {
    if cost.m_kib > MAX_M_KIB {
        return Err(HashError::Corrupt);
    }
    let params =
        Params::new(cost.m_kib, cost.t, cost.p, Some(out.len())).map_err(|_| HashError::Corrupt)?;
    let blocks = params.block_count();
    if memory.len() < blocks {
        memory.resize(blocks, Block::default());
    }
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into_with_memory(password, salt, out, &mut memory[..blocks])
        .map_err(|_| HashError::Corrupt)
}

fn phc_hash(cost: Cost, password: &Password, memory: &mut Memory) -> Result<String, HashError> {
    let salt = Hasher::new_salt();
    let mut out = [0u8; DIGEST_LEN];
    evaluate(cost, password.expose().as_bytes(), &salt, &mut out, memory)?;
    Ok(format!(
        "$argon2id$v=19$m={},t={},p={}${}${}",
        cost.m_kib,
        cost.t,
        cost.p,
        B64.encode(salt),
        B64.encode(out)
    ))
}

fn phc_verify(phc: &str, password: &Password, memory: &mut Memory) -> Result<bool, HashError> {
    let (cost, salt, expected) = parse_phc(phc).ok_or(HashError::Corrupt)?;
    let mut out = vec![0u8; expected.len()];
    evaluate(cost, password.expose().as_bytes(), &salt, &mut out, memory)?;
    Ok(out.ct_eq(&expected).into())
}

/// Parses `$argon2id$v=19$m=M,t=T,p=P$SALT$HASH` (B64 without padding).
fn parse_phc(phc: &str) -> Option<(Cost, Vec<u8>, Vec<u8>)> {
    let mut parts = phc.split('$');
    let ("", "argon2id", "v=19", params, salt, hash, None) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next(),
    ) else {
        return None;
    };
    let mut cost = Cost {
        m_kib: 0,
        t: 0,
        p: 0,
    };
    for kv in params.split(',') {
        let (k, v) = kv.split_once('=')?;
        let v: u32 = v.parse().ok()?;
        match k {
            "m" => cost.m_kib = v,
            "t" => cost.t = v,
            "p" => cost.p = v,
            _ => return None,
        }
    }
    let salt = B64.decode(salt).ok()?;
    let hash = B64.decode(hash).ok()?;
    (hash.len() >= 4).then_some((cost, salt, hash))
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::{PasswordHasher, PasswordVerifier};

    fn cheap(workers: usize, timeout_ms: u64) -> Hasher {
        per_subject(workers, timeout_ms, 1)
    }

    fn per_subject(workers: usize, timeout_ms: u64, slots: usize) -> Hasher {
        Hasher::new(&HashingConfig {
            profile: HashingProfile::CheapTestOnly,
            workers,
            queue_timeout_ms: timeout_ms,
            slots_per_subject: slots,
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
    fn phc_strings_interoperate_with_the_argon2_crate() {
        let h = cheap(1, 1000);
        // Ours verified by the argon2 crate.
        let ours = h.hash_blocking(&Password::new("Abcdefg1")).unwrap();
        assert!(
            Argon2::default()
                .verify_password(b"Abcdefg1", ours.as_str())
                .is_ok()
        );
        assert!(
            Argon2::default()
                .verify_password(b"Abcdefg2", ours.as_str())
                .is_err()
        );
        // The crate's verified by ours, with its parameters.
        let params = Params::new(128, 2, 1, Some(32)).unwrap();
        let theirs = Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password(b"Xyz-Passw0rd")
            .unwrap()
            .to_string();
        assert!(
            h.verify_blocking(&theirs, &Password::new("Xyz-Passw0rd"))
                .unwrap()
        );
        assert!(
            !h.verify_blocking(&theirs, &Password::new("Xyz-Passw0rD"))
                .unwrap()
        );
    }

    #[test]
    fn malformed_phc_strings_are_corrupt() {
        let h = cheap(1, 1000);
        let good = h.hash_blocking(&Password::new("Abcdefg1")).unwrap();
        for bad in [
            good.replace("argon2id", "argon2i"),
            good.replace("v=19", "v=16"),
            good.replace("m=64", "m=x"),
            good.replace("m=64", "m=99999999"),
            format!("{good}$extra"),
            "$argon2id$v=19$m=64,t=1,p=1$!!$!!".into(),
        ] {
            assert_eq!(
                h.verify_blocking(&bad, &Password::new("Abcdefg1")),
                Err(HashError::Corrupt),
                "{bad}"
            );
        }
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
    async fn sessions_run_on_the_workers_and_agree_with_blocking() {
        let h = cheap(2, 1000);
        let s = h.session("alice").await.unwrap();
        let pw = Password::new("Abcdefg1");
        let phc = s.hash(pw.clone()).await.unwrap();
        assert!(s.verify(phc.clone(), pw.clone()).await.unwrap());
        assert!(!s.verify(phc, Password::new("nope")).await.unwrap());
        let salt = Hasher::new_salt();
        assert_eq!(
            s.digest(h.cost(), salt.to_vec(), pw.clone()).await.unwrap(),
            h.digest_blocking(h.cost(), &salt, &pw).unwrap()
        );
        assert_eq!(h.evaluations(), 5);
    }

    #[tokio::test]
    async fn a_full_pool_refuses_after_the_timeout() {
        let h = cheap(1, 50);
        let held = h.session("alice").await.unwrap();
        assert_eq!(h.session("bob").await.unwrap_err(), HashError::Busy);
        drop(held);
        assert!(h.session("bob").await.is_ok());
    }

    #[tokio::test]
    async fn one_subject_holds_at_most_its_slots_and_others_pass_it() {
        let h = per_subject(3, 50, 1);
        let held = h.session("alice").await.unwrap();
        // Two workers are free, yet alice's second request waits and times out.
        assert_eq!(h.session("alice").await.unwrap_err(), HashError::Busy);
        let bob = h.session("bob").await.unwrap();
        assert_eq!(h.subjects_in_flight(), 2);
        drop(held);
        assert!(h.session("alice").await.is_ok());
        drop(bob);
        // Entries go with their last request, waiters included.
        assert_eq!(h.subjects_in_flight(), 0);

        let h = per_subject(3, 50, 2);
        let (_a, _b) = (h.session("alice").await, h.session("alice").await);
        assert!(_a.is_ok() && _b.is_ok());
        assert_eq!(h.session("alice").await.unwrap_err(), HashError::Busy);
    }

    #[tokio::test]
    async fn a_subjects_waiting_request_gets_its_turn() {
        let h = per_subject(2, 1000, 1);
        let held = h.session("alice").await.unwrap();
        let h2 = h.clone();
        let waiter = tokio::spawn(async move { h2.session("alice").await.map(|_| ()) });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiter.is_finished());
        drop(held);
        assert_eq!(waiter.await.unwrap(), Ok(()));
        assert_eq!(h.subjects_in_flight(), 0);
    }
}
