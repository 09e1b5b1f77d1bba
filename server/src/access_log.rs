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
//!
//! The line has the layout of the `tracing` formatter the rest of the
//! server's log uses (`2026-12-07T15:52:56.452435Z  INFO
//! server::access_log: request method=POST … elapsed_us=28`, string fields
//! quoted and escaped as `Debug` does) and obeys the same `RUST_LOG`
//! filter (target `server::access_log`), but is written here, into one
//! reused buffer per thread with one `write` to stderr, instead of through
//! the formatter: on the cheapest answers (S9, a cached S11) the generic
//! formatter's field visiting and timestamp formatting cost as much as a
//! fifth of the server's CPU per request (BENCHMARKS.md, issue 19). Two
//! differences remain: access lines are never coloured (the formatter
//! colours its lines on a terminal), and a `RUST_LOG` directive that
//! names fields (`server[{status}]=info`) is asked without them, so it
//! does not hold back a line that lacks the field.
//! A password change runs in a task of its own: if hyper dropped the
//! handler (the client hung up) before that task ended, the task writes
//! the line ([`abandoned`]). A request whose handler hyper drops before
//! the change was handed to its task gets no line (as before this module).

use std::cell::RefCell;
use std::fmt::Write as _;
use std::io::Write as _;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

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
    if !tracing::enabled!(target: TARGET, tracing::Level::INFO) {
        return;
    }
    write_line(|line| {
        line.push_str("request method=");
        line.push_str(method.as_str());
        line.push_str(" path=");
        push_path(line, path);
        let _ = write!(line, " status={status} outcome={outcome}");
        fields(line, note);
        let _ = write!(line, " elapsed_us={}", elapsed.as_micros() as u64);
    });
}

/// The line of a password change whose client left before the answer
/// (the change ran to its end all the same).
pub fn abandoned(result: &Result<(), Rejection>, note: &Note) {
    if !tracing::enabled!(target: TARGET, tracing::Level::INFO) {
        return;
    }
    write_line(|line| {
        line.push_str("request abandoned by the client outcome=");
        line.push_str(outcome(result, "changed"));
        fields(line, note);
    });
}

/// Appends `path` (at most 128 characters, `http::truncate`) with every
/// byte that is not visible ASCII, and `"` and `%`, percent-encoded: the
/// URI parser admits any UTF-8 in a path, so a client could otherwise put
/// U+0085, U+2028 or an 8-bit terminal control (U+009B) into the log. An
/// ordinary ASCII path is written as it is.
fn push_path(line: &mut String, path: &str) {
    for b in path.bytes() {
        if b.is_ascii_graphic() && b != b'"' && b != b'%' {
            line.push(char::from(b));
        } else {
            let _ = write!(line, "%{b:02X}");
        }
    }
}

/// The target the lines are filtered and labelled by.
const TARGET: &str = "server::access_log";

/// The note's fields, in the order the line always had them; strings
/// quoted and escaped (`Debug`): a subject is what a token says.
fn fields(line: &mut String, note: &Note) {
    if let Some(reason) = note.reason {
        let _ = write!(line, " reason={reason:?}");
    }
    if let Some(subject) = &note.subject {
        let _ = write!(line, " subject={subject:?}");
    }
    if let Some(attempts) = note.attempts {
        let _ = write!(line, " attempts={attempts}");
    }
    let _ = write!(line, " argon2={}", note.argon2);
}

thread_local! {
    /// This thread's line buffer and the second its timestamp prefix is of.
    static LINE: RefCell<(String, u64, String)> = const {
        RefCell::new((String::new(), u64::MAX, String::new()))
    };
}

/// Writes one line: the timestamp, level and target, then what `body`
/// appends, then a newline, in one `write` to stderr (a failed write is
/// dropped, as the formatter drops it).
fn write_line(body: impl FnOnce(&mut String)) {
    LINE.with(|cell| {
        let Ok(mut guard) = cell.try_borrow_mut() else {
            return;
        };
        let (line, second, prefix) = &mut *guard;
        line.clear();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        if now.as_secs() != *second {
            *second = now.as_secs();
            prefix.clear();
            civil_time(prefix, now.as_secs());
        }
        line.push_str(prefix);
        let _ = write!(line, ".{:06}Z  INFO {TARGET}: ", now.subsec_micros());
        body(line);
        line.push('\n');
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
        if line.capacity() > 4096 {
            *line = String::new();
        }
    });
}

/// `YYYY-MM-DDTHH:MM:SS` (UTC) of `secs` since the Unix epoch (the
/// days-to-civil algorithm of Howard Hinnant's `chrono`-compatible date
/// library, proleptic Gregorian calendar).
fn civil_time(out: &mut String, secs: u64) {
    let days = (secs / 86_400) as i64;
    let in_day = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let _ = write!(
        out,
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
        in_day / 3_600,
        in_day / 60 % 60,
        in_day % 60
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_time_matches_known_dates() {
        for (secs, expected) in [
            (0, "1970-01-01T00:00:00"),
            (951_782_400, "2000-02-29T00:00:00"),
            (1_709_208_000, "2024-02-29T12:00:00"),
            (1_798_761_599, "2026-12-31T23:59:59"),
            (4_102_444_800, "2100-01-01T00:00:00"),
        ] {
            let mut out = String::new();
            civil_time(&mut out, secs);
            assert_eq!(out, expected, "{secs}");
        }
    }

    /// Every second of a 400-year cycle's days agrees with a day-by-day
    /// count (leap years by the Gregorian rule).
    #[test]
    fn civil_time_agrees_with_counting_days() {
        let (mut y, mut m, mut d) = (1970i64, 1i64, 1i64);
        for day in 0..146_097u64 {
            let mut out = String::new();
            civil_time(&mut out, day * 86_400 + 3_661);
            assert_eq!(out, format!("{y:04}-{m:02}-{d:02}T01:01:01"));
            let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
            let len = [
                31,
                if leap { 29 } else { 28 },
                31,
                30,
                31,
                30,
                31,
                31,
                30,
                31,
                30,
                31,
            ];
            d += 1;
            if d > len[(m - 1) as usize] {
                d = 1;
                m += 1;
                if m > 12 {
                    m = 1;
                    y += 1;
                }
            }
        }
    }

    #[test]
    fn fields_quote_and_escape_what_a_token_says() {
        let note = Note {
            reason: Some("bad signature"),
            subject: Some("eve\n2026-01-01T00:00:00Z  INFO forged=\"1\"".into()),
            attempts: Some(2),
            argon2: 3,
        };
        let mut line = String::new();
        fields(&mut line, &note);
        assert_eq!(
            line,
            r#" reason="bad signature" subject="eve\n2026-01-01T00:00:00Z  INFO forged=\"1\"" attempts=2 argon2=3"#
        );
        assert!(!line.contains('\n'));
    }

    /// A path is hostile input: anything but visible ASCII (and `"`, `%`)
    /// is percent-encoded, so no path can end a line, forge a field or
    /// reach a terminal as a control.
    #[test]
    fn paths_cannot_break_or_forge_a_line() {
        for (path, expected) in [
            ("/change_user_password", "/change_user_password"),
            ("/a\u{85}b", "/a%C2%85b"),
            ("/a\u{2028}b", "/a%E2%80%A8b"),
            ("/x\u{9b}31m", "/x%C2%9B31m"),
            ("/a b\"c%d\n", "/a%20b%22c%25d%0A"),
        ] {
            let mut line = String::new();
            push_path(&mut line, path);
            assert_eq!(line, expected);
        }
    }
}
