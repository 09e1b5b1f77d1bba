//! The target profile: a TOML file that says where the target is, what it
//! enforces for the test accounts, how to get tokens, and which accounts to
//! use. `docs/profile.md` documents every key; `fixtures/reference.toml`
//! is the profile of the embedded reference server.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use schemars::JsonSchema;
use serde::Deserialize;

use crate::client::{ClientIdentity, DEFAULT_CONNECT_TIMEOUT, HttpOptions};
use crate::envref;
use crate::exchange::Endpoint;
use crate::file_error::FileError;
use crate::retry::RetryPolicy;
use crate::vocabulary::ScopeForm;

/// A loaded and validated target profile.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// The endpoint is `{base_url}/change_user_password`.
    pub base_url: String,
    /// What the target enforces for the test accounts.
    #[serde(default)]
    pub policy: Policy,
    /// Lockout after wrong old passwords.
    #[serde(default)]
    pub lockout: Lockout,
    /// Request limits the target declares.
    #[serde(default)]
    pub limits: Limits,
    /// How to get access tokens.
    #[serde(default)]
    pub tokens: Tokens,
    /// The accounts the run uses.
    pub accounts: Accounts,
    /// How the harness talks to the target (pacing, retries, timeouts,
    /// fixed headers, client certificate).
    #[serde(default)]
    pub http: Http,
    /// Directory of the profile file; relative paths follow it.
    #[serde(skip)]
    pub dir: PathBuf,
    /// The profile file.
    #[serde(skip)]
    pub file: PathBuf,
}

/// The password policy, as declared; an absent rule skips its cases.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Fewest code points accepted.
    pub min_length: Option<usize>,
    /// Most code points accepted.
    pub max_length: Option<usize>,
    /// A lower-case letter is required.
    #[serde(default)]
    pub require_lowercase: bool,
    /// An upper-case letter is required.
    #[serde(default)]
    pub require_uppercase: bool,
    /// A digit is required.
    #[serde(default)]
    pub require_digit: bool,
    /// A symbol (neither letter nor digit) is required.
    #[serde(default)]
    pub require_symbol: bool,
    /// Previous passwords that may not be reused.
    pub history: Option<usize>,
    /// Whether `history` counts the current password too.
    #[serde(default)]
    pub history_includes_current: bool,
    /// Unicode normalisation applied before the rules (`nfc` or `nfkc`).
    pub normalization: Option<Normalization>,
    /// Whether control characters are refused.
    #[serde(default)]
    pub reject_control_characters: bool,
    /// Whether spaces are accepted anywhere in a password (inside and at
    /// the ends); generated passwords then carry them.
    #[serde(default)]
    pub allow_spaces: bool,
    /// Symbols the target accepts; generated passwords draw from them
    /// (none by default, `-` where `require_symbol` asks for one).
    #[serde(default)]
    pub symbols: Option<String>,
}

impl Policy {
    /// How many character classes the policy requires.
    pub fn required_classes(&self) -> usize {
        [
            self.require_lowercase,
            self.require_uppercase,
            self.require_digit,
            self.require_symbol,
        ]
        .iter()
        .filter(|r| **r)
        .count()
    }

    /// Previous passwords (current excluded) that are refused, if declared.
    pub fn depth(&self) -> Option<usize> {
        let n = self.history?;
        Some(if self.history_includes_current {
            n.saturating_sub(1)
        } else {
            n
        })
    }
}

/// Unicode normalisation forms a target may declare.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Normalization {
    /// Canonical composition.
    Nfc,
    /// Compatibility composition.
    Nfkc,
    /// None.
    None,
}

/// Lockout after wrong old passwords.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Lockout {
    /// Wrong old passwords that lock the account; 0 means no lockout;
    /// absent means unknown (the harness then assumes 3).
    pub max_failures: Option<u32>,
    /// How the target counts them; absent: the strictest reading (see
    /// [`Counting::Window`] without a window).
    pub counting: Option<Counting>,
    /// With `counting = "window"`: a wrong attempt older than this many
    /// seconds no longer counts; absent: they never expire.
    pub window_secs: Option<u64>,
}

/// How a target counts wrong old passwords toward its lockout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Counting {
    /// In a row: a successful change resets the count.
    Consecutive,
    /// Within `window_secs`, successes or not.
    Window,
}

/// The threshold the harness assumes when the profile gives none.
pub const ASSUMED_MAX_FAILURES: u32 = 3;

/// Wrong attempts the harness keeps in reserve below the threshold, beyond
/// the one that would lock: it sends at most `max_failures - 1 - SPARE`
/// counted wrong attempts.
pub const SPARE: u32 = 1;

/// The lockout rule the runner spends wrong attempts against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockoutRule {
    /// The threshold; `None`: no lockout.
    pub max_failures: Option<u32>,
    /// Whether a success resets the count.
    pub counting: Counting,
    /// How long a wrong attempt counts (window counting); `None`: forever.
    pub window: Option<std::time::Duration>,
    /// Whether the profile declared it (`max_failures` and `counting`).
    pub declared: bool,
}

impl LockoutRule {
    /// Counted wrong attempts allowed at once: `max_failures - 1 - SPARE`.
    pub fn allowance(&self) -> Option<u32> {
        self.max_failures.map(|m| m.saturating_sub(1 + SPARE))
    }

    /// One line for the report.
    pub fn describe(&self) -> String {
        let Some(max) = self.max_failures else {
            return "no lockout (lockout.max_failures = 0)".into();
        };
        let how = match (self.counting, self.window) {
            (Counting::Consecutive, _) => "counted in a row, reset by a success".to_string(),
            (Counting::Window, Some(w)) => format!("counted within {} s", w.as_secs()),
            (Counting::Window, None) => "never expiring, not reset by a success".to_string(),
        };
        let source = if self.declared {
            "as declared"
        } else {
            "assumed, the strictest reading: declare [lockout] max_failures and counting"
        };
        format!(
            "lockout after {max} wrong old passwords, {how} ({source}); the run sends at most {} \
             counted",
            max.saturating_sub(1 + SPARE)
        )
    }
}

impl Lockout {
    /// The threshold the harness stays under; `None` means no lockout.
    pub fn effective(&self) -> Option<u32> {
        match self.max_failures {
            Some(0) => None,
            Some(n) => Some(n),
            None => Some(ASSUMED_MAX_FAILURES),
        }
    }

    /// The rule: what is declared, the strictest reading for the rest
    /// (window counting without a window: failures never expire and a
    /// success does not reset them).
    pub fn rule(&self) -> LockoutRule {
        LockoutRule {
            max_failures: self.effective(),
            counting: self.counting.unwrap_or(Counting::Window),
            window: match self.counting {
                Some(Counting::Window) => self.window_secs.map(std::time::Duration::from_secs),
                _ => None,
            },
            declared: self.max_failures.is_some() && self.counting.is_some(),
        }
    }
}

/// Request limits.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Largest body accepted, in bytes.
    pub max_body_bytes: Option<usize>,
}

/// How the harness talks to the target. Every key is optional.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Http {
    /// Requests per second at most (0: unpaced) [default: 10 for a target
    /// off the loopback interface, unpaced on it]; `--rate` overrides it.
    pub rate: Option<f64>,
    /// Timeout of one request attempt, in seconds [default: 10];
    /// `--timeout` overrides it.
    #[schemars(extend("default" = DEFAULT_TIMEOUT_SECS))]
    pub timeout_secs: Option<u64>,
    /// Connection setup (TCP, proxy tunnel, TLS) at most, in seconds
    /// [default: 5].
    #[schemars(extend("default" = DEFAULT_CONNECT_TIMEOUT.as_secs()))]
    pub connect_timeout_secs: Option<u64>,
    /// 429/503 answers waited out per request at most [default: 5].
    #[schemars(extend("default" = RetryPolicy::default().max_retries))]
    pub max_retries: Option<u32>,
    /// Total wait per request at most, in seconds [default: 60].
    #[schemars(extend("default" = RetryPolicy::default().max_wait.as_secs()))]
    pub max_retry_wait_secs: Option<u64>,
    /// Headers sent with every request (values may use `${NAME}`).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// PEM certificate chain for mutual TLS (relative to the profile).
    pub client_cert: Option<PathBuf>,
    /// PEM private key of `client_cert` (relative to the profile).
    pub client_key: Option<PathBuf>,
    /// Allows a clear-text `http` base_url off the loopback interface
    /// (refused otherwise); `--allow-insecure-http` sets it.
    #[serde(default)]
    pub allow_insecure_http: bool,
}

/// The default timeout of one request attempt, in seconds.
pub const DEFAULT_TIMEOUT_SECS: u64 = 10;

/// Headers `[http] headers` may not set: the harness or the cases own them.
const RESERVED_HEADERS: &[&str] = &[
    "host",
    "authorization",
    "content-type",
    "content-length",
    "transfer-encoding",
    "connection",
];

impl Http {
    /// The timeout of one request attempt the profile asks for.
    pub fn timeout(&self) -> Option<Duration> {
        self.timeout_secs.map(Duration::from_secs)
    }

    fn validate(&self) -> Result<(), String> {
        if let Some(rate) = self.rate
            && (!rate.is_finite() || rate < 0.0)
        {
            return Err(format!(
                "http.rate ({rate}) must be a number of requests per second, 0 or more"
            ));
        }
        for (key, value) in [
            ("http.timeout_secs", self.timeout_secs),
            ("http.connect_timeout_secs", self.connect_timeout_secs),
        ] {
            if value == Some(0) {
                return Err(format!("{key} must be at least 1"));
            }
        }
        if self.client_cert.is_some() != self.client_key.is_some() {
            return Err("http.client_cert and http.client_key go together".to_string());
        }
        for (name, value) in &self.headers {
            let parsed = http::HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| format!("http.headers: {name:?} is not a header name"))?;
            if RESERVED_HEADERS.contains(&parsed.as_str()) {
                return Err(format!(
                    "http.headers: {name} is set by the harness or the cases, not the profile"
                ));
            }
            http::HeaderValue::from_str(value)
                .map_err(|_| format!("http.headers.{name}: not a valid header value"))?;
        }
        Ok(())
    }
}

/// How the harness gets access tokens: minting with a private key, static
/// tokens per account, or a command.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Tokens {
    /// PEM private key the target trusts (relative to the profile).
    pub private_key: Option<PathBuf>,
    /// `RS256`, `RS384`, `RS512`, `PS256`, `ES256` or `ES384`.
    #[serde(default = "default_algorithm")]
    pub algorithm: String,
    /// `kid` header of minted tokens.
    pub kid: Option<String>,
    /// `iss` of minted tokens.
    pub issuer: Option<String>,
    /// `aud` of minted tokens.
    pub audience: Option<String>,
    /// How minted tokens write `scope`.
    #[serde(default = "default_scope_form")]
    pub scope_format: ScopeForm,
    /// Lifetime of minted tokens.
    #[serde(default = "default_ttl")]
    pub ttl_secs: u64,
    /// `typ` header of minted tokens.
    #[serde(default = "default_typ")]
    pub typ: String,
    /// A PEM private key the target does NOT trust, same algorithm family.
    pub untrusted_private_key: Option<PathBuf>,
    /// The target's public key (PEM, relative to the profile): the bytes
    /// of the HMAC algorithm-confusion attacks.
    pub public_key: Option<PathBuf>,
    /// The target's JWKS: a URL, or a path below `base_url`. Without this
    /// and `public_key`, the discovery document's `jwks_uri` is used.
    pub jwks_url: Option<String>,
    /// A shell command printing a token; `{subject}` and `{scope}` are
    /// replaced (shell-quoted).
    pub token_command: Option<String>,
    /// A static expired token of the active account (for
    /// `auth.invalid-token.expired` without a signing key).
    pub expired_token: Option<String>,
    /// A static token of the active account without the `openid` scope
    /// (for `auth.insufficient-scope.profile-token` without a signing key).
    pub no_openid_token: Option<String>,
}

fn default_algorithm() -> String {
    "RS256".to_string()
}
fn default_scope_form() -> ScopeForm {
    ScopeForm::Array
}
fn default_ttl() -> u64 {
    300
}
fn default_typ() -> String {
    "JWT".to_string()
}

impl Default for Tokens {
    fn default() -> Self {
        Tokens {
            private_key: None,
            algorithm: default_algorithm(),
            kid: None,
            issuer: None,
            audience: None,
            scope_format: default_scope_form(),
            ttl_secs: default_ttl(),
            typ: default_typ(),
            untrusted_private_key: None,
            public_key: None,
            jwks_url: None,
            token_command: None,
            expired_token: None,
            no_openid_token: None,
        }
    }
}

impl Tokens {
    /// Whether the harness can mint tokens itself.
    pub fn can_mint(&self) -> bool {
        self.private_key.is_some()
    }
}

/// The accounts of the run.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Accounts {
    /// The accounts whose passwords the run changes (password required):
    /// one table (`[accounts.active]`) or a pool of several
    /// (`[[accounts.active]]`, distinct subjects), over which the run
    /// spreads the cases that send wrong old passwords, each account under
    /// its own lockout budget. The first is the one the rest of the
    /// profile's `active` keys mean (`tokens.expired_token`, …).
    #[serde(deserialize_with = "one_or_more")]
    #[schemars(with = "OneOrMore")]
    pub active: Vec<Account>,
    /// A frozen account.
    pub frozen: Option<Account>,
    /// A locked account.
    pub locked: Option<Account>,
    /// An account both frozen and locked.
    pub frozen_and_locked: Option<Account>,
    /// An active account the run may lock on purpose.
    pub lockable: Option<Account>,
    /// A subject that does not exist.
    pub missing: Option<Account>,
}

impl Accounts {
    /// The first active account (the only one without a pool).
    pub fn active(&self) -> &Account {
        &self.active[0]
    }

    /// The first active account, to change.
    pub fn active_mut(&mut self) -> &mut Account {
        &mut self.active[0]
    }

    /// The accounts besides the pool that the profile gives, in this
    /// order: lockable, frozen, locked, frozen and locked, missing.
    pub fn others(&self) -> impl Iterator<Item = &Account> {
        [
            &self.lockable,
            &self.frozen,
            &self.locked,
            &self.frozen_and_locked,
            &self.missing,
        ]
        .into_iter()
        .flatten()
    }
}

/// `accounts.active` as written: one table (`[accounts.active]`) or an
/// array of at least one table (`[[accounts.active]]`, a pool). Its
/// schema says so with `if`/`then`/`else` rather than `anyOf`, so that a
/// validator names the key at fault inside the table (a missing
/// `subject`), not only that no alternative matched.
struct OneOrMore;

impl JsonSchema for OneOrMore {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "OneOrMore".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let account = generator.subschema_for::<Account>();
        schemars::json_schema!({
            "if": { "type": "object" },
            "then": account,
            "else": { "type": "array", "items": account, "minItems": 1 }
        })
    }
}

/// Reads `accounts.active`: one table or an array of tables ([`OneOrMore`]'s
/// shape; a visitor rather than an untagged enum, so that an error inside
/// a table, such as an unknown key, keeps its own message).
fn one_or_more<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<Account>, D::Error> {
    use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
    struct Visitor;
    impl<'de> serde::de::Visitor<'de> for Visitor {
        type Value = Vec<Account>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a table [accounts.active] or an array of tables [[accounts.active]]")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
            Account::deserialize(MapAccessDeserializer::new(map)).map(|a| vec![a])
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
            Vec::<Account>::deserialize(SeqAccessDeserializer::new(seq))
        }
    }
    d.deserialize_any(Visitor)
}

/// One account.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Account {
    /// The `sub` of its tokens.
    pub subject: String,
    /// Its current password.
    pub password: Option<String>,
    /// A static token for it (instead of minting or the command).
    pub token: Option<String>,
}

/// Why a profile cannot be used.
pub type ProfileError = FileError;

impl Profile {
    /// Reads, parses and validates a profile.
    pub fn load(file: &Path) -> Result<Profile, ProfileError> {
        let err = |message: String| ProfileError {
            kind: "profile",
            file: file.to_path_buf(),
            message,
        };
        let text = std::fs::read_to_string(file).map_err(|e| err(e.to_string()))?;
        let dir = file
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        Profile::parse(&text, &dir).map_err(err).map(|mut p| {
            p.file = file.to_path_buf();
            p
        })
    }

    /// Parses and validates profile text; relative paths follow `dir`;
    /// `${NAME}` values come from the process environment.
    pub fn parse(text: &str, dir: &Path) -> Result<Profile, String> {
        Profile::parse_with_env(text, dir, &envref::process_env)
    }

    /// [`Profile::parse`] with `${NAME}` looked up in `env`.
    pub fn parse_with_env(
        text: &str,
        dir: &Path,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Profile, String> {
        // One line naming line, column and key, never a value.
        let mut profile: Profile =
            toml::from_str(text).map_err(|e| crate::toml_error::describe(&e, text))?;
        profile.dir = dir.to_path_buf();
        profile.resolve_env(env).map_err(|e| e.to_string())?;
        profile.validate()?;
        Ok(profile)
    }

    /// Replaces `${NAME}` in passwords, static tokens and `[http] headers`.
    fn resolve_env(
        &mut self,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<(), envref::EnvRefError> {
        for (name, value) in self.http.headers.iter_mut() {
            *value = envref::resolve(&format!("http.headers.{name}"), value, env)?;
        }
        let a = &mut self.accounts;
        let pool = a.active.len();
        let active = a.active.iter_mut().enumerate().map(|(i, account)| {
            let table = if pool == 1 {
                "active".to_string()
            } else {
                format!("active[{i}]")
            };
            (table, Some(account))
        });
        let roles = [
            ("frozen", a.frozen.as_mut()),
            ("locked", a.locked.as_mut()),
            ("frozen_and_locked", a.frozen_and_locked.as_mut()),
            ("lockable", a.lockable.as_mut()),
            ("missing", a.missing.as_mut()),
        ]
        .map(|(table, account)| (table.to_string(), account));
        for (table, account) in active.chain(roles) {
            let Some(account) = account else { continue };
            for (key, value) in [
                ("password", account.password.as_mut()),
                ("token", account.token.as_mut()),
            ] {
                if let Some(value) = value {
                    *value = envref::resolve(&format!("accounts.{table}.{key}"), value, env)?;
                }
            }
        }
        Ok(())
    }

    /// The profile's target with its `[http]` settings (headers, client
    /// certificate, pacing, retries, connect timeout); clear-text `http`
    /// off the loopback interface only with `[http] allow_insecure_http`
    /// ([`Endpoint::refuse_clear_text`]).
    pub fn endpoint(&self) -> Result<Endpoint, String> {
        let options = self.http_options()?;
        let endpoint = Endpoint::with_options(&self.base_url, &options)?;
        endpoint.refuse_clear_text(self.http.allow_insecure_http)?;
        Ok(endpoint)
    }

    /// The client settings of `[http]` (paths resolved, headers parsed).
    pub fn http_options(&self) -> Result<HttpOptions, String> {
        let h = &self.http;
        let mut headers = Vec::new();
        for (name, value) in &h.headers {
            let name = http::HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| format!("http.headers: {name:?} is not a header name"))?;
            let mut value = http::HeaderValue::from_str(value)
                .map_err(|_| format!("http.headers.{name}: not a valid header value"))?;
            value.set_sensitive(true);
            headers.push((name, value));
        }
        let identity = match (&h.client_cert, &h.client_key) {
            (Some(cert), Some(key)) => Some(ClientIdentity {
                cert: self.resolve(cert),
                key: self.resolve(key),
            }),
            _ => None,
        };
        let defaults = RetryPolicy::default();
        Ok(HttpOptions {
            rate: h.rate,
            connect_timeout: h
                .connect_timeout_secs
                .map_or(DEFAULT_CONNECT_TIMEOUT, Duration::from_secs),
            retry: RetryPolicy {
                max_retries: h.max_retries.unwrap_or(defaults.max_retries),
                max_wait: h
                    .max_retry_wait_secs
                    .map_or(defaults.max_wait, Duration::from_secs),
            },
            headers,
            identity,
            ..HttpOptions::default()
        })
    }

    fn validate(&self) -> Result<(), String> {
        Endpoint::parse(&self.base_url).map_err(|e| format!("base_url: {e}"))?;
        self.http.validate()?;
        // Reads the client certificate and key: errors name the key. (The
        // clear-text check waits for the command line's opt-in.)
        Endpoint::with_options(&self.base_url, &self.http_options()?)?;
        let p = &self.policy;
        if let (Some(min), Some(max)) = (p.min_length, p.max_length)
            && min > max
        {
            return Err(format!(
                "policy.min_length ({min}) is above policy.max_length ({max})"
            ));
        }
        let l = &self.lockout;
        if l.window_secs.is_some() && l.counting != Some(Counting::Window) {
            return Err(
                "lockout.window_secs needs lockout.counting = \"window\" (with \"consecutive\" \
                 a success resets the count and there is no window)"
                    .to_string(),
            );
        }
        if l.window_secs == Some(0) {
            return Err("lockout.window_secs: a number of seconds above 0".to_string());
        }
        let classes = p.required_classes();
        if let Some(max) = p.max_length
            && max < classes.max(1)
        {
            return Err(format!(
                "policy.max_length ({max}) leaves no room for the {classes} required character classes"
            ));
        }
        if let Some(n) = p.history
            && n > 128
        {
            return Err(format!("policy.history ({n}) is above 128"));
        }
        self.validate_pool()?;
        if self
            .accounts
            .lockable
            .as_ref()
            .is_some_and(|a| a.password.is_none())
        {
            return Err("accounts.lockable.password is required".to_string());
        }
        let t = &self.tokens;
        if t.private_key.is_some() && (t.issuer.is_none() || t.audience.is_none()) {
            return Err("tokens.private_key needs tokens.issuer and tokens.audience".to_string());
        }
        if parse_algorithm(&t.algorithm).is_none() {
            return Err(format!(
                "tokens.algorithm: {} is not one of RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384",
                t.algorithm
            ));
        }
        if !t.can_mint()
            && t.token_command.is_none()
            && self.accounts.active.iter().any(|a| a.token.is_none())
        {
            return Err(
                "no way to get a token for accounts.active: set tokens.private_key, \
                 tokens.token_command or accounts.active.token"
                    .to_string(),
            );
        }
        Ok(())
    }

    /// The active accounts: at least one, each with a password, no
    /// subject twice.
    fn validate_pool(&self) -> Result<(), String> {
        let pool = &self.accounts.active;
        if pool.is_empty() {
            return Err(
                "accounts.active: at least one account ([accounts.active] or \
                 [[accounts.active]])"
                    .to_string(),
            );
        }
        for (i, a) in pool.iter().enumerate() {
            if a.password.is_none() {
                let key = match pool.len() {
                    1 => "accounts.active.password".to_string(),
                    _ => format!("accounts.active[{i}].password"),
                };
                return Err(format!(
                    "{key} is required (the run changes it and restores it)"
                ));
            }
            if let Some(j) = pool[..i].iter().position(|b| b.subject == a.subject) {
                return Err(format!(
                    "accounts.active[{i}] has the subject of accounts.active[{j}]: each account \
                     of the pool needs its own subject"
                ));
            }
        }
        Ok(())
    }

    /// A path of the profile, resolved against its directory.
    pub fn resolve(&self, path: &Path) -> PathBuf {
        if path.is_absolute() {
            path.to_path_buf()
        } else {
            self.dir.join(path)
        }
    }
}

/// The algorithms the harness can sign with.
pub fn parse_algorithm(name: &str) -> Option<jsonwebtoken::Algorithm> {
    match name {
        "RS256" => Some(jsonwebtoken::Algorithm::RS256),
        "RS384" => Some(jsonwebtoken::Algorithm::RS384),
        "RS512" => Some(jsonwebtoken::Algorithm::RS512),
        "PS256" => Some(jsonwebtoken::Algorithm::PS256),
        "PS384" => Some(jsonwebtoken::Algorithm::PS384),
        "PS512" => Some(jsonwebtoken::Algorithm::PS512),
        "ES256" => Some(jsonwebtoken::Algorithm::ES256),
        "ES384" => Some(jsonwebtoken::Algorithm::ES384),
        _ => None,
    }
}

#[cfg(test)]
impl Policy {
    /// The policy `fixtures/reference.toml` declares, for unit tests.
    pub(crate) fn reference_for_tests() -> Policy {
        Policy {
            min_length: Some(8),
            max_length: Some(64),
            require_lowercase: true,
            require_uppercase: true,
            require_digit: true,
            require_symbol: false,
            history: Some(5),
            history_includes_current: false,
            normalization: Some(Normalization::Nfc),
            reject_control_characters: true,
            allow_spaces: true,
            symbols: Some("-_.!#%+".to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
base_url = "http://127.0.0.1:8080"
[accounts.active]
subject = "alice"
password = "pw"
token = "t"
"#;

    const POOL: &str = r#"
base_url = "http://127.0.0.1:8080"
[[accounts.active]]
subject = "alice"
password = "pw-a"
token = "t"
[[accounts.active]]
subject = "carol"
password = "pw-c"
token = "t"
"#;

    #[test]
    fn one_active_table_or_a_pool_of_them() {
        let one = Profile::parse(MINIMAL, Path::new(".")).unwrap();
        assert_eq!(one.accounts.active.len(), 1);
        assert_eq!(one.accounts.active().subject, "alice");
        let pool = Profile::parse(POOL, Path::new(".")).unwrap();
        let subjects: Vec<_> = pool.accounts.active.iter().map(|a| &a.subject).collect();
        assert_eq!(subjects, ["alice", "carol"]);
        assert_eq!(pool.accounts.active().subject, "alice");
    }

    #[test]
    fn a_pool_refuses_a_subject_twice_a_missing_password_and_unknown_keys() {
        let twice = POOL.replace("\"carol\"", "\"alice\"");
        let e = Profile::parse(&twice, Path::new(".")).unwrap_err();
        assert!(
            e.contains("accounts.active[1] has the subject of accounts.active[0]"),
            "{e}"
        );
        let no_password = POOL.replace("password = \"pw-c\"\n", "");
        let e = Profile::parse(&no_password, Path::new(".")).unwrap_err();
        assert!(e.contains("accounts.active[1].password is required"), "{e}");
        let unknown = POOL.replace("password = \"pw-c\"", "passwd = \"pw-c\"");
        let e = Profile::parse(&unknown, Path::new(".")).unwrap_err();
        assert!(e.contains("passwd"), "{e}");
        let empty = "base_url = \"http://127.0.0.1:8080\"\naccounts.active = []\n";
        let e = Profile::parse(empty, Path::new(".")).unwrap_err();
        assert!(e.contains("at least one account"), "{e}");
    }

    #[test]
    fn minimal_profile_loads_with_defaults() {
        let p = Profile::parse(MINIMAL, Path::new(".")).unwrap();
        assert_eq!(p.policy.depth(), None);
        assert_eq!(p.lockout.effective(), Some(ASSUMED_MAX_FAILURES));
        assert_eq!(p.tokens.algorithm, "RS256");
    }

    #[test]
    fn the_lockout_rule_is_declared_or_the_strictest() {
        let p = Profile::parse(MINIMAL, Path::new(".")).unwrap();
        let rule = p.lockout.rule();
        assert_eq!(
            (rule.max_failures, rule.counting, rule.window, rule.declared),
            (Some(3), Counting::Window, None, false)
        );
        assert_eq!(rule.allowance(), Some(1));
        let text = format!(
            "{MINIMAL}\n[lockout]\nmax_failures = 6\ncounting = \"window\"\nwindow_secs = 60\n"
        );
        let rule = Profile::parse(&text, Path::new("."))
            .unwrap()
            .lockout
            .rule();
        assert_eq!(
            (rule.max_failures, rule.counting, rule.window, rule.declared),
            (
                Some(6),
                Counting::Window,
                Some(std::time::Duration::from_secs(60)),
                true
            )
        );
        assert_eq!(rule.allowance(), Some(4));
        let text = format!("{MINIMAL}\n[lockout]\ncounting = \"consecutive\"\nwindow_secs = 60\n");
        let e = Profile::parse(&text, Path::new(".")).unwrap_err();
        assert!(e.contains("lockout.window_secs"), "{e}");
        let text = format!("{MINIMAL}\n[lockout]\ncounting = \"sliding\"\n");
        let e = Profile::parse(&text, Path::new(".")).unwrap_err();
        assert!(e.contains("sliding"), "{e}");
    }

    #[test]
    fn unknown_keys_are_named() {
        let text = format!("{MINIMAL}\n[policy]\nmin_lenght = 3\n");
        let e = Profile::parse(&text, Path::new(".")).unwrap_err();
        assert!(e.contains("min_lenght"), "{e}");
    }

    #[test]
    fn history_including_current_lowers_the_depth() {
        let text = format!("{MINIMAL}\n[policy]\nhistory = 5\nhistory_includes_current = true\n");
        let p = Profile::parse(&text, Path::new(".")).unwrap();
        assert_eq!(p.policy.depth(), Some(4));
    }

    #[test]
    fn a_token_source_is_required() {
        let text = MINIMAL.replace("token = \"t\"", "");
        let e = Profile::parse(&text, Path::new(".")).unwrap_err();
        assert!(e.contains("no way to get a token"), "{e}");
    }

    #[test]
    fn http_defaults_and_bad_values_name_the_key() {
        let p = Profile::parse(MINIMAL, Path::new(".")).unwrap();
        let o = p.http_options().unwrap();
        assert_eq!(o.rate, None);
        assert_eq!(o.connect_timeout, DEFAULT_CONNECT_TIMEOUT);
        assert_eq!(o.retry, RetryPolicy::default());
        assert!(o.headers.is_empty() && o.identity.is_none());
        assert_eq!(p.http.timeout(), None);
        let text = format!(
            "{MINIMAL}\n[http]\nrate = 2.5\ntimeout_secs = 3\nconnect_timeout_secs = 2\n\
             max_retries = 1\nmax_retry_wait_secs = 7\n"
        );
        let p = Profile::parse(&text, Path::new(".")).unwrap();
        let o = p.http_options().unwrap();
        assert_eq!(o.rate, Some(2.5));
        assert_eq!(o.connect_timeout, Duration::from_secs(2));
        assert_eq!(
            o.retry,
            RetryPolicy {
                max_retries: 1,
                max_wait: Duration::from_secs(7)
            }
        );
        assert_eq!(p.http.timeout(), Some(Duration::from_secs(3)));
        for (extra, key) in [
            ("rate = -1", "http.rate"),
            ("timeout_secs = 0", "http.timeout_secs"),
            ("connect_timeout_secs = 0", "http.connect_timeout_secs"),
            (
                "client_cert = \"c.pem\"",
                "http.client_cert and http.client_key",
            ),
            ("retries = 3", "retries"),
        ] {
            let text = format!("{MINIMAL}\n[http]\n{extra}\n");
            let e = Profile::parse(&text, Path::new(".")).unwrap_err();
            assert!(e.contains(key), "{extra}: {e}");
        }
    }

    #[test]
    fn https_is_accepted_and_other_schemes_are_refused() {
        let text = MINIMAL.replace("http://", "https://");
        assert!(Profile::parse(&text, Path::new(".")).is_ok());
        let text = MINIMAL.replace("http://", "ftp://");
        let e = Profile::parse(&text, Path::new(".")).unwrap_err();
        assert!(e.contains("base_url"), "{e}");
    }
}
