//! The embedded default target: the reference server, started in-process
//! on an ephemeral port with a temporary database, described by
//! `fixtures/reference.toml`. The server crate is used for nothing else.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::profile::{Profile, ProfileError};

/// `fixtures/reference.toml`, the profile of the embedded server.
pub const REFERENCE_PROFILE: &str =
    concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/reference.toml");

/// Argon2id cost of the embedded server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Hashing {
    /// The server's `cheap-test-only` profile (64 KiB, t=1): behaviour is
    /// what the suite checks, and the full run stays under 3 s.
    #[default]
    CheapTestOnly,
    /// OWASP's parameters, as the server's default configuration.
    Owasp,
}

/// Why the embedded server did not start.
#[derive(Debug)]
#[non_exhaustive]
pub enum EmbeddedError {
    /// The server's configuration or store.
    Server(String),
    /// `fixtures/reference.toml`.
    Profile(ProfileError),
    /// The temporary directory or the socket.
    Io(std::io::Error),
}

impl fmt::Display for EmbeddedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EmbeddedError::Server(e) => write!(f, "embedded reference server: {e}"),
            EmbeddedError::Profile(e) => write!(f, "{e}"),
            EmbeddedError::Io(e) => write!(f, "embedded reference server: {e}"),
        }
    }
}

impl std::error::Error for EmbeddedError {}

/// The running embedded server; stopped by [`Embedded::stop`] or on drop.
#[derive(Debug)]
pub struct Embedded {
    running: server::Running,
    dir: tempfile::TempDir,
    /// `fixtures/reference.toml` with `base_url` pointing at the server.
    pub profile: Profile,
}

/// `fixtures/server.toml` with a database in a new temporary directory and
/// the chosen hashing cost.
fn base_config(hashing: Hashing) -> Result<(tempfile::TempDir, server::Config), EmbeddedError> {
    let dir = tempfile::tempdir().map_err(EmbeddedError::Io)?;
    let mut config = server::Config::load(Path::new(server::cli::DEFAULT_CONFIG))
        .map_err(|e| EmbeddedError::Server(e.to_string()))?;
    config.db = dir.path().join("reference.sqlite3");
    config.hashing.profile = match hashing {
        Hashing::CheapTestOnly => server::config::HashingProfile::CheapTestOnly,
        Hashing::Owasp => server::config::HashingProfile::Owasp,
    };
    Ok((dir, config))
}

impl Embedded {
    /// Starts the reference server on `127.0.0.1:0` with a fresh database.
    pub async fn start(hashing: Hashing) -> Result<Embedded, EmbeddedError> {
        let (dir, config) = base_config(hashing)?;
        let app = server::App::build(&config).map_err(|e| EmbeddedError::Server(e.to_string()))?;
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
        let running = server::Running::start(app, addr)
            .await
            .map_err(EmbeddedError::Io)?;
        let mut profile =
            Profile::load(Path::new(REFERENCE_PROFILE)).map_err(EmbeddedError::Profile)?;
        profile.base_url = running.base_url();
        Ok(Embedded {
            running,
            dir,
            profile,
        })
    }

    /// Starts the reference server configured from `from` (for `diff
    /// --against-reference`): its policy (lengths, character classes,
    /// normalisation, history depth), lockout threshold and body limit, and
    /// the same subjects, passwords and statuses as its accounts (the
    /// missing subject is not created). The tokens are the reference
    /// server's own (its keys, issuer, audience); the returned profile is
    /// `from` with `base_url`, `[tokens]` and `[http]` (A's proxy or client
    /// certificate mean nothing here) replaced and static account tokens
    /// dropped.
    pub async fn start_from(hashing: Hashing, from: &Profile) -> Result<Embedded, EmbeddedError> {
        let (dir, mut config) = base_config(hashing)?;
        let p = &from.policy;
        if let Some(n) = p.min_length {
            config.policy.min_length = n;
        }
        if let Some(n) = p.max_length {
            config.policy.max_length = n;
        }
        config.policy.require_lowercase = p.require_lowercase;
        config.policy.require_uppercase = p.require_uppercase;
        config.policy.require_digit = p.require_digit;
        config.policy.require_symbol = p.require_symbol;
        if let Some(n) = p.depth() {
            config.policy.history = n;
        }
        if let Some(n) = p.normalization {
            config.policy.normalization = match n {
                crate::profile::Normalization::Nfc => server::config::Normalization::Nfc,
                crate::profile::Normalization::Nfkc => server::config::Normalization::Nfkc,
                crate::profile::Normalization::None => server::config::Normalization::None,
            };
        }
        if let Some(n) = from.lockout.max_failures {
            config.lockout.max_failures = n;
        }
        if let Some(n) = from.limits.max_body_bytes {
            config.limits.max_body_bytes = n;
        }
        let a = &from.accounts;
        let mut users = String::new();
        let pool = a.active.iter().map(|account| (Some(account), "active"));
        for (account, status) in pool.chain([
            (a.lockable.as_ref(), "active"),
            (a.frozen.as_ref(), "frozen"),
            (a.locked.as_ref(), "locked"),
            (a.frozen_and_locked.as_ref(), "frozen+locked"),
        ]) {
            let Some(account) = account else { continue };
            let password = account
                .password
                .clone()
                .unwrap_or_else(|| format!("Unknown-Passw0rd-{status}"));
            users.push_str(&format!(
                "[[user]]\nsubject = {}\npassword = {}\nstatus = {}\n\n",
                toml_string(&account.subject),
                toml_string(&password),
                toml_string(status)
            ));
        }
        config.users = dir.path().join("users.toml");
        std::fs::write(&config.users, users).map_err(EmbeddedError::Io)?;
        config
            .validate()
            .map_err(|e| EmbeddedError::Server(e.to_string()))?;
        let app = server::App::build(&config).map_err(|e| EmbeddedError::Server(e.to_string()))?;
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
        let running = server::Running::start(app, addr)
            .await
            .map_err(EmbeddedError::Io)?;
        let reference =
            Profile::load(Path::new(REFERENCE_PROFILE)).map_err(EmbeddedError::Profile)?;
        let mut profile = from.clone();
        profile.base_url = running.base_url();
        profile.tokens = reference.tokens;
        profile.http = reference.http;
        profile.dir = reference.dir;
        for account in profile
            .accounts
            .active
            .iter_mut()
            .map(Some)
            .chain([
                profile.accounts.frozen.as_mut(),
                profile.accounts.locked.as_mut(),
                profile.accounts.frozen_and_locked.as_mut(),
                profile.accounts.lockable.as_mut(),
                profile.accounts.missing.as_mut(),
            ])
            .flatten()
        {
            account.token = None;
        }
        Ok(Embedded {
            running,
            dir,
            profile,
        })
    }

    /// A state file inside the temporary directory.
    pub fn state_file(&self) -> PathBuf {
        self.dir.path().join("conformance.state.json")
    }

    /// Stops the server and removes the database.
    pub async fn stop(self) {
        self.running.shutdown().await;
    }
}

/// A TOML basic string.
fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}
