//! Access tokens for the run: minted with the profile's private key, given
//! statically per account, or printed by a command; and the broken variants
//! (altered signature, `alg: none`, untrusted key, wrong claims).
//!
//! Minted and command tokens are cached per subject and scope until
//! [`EXPIRY_MARGIN`] before their `exp` (read from the JWT payload without
//! verifying it; [`UNKNOWN_EXPIRY_CACHE`] when there is none). The command
//! gets the subject's tracked current password (`{password}`, and the
//! `CONFORMANCE_PASSWORD` environment variable), never logged; a command
//! that exits non-zero refuses that subject or scope: the cases that need
//! the token are skipped with its (bounded, redacted) stderr as the reason.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::exchange::shell_quote;
use crate::profile::{Account, Profile, Tokens, parse_algorithm};
use crate::vocabulary::{ScopeForm, TokenKind};

mod shape;
mod statics;

use shape::decode_parts;
pub use shape::{alter_signature, jwt_expiry, unsigned};
pub use statics::static_expired_message;
use statics::{Static, profile_passwords, static_tokens};

/// Why a token could not be had.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum TokenError {
    /// The profile gives no way to make this token: the case is skipped.
    Unavailable(String),
    /// Making it failed (unreadable key, failing command): a configuration
    /// error.
    Failed(String),
}

impl fmt::Display for TokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenError::Unavailable(why) => write!(f, "{why}"),
            TokenError::Failed(why) => write!(f, "{why}"),
        }
    }
}

impl std::error::Error for TokenError {}

fn load_key(path: &PathBuf, algorithm: Algorithm) -> Result<EncodingKey, TokenError> {
    let pem = std::fs::read(path)
        .map_err(|e| TokenError::Failed(format!("tokens: cannot read {}: {e}", path.display())))?;
    let key = if matches!(algorithm, Algorithm::ES256 | Algorithm::ES384) {
        EncodingKey::from_ec_pem(&pem)
    } else {
        EncodingKey::from_rsa_pem(&pem)
    };
    key.map_err(|e| {
        TokenError::Failed(format!(
            "tokens: {} is not a {algorithm:?} private key: {e}",
            path.display()
        ))
    })
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// A cached token is used until this long before its `exp`.
pub const EXPIRY_MARGIN: Duration = Duration::from_secs(30);
/// A token without a readable `exp` is cached this long.
pub const UNKNOWN_EXPIRY_CACHE: Duration = Duration::from_secs(60);
/// The command runs at most this long.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);
/// The most of a refusing command's stderr a reason quotes.
pub const MAX_STDERR_CHARS: usize = 500;
/// Environment variables the command gets.
pub const PASSWORD_ENV: &str = "CONFORMANCE_PASSWORD";
/// The subject, as an environment variable of the command.
pub const SUBJECT_ENV: &str = "CONFORMANCE_SUBJECT";
/// The scope, as an environment variable of the command.
pub const SCOPE_ENV: &str = "CONFORMANCE_SCOPE";

/// An issuer of tokens for one profile.
pub struct TokenFactory {
    config: Tokens,
    algorithm: Algorithm,
    key: Option<EncodingKey>,
    untrusted: Option<EncodingKey>,
    command_dir: PathBuf,
    /// (subject, scope) → (token, usable until).
    cache: HashMap<(String, String), (String, Instant)>,
    /// Tracked current passwords by subject (see [`TokenFactory::set_password`]).
    passwords: HashMap<String, String>,
    /// Every valid token handed out, how to take it again
    /// ([`TokenFactory::take_again`]), and when it was first handed out.
    issued: HashMap<String, (Recipe, Instant)>,
    /// The profile's static tokens: the key that gives each, and the
    /// subject of an account's own token (`accounts.<name>.token`).
    statics: Vec<Static>,
    /// The first active account's subject: `tokens.expired_token` and
    /// `tokens.no_openid_token` are its tokens, never sent for another
    /// account of a pool (a target that took one would change the first
    /// account's password while the run recorded a change of another).
    first_subject: String,
    /// The profile's passwords by subject: what a subject's password is
    /// until [`TokenFactory::set_password`] says otherwise.
    profile_passwords: HashMap<String, String>,
    /// When the run last set another password of each subject (seen by
    /// [`TokenFactory::set_password`]): tokens handed out before may have
    /// been revoked by it (open point 10, [`TokenFactory::stale`]).
    changed_at: HashMap<String, Instant>,
    /// The static tokens the target refused after the run's change of
    /// their account ([`TokenFactory::refuse_static`]): learned once,
    /// never sent again.
    refused: HashSet<String>,
    /// When this factory was made: the static tokens are older.
    created: Instant,
}

/// A token of an account's own (its standard token) handed out before the
/// run last changed that account's password: a target that revokes tokens
/// on a change (open point 10) refuses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stale {
    /// Minted or a command's: it can be taken again.
    Renewable {
        /// Whose token it is.
        subject: String,
    },
    /// A static token of the profile: it cannot.
    Static {
        /// Whose token it is.
        subject: String,
        /// The profile key that gives it (`accounts.active.token`).
        key: String,
    },
}

/// How a token handed out is taken again, once it would expire before a
/// request can arrive.
#[derive(Debug, Clone)]
enum Recipe {
    /// [`TokenFactory::standard`] for this account.
    Standard(Account),
    /// [`TokenFactory::variant`] of this kind for this account.
    Variant(Account, TokenKind),
}

impl fmt::Debug for TokenFactory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenFactory")
            .field("algorithm", &self.algorithm)
            .field("can_mint", &self.key.is_some())
            .finish_non_exhaustive()
    }
}

const UNKNOWN_KID: &str = "conformance-unknown-kid";
const WRONG_ISSUER: &str = "https://issuer.invalid/";
const WRONG_AUDIENCE: &str = "conformance-wrong-audience";

impl TokenFactory {
    /// Loads the profile's keys.
    pub fn new(profile: &Profile) -> Result<TokenFactory, TokenError> {
        let config = profile.tokens.clone();
        let algorithm = parse_algorithm(&config.algorithm).ok_or_else(|| {
            TokenError::Failed(format!(
                "tokens.algorithm {} is not supported",
                config.algorithm
            ))
        })?;
        let key = match &config.private_key {
            Some(p) => Some(load_key(&profile.resolve(p), algorithm)?),
            None => None,
        };
        let untrusted = match &config.untrusted_private_key {
            Some(p) => Some(load_key(&profile.resolve(p), algorithm)?),
            None => None,
        };
        let statics = static_tokens(profile);
        if let Some(expired) = expired_static(&statics, now()) {
            return Err(TokenError::Failed(expired));
        }
        Ok(TokenFactory {
            config,
            algorithm,
            key,
            untrusted,
            command_dir: profile.dir.clone(),
            cache: HashMap::new(),
            passwords: HashMap::new(),
            issued: HashMap::new(),
            statics,
            first_subject: profile.accounts.active().subject.clone(),
            profile_passwords: profile_passwords(profile),
            changed_at: HashMap::new(),
            refused: HashSet::new(),
            created: Instant::now(),
        })
    }

    /// The profile key of a static token (`accounts.active.token`,
    /// `tokens.no_openid_token`), if `token` is one.
    pub fn static_key(&self, token: &str) -> Option<&str> {
        self.statics
            .iter()
            .find(|s| s.token == token)
            .map(|s| s.key.as_str())
    }

    /// Whether `token` is a valid token of an account (minted, a
    /// command's, or a static one of the profile; its usual `openid`
    /// scope or another scope) handed out before the run last set another
    /// password of that account: a target that revokes tokens on a change
    /// refuses it. Tokens broken on purpose (the S10 variants: expired,
    /// other keys, issuers or audiences, altered signatures, no scope
    /// claim) and the profile's `expired_token` never are.
    pub fn stale(&self, token: &str) -> Option<Stale> {
        if let Some(s) = self.statics.iter().find(|s| s.token == token) {
            let subject = s.subject.clone()?;
            let changed = self.changed_at.get(&subject)?;
            return (*changed >= self.created).then(|| Stale::Static {
                subject,
                key: s.key.clone(),
            });
        }
        let (recipe, at) = self.issued.get(token)?;
        let account = match recipe {
            Recipe::Standard(account) => account,
            // A valid token of the account with other scopes: what a
            // revoking target refuses is the account's token, whatever
            // its scope (the scope cases expect the scope's answer).
            Recipe::Variant(
                account,
                TokenKind::Scope(..) | TokenKind::DeclaredScope(_) | TokenKind::ProfileNoOpenid,
            ) => account,
            // Broken on purpose (S10): never taken again.
            Recipe::Variant(..) => return None,
        };
        let changed = self.changed_at.get(&account.subject)?;
        (changed > at).then(|| Stale::Renewable {
            subject: account.subject.clone(),
        })
    }

    /// Learns that the target refused the static `token` after the run
    /// changed its account's password (a [`Stale::Static`] refused with
    /// 401 `invalid_token`): it cannot be taken again, so it is never sent
    /// again ([`TokenFactory::refused_static`]). Other tokens are ignored.
    pub fn refuse_static(&mut self, token: &str) {
        if self.statics.iter().any(|s| s.token == token) {
            self.refused.insert(token.to_string());
        }
    }

    /// Whether `token` is a static token the target already refused after
    /// the run's change ([`TokenFactory::refuse_static`]): whose it is and
    /// the profile key that gives it.
    pub fn refused_static(&self, token: &str) -> Option<Stale> {
        if !self.refused.contains(token) {
            return None;
        }
        let s = self.statics.iter().find(|s| s.token == token)?;
        Some(Stale::Static {
            subject: s.subject.clone()?,
            key: s.key.clone(),
        })
    }

    /// Learns the static tokens `other` learned refused (the properties'
    /// own factory and the session's, both ways).
    pub fn learn_refused_from(&mut self, other: &TokenFactory) {
        self.refused.extend(other.refused.iter().cloned());
    }

    /// Whether `token` is a valid one this factory handed out (minted, a
    /// command's, or its variants other than the expired one) and so can
    /// be taken again.
    pub fn can_take_again(&self, token: &str) -> bool {
        self.issued.contains_key(token)
    }

    /// `token` taken again the way it was made (minted anew, the command
    /// run again: never the cached one). `None` when it was not handed
    /// out here, or the new one is the same.
    pub async fn take_again(&mut self, token: &str) -> Result<Option<String>, TokenError> {
        let Some((recipe, _)) = self.issued.get(token).cloned() else {
            return Ok(None);
        };
        let subject = match &recipe {
            Recipe::Standard(a) | Recipe::Variant(a, _) => a.subject.clone(),
        };
        self.cache.retain(|(s, _), _| *s != subject);
        let new = match recipe {
            Recipe::Standard(account) => self.standard(&account).await?,
            Recipe::Variant(account, kind) => self.variant(&account, kind).await?,
        };
        Ok((new != token).then_some(new))
    }

    fn claims(&self, subject: &str, scope: Option<(&[&str], ScopeForm)>) -> Value {
        let now = now();
        let mut jti = [0u8; 16];
        let _ = getrandom::fill(&mut jti);
        let mut claims = json!({
            "iss": self.config.issuer,
            "aud": self.config.audience,
            "sub": subject,
            "iat": now,
            "nbf": now,
            "exp": now + self.config.ttl_secs as i64,
            "jti": jti.iter().map(|b| format!("{b:02x}")).collect::<String>(),
        });
        if let Some((values, form)) = scope {
            claims["scope"] = match form {
                ScopeForm::Array => json!(values),
                ScopeForm::String => json!(values.join(" ")),
            };
        }
        claims
    }

    fn sign(
        &self,
        claims: &Value,
        kid: Option<&str>,
        key: &EncodingKey,
    ) -> Result<String, TokenError> {
        server::jwt_crypto::install().map_err(|e| TokenError::Failed(e.to_string()))?;
        let mut header = Header::new(self.algorithm);
        header.typ = Some(self.config.typ.clone());
        header.kid = kid.map(str::to_string);
        jsonwebtoken::encode(&header, claims, key)
            .map_err(|e| TokenError::Failed(format!("cannot sign a token: {e}")))
    }

    fn mint(&self, claims: &Value, kid: Option<&str>) -> Result<String, TokenError> {
        let key = self.key.as_ref().ok_or_else(|| {
            TokenError::Unavailable("needs minting (tokens.private_key in the profile)".into())
        })?;
        self.sign(claims, kid, key)
    }

    /// A token of the profile's key for `subject` with the `openid` scope,
    /// its header (`alg`, `typ`, `kid`) and claims edited first: the
    /// claims RFC 9068 and RFC 7515 rule on (no `exp`, `crit`, `iss`).
    pub fn mint_edited(
        &self,
        subject: &str,
        edit: impl FnOnce(&mut Value, &mut Value),
    ) -> Result<String, TokenError> {
        let key = self.key.as_ref().ok_or_else(|| {
            TokenError::Unavailable("needs minting (tokens.private_key in the profile)".into())
        })?;
        let mut header = json!({"alg": self.config.algorithm, "typ": self.config.typ});
        if let Some(kid) = &self.config.kid {
            header["kid"] = json!(kid);
        }
        let mut claims = self.claims(subject, Some((&["openid"], self.config.scope_format)));
        edit(&mut header, &mut claims);
        let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
        crate::forge::sign(&header, &payload, key, self.algorithm).map_err(TokenError::Failed)
    }

    /// Records `subject`'s current password, as the runner tracks it:
    /// the command's `{password}` from now on (until then, the profile's).
    /// Another password than the one known so far is a change by the run
    /// (an applied change, a resolved one, the restore): the tokens handed
    /// out before it are [`TokenFactory::stale`] from now on.
    pub fn set_password(&mut self, subject: &str, password: &str) {
        let known = self
            .passwords
            .get(subject)
            .or_else(|| self.profile_passwords.get(subject));
        if known.is_some_and(|k| k != password) {
            self.changed_at.insert(subject.to_string(), Instant::now());
        }
        self.passwords
            .insert(subject.to_string(), password.to_string());
    }

    /// The password recorded for `subject` by [`TokenFactory::set_password`].
    #[cfg(test)]
    pub(crate) fn password_for(&self, subject: &str) -> Option<&str> {
        self.passwords.get(subject).map(String::as_str)
    }

    /// The password the command gets for `account`: the tracked one, else
    /// the profile's.
    fn password_of(&self, account: &Account) -> Option<String> {
        self.passwords
            .get(&account.subject)
            .cloned()
            .or_else(|| account.password.clone())
    }

    fn cached(&self, subject: &str, scope: &str) -> Option<String> {
        let key = (subject.to_string(), scope.to_string());
        let (token, until) = self.cache.get(&key)?;
        (Instant::now() < *until).then(|| token.clone())
    }

    fn remember(&mut self, subject: &str, scope: &str, token: &str) {
        let usable = match jwt_expiry(token) {
            Some(exp) => {
                let left = exp - now();
                Duration::from_secs(left.max(0) as u64).saturating_sub(EXPIRY_MARGIN)
            }
            None => UNKNOWN_EXPIRY_CACHE,
        };
        if !usable.is_zero() {
            self.cache.insert(
                (subject.to_string(), scope.to_string()),
                (token.to_string(), Instant::now() + usable),
            );
        }
    }

    /// The command's token for `subject` and `scope` (cached).
    async fn command(
        &mut self,
        subject: &str,
        scope: &str,
        password: Option<&str>,
    ) -> Result<String, TokenError> {
        if let Some(token) = self.cached(subject, scope) {
            return Ok(token);
        }
        let token = self.run_command(subject, scope, password).await?;
        self.remember(subject, scope, &token);
        Ok(token)
    }

    async fn run_command(
        &self,
        subject: &str,
        scope: &str,
        password: Option<&str>,
    ) -> Result<String, TokenError> {
        let Some(template) = &self.config.token_command else {
            return Err(TokenError::Unavailable(
                "needs minting (tokens.private_key) or tokens.token_command".into(),
            ));
        };
        let password = password.unwrap_or_default();
        let line = expand_command(template, subject, scope, password);
        let run = tokio::process::Command::new("sh")
            .arg("-c")
            .arg(&line)
            .current_dir(&self.command_dir)
            .env(PASSWORD_ENV, password)
            .env(SUBJECT_ENV, subject)
            .env(SCOPE_ENV, scope)
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true)
            .output();
        let output = tokio::time::timeout(COMMAND_TIMEOUT, run)
            .await
            .map_err(|_| {
                TokenError::Failed(format!(
                    "tokens.token_command ran over {} s",
                    COMMAND_TIMEOUT.as_secs()
                ))
            })?
            .map_err(|e| TokenError::Failed(format!("tokens.token_command: {e}")))?;
        if !output.status.success() {
            let stderr = bounded_stderr(&output.stderr, password);
            return Err(TokenError::Unavailable(format!(
                "tokens.token_command refused subject {subject}, scope {scope:?} ({}){}",
                output.status,
                if stderr.is_empty() {
                    String::new()
                } else {
                    format!(": {stderr}")
                }
            )));
        }
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .map(str::to_string)
            .ok_or_else(|| TokenError::Failed("tokens.token_command printed nothing".into()))
    }

    /// A valid token with the `openid` scope for `account`: its static
    /// token, else a minted one, else the command's (given the tracked
    /// password, see [`TokenFactory::set_password`]).
    pub async fn standard(&mut self, account: &Account) -> Result<String, TokenError> {
        let password = self.password_of(account);
        self.standard_with_password(account, password.as_deref())
            .await
    }

    /// [`TokenFactory::standard`] with the command given `password` as
    /// `{password}` (the subject's current password).
    pub async fn standard_with_password(
        &mut self,
        account: &Account,
        password: Option<&str>,
    ) -> Result<String, TokenError> {
        let token = self.standard_untracked(account, password).await?;
        if account.token.is_none() {
            self.track(&token, Recipe::Standard(account.clone()));
        }
        Ok(token)
    }

    async fn standard_untracked(
        &mut self,
        account: &Account,
        password: Option<&str>,
    ) -> Result<String, TokenError> {
        if let Some(token) = &account.token {
            return Ok(token.clone());
        }
        if self.key.is_none() {
            return self.command(&account.subject, "openid", password).await;
        }
        if let Some(token) = self.cached(&account.subject, "openid") {
            return Ok(token);
        }
        let claims = self.claims(
            &account.subject,
            Some((&["openid"], self.config.scope_format)),
        );
        let token = self.mint(&claims, self.config.kid.as_deref())?;
        self.remember(&account.subject, "openid", &token);
        Ok(token)
    }

    /// A token of `kind` for `account`.
    pub async fn variant(
        &mut self,
        account: &Account,
        kind: TokenKind,
    ) -> Result<String, TokenError> {
        let token = self.variant_untracked(account, kind).await?;
        // The expired token is meant to be expired; a static one cannot be
        // made again.
        if kind != TokenKind::Expired && self.static_key(&token).is_none() {
            self.track(&token, Recipe::Variant(account.clone(), kind));
        }
        Ok(token)
    }

    /// Remembers how `token` was made and when it was first handed out
    /// (a cached token handed out again keeps its first time); forgets
    /// the expired ones now and then (a short `ttl_secs` mints one per
    /// request).
    fn track(&mut self, token: &str, recipe: Recipe) {
        if self.issued.len() >= 1024 {
            let now = now();
            self.issued
                .retain(|t, _| jwt_expiry(t).is_none_or(|exp| exp > now));
        }
        self.issued
            .entry(token.to_string())
            .or_insert_with(|| (recipe, Instant::now()));
    }

    /// A static token given by `key` is the first active account's: an
    /// error for any other `subject` (nothing is sent).
    fn first_accounts(&self, key: &str, subject: &str) -> Result<(), TokenError> {
        if subject == self.first_subject {
            return Ok(());
        }
        Err(TokenError::Unavailable(format!(
            "{key} is the token of the first [[accounts.active]] account ({}), not of {subject}: \
             not sent for another account (mint with tokens.private_key for every account)",
            self.first_subject
        )))
    }

    async fn variant_untracked(
        &mut self,
        account: &Account,
        kind: TokenKind,
    ) -> Result<String, TokenError> {
        let kid = self.config.kid.clone();
        let kid = kid.as_deref();
        let subject = account.subject.as_str();
        let openid = Some((&["openid"][..], self.config.scope_format));
        match kind {
            TokenKind::BadSignature => {
                let token = self.standard(account).await?;
                alter_signature(&token).ok_or_else(|| {
                    TokenError::Unavailable("the account's token is not a signed JWT".into())
                })
            }
            TokenKind::AlgNone => {
                let token = self.standard(account).await?;
                unsigned(&token).ok_or_else(|| {
                    TokenError::Unavailable("the account's token is not a JWT".into())
                })
            }
            TokenKind::UntrustedKey => {
                if self.untrusted.is_none() {
                    return Err(TokenError::Unavailable(
                        "needs tokens.untrusted_private_key".into(),
                    ));
                }
                let token = self.standard(account).await?;
                let (header, claims) = decode_parts(&token).ok_or_else(|| {
                    TokenError::Unavailable("the account's token is not a JWT".into())
                })?;
                let kid = header
                    .get("kid")
                    .and_then(Value::as_str)
                    .map(str::to_string);
                let key = self.untrusted.as_ref().ok_or_else(|| {
                    TokenError::Unavailable("needs tokens.untrusted_private_key".into())
                })?;
                self.sign(&claims, kid.as_deref(), key)
            }
            TokenKind::Expired if self.key.is_none() => {
                let token = self.config.expired_token.clone().ok_or_else(|| {
                    TokenError::Unavailable(
                        "needs minting (tokens.private_key) or tokens.expired_token".into(),
                    )
                })?;
                self.first_accounts("tokens.expired_token", subject)?;
                Ok(token)
            }
            TokenKind::ProfileNoOpenid => match &self.config.no_openid_token {
                Some(token) => {
                    self.first_accounts("tokens.no_openid_token", subject)?;
                    Ok(token.clone())
                }
                None if self.key.is_some() => {
                    let form = self.config.scope_format;
                    self.scoped(account, &["profile"], form).await
                }
                None => Err(TokenError::Unavailable(
                    "needs tokens.no_openid_token or minting (tokens.private_key)".into(),
                )),
            },
            TokenKind::Expired => {
                let mut claims = self.claims(subject, openid);
                let now = now();
                claims["iat"] = json!(now - 7200);
                claims["nbf"] = json!(now - 7200);
                claims["exp"] = json!(now - 3600);
                self.mint(&claims, kid)
            }
            TokenKind::NotYetValid => {
                let mut claims = self.claims(subject, openid);
                let now = now();
                claims["nbf"] = json!(now + 3600);
                claims["exp"] = json!(now + 7200);
                self.mint(&claims, kid)
            }
            TokenKind::WrongIssuer => {
                let mut claims = self.claims(subject, openid);
                claims["iss"] = json!(WRONG_ISSUER);
                self.mint(&claims, kid)
            }
            TokenKind::WrongAudience => {
                let mut claims = self.claims(subject, openid);
                claims["aud"] = json!(WRONG_AUDIENCE);
                self.mint(&claims, kid)
            }
            TokenKind::UnknownKid => {
                let claims = self.claims(subject, openid);
                self.mint(&claims, Some(UNKNOWN_KID))
            }
            TokenKind::NoScope => {
                let claims = self.claims(subject, None);
                self.mint(&claims, kid)
            }
            TokenKind::Scope(values, form) => self.scoped(account, values, form).await,
            TokenKind::DeclaredScope(values) => {
                let form = self.config.scope_format;
                self.scoped(account, values, form).await
            }
        }
    }

    async fn scoped(
        &mut self,
        account: &Account,
        values: &[&str],
        form: ScopeForm,
    ) -> Result<String, TokenError> {
        if self.key.is_some() {
            let claims = self.claims(&account.subject, Some((values, form)));
            self.mint(&claims, self.config.kid.as_deref())
        } else {
            let password = self.password_of(account);
            self.command(&account.subject, &values.join(" "), password.as_deref())
                .await
        }
    }
}

/// `template` with `{subject}`, `{scope}` and `{password}` replaced,
/// shell-quoted (in one pass: a replaced value is never expanded again).
pub fn expand_command(template: &str, subject: &str, scope: &str, password: &str) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    'outer: while !rest.is_empty() {
        for (name, value) in [
            ("{subject}", subject),
            ("{scope}", scope),
            ("{password}", password),
        ] {
            if let Some(after) = rest.strip_prefix(name) {
                out.push_str(&shell_quote(value));
                rest = after;
                continue 'outer;
            }
        }
        let mut chars = rest.chars();
        if let Some(c) = chars.next() {
            out.push(c);
        }
        rest = chars.as_str();
    }
    out
}

/// A refusing command's stderr for a reason: the password replaced by
/// `<password>`, control characters dropped, at most [`MAX_STDERR_CHARS`]
/// (the end, where the error usually is).
fn bounded_stderr(stderr: &[u8], password: &str) -> String {
    let mut text = String::from_utf8_lossy(stderr).into_owned();
    if !password.is_empty() {
        // Quoted first (as `sh -x` echoes it), then bare, then encoded
        // (JSON, percent-encoding, base64 of any text holding it).
        text = text
            .replace(&shell_quote(password), "<password>")
            .replace(password, "<password>");
        for form in crate::redact::encoded_forms(password) {
            text = text.replace(&form, "<password>");
        }
    }
    let text: String = text
        .trim()
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let count = text.chars().count();
    if count <= MAX_STDERR_CHARS {
        return text;
    }
    let tail: String = text.chars().skip(count - MAX_STDERR_CHARS).collect();
    format!("…{tail}")
}

/// The first static token whose `exp` is not after `now`, as a
/// configuration error naming its key.
fn expired_static(statics: &[Static], now: i64) -> Option<String> {
    statics.iter().find_map(|s| {
        let exp = jwt_expiry(&s.token)?;
        (exp <= now).then(|| static_expired_message(&s.key, exp, now))
    })
}

/// Seconds since the Unix epoch, as `exp` counts them.
pub fn unix_now() -> i64 {
    now()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The profile's expired and no-openid tokens are the first pool
    /// account's: made for it, refused (nothing to send) for another.
    #[tokio::test]
    async fn the_profiles_static_variants_are_the_first_accounts_only() {
        let mut profile =
            Profile::load(std::path::Path::new(crate::embedded::REFERENCE_PROFILE)).unwrap();
        profile.tokens.private_key = None;
        profile.tokens.expired_token = Some("static-expired".into());
        profile.tokens.no_openid_token = Some("static-no-openid".into());
        let first = profile.accounts.active().clone();
        let mut second = first.clone();
        second.subject = "carol".into();
        profile.accounts.active.push(second.clone());
        let mut factory = TokenFactory::new(&profile).unwrap();
        for (kind, token, key) in [
            (TokenKind::Expired, "static-expired", "tokens.expired_token"),
            (
                TokenKind::ProfileNoOpenid,
                "static-no-openid",
                "tokens.no_openid_token",
            ),
        ] {
            assert_eq!(factory.variant(&first, kind).await.unwrap(), token);
            match factory.variant(&second, kind).await {
                Err(TokenError::Unavailable(why)) => {
                    assert!(
                        why.starts_with(key) && why.contains("not of carol"),
                        "{why}"
                    )
                }
                other => panic!("{kind:?} for carol: {other:?}"),
            }
        }
    }

    #[test]
    fn command_placeholders_are_quoted_once() {
        assert_eq!(
            expand_command(
                "get {subject} {scope} {password}",
                "a b",
                "openid",
                "p'w{subject}"
            ),
            "get 'a b' openid 'p'\\''w{subject}'"
        );
    }

    #[test]
    fn stderr_is_redacted_and_bounded() {
        let s = bounded_stderr(b"login failed for Secret-Pw1\n", "Secret-Pw1");
        assert_eq!(s, "login failed for <password>");
        // Encoded as a command may print it: JSON-escaped, URL-encoded,
        // in an HTTP Basic header (base64 of `subject:password`).
        let pw = "Se\"cret Pw/1";
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("alice:{pw}"));
        let stderr = format!(
            "body {{\"password\":{}}} url p={} auth Basic {basic}\n",
            serde_json::Value::String(pw.into()),
            "Se%22cret+Pw%2F1"
        );
        let s = bounded_stderr(stderr.as_bytes(), pw);
        assert!(!s.contains("Se\\\"cret"), "{s}");
        assert!(!s.contains("Se%22cret"), "{s}");
        let inner = base64::engine::general_purpose::STANDARD_NO_PAD.encode(format!("ce:{pw}"));
        assert!(!s.contains(&inner[4..12]), "{s}");
        assert_eq!(s.matches("<password>").count(), 3, "{s}");
        let long = "x".repeat(2 * MAX_STDERR_CHARS);
        let s = bounded_stderr(long.as_bytes(), "");
        assert_eq!(s.chars().count(), MAX_STDERR_CHARS + 1);
        assert!(s.starts_with('…'));
    }
}
