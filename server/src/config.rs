//! Server configuration: the TOML file, its defaults, validation, and the
//! one-line errors that name the offending key.
//!
//! Relative paths inside the file are resolved against the file's own folder,
//! so the configuration works from any working directory.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The whole configuration of the reference server.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address the `serve` command listens on.
    pub addr: SocketAddr,
    /// SQLite database file; created and migrated on first start.
    pub db: PathBuf,
    /// Seed users (`[[user]]` tables), inserted idempotently at start.
    pub users: PathBuf,
    /// Expected `iss` claim; also the base of `jwks_uri` in discovery.
    pub issuer: String,
    /// Expected `aud` claim (the vendor puts the client id there).
    pub audience: String,
    /// JWKS file with the public keys that may sign access tokens.
    pub jwks: PathBuf,
    /// Clock skew tolerated on `exp`, `nbf` and `iat`, in seconds.
    pub leeway_secs: u64,
    /// Tokens must carry `iat` and `exp − iat` may not exceed this
    /// [default: 3600, one hour; `None` (only in code) leaves it unbounded].
    pub max_token_lifetime_secs: Option<u64>,
    /// Verified tokens remembered until their `exp` (0 disables the cache).
    pub token_cache_entries: usize,
    /// Test-only private keys `mint-token` signs with.
    pub signing_key: Vec<SigningKeyConfig>,
    /// Password policy of the account-password authentication source.
    pub policy: PolicyConfig,
    /// Automatic lockout after consecutive wrong old passwords.
    pub lockout: LockoutConfig,
    /// Argon2id cost and the bounded hashing pool.
    pub hashing: HashingConfig,
    /// Input and connection bounds.
    pub limits: LimitsConfig,
    /// Cross-origin access for single-page apps.
    pub cors: CorsConfig,
    /// The SQLite store.
    pub store: StoreConfig,
}

/// One private key `mint-token` may sign with (test-only).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SigningKeyConfig {
    /// Key id; must match an entry of the JWKS.
    pub kid: String,
    /// `RS256` or `ES256`.
    pub algorithm: String,
    /// PEM file (PKCS#8).
    pub private_key: PathBuf,
}

/// Unicode normalisation applied to every password before anything else.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Normalization {
    /// Canonical composition (the default).
    Nfc,
    /// Compatibility composition (folds full-width forms, ligatures, ...).
    Nfkc,
    /// Passwords are compared as the bytes sent.
    None,
}

/// The password policy.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PolicyConfig {
    /// Minimum length in Unicode code points (after normalisation).
    pub min_length: usize,
    /// Maximum length in Unicode code points (after normalisation).
    pub max_length: usize,
    /// At least one lowercase letter (Unicode `Lowercase`).
    pub require_lowercase: bool,
    /// At least one uppercase letter (Unicode `Uppercase`).
    pub require_uppercase: bool,
    /// At least one ASCII digit `0`–`9`.
    pub require_digit: bool,
    /// At least one code point that is neither a letter nor a number.
    pub require_symbol: bool,
    /// Previous passwords that may not be reused (the current one excluded), 1–128.
    pub history: usize,
    /// Unicode normalisation form.
    pub normalization: Normalization,
}

/// Lockout after consecutive wrong old passwords.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LockoutConfig {
    /// Consecutive wrong old passwords that lock the account (0 disables).
    pub max_failures: u32,
    /// How long an automatic lock lasts, in seconds.
    pub lock_seconds: f64,
}

/// Argon2id cost profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HashingProfile {
    /// OWASP's argon2id parameters: 19 MiB, t=2, p=1.
    Owasp,
    /// 64 KiB, t=1, p=1: for tests only, never for real passwords.
    CheapTestOnly,
}

/// The hashing pool.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HashingConfig {
    /// Cost profile of new hashes (stored hashes keep their own parameters).
    pub profile: HashingProfile,
    /// Concurrent hashing requests; 0 means the number of cores.
    pub workers: usize,
    /// How long a request may wait for a hashing slot before it gets 503.
    pub queue_timeout_ms: u64,
    /// Hashing slots one subject may hold at once; its other requests wait
    /// for their turn within `queue_timeout_ms`.
    pub slots_per_subject: usize,
}

/// The SQLite store.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    /// How long a write waits for another writer's lock before the request gets 503.
    pub busy_timeout_ms: u64,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            busy_timeout_ms: 1_000,
        }
    }
}

/// Input and connection bounds.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Largest accepted request body, in bytes (413 above it).
    pub max_body_bytes: usize,
    /// Time allowed for a client to send the request head.
    pub header_read_timeout_ms: u64,
    /// Time allowed for a client to send the body once the head is in.
    pub body_read_timeout_ms: u64,
    /// Connections served at once; further ones wait in the accept queue.
    pub max_connections: usize,
    /// Connections one client address (an IPv6 /64) may hold at once; a
    /// further one is closed unserved.
    pub max_connections_per_address: usize,
    /// Time a response may take to be written out (counted from its first
    /// byte until everything is handed to the socket); longer closes the connection.
    pub write_timeout_ms: u64,
    /// Age after which a connection finishes its request in flight and closes.
    pub max_connection_age_ms: u64,
    /// On shutdown, how long in-flight requests may take to finish.
    pub shutdown_grace_ms: u64,
}

/// Cross-origin resource sharing.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CorsConfig {
    /// Origins allowed to call the endpoint from a browser; `"*"` allows any.
    pub allowed_origins: Vec<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            db: PathBuf::from("server.sqlite3"),
            users: PathBuf::from("users.toml"),
            issuer: "http://127.0.0.1:8080".into(),
            audience: "reference-app".into(),
            jwks: PathBuf::from("keys/jwks.json"),
            leeway_secs: 30,
            max_token_lifetime_secs: Some(DEFAULT_MAX_TOKEN_LIFETIME_SECS),
            token_cache_entries: 1_024,
            signing_key: Vec::new(),
            policy: PolicyConfig::default(),
            lockout: LockoutConfig::default(),
            hashing: HashingConfig::default(),
            limits: LimitsConfig::default(),
            cors: CorsConfig::default(),
            store: StoreConfig::default(),
        }
    }
}

impl Default for PolicyConfig {
    fn default() -> Self {
        PolicyConfig {
            min_length: 8,
            max_length: 64,
            require_lowercase: true,
            require_uppercase: true,
            require_digit: true,
            require_symbol: false,
            history: 5,
            normalization: Normalization::Nfc,
        }
    }
}

impl Default for LockoutConfig {
    fn default() -> Self {
        LockoutConfig {
            max_failures: 5,
            lock_seconds: 900.0,
        }
    }
}

impl Default for HashingConfig {
    fn default() -> Self {
        HashingConfig {
            profile: HashingProfile::Owasp,
            workers: 0,
            queue_timeout_ms: 2_000,
            slots_per_subject: 1,
        }
    }
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            max_body_bytes: 4_096,
            header_read_timeout_ms: 5_000,
            body_read_timeout_ms: 5_000,
            max_connections: 1_024,
            max_connections_per_address: 256,
            write_timeout_ms: 10_000,
            max_connection_age_ms: 60_000,
            shutdown_grace_ms: 30_000,
        }
    }
}

/// The default bound on `exp − iat`: one hour, twelve times the vendor's
/// 300 s tokens, `mint-token`'s and the suite's default lifetime.
pub const DEFAULT_MAX_TOKEN_LIFETIME_SECS: u64 = 3_600;

/// Largest `max_length` the policy may declare; the body limit must hold two of these.
pub const MAX_PASSWORD_LENGTH: usize = 1_024;

/// A configuration problem, rendered as one line naming the file and key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file that was read.
    pub file: PathBuf,
    /// The dotted key at fault, when known.
    pub key: Option<String>,
    /// 1-based line, for syntax and type errors.
    pub line: Option<usize>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "config error in {}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, " line {line}")?;
        }
        if let Some(key) = &self.key {
            write!(f, ": `{key}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    /// Reads, parses and validates `file`, resolving relative paths against its folder.
    pub fn load(file: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(file).map_err(|e| ConfigError {
            file: file.to_path_buf(),
            key: None,
            line: None,
            message: format!("cannot read: {e}"),
        })?;
        let mut config = Config::parse(&text).map_err(|mut e| {
            e.file = file.to_path_buf();
            e
        })?;
        let base = file.parent().unwrap_or(Path::new("."));
        config.resolve_paths(base);
        Ok(config)
    }

    /// Parses and validates TOML text (paths stay as written).
    pub fn parse(text: &str) -> Result<Config, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|e| toml_error(text, &e))?;
        config.validate()?;
        Ok(config)
    }

    fn resolve_paths(&mut self, base: &Path) {
        let join = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        join(&mut self.db);
        join(&mut self.users);
        join(&mut self.jwks);
        for key in &mut self.signing_key {
            join(&mut key.private_key);
        }
    }

    /// Checks every semantic constraint, naming the key that breaks it.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |key: &str, message: String| {
            Err(ConfigError {
                file: PathBuf::new(),
                key: Some(key.into()),
                line: None,
                message,
            })
        };
        let p = &self.policy;
        if p.min_length == 0 {
            return bad("policy.min_length", "must be at least 1".into());
        }
        if p.max_length < p.min_length || p.max_length > MAX_PASSWORD_LENGTH {
            return bad(
                "policy.max_length",
                format!(
                    "must be between policy.min_length ({}) and {MAX_PASSWORD_LENGTH}",
                    p.min_length
                ),
            );
        }
        if !(1..=128).contains(&p.history) {
            return bad("policy.history", "must be between 1 and 128".into());
        }
        if !(self.lockout.lock_seconds.is_finite() && self.lockout.lock_seconds >= 0.0) {
            return bad(
                "lockout.lock_seconds",
                "must be a non-negative number".into(),
            );
        }
        if self.issuer.is_empty() {
            return bad("issuer", "must not be empty".into());
        }
        if self.audience.is_empty() {
            return bad("audience", "must not be empty".into());
        }
        if self.hashing.queue_timeout_ms == 0 {
            return bad("hashing.queue_timeout_ms", "must be at least 1".into());
        }
        if self.hashing.slots_per_subject == 0 {
            return bad("hashing.slots_per_subject", "must be at least 1".into());
        }
        if self.store.busy_timeout_ms == 0 {
            return bad("store.busy_timeout_ms", "must be at least 1".into());
        }
        // Two passwords of max_length code points (up to 4 bytes each) plus JSON framing.
        let needed = 8 * p.max_length + 64;
        if self.limits.max_body_bytes < needed.min(64 * 1024) {
            return bad(
                "limits.max_body_bytes",
                format!("must hold two passwords of policy.max_length: at least {needed}"),
            );
        }
        if self.limits.max_body_bytes > 1024 * 1024 {
            return bad("limits.max_body_bytes", "must be at most 1048576".into());
        }
        if self.limits.max_connections == 0 {
            return bad("limits.max_connections", "must be at least 1".into());
        }
        if self.limits.max_connections_per_address == 0 {
            return bad(
                "limits.max_connections_per_address",
                "must be at least 1".into(),
            );
        }
        if self.limits.header_read_timeout_ms == 0 || self.limits.body_read_timeout_ms == 0 {
            return bad(
                "limits.header_read_timeout_ms",
                "read timeouts must be at least 1 ms".into(),
            );
        }
        self.validate_edge()?;
        for (i, key) in self.signing_key.iter().enumerate() {
            if !matches!(key.algorithm.as_str(), "RS256" | "ES256") {
                return bad(
                    &format!("signing_key[{i}].algorithm"),
                    format!("`{}` is not supported (RS256 or ES256)", key.algorithm),
                );
            }
        }
        for origin in &self.cors.allowed_origins {
            if origin != "*" && !(origin.starts_with("http://") || origin.starts_with("https://")) {
                return bad(
                    "cors.allowed_origins",
                    format!("`{origin}` is not an origin like https://app.example"),
                );
            }
        }
        Ok(())
    }
}

impl Config {
    /// Token and connection bounds (issue 9: token checks, slow readers).
    fn validate_edge(&self) -> Result<(), ConfigError> {
        let bad = |key: &str, message: &str| {
            Err(ConfigError {
                file: PathBuf::new(),
                key: Some(key.into()),
                line: None,
                message: message.into(),
            })
        };
        if self.max_token_lifetime_secs == Some(0) {
            return bad(
                "max_token_lifetime_secs",
                "must be at least 1 (left out: 3600)",
            );
        }
        if self.token_cache_entries > 1_000_000 {
            return bad("token_cache_entries", "must be at most 1000000");
        }
        if self.limits.write_timeout_ms == 0 {
            return bad("limits.write_timeout_ms", "must be at least 1");
        }
        if self.limits.max_connection_age_ms == 0 {
            return bad("limits.max_connection_age_ms", "must be at least 1");
        }
        Ok(())
    }
}

/// Turns a TOML error into one line with the line number and the key it sits on.
fn toml_error(text: &str, e: &toml::de::Error) -> ConfigError {
    let message = e.message().trim().replace('\n', " ");
    let Some(span) = e.span() else {
        return ConfigError {
            file: PathBuf::new(),
            key: None,
            line: None,
            message,
        };
    };
    let before = &text[..span.start.min(text.len())];
    let line_no = before.matches('\n').count() + 1;
    let mut table = String::new();
    for line in before.lines() {
        let t = line.trim();
        if t.starts_with('[') {
            table = t.trim_matches(|c| c == '[' || c == ']').trim().to_string();
        }
    }
    let line_text = text.lines().nth(line_no - 1).unwrap_or("");
    let key = line_text
        .split_once('=')
        .map(|(k, _)| k.trim().trim_matches('"').to_string())
        .filter(|k| !k.is_empty() && !k.starts_with('['))
        .map(|k| {
            if table.is_empty() {
                k
            } else {
                format!("{table}.{k}")
            }
        });
    ConfigError {
        file: PathBuf::new(),
        key,
        line: Some(line_no),
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_documented_ones() {
        let c = Config::parse("").unwrap();
        assert_eq!(c.policy.min_length, 8);
        assert_eq!(c.policy.max_length, 64);
        assert_eq!(c.policy.history, 5);
        assert_eq!(c.policy.normalization, Normalization::Nfc);
        assert_eq!(c.lockout.max_failures, 5);
        assert_eq!(c.lockout.lock_seconds, 900.0);
        assert_eq!(c.hashing.profile, HashingProfile::Owasp);
        assert_eq!(c.hashing.slots_per_subject, 1);
        assert_eq!(c.store.busy_timeout_ms, 1_000);
    }

    #[test]
    fn zero_slots_per_subject_and_busy_timeout_are_rejected() {
        let e = Config::parse("[hashing]\nslots_per_subject = 0\n").unwrap_err();
        assert_eq!(e.key.as_deref(), Some("hashing.slots_per_subject"));
        let e = Config::parse("[store]\nbusy_timeout_ms = 0\n").unwrap_err();
        assert_eq!(e.key.as_deref(), Some("store.busy_timeout_ms"));
    }

    #[test]
    fn type_error_names_key_and_line() {
        let e = Config::parse("issuer = \"x\"\n[policy]\nhistory = \"five\"\n").unwrap_err();
        assert_eq!(e.key.as_deref(), Some("policy.history"));
        assert_eq!(e.line, Some(3));
        assert!(!e.to_string().contains('\n'));
    }

    #[test]
    fn unknown_key_is_rejected() {
        let e = Config::parse("[policy]\nhistroy = 3\n").unwrap_err();
        assert_eq!(e.key.as_deref(), Some("policy.histroy"));
        assert!(e.message.contains("unknown field"), "{}", e.message);
    }

    #[test]
    fn history_out_of_range_names_key() {
        for n in [0, 129] {
            let e = Config::parse(&format!("[policy]\nhistory = {n}\n")).unwrap_err();
            assert_eq!(e.key.as_deref(), Some("policy.history"));
        }
        assert!(Config::parse("[policy]\nhistory = 128\n").is_ok());
    }

    #[test]
    fn max_below_min_is_rejected() {
        let e = Config::parse("[policy]\nmin_length = 10\nmax_length = 9\n").unwrap_err();
        assert_eq!(e.key.as_deref(), Some("policy.max_length"));
    }

    #[test]
    fn relative_paths_follow_the_file() {
        let dir = std::env::temp_dir().join(format!("cfg-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("server.toml");
        std::fs::write(
            &file,
            "db = \"data/x.sqlite3\"\njwks = \"/abs/jwks.json\"\n",
        )
        .unwrap();
        let c = Config::load(&file).unwrap();
        assert_eq!(c.db, dir.join("data/x.sqlite3"));
        assert_eq!(c.jwks, PathBuf::from("/abs/jwks.json"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
