//! `conformance init`: a starter target profile in one command.
//!
//! Reads the OpenID discovery document at `{issuer}/.well-known/openid-configuration`,
//! fetches the JWKS its `jwks_uri` names, and writes a profile in which
//! every key has a comment: what discovery could fill is filled (`base_url`
//! from `--base-url`, `tokens.issuer`, `tokens.algorithm` and `tokens.kid`
//! from the first signing key the suite can mint for, the `jwks_uri` and
//! every key as comments), what only the vendor knows is left as a
//! commented placeholder saying what to put there, and each optional key
//! names the cases its absence leaves skipped. Without network access to
//! the issuer it says so and writes the template anyway.
//!
//! Its first line is taplo's `#:schema ./profile.schema.json`; with
//! `--output`, the schema ([`crate::schema`]) is written beside the profile.
//!
//! The placeholders that the profile loader insists on are marked
//! `REQUIRED`: until they are filled, loading the file fails with an error
//! naming the missing key (`subject`, `password`, a token source).
//!
//! This module owns the discovery/JWKS probe and the template text; the
//! HTTP exchange is [`crate::exchange`]'s, the profile's keys are
//! [`crate::profile`]'s.

use std::fmt::{self, Write as _};
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use http::{HeaderName, HeaderValue, Method};
use serde::Deserialize;

use crate::exchange::{self, Endpoint, Request};
use crate::schema::{SCHEMA_DIRECTIVE, SCHEMA_FILE};
use crate::terminal;

/// Where OpenID Connect Discovery 1.0 §4 puts the document, below the issuer.
pub const DISCOVERY_PATH: &str = "/.well-known/openid-configuration";

/// Options of `init`.
#[derive(Debug, Clone, Args)]
pub struct InitArgs {
    /// The issuer: `{issuer}/.well-known/openid-configuration` is read.
    #[arg(long, value_name = "URL")]
    pub issuer: String,
    /// Where `/change_user_password` is served (`base_url` of the profile)
    /// [default: the issuer's origin, marked as a guess].
    #[arg(long, value_name = "URL")]
    pub base_url: Option<String>,
    /// Write the profile here (refuses to overwrite) instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Timeout of each request, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 10)]
    pub timeout: u64,
    /// Allow a clear-text http issuer off the loopback interface (refused
    /// otherwise: the keys the profile trusts would come unauthenticated).
    #[arg(long)]
    pub allow_insecure_http: bool,
}

/// Why `init` could not write a profile.
#[derive(Debug)]
#[non_exhaustive]
pub enum InitError {
    /// `--issuer` or `--base-url` is not an http(s) URL.
    BadUrl {
        /// Which flag.
        flag: &'static str,
        /// What is wrong.
        message: String,
    },
    /// `--output` names a file that exists.
    OutputExists(PathBuf),
    /// The profile could not be written.
    Write {
        /// The file.
        file: PathBuf,
        /// The error.
        error: std::io::Error,
    },
}

impl fmt::Display for InitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InitError::BadUrl { flag, message } => write!(f, "{flag}: {message}"),
            InitError::OutputExists(file) => write!(
                f,
                "--output {}: the file exists; remove it or choose another name",
                file.display()
            ),
            InitError::Write { file, error } => write!(f, "{}: {error}", file.display()),
        }
    }
}

impl std::error::Error for InitError {}

/// One key of the JWKS, as the template lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInfo {
    /// `kid`, if the key has one.
    pub kid: Option<String>,
    /// `kty` (`RSA`, `EC`, …).
    pub kty: String,
    /// `alg`, if the key names one.
    pub alg: Option<String>,
    /// `crv` of EC keys.
    pub crv: Option<String>,
    /// `use` (`sig`, `enc`), if given.
    pub usage: Option<String>,
}

impl KeyInfo {
    /// The algorithm the suite would mint with for this key: the key's own
    /// `alg` when the suite supports it, else RS256 for RSA and ES256/ES384
    /// for P-256/P-384; `None` for encryption keys and others.
    pub fn suite_algorithm(&self) -> Option<String> {
        if self.usage.as_deref() == Some("enc") {
            return None;
        }
        if let Some(alg) = &self.alg {
            return crate::profile::parse_algorithm(alg).map(|_| alg.clone());
        }
        match (self.kty.as_str(), self.crv.as_deref()) {
            ("RSA", _) => Some("RS256".into()),
            ("EC", Some("P-256")) => Some("ES256".into()),
            ("EC", Some("P-384")) => Some("ES384".into()),
            _ => None,
        }
    }

    /// `kid dev-rs256: RSA, alg RS256, use sig`.
    pub fn describe(&self) -> String {
        let mut s = match &self.kid {
            Some(kid) => format!("kid {}: {}", one_line(kid), one_line(&self.kty)),
            None => format!("(no kid): {}", one_line(&self.kty)),
        };
        if let Some(crv) = &self.crv {
            let _ = write!(s, " {}", one_line(crv));
        }
        match (&self.alg, self.suite_algorithm()) {
            (Some(alg), _) => {
                let _ = write!(s, ", alg {}", one_line(alg));
            }
            (None, Some(alg)) => {
                let _ = write!(s, ", no alg (the suite would use {alg})");
            }
            (None, None) => s.push_str(", no alg"),
        }
        if let Some(u) = &self.usage {
            let _ = write!(s, ", use {}", one_line(u));
        }
        if self.suite_algorithm().is_none() {
            s.push_str(" (the suite cannot mint for this key)");
        }
        s
    }
}

/// What discovery found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discovered {
    /// The URL the discovery document was read from.
    pub discovery_url: String,
    /// `issuer` of the document.
    pub issuer: String,
    /// `jwks_uri` of the document.
    pub jwks_uri: String,
    /// `id_token_signing_alg_values_supported`, if listed.
    pub algorithms_supported: Vec<String>,
    /// The JWKS's keys, or why it could not be read.
    pub keys: Result<Vec<KeyInfo>, String>,
}

impl Discovered {
    /// The first key the suite can mint for, with its algorithm.
    pub fn signing_key(&self) -> Option<(&KeyInfo, String)> {
        self.keys
            .as_ref()
            .ok()?
            .iter()
            .find_map(|k| k.suite_algorithm().map(|a| (k, a)))
    }
}

#[derive(Deserialize)]
struct DiscoveryDocument {
    issuer: Option<String>,
    jwks_uri: Option<String>,
    #[serde(default)]
    id_token_signing_alg_values_supported: Vec<String>,
}

#[derive(Deserialize)]
struct Jwks {
    keys: Vec<Jwk>,
}

#[derive(Deserialize)]
struct Jwk {
    kty: String,
    kid: Option<String>,
    alg: Option<String>,
    crv: Option<String>,
    #[serde(rename = "use")]
    usage: Option<String>,
}

/// Splits an absolute URL into an endpoint (scheme and authority) and the
/// path (with its query).
fn split_url(url: &str) -> Result<(Endpoint, String), String> {
    let uri: http::Uri = url
        .parse()
        .map_err(|e| format!("{url:?} is not a URL: {e}"))?;
    let (Some(scheme), Some(authority)) = (uri.scheme_str(), uri.authority()) else {
        return Err(format!("{url:?} is not an absolute URL"));
    };
    let endpoint = Endpoint::parse(&format!("{scheme}://{authority}"))?;
    let path = uri
        .path_and_query()
        .map_or("/".to_string(), |p| p.as_str().to_string());
    Ok((endpoint, path))
}

/// `GET url`, expecting a 200 with a JSON body.
async fn get_json<T: for<'de> Deserialize<'de>>(url: &str, timeout: Duration) -> Result<T, String> {
    let (endpoint, path) = split_url(url)?;
    let request = Request {
        method: Method::GET,
        path,
        headers: vec![(
            HeaderName::from_static("accept"),
            HeaderValue::from_static("application/json"),
        )],
        body: Vec::new(),
    };
    let response = exchange::send(&endpoint, &request, timeout)
        .await
        .map_err(|e| format!("GET {url}: {e}"))?;
    if response.status != 200 {
        return Err(format!("GET {url}: status {}", response.status));
    }
    serde_json::from_slice(&response.body)
        .map_err(|e| format!("GET {url}: not the expected JSON: {e}"))
}

/// Reads the discovery document below `issuer` and the JWKS it names.
/// `Err` when the discovery document cannot be read (the issuer is
/// unreachable, answers something else than 200, or no usable document);
/// an unreachable JWKS is `Ok` with `keys` set to the error.
pub async fn discover(issuer: &str, timeout: Duration) -> Result<Discovered, String> {
    let discovery_url = format!("{}{DISCOVERY_PATH}", issuer.trim_end_matches('/'));
    let doc: DiscoveryDocument = get_json(&discovery_url, timeout).await?;
    let jwks_uri = doc
        .jwks_uri
        .ok_or_else(|| format!("{discovery_url}: no jwks_uri"))?;
    let keys = get_json::<Jwks>(&jwks_uri, timeout).await.map(|jwks| {
        jwks.keys
            .into_iter()
            .map(|k| KeyInfo {
                kid: k.kid,
                kty: k.kty,
                alg: k.alg,
                crv: k.crv,
                usage: k.usage,
            })
            .collect()
    });
    Ok(Discovered {
        discovery_url,
        issuer: doc.issuer.unwrap_or_else(|| issuer.to_string()),
        jwks_uri,
        algorithms_supported: doc.id_token_signing_alg_values_supported,
        keys,
    })
}

/// A comment-safe single line: what the target sent, its control
/// characters escaped ([`terminal::line`]).
fn one_line(s: &str) -> String {
    terminal::line(s).into_owned()
}

/// A TOML string literal, control characters escaped.
fn quoted(s: &str) -> String {
    terminal::toml_string(s)
}

/// The `scheme://authority` of a URL.
fn origin(url: &str) -> Option<String> {
    let uri: http::Uri = url.parse().ok()?;
    Some(format!("{}://{}", uri.scheme_str()?, uri.authority()?))
}

/// Optional keys and the cases their absence leaves skipped, as ID globs
/// over the catalogue (a unit test checks that every glob matches a case).
pub const SKIPPED_WITHOUT: &[(&str, &[&str])] = &[
    (
        "policy.min_length",
        &[
            "policy.too-short",
            "policy.min-length-accepted",
            "policy.short-after-normalization",
            "precedence.old-password-before-policy",
        ],
    ),
    (
        "policy.max_length",
        &[
            "policy.too-long",
            "policy.max-length-accepted",
            "policy.max-length-code-points",
        ],
    ),
    ("policy.require_lowercase", &["policy.no-lowercase"]),
    ("policy.require_uppercase", &["policy.no-uppercase"]),
    ("policy.require_digit", &["policy.no-digit"]),
    ("policy.require_symbol", &["policy.no-symbol"]),
    ("policy.history", &["history.*"]),
    (
        "policy.normalization",
        &[
            "policy.short-after-normalization",
            "policy.max-length-code-points",
        ],
    ),
    (
        "policy.reject_control_characters",
        &["policy.control-character"],
    ),
    ("lockout.max_failures", &["user.lockout-after-failures"]),
    ("limits.max_body_bytes", &["http.body-too-large"]),
    (
        "tokens.private_key",
        &[
            "auth.invalid-token.expired",
            "auth.invalid-token.wrong-issuer",
            "auth.invalid-token.wrong-audience",
            "auth.invalid-token.unknown-kid",
            "auth.invalid-token.not-yet-valid",
            "auth.insufficient-scope.no-scope-claim",
        ],
    ),
    (
        "tokens.untrusted_private_key",
        &["auth.invalid-token.untrusted-key"],
    ),
    (
        "accounts.frozen",
        &["user.frozen", "precedence.status-before-old-password"],
    ),
    ("accounts.locked", &["user.locked"]),
    ("accounts.frozen_and_locked", &["user.frozen-and-locked"]),
    ("accounts.lockable", &["user.lockout-after-failures"]),
    (
        "accounts.missing",
        &["user.not-found", "precedence.body-before-user"],
    ),
];

/// The case IDs `key`'s absence leaves skipped, comma-separated.
fn skipped_line(key: &str) -> String {
    let globs = SKIPPED_WITHOUT
        .iter()
        .find(|(k, _)| *k == key)
        .map_or(&[][..], |(_, g)| *g);
    let globs: Vec<String> = globs.iter().map(|g| g.to_string()).collect();
    let ids: Vec<&str> = crate::command::select(&globs)
        .map(|cases| cases.iter().map(|c| c.id).collect())
        .unwrap_or_default();
    format!("#   left out, skips: {}\n", ids.join(", "))
}

/// The starter profile. `discovered` is what discovery found, or why the
/// issuer could not be read.
pub fn template(
    issuer: &str,
    base_url: Option<&str>,
    discovered: &Result<Discovered, String>,
) -> String {
    let mut t = String::new();
    let w = &mut t;
    header(w, issuer, discovered);
    w.push('\n');
    base_url_line(w, issuer, base_url);
    policy_table(w);
    lockout_and_limits_tables(w);
    tokens_table(w, issuer, discovered);
    accounts_tables(w);
    t
}

/// The header: the `#:schema` line, how the profile was written and what
/// discovery found.
fn header(w: &mut String, issuer: &str, discovered: &Result<Discovered, String>) {
    let _ = writeln!(
        w,
        "{SCHEMA_DIRECTIVE}\n\
         # The line above points editors that read it (taplo, Even Better TOML) at the\n\
         # profile's JSON Schema beside this file: `init --output` writes it there, and\n\
         # `conformance schema > {SCHEMA_FILE}` writes it again (docs/profile.md)."
    );
    let _ = writeln!(
        w,
        "# Target profile written by `conformance init --issuer {}`.",
        one_line(issuer)
    );
    let _ = writeln!(
        w,
        "# Every key is documented in docs/profile.md. Lines marked REQUIRED must be\n\
         # filled (uncomment them) before the profile loads; every other commented key\n\
         # is optional, and the cases it names are reported skipped while it is left out."
    );
    match discovered {
        Ok(d) => {
            let _ = writeln!(w, "#\n# Discovery: {}", one_line(&d.discovery_url));
            let _ = writeln!(w, "#   issuer:   {}", one_line(&d.issuer));
            let _ = writeln!(w, "#   jwks_uri: {}", one_line(&d.jwks_uri));
            if !d.algorithms_supported.is_empty() {
                let _ = writeln!(
                    w,
                    "#   id_token_signing_alg_values_supported: {}",
                    one_line(&d.algorithms_supported.join(", "))
                );
            }
            match &d.keys {
                Ok(keys) if keys.is_empty() => {
                    let _ = writeln!(w, "#   JWKS: reachable, but it has no keys");
                }
                Ok(keys) => {
                    let _ = writeln!(w, "#   JWKS: reachable, {} key(s):", keys.len());
                    for k in keys {
                        let _ = writeln!(w, "#     {}", k.describe());
                    }
                }
                Err(e) => {
                    let _ = writeln!(w, "#   JWKS: NOT reachable: {}", one_line(e));
                }
            }
        }
        Err(e) => {
            let _ = writeln!(
                w,
                "#\n# The issuer could not be read ({}).\n\
                 # Nothing below comes from discovery: fill tokens.issuer, tokens.algorithm\n\
                 # and tokens.kid from your identity provider.",
                one_line(e)
            );
        }
    }
}

/// `base_url`: from --base-url, or the issuer's origin as a guess.
fn base_url_line(w: &mut String, issuer: &str, base_url: Option<&str>) {
    match base_url {
        Some(url) => {
            let _ = writeln!(
                w,
                "# Where POST /change_user_password is served (from --base-url).\nbase_url = {}",
                quoted(url)
            );
        }
        None => {
            let guess = origin(issuer).unwrap_or_else(|| "https://your.host".into());
            let _ = writeln!(
                w,
                "# Where POST /change_user_password is served. A GUESS (the issuer's origin;\n\
                 # init had no --base-url): check it.\nbase_url = {}",
                quoted(&guess)
            );
        }
    }
}

/// The `[policy]` table, every key a TODO.
fn policy_table(w: &mut String) {
    w.push_str(
        "\n# What the target enforces for the test accounts. Lengths are Unicode code points.\n[policy]\n",
    );
    for (key, example, what) in [
        ("min_length", "8", "fewest code points accepted"),
        ("max_length", "64", "most code points accepted"),
        (
            "require_lowercase",
            "true",
            "a lower-case letter is required",
        ),
        (
            "require_uppercase",
            "true",
            "an upper-case letter is required",
        ),
        ("require_digit", "true", "a digit is required"),
        (
            "require_symbol",
            "true",
            "a symbol is required (the harness uses `-`)",
        ),
        (
            "history",
            "5",
            "previous passwords that may not be reused (N, 1-128)",
        ),
        (
            "normalization",
            "\"nfc\"",
            "Unicode normalisation before the rules: nfc, nfkc or none",
        ),
        (
            "reject_control_characters",
            "true",
            "control characters are refused",
        ),
    ] {
        let _ = writeln!(w, "# {key} = {example}    # TODO: {what}");
        w.push_str(&skipped_line(&format!("policy.{key}")));
    }
    w.push_str(
        "# history_includes_current = false    # TODO: true when N counts the current password too\n",
    );
}

/// The `[lockout]` and `[limits]` tables, every key a TODO.
fn lockout_and_limits_tables(w: &mut String) {
    w.push_str("\n[lockout]\n");
    w.push_str(
        "# max_failures = 5    # TODO: wrong old passwords that lock an account; 0 = no lockout.\n\
         #   left out, the harness assumes 3 and stays below it\n\
         # counting = \"consecutive\"    # TODO: \"consecutive\" (a success resets the count) or \"window\";\n\
         #   left out, the strictest reading: failures never expire and a success resets nothing\n\
         # window_secs = 900    # TODO: with counting = \"window\", how long a failure counts\n",
    );
    w.push_str(&skipped_line("lockout.max_failures"));

    w.push_str("\n[limits]\n# max_body_bytes = 4096    # TODO: largest request body accepted\n");
    w.push_str(&skipped_line("limits.max_body_bytes"));
}

/// The `[tokens]` table, filled from discovery where it could be read.
fn tokens_table(w: &mut String, issuer: &str, discovered: &Result<Discovered, String>) {
    w.push_str(
        "\n# How the harness gets access tokens: minting with a private key the target trusts\n\
         # (every token case), or token_command, or a static accounts.active.token.\n[tokens]\n",
    );
    let signing = discovered.as_ref().ok().and_then(Discovered::signing_key);
    match discovered {
        Ok(d) => {
            let _ = writeln!(
                w,
                "issuer = {}    # filled: the discovery document's issuer",
                quoted(&d.issuer)
            );
            let _ = writeln!(
                w,
                "jwks_url = {}    # filled: the document's jwks_uri (the target's public keys: token attacks)",
                quoted(&d.jwks_uri)
            );
        }
        Err(_) => {
            let _ = writeln!(
                w,
                "issuer = {}    # from --issuer (discovery failed): check it",
                quoted(issuer)
            );
        }
    }
    match signing {
        Some((key, alg)) => {
            let _ = writeln!(
                w,
                "algorithm = {}    # filled: the first signing key of the JWKS the suite can mint for",
                quoted(&alg)
            );
            match &key.kid {
                Some(kid) => {
                    let _ = writeln!(
                        w,
                        "kid = {}    # filled: that key's kid; private_key must be its private half",
                        quoted(kid)
                    );
                }
                None => w.push_str("# kid = \"\"    # that key has no kid: leave it out\n"),
            }
        }
        None => {
            w.push_str(
                "# algorithm = \"RS256\"    # TODO: RS256, RS384, RS512, PS256, PS384, PS512, ES256 or ES384\n\
                 #   (no signing key of the JWKS was read)\n\
                 # kid = \"\"    # TODO: kid header of minted tokens\n",
            );
        }
    }
    w.push_str(
        "# private_key = \"keys/signing.pem\"    # REQUIRED (or token_command, or accounts.active.token):\n\
         #   PEM private key the target trusts (the private half of the key above), relative\n\
         #   to this file. Needs audience too.\n",
    );
    w.push_str(&skipped_line("tokens.private_key"));
    w.push_str(
        "# audience = \"your-client-id\"    # TODO (with private_key): `aud` of minted tokens, the client id\n\
         # scope_format = \"array\"    # array ([\"openid\"], the vendor's form) or string (RFC 9068)\n\
         # ttl_secs = 300\n\
         # untrusted_private_key = \"keys/untrusted.pem\"    # TODO: a key of the same algorithm the target does NOT trust\n",
    );
    w.push_str(&skipped_line("tokens.untrusted_private_key"));
    w.push_str(
        "# token_command = \"./get-token.sh {subject} {scope}\"    # instead of private_key: prints a token\n",
    );
}

/// The `[accounts.*]` tables: the active account and the optional ones.
fn accounts_tables(w: &mut String) {
    w.push_str(
        "\n# The account whose password the run changes many times and restores at the end.\n\
         [accounts.active]\n\
         # subject = \"test-user\"    # REQUIRED: the `sub` of its tokens\n\
         # password = \"its-current-password\"    # REQUIRED: its current password\n\
         # token = \"eyJ...\"    # a static token for it (instead of minting)\n",
    );
    for (table, what) in [
        ("frozen", "a frozen account (status FREEZE)"),
        ("locked", "a locked account (status LOCK)"),
        ("frozen_and_locked", "an account both frozen and locked"),
        (
            "lockable",
            "an active account the run LOCKS on purpose (needs password and lockout.max_failures)",
        ),
        ("missing", "a subject that does not exist"),
    ] {
        let _ = writeln!(
            w,
            "\n# TODO: {what}.\n# [accounts.{table}]\n# subject = \"\"\n# password = \"\""
        );
        w.push_str(&skipped_line(&format!("accounts.{table}")));
    }
}

/// A one-line summary of what discovery found, for stderr.
pub fn summary(issuer: &str, discovered: &Result<Discovered, String>) -> String {
    match discovered {
        Err(e) => format!(
            "init: cannot read the issuer's discovery document ({}); writing the template without it",
            one_line(e)
        ),
        Ok(d) => {
            let keys = match &d.keys {
                Ok(keys) => format!(
                    "JWKS {} reachable, {} key(s): {}",
                    one_line(&d.jwks_uri),
                    keys.len(),
                    keys.iter()
                        .map(KeyInfo::describe)
                        .collect::<Vec<_>>()
                        .join("; ")
                ),
                Err(e) => format!("JWKS NOT reachable: {}", one_line(e)),
            };
            let (shown, issuer_shown) = (one_line(issuer), one_line(&d.issuer));
            let mut s = format!("init: discovery at {shown}: issuer {issuer_shown}; {keys}");
            if d.issuer.trim_end_matches('/') != issuer.trim_end_matches('/') {
                s.push_str(&format!(
                    "\ninit: note: the document's issuer ({issuer_shown}) is not the URL given ({shown}); tokens must carry the document's"
                ));
            }
            s
        }
    }
}

/// Writes the profile's JSON Schema beside `profile` (where the template's
/// `#:schema` line points), unless a file of that name is there already;
/// returns the line that says which.
fn write_schema_beside(profile: &std::path::Path) -> Result<String, InitError> {
    let file = profile
        .parent()
        .unwrap_or(std::path::Path::new("."))
        .join(SCHEMA_FILE);
    if file.exists() {
        return Ok(format!(
            "init: {} exists, left as it is (`conformance schema > {}` refreshes it)",
            file.display(),
            file.display()
        ));
    }
    std::fs::write(&file, crate::schema::render()).map_err(|error| InitError::Write {
        file: file.clone(),
        error,
    })?;
    Ok(format!(
        "init: wrote {}, the profile's JSON Schema its #:schema line names",
        file.display()
    ))
}

/// Runs `init`: discovery, then the template to `--output` (and the
/// schema beside it) or stdout, the summary to stderr. Returns the exit
/// code (0: a profile was written, with or without discovery).
pub fn run_command(args: &InitArgs) -> Result<u8, InitError> {
    split_url(&args.issuer)
        .and_then(|(issuer, _)| issuer.refuse_clear_text(args.allow_insecure_http))
        .map_err(|message| InitError::BadUrl {
            flag: "--issuer",
            message,
        })?;
    if let Some(url) = &args.base_url {
        Endpoint::parse(url).map_err(|message| InitError::BadUrl {
            flag: "--base-url",
            message,
        })?;
    }
    if let Some(file) = &args.output
        && file.exists()
    {
        return Err(InitError::OutputExists(file.clone()));
    }
    let timeout = Duration::from_secs(args.timeout.max(1));
    let discovered = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt.block_on(discover(&args.issuer, timeout)),
        Err(e) => Err(format!("cannot start the runtime: {e}")),
    };
    eprintln!("{}", summary(&args.issuer, &discovered));
    let text = template(&args.issuer, args.base_url.as_deref(), &discovered);
    match &args.output {
        Some(file) => {
            std::fs::write(file, text).map_err(|error| InitError::Write {
                file: file.clone(),
                error,
            })?;
            eprintln!(
                "init: wrote {}; fill the REQUIRED lines, then: conformance --profile {}",
                file.display(),
                file.display()
            );
            eprintln!("{}", write_schema_beside(file)?);
        }
        None => print!("{text}"),
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_skip_glob_matches_a_case() {
        for (key, globs) in SKIPPED_WITHOUT {
            for g in *globs {
                let cases = crate::command::select(&[g.to_string()])
                    .unwrap_or_else(|e| panic!("{key}: {g}: {e}"));
                assert!(!cases.is_empty(), "{key}: {g} matches no case");
            }
        }
    }

    #[test]
    fn keys_map_to_suite_algorithms() {
        let key = |kty: &str, crv: Option<&str>, alg: Option<&str>, usage: Option<&str>| KeyInfo {
            kid: Some("k".into()),
            kty: kty.into(),
            alg: alg.map(Into::into),
            crv: crv.map(Into::into),
            usage: usage.map(Into::into),
        };
        assert_eq!(
            key("RSA", None, None, None).suite_algorithm().as_deref(),
            Some("RS256")
        );
        assert_eq!(
            key("RSA", None, Some("PS384"), None)
                .suite_algorithm()
                .as_deref(),
            Some("PS384")
        );
        assert_eq!(
            key("EC", Some("P-384"), None, None)
                .suite_algorithm()
                .as_deref(),
            Some("ES384")
        );
        assert_eq!(key("EC", Some("P-521"), None, None).suite_algorithm(), None);
        assert_eq!(key("RSA", None, None, Some("enc")).suite_algorithm(), None);
        assert_eq!(
            key("OKP", None, Some("EdDSA"), None).suite_algorithm(),
            None
        );
        assert!(
            key("OKP", None, Some("EdDSA"), None)
                .describe()
                .contains("cannot mint")
        );
    }

    #[test]
    fn comments_never_break_lines() {
        let d = Err("line one\nline two".to_string());
        let text = template("https://idp.example/\nx", None, &d);
        // Shown escaped (terminal::line), on the comment's one line.
        assert!(text.contains("line one\\nline two"), "{text}");
        assert!(!text.lines().any(|l| l == "x"), "{text}");
    }
}
