//! Conformance suite for Tencent Cloud CIAM `POST /change_user_password`.
//!
//! The suite is the vendor document's oracle: every expectation is written
//! here from the document (rows S1–S11) and from the RFCs it leans on, never
//! taken from the reference server. It runs against the embedded reference
//! server (the default) or any target described by a profile, and reports
//! per case with a tier: `seed` (the document: fails the run), `rfc` (RFC
//! 6750/7235/9110: a warning, a failure under `--strict`) and `reference`
//! (what the document leaves open, as the reference server decided:
//! information for external targets, enforced for the embedded server and
//! under `--strict`).
//!
//! # Layout
//!
//! Layers, bottom up; each imports only the ones below it
//! (`shared/tools/import-circles.py conformance/src` checks it). Data
//! flows cases → session (one exchange per step) → checks → verdicts →
//! runner → reporters.
//!
//! Vocabulary (imports nothing of the crate):
//! - [`vocabulary`]: tiers, seed rows, open points, expected answers
//!   ([`vocabulary::terms`]); each family's plan, the case record, the
//!   generated properties ([`vocabulary::plans`]).
//!
//! Target (the description of the target and the transport):
//! - [`file_error`]: the error of a profile, state file or baseline.
//! - [`wire`]: a request, a response, a transport error.
//! - [`terminal`]: what a target sends, its control characters escaped
//!   before it reaches a terminal, a log or a text file.
//! - [`toml_error`]: a profile's TOML error as one line without values.
//! - [`client`]: the run's HTTP client: kept-alive connections, proxies,
//!   TLS and client certificates, fixed headers, no redirects.
//! - [`pacing`]: at most `--rate` requests per second.
//! - [`retry`]: 429/503 with `Retry-After` waited out, within a bound.
//! - [`exchange`]: the target's endpoint, one exchange, its redacted
//!   record and its curl command.
//! - [`envref`]: `${NAME}` in profile values, read from the environment.
//! - [`profile`]: the target profile (TOML): base URL, declared policy,
//!   lockout, token source, accounts, and its own validation.
//! - [`schema`]: the profile's JSON Schema, derived from its types.
//! - [`tokens`]: minted, static or command tokens, and broken variants.
//! - [`renewal`]: a request's token taken again after every wait, just
//!   before it goes out.
//! - [`jwks`]: the target's public keys (profile PEM, JWKS URL, discovery).
//! - [`forge`]: forged tokens for the token attacks.
//! - [`password`]: fresh passwords, policy breakers, policy edges.
//! - [`transformed`]: what a target may have stored instead of a new
//!   password (trimmed, case folded, normalised, cut), most likely first.
//! - [`redact`]: passwords and tokens replaced by labels in all output.
//!
//! Toolkit (the session):
//! - [`media_type`], [`challenge`], [`checks`]: status, media type, JSON
//!   members, bearer challenges (RFC 9110, RFC 7235).
//! - [`verdict`]: checks weighed by tier into verdicts and counts.
//! - [`revocation`]: an account's token refused right after the run
//!   changed its password (open point 10): taken again for one resend, or
//!   not determined for a static token.
//! - [`budget`]: the lockout budget: wrong old passwords spent against the
//!   profile's rule across the run (catalogue and properties alike).
//! - [`state`]: the state file that lets an interrupted run resume, its
//!   lock, and its atomic writes.
//! - [`interrupt`]: SIGINT/SIGTERM: finish the request in flight, restore,
//!   exit 128 + signal.
//! - [`session`]: what every case shares: the run's state (the active and
//!   other accounts, saved before every request that may change them),
//!   the steps of a case, effects, the lockout guard, the batched
//!   confirmation, resuming and restoring.
//!
//! Families:
//! - [`cases`]: the case families (`auth`, `tokens`, `http`, `user`,
//!   `password`, `policy`, `precedence`, `history`), each with its cases
//!   and the code that carries out its plans; the explicit run order.
//! - [`properties`]: generated properties (policy oracle, account model,
//!   hostile inputs) under proptest, run with `--properties`; `replay`
//!   plays account-model sequences generated once for a diff.
//!
//! Runner:
//! - [`plan`]: the plan of a run, from the profile alone: which cases run
//!   or are skipped and why, the lockout budget given to the seed rows
//!   first, the estimate of the run's length; `conformance plan`.
//! - [`runner`]: carries the plan out, batches confirmations, hands the
//!   account to the properties and back, restores.
//! - [`embedded`]: the reference server started in-process.
//!
//! Surface:
//! - [`baseline`]: expected failures with reasons; stale entries fail.
//! - [`report`]: the run report as a tree, JSON, JUnit XML or HTML.
//! - [`output`]: a rendered report to stdout or its file (0600 with
//!   secrets).
//! - [`diff`]: `conformance diff`, two targets run with the same catalogue
//!   and sequences, every difference of behaviour (text, JSON, HTML).
//! - [`init`]: `conformance init`, a starter profile from OpenID discovery.
//! - [`command`]: what the commands share (error, case selection).
//! - [`cli`]: `conformance [run]`, `conformance list`, `conformance init`.

pub mod baseline;
pub mod budget;
pub mod cases;
pub mod challenge;
pub mod checks;
pub mod cli;
pub mod client;
pub mod command;
pub mod diff;
pub mod embedded;
pub mod envref;
pub mod exchange;
pub mod file_error;
pub mod forge;
pub mod init;
pub mod interrupt;
pub mod jwks;
pub mod media_type;
pub mod output;
pub mod pacing;
pub mod password;
pub mod plan;
pub mod preconnect;
pub mod profile;
pub mod properties;
pub mod redact;
pub mod renewal;
pub mod report;
pub mod retry;
pub mod revocation;
pub mod runner;
pub mod schema;
pub mod session;
pub mod state;
pub mod terminal;
pub mod tokens;
pub mod toml_error;
pub mod transformed;
pub mod verdict;
pub mod verified;
pub mod vocabulary;
pub mod wire;
