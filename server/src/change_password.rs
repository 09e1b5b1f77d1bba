//! The use case: the ordered checks of a password change and its commit.
//!
//! Order (after the token and the body, which `http` checks first):
//! user exists → status → old password → duplicate → policy → history.
//! Status comes before the old password so that a frozen or locked account is
//! no password oracle, and it is checked twice: once from a read (no hashing
//! slot is taken for a user already frozen or locked), then again, afresh and
//! atomically with the reservation of the guess ([`Store::reserve_attempt`]),
//! after the request got its hashing slot. A guess is verified only under a
//! reservation, so however many arrive at once, at most `max_failures` wrong
//! ones are verified before the lock, and every later request answers S8
//! whatever else it carries.
//!
//! The old password is verified under the normalisation form recorded with
//! the credential; the new one is normalised under the configured form and
//! its history digest made at the configured cost. History entries keep their
//! own cost and form: a candidate is evaluated once per distinct (cost, form)
//! among the newest N entries and the configured pair, so a successful change
//! costs 2 + that number of evaluations (3 in the steady state), all under one
//! slot of the bounded hashing pool.

use crate::access_log::Note;
use crate::config::{LockoutConfig, Normalization};
use crate::hashing::{Cost, DIGEST_LEN, HashError, HashSession, Hasher};
use crate::now_ms;
use crate::policy::{Policy, normalize_as};
use crate::rejection::Rejection;
use crate::secret::Password;
use crate::store::{Commit, HistoryEntry, NewCredential, Reservation, Status, Store, StoreError};

/// The two passwords of a request body.
#[derive(Debug, Clone)]
pub struct ChangeRequest {
    /// `old_password` as sent.
    pub old_password: Password,
    /// `new_password` as sent.
    pub new_password: Password,
}

/// Changes passwords. Cheap to clone.
#[derive(Debug, Clone)]
pub struct ChangePassword {
    store: Store,
    hasher: Hasher,
    policy: Policy,
    lockout: LockoutConfig,
}

impl From<StoreError> for Rejection {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Busy => {
                tracing::warn!("store busy");
                Rejection::Overloaded
            }
            other => {
                tracing::error!(error = %other, "store failure");
                Rejection::Internal
            }
        }
    }
}

impl From<HashError> for Rejection {
    fn from(e: HashError) -> Self {
        match e {
            HashError::Busy => Rejection::Overloaded,
            other => {
                tracing::error!(error = ?other, "hashing failure");
                Rejection::Internal
            }
        }
    }
}

impl ChangePassword {
    /// The use case over its collaborators.
    pub fn new(store: Store, hasher: Hasher, policy: Policy, lockout: LockoutConfig) -> Self {
        ChangePassword {
            store,
            hasher,
            policy,
            lockout,
        }
    }

    fn lock_ms(&self) -> i64 {
        (self.lockout.lock_seconds * 1000.0) as i64
    }

    /// Runs the checks for `subject` and commits the new password; what
    /// the request's log line should say beyond its outcome goes to `note`
    /// (the argon2 evaluations are counted as they are submitted).
    pub async fn execute(
        &self,
        subject: &str,
        request: ChangeRequest,
        note: &mut Note,
    ) -> Result<(), Rejection> {
        let user = {
            let (store, subject) = (self.store.clone(), subject.to_string());
            blocking(move || store.find(&subject)).await?
        }
        .ok_or(Rejection::UserNotFound)?;
        check_status(user.status(now_ms()))?;

        let session = self.hasher.session(subject).await?;
        let (store, k, lock_ms, id) = (
            self.store.clone(),
            self.lockout.max_failures,
            self.lock_ms(),
            user.id,
        );
        let user = match blocking(move || store.reserve_attempt(id, k, now_ms())).await? {
            Reservation::Reserved(user) => user,
            Reservation::Missing => return Err(Rejection::UserNotFound),
            Reservation::Frozen => return Err(Rejection::UserFrozen),
            Reservation::Locked => return Err(Rejection::UserLocked),
            Reservation::Saturated => return Err(Rejection::Overloaded),
        };

        // The old password in the form its credential was made under.
        let form = user.normalization.unwrap_or(self.policy.normalization());
        let old = normalize_as(form, &request.old_password);
        note.argon2 += 1;
        let verified = session
            .verify(user.password_hash.clone(), old.clone())
            .await;
        let store = self.store.clone();
        let correct = match verified {
            Ok(correct) => correct,
            Err(e) => {
                // A hashing failure is no guess: the reservation is released
                // without counting (a server fault never locks a user out).
                store.release_attempt(id);
                return Err(e.into());
            }
        };
        let attempts =
            blocking(move || store.settle_attempt(id, correct, k, lock_ms, now_ms())).await?;
        if !correct {
            note.attempts = Some(attempts);
            return Err(Rejection::WrongOldPassword);
        }

        if old.ct_eq(&normalize_as(form, &request.new_password)) {
            return Err(Rejection::DuplicatePassword);
        }
        let new = self.policy.normalize(&request.new_password);
        if let Err(violation) = self.policy.check(&new) {
            note.reason = Some(violation.name());
            return Err(Rejection::InvalidNewPassword);
        }

        let history = {
            let (store, depth) = (self.store.clone(), self.policy.history());
            blocking(move || store.history(id, depth)).await?
        };
        let (reused, digest) = self
            .compare_history(
                &session,
                &user.history_salt,
                &history,
                &request.new_password,
                note,
            )
            .await?;
        if reused {
            return Err(Rejection::RecurrentPassword);
        }

        note.argon2 += 1;
        let password_hash = session.hash(new).await?;
        drop(session);
        let credential = NewCredential {
            user_id: user.id,
            expected_version: user.credential_version,
            password_hash,
            digest: digest.to_vec(),
            digest_cost: self.hasher.cost(),
            normalization: self.policy.normalization(),
        };
        let store = self.store.clone();
        let outcome = blocking(move || store.commit_change(&credential, now_ms())).await?;
        match outcome {
            Commit::Committed => Ok(()),
            Commit::Conflict => {
                note.reason = Some("lost a concurrent change");
                self.conflict(subject).await
            }
        }
    }

    /// Whether `candidate` is among `history`, comparing each entry (in
    /// constant time) with the candidate's digest under that entry's cost and
    /// form: one evaluation per distinct (cost, form), the configured pair
    /// always among them. Returns the digest under the configured pair, which
    /// becomes the new credential's.
    async fn compare_history(
        &self,
        session: &HashSession,
        salt: &[u8],
        history: &[HistoryEntry],
        candidate: &Password,
        note: &mut Note,
    ) -> Result<(bool, [u8; DIGEST_LEN]), Rejection> {
        let configured = (self.hasher.cost(), self.policy.normalization());
        let mut pairs: Vec<(Cost, Normalization)> = vec![configured];
        for e in history {
            let pair = (e.cost, e.normalization.unwrap_or(configured.1));
            if !pairs.contains(&pair) {
                pairs.push(pair);
            }
        }
        let (mut reused, mut new_digest) = (false, [0u8; DIGEST_LEN]);
        for (i, &(cost, form)) in pairs.iter().enumerate() {
            note.argon2 += 1;
            let digest = session
                .digest(cost, salt.to_vec(), normalize_as(form, candidate))
                .await?;
            if i == 0 {
                new_digest = digest;
            }
            for e in history {
                if (e.cost, e.normalization.unwrap_or(configured.1)) == (cost, form) {
                    reused |= bool::from(subtle::ConstantTimeEq::ct_eq(
                        e.digest.as_slice(),
                        &digest[..],
                    ));
                }
            }
        }
        Ok((reused, new_digest))
    }

    /// Another request changed the credential or the status first: report what
    /// holds now (the old password this request proved is no longer current).
    async fn conflict(&self, subject: &str) -> Result<(), Rejection> {
        let (store, s) = (self.store.clone(), subject.to_string());
        let user = blocking(move || store.find(&s)).await?;
        Err(match user.map(|u| u.status(now_ms())) {
            None => Rejection::UserNotFound,
            Some(Status::Frozen) => Rejection::UserFrozen,
            Some(Status::Locked) => Rejection::UserLocked,
            Some(Status::Normal) => Rejection::WrongOldPassword,
        })
    }
}

fn check_status(status: Status) -> Result<(), Rejection> {
    match status {
        Status::Frozen => Err(Rejection::UserFrozen),
        Status::Locked => Err(Rejection::UserLocked),
        Status::Normal => Ok(()),
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, Rejection> {
    match tokio::task::spawn_blocking(f).await {
        Ok(result) => Ok(result?),
        Err(e) => {
            tracing::error!(error = %e, "store task died");
            Err(Rejection::Internal)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{HashingConfig, HashingProfile, PolicyConfig};
    use crate::store::{AdminFlags, NewUser};
    use std::time::Duration;

    /// A frozen or locked account is refused from the first read, before the
    /// request queues for a hashing slot: with the subject's only slot held,
    /// its requests still get S7 / S8, not 503 after the queue timeout.
    #[tokio::test]
    async fn frozen_and_locked_accounts_take_no_hashing_slot() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db.sqlite3"), Duration::from_secs(1)).unwrap();
        let hasher = Hasher::new(&HashingConfig {
            profile: HashingProfile::CheapTestOnly,
            workers: 1,
            queue_timeout_ms: 50,
            slots_per_subject: 1,
        });
        let password = Password::new("Abcdefg1");
        for (subject, frozen, locked) in [("frozen", true, false), ("locked", false, true)] {
            let user = NewUser {
                subject,
                password_hash: hasher.hash_blocking(&password).unwrap(),
                normalization: Normalization::Nfc,
                history_salt: vec![1; 16],
                digest_cost: hasher.cost(),
                digest: vec![0; DIGEST_LEN],
                flags: AdminFlags { frozen, locked },
            };
            assert!(store.insert_user(&user, now_ms()).unwrap());
        }
        let use_case = ChangePassword::new(
            store,
            hasher.clone(),
            Policy::new(PolicyConfig::default()),
            LockoutConfig::default(),
        );
        for (subject, expected) in [
            ("frozen", Rejection::UserFrozen),
            ("locked", Rejection::UserLocked),
        ] {
            let held = hasher.session(subject).await.unwrap();
            let request = ChangeRequest {
                old_password: password.clone(),
                new_password: Password::new("Bcdefgh2"),
            };
            let mut note = Note::default();
            let result = use_case.execute(subject, request, &mut note).await;
            assert_eq!(result, Err(expected));
            assert_eq!(note.argon2, 0, "no evaluation for a {subject} user");
            drop(held);
        }
    }
}
