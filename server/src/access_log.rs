//! The access log: exactly one `info` line per request, written when its
//! answer is ready. The line says what happened (`outcome`: the answer's
//! code, see [`Rejection::code`], or `changed`/`ok`/`preflight`), why when
//! there is more to say (`reason`: why a token was refused, which policy
//! rule a new password broke), whose account (`subject`, once a verified
//! token named it), the lockout count after a wrong old password
//! (`attempts`, 0 once it locked), how many argon2 evaluations the request
//! caused (`argon2`), the status and the latency in microseconds. Never a
//! token, a password or a body.
//!
//! The handlers fill a [`Note`] along the way; [`request`] writes the line.
//! A password change runs in a task of its own: if hyper dropped the
//! handler (the client hung up) before that task ended, the task writes
//! the line ([`abandoned`]). A request whose handler hyper drops before
//! the change was handed to its task gets no line (as before this module).

use std::time::Duration;

use http::Method;

use crate::rejection::Rejection;

/// What the handlers learned about one request, for its log line.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Note {
    /// Why, beyond the outcome (a token's refusal reason, a policy rule).
    pub reason: Option<&'static str>,
    /// The subject of the verified token.
    pub subject: Option<String>,
    /// Consecutive failures after a wrong old password (0: it locked).
    pub attempts: Option<i64>,
    /// argon2 evaluations this request caused.
    pub argon2: u32,
}

/// The outcome code of an answer: the rejection's code, or `ok_code` when
/// the request succeeded.
pub fn outcome(result: &Result<(), Rejection>, ok_code: &'static str) -> &'static str {
    match result {
        Ok(()) => ok_code,
        Err(rejection) => rejection.code(),
    }
}

/// The line of an answered request.
pub fn request(
    method: &Method,
    path: &str,
    status: u16,
    outcome: &'static str,
    note: &Note,
    elapsed: Duration,
) {
    tracing::info!(
        %method,
        %path,
        status,
        %outcome,
        reason = note.reason,
        subject = note.subject.as_deref(),
        attempts = note.attempts,
        argon2 = note.argon2,
        elapsed_us = elapsed.as_micros() as u64,
        "request"
    );
}

/// The line of a password change whose client left before the answer
/// (the change ran to its end all the same).
pub fn abandoned(result: &Result<(), Rejection>, note: &Note) {
    tracing::info!(
        outcome = %outcome(result, "changed"),
        reason = note.reason,
        subject = note.subject.as_deref(),
        attempts = note.attempts,
        argon2 = note.argon2,
        "request abandoned by the client"
    );
}
