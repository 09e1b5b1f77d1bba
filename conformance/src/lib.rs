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
//! Data flows cases → runner (one exchange per step) → checks → verdicts →
//! reporters.
//!
//! - [`catalogue`]: the vocabulary of cases: tiers, seed rows, open points,
//!   expected answers, the case record and its plan, lookup by ID.
//! - [`cases`]: the case families (`auth`, `tokens`, `http`, `user`,
//!   `password`, `policy`, `precedence`, `history`), each with its cases
//!   and the code that carries out its plans; the explicit run order.
//! - [`profile`]: the target profile (TOML): base URL, declared policy,
//!   lockout, token source, accounts.
//! - [`toml_error`]: a profile's TOML error as one line without values.
//! - [`tokens`]: minted, static or command tokens, and broken variants.
//! - [`jwks`]: the target's public keys (profile PEM, JWKS URL, discovery).
//! - [`forge`]: forged tokens for the token attacks.
//! - [`password`]: fresh passwords, policy breakers, policy edges.
//! - [`runner`]: what every case shares: steps (one checked exchange),
//!   the active account's state and the effects of each request, the
//!   lockout guard, verdicts; restores the original password.
//! - [`budget`]: the lockout budget: wrong old passwords spent against the
//!   profile's rule across the run (catalogue and properties alike).
//! - [`interrupt`]: SIGINT/SIGTERM: finish the request in flight, restore,
//!   exit 128 + signal.
//! - [`state`]: the state file that lets an interrupted run resume, its
//!   lock, and its atomic writes.
//! - [`exchange`]: one HTTP/1.1 exchange per step (the endpoint, request,
//!   response with its retries), its redacted record and its curl command.
//! - [`client`]: the run's HTTP client: kept-alive connections, proxies,
//!   TLS and client certificates, fixed headers, no redirects.
//! - [`pacing`]: at most `--rate` requests per second.
//! - [`retry`]: 429/503 with `Retry-After` waited out, within a bound.
//! - [`envref`]: `${NAME}` in profile values, read from the environment.
//! - [`checks`]: status, media type, JSON members, bearer challenges.
//! - [`media_type`]: `Content-Type` parsed per RFC 9110.
//! - [`challenge`]: `WWW-Authenticate` parsed per RFC 7235 (http-auth).
//! - [`verdict`]: checks weighed by tier into verdicts and counts.
//! - [`baseline`]: expected failures with reasons; stale entries fail.
//! - [`redact`]: passwords and tokens replaced by labels in all output.
//! - [`terminal`]: what a target sends, its control characters escaped
//!   before it reaches a terminal, a log or a text file.
//! - [`report`]: the run report as a tree, JSON, JUnit XML or HTML.
//! - [`output`]: a rendered report to stdout or its file (0600 with
//!   secrets).
//! - [`properties`]: generated properties (policy oracle, account model,
//!   hostile inputs) under proptest, run with `--properties`; `replay`
//!   plays account-model sequences generated once for a diff.
//! - [`diff`]: `conformance diff`, two targets run with the same catalogue
//!   and sequences, every difference of behaviour (text, JSON, HTML).
//! - [`embedded`]: the reference server started in-process.
//! - [`init`]: `conformance init`, a starter profile from OpenID discovery.
//! - [`cli`]: `conformance [run]`, `conformance list`, `conformance init`.

pub mod baseline;
pub mod budget;
pub mod cases;
pub mod catalogue;
pub mod challenge;
pub mod checks;
pub mod cli;
pub mod client;
pub mod diff;
pub mod embedded;
pub mod envref;
pub mod exchange;
pub mod forge;
pub mod init;
pub mod interrupt;
pub mod jwks;
pub mod media_type;
pub mod output;
pub mod pacing;
pub mod password;
pub mod profile;
pub mod properties;
pub mod redact;
pub mod report;
pub mod retry;
pub mod runner;
pub mod state;
pub mod terminal;
pub mod tokens;
pub mod toml_error;
pub mod verdict;
