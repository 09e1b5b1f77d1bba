//! The use case: the ordered checks of a password change and its commit.
//!
//! Order (after the token and the body, which `http` checks first):
//! user exists → status → old password → duplicate → policy → history.
//! Status comes before the old password so that a frozen or locked account is
//! no password oracle. A request costs at most three argon2 evaluations
//! (verify the old password, the history digest of the new one, the primary
//! hash of the new one) whatever the history depth, all under one slot of the
//! bounded hashing pool.

use crate::config::LockoutConfig;
use crate::hashing::{HashError, Hasher};
use crate::now_ms;
use crate::policy::Policy;
use crate::rejection::Rejection;
use crate::secret::Password;
use crate::store::{Commit, NewCredential, Status, Store, StoreError};

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
        tracing::error!(error = %e, "store failure");
        Rejection::Internal
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

    /// Runs the checks for `subject` and commits the new password.
    pub async fn execute(&self, subject: &str, request: ChangeRequest) -> Result<(), Rejection> {
        let user = {
            let (store, subject) = (self.store.clone(), subject.to_string());
            blocking(move || store.find(&subject)).await?
        }
        .ok_or(Rejection::UserNotFound)?;

        match user.status(now_ms()) {
            Status::Frozen => return Err(Rejection::UserFrozen),
            Status::Locked => return Err(Rejection::UserLocked),
            Status::Normal => {}
        }

        let old = self.policy.normalize(&request.old_password);
        let new = self.policy.normalize(&request.new_password);
        let session = self.hasher.session().await?;

        if !session
            .verify(user.password_hash.clone(), old.clone())
            .await?
        {
            let (store, lockout, id) = (self.store.clone(), self.lockout.clone(), user.id);
            let attempts = blocking(move || {
                let lock_ms = (lockout.lock_seconds * 1000.0) as i64;
                store.record_failure(id, lockout.max_failures, lock_ms, now_ms())
            })
            .await?;
            tracing::info!(
                subject,
                attempts,
                locked = attempts == 0,
                "wrong old password"
            );
            return Err(Rejection::WrongOldPassword);
        }
        if user.failed_attempts != 0 {
            let (store, id) = (self.store.clone(), user.id);
            blocking(move || store.reset_failures(id)).await?;
        }

        if old.ct_eq(&new) {
            return Err(Rejection::DuplicatePassword);
        }
        if let Err(violation) = self.policy.check(&new) {
            tracing::info!(subject, ?violation, "new password breaks the policy");
            return Err(Rejection::InvalidNewPassword);
        }

        let digest = session
            .digest(user.history_cost, user.history_salt.clone(), new.clone())
            .await?;
        let history = {
            let (store, id, depth) = (self.store.clone(), user.id, self.policy.history());
            blocking(move || store.history(id, depth)).await?
        };
        // Constant-time on each entry; every entry is compared.
        let reused = history.iter().fold(false, |acc, old_digest| {
            acc | bool::from(subtle::ConstantTimeEq::ct_eq(
                old_digest.as_slice(),
                &digest[..],
            ))
        });
        if reused {
            return Err(Rejection::RecurrentPassword);
        }

        let password_hash = session.hash(new).await?;
        drop(session);
        let credential = NewCredential {
            user_id: user.id,
            expected_version: user.credential_version,
            password_hash,
            digest: digest.to_vec(),
        };
        let store = self.store.clone();
        let outcome = blocking(move || store.commit_change(&credential, now_ms())).await?;
        match outcome {
            Commit::Committed => {
                tracing::info!(subject, "password changed");
                Ok(())
            }
            Commit::Conflict => self.conflict(subject).await,
        }
    }

    /// Another request changed the credential or the status first: report what
    /// holds now (the old password this request proved is no longer current).
    async fn conflict(&self, subject: &str) -> Result<(), Rejection> {
        let (store, s) = (self.store.clone(), subject.to_string());
        let user = blocking(move || store.find(&s)).await?;
        tracing::info!(subject, "lost a concurrent change");
        Err(match user.map(|u| u.status(now_ms())) {
            None => Rejection::UserNotFound,
            Some(Status::Frozen) => Rejection::UserFrozen,
            Some(Status::Locked) => Rejection::UserLocked,
            Some(Status::Normal) => Rejection::WrongOldPassword,
        })
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
