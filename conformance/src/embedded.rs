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

impl Embedded {
    /// Starts the reference server on `127.0.0.1:0` with a fresh database.
    pub async fn start(hashing: Hashing) -> Result<Embedded, EmbeddedError> {
        let dir = tempfile::tempdir().map_err(EmbeddedError::Io)?;
        let mut config = server::Config::load(Path::new(server::cli::DEFAULT_CONFIG))
            .map_err(|e| EmbeddedError::Server(e.to_string()))?;
        config.db = dir.path().join("reference.sqlite3");
        config.hashing.profile = match hashing {
            Hashing::CheapTestOnly => server::config::HashingProfile::CheapTestOnly,
            Hashing::Owasp => server::config::HashingProfile::Owasp,
        };
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

    /// A state file inside the temporary directory.
    pub fn state_file(&self) -> PathBuf {
        self.dir.path().join("conformance.state.json")
    }

    /// Stops the server and removes the database.
    pub async fn stop(self) {
        self.running.shutdown().await;
    }
}
