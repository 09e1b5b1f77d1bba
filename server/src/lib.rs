//! Reference server for Tencent Cloud CIAM `POST /change_user_password`.
//!
//! A logged-in user sends a bearer access token (a JWT with the `openid`
//! scope) and `{"old_password", "new_password"}`; the server answers 200 or
//! one of the errors of the vendor document (rows S1–S11), plus the answers
//! this project decided where the document is silent (docs/behaviour.md).
//!
//! # Layout
//!
//! Data flows socket → `server` → `http` → `bearer`/`token` → `change_password`
//! → `policy` / `hashing` / `store`, and back as a [`Rejection`] or success.
//!
//! - [`server`]: accept loop, connection limits, graceful shutdown.
//! - [`per_address`]: connections counted per client address.
//! - [`write_deadline`]: the socket wrapper that bounds how long a response may take to write.
//! - [`http`]: routing, body limits, CORS, rendering of every response.
//! - [`access_log`]: the one log line per request.
//! - [`bearer`]: the `Authorization` header → a bearer token.
//! - [`body`]: the JSON body → the change request (duplicates refused).
//! - [`token`]: JWT validation → [`token::Principal`].
//! - [`token_cache`]: verified tokens remembered until their `exp`.
//! - [`keys`]: the trusted JWKS and the test-only signing keys.
//! - [`jwt_crypto`]: the signature primitives under jsonwebtoken (ring).
//! - [`change_password`]: the ordered checks and the commit (the use case).
//! - [`policy`]: normalisation and strength rules (pure).
//! - [`hashing`]: argon2id behind a bounded pool.
//! - [`store`]: SQLite schema, migrations and transactions.
//! - [`seed`]: seed users from `users.toml`.
//! - [`rejection`]: the error vocabulary.
//! - [`secret`]: the `Password` type that never prints.
//! - [`config`]: the TOML configuration and its validation.
//! - [`app`]: configuration → the assembled application.
//! - [`cli`]: the `serve` and `mint-token` commands.

pub mod access_log;
pub mod app;
pub mod bearer;
pub mod body;
pub mod change_password;
pub mod cli;
pub mod config;
pub mod hashing;
pub mod http;
pub mod jwt_crypto;
pub mod keys;
pub mod per_address;
pub mod policy;
pub mod rejection;
pub mod secret;
pub mod seed;
pub mod server;
pub mod store;
pub mod token;
pub mod token_cache;
pub mod write_deadline;

pub use app::App;
pub use config::Config;
pub use rejection::Rejection;
pub use server::Running;

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
