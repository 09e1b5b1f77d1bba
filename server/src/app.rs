//! The assembled application: configuration turned into live parts (store,
//! hashing pool, verifier, use case, served documents). Built once at start.

use bytes::Bytes;
use http::HeaderValue;

use crate::change_password::ChangePassword;
use crate::config::{Config, LimitsConfig};
use crate::hashing::Hasher;
use crate::keys::{KeyError, KeySet};
use crate::policy::Policy;
use crate::seed::{SeedError, seed};
use crate::store::{Store, StoreError};
use crate::token::Verifier;

/// Why the application could not be built.
#[derive(Debug)]
#[non_exhaustive]
pub enum StartError {
    /// The database could not be opened or migrated.
    Store(StoreError),
    /// The seed users file is unusable.
    Seed(SeedError),
    /// The JWKS is unusable.
    Keys(KeyError),
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StartError::Store(e) => write!(f, "`db`: {e}"),
            StartError::Seed(e) => write!(f, "config error: `users`: {e}"),
            StartError::Keys(e) => write!(f, "config error: `jwks`: {e}"),
        }
    }
}

impl std::error::Error for StartError {}

/// Everything a request needs.
#[derive(Debug)]
pub struct App {
    verifier: Verifier,
    use_case: ChangePassword,
    store: Store,
    hasher: Hasher,
    limits: LimitsConfig,
    allowed_origins: Vec<String>,
    jwks: Bytes,
    discovery: Bytes,
}

impl App {
    /// Loads the keys, opens (and migrates) the store, seeds users.
    pub fn build(config: &Config) -> Result<App, StartError> {
        let keys = KeySet::load(&config.jwks).map_err(StartError::Keys)?;
        let busy = std::time::Duration::from_millis(config.store.busy_timeout_ms);
        let store = Store::open(&config.db, busy).map_err(StartError::Store)?;
        let hasher = Hasher::new(&config.hashing);
        let policy = Policy::new(config.policy.clone());
        let seeded = seed(&config.users, &store, &hasher, &policy).map_err(StartError::Seed)?;
        tracing::info!(seeded, db = %config.db.display(), "store ready");
        let issuer = config.issuer.trim_end_matches('/');
        let discovery = serde_json::json!({
            "issuer": config.issuer,
            "jwks_uri": format!("{issuer}/oauth2/jwks"),
            "id_token_signing_alg_values_supported": ["RS256", "ES256"],
            "scopes_supported": ["openid"],
        })
        .to_string();
        Ok(App {
            verifier: Verifier::from_config(keys.clone(), config),
            use_case: ChangePassword::new(
                store.clone(),
                hasher.clone(),
                policy,
                config.lockout.clone(),
            ),
            store,
            hasher,
            limits: config.limits.clone(),
            allowed_origins: config.cors.allowed_origins.clone(),
            jwks: Bytes::from(keys.document),
            discovery: Bytes::from(discovery),
        })
    }

    /// The token verifier.
    pub fn verifier(&self) -> &Verifier {
        &self.verifier
    }

    /// The change-password use case.
    pub fn use_case(&self) -> &ChangePassword {
        &self.use_case
    }

    /// The store (for administration and checks).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The hashing pool (its evaluation counter is what benchmarks read).
    pub fn hasher(&self) -> &Hasher {
        &self.hasher
    }

    /// Input and connection bounds.
    pub fn limits(&self) -> &LimitsConfig {
        &self.limits
    }

    /// The JWKS document (cheap to clone).
    pub fn jwks_document(&self) -> Bytes {
        self.jwks.clone()
    }

    /// The OpenID discovery document (cheap to clone).
    pub fn discovery_document(&self) -> Bytes {
        self.discovery.clone()
    }

    /// Whether some origin may send a CORS preflight (then 405 lists OPTIONS).
    pub fn serves_preflight(&self) -> bool {
        !self.allowed_origins.is_empty()
    }

    /// Whether a browser origin may call the endpoint.
    pub fn cors_allows(&self, origin: &HeaderValue) -> bool {
        let Ok(origin) = origin.to_str() else {
            return false;
        };
        self.allowed_origins
            .iter()
            .any(|o| o == "*" || o.eq_ignore_ascii_case(origin))
    }
}
