//! Waiting out rate limits: which answers are "come back later" rather than
//! an answer (429, and 503 with `Retry-After`), how long to wait
//! (`Retry-After` as delay-seconds or an HTTP-date, RFC 9110 §10.2.3), and
//! the bound on retries (a number and a total wait). The waits are recorded
//! on the response; they are never judged as the target's answer.

use std::time::{Duration, SystemTime};

use serde::Serialize;

/// Retries of one request at most, by default.
pub const DEFAULT_MAX_RETRIES: u32 = 5;
/// Total wait of one request at most, by default.
pub const DEFAULT_MAX_WAIT: Duration = Duration::from_secs(60);
/// The wait after a 429 without a usable `Retry-After`.
pub const DEFAULT_429_WAIT: Duration = Duration::from_secs(1);

/// The bound on waiting out 429 and 503 answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries of one request at most (0: never retry).
    pub max_retries: u32,
    /// Total wait of one request at most.
    pub max_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: DEFAULT_MAX_RETRIES,
            max_wait: DEFAULT_MAX_WAIT,
        }
    }
}

/// One answer that was waited out and retried.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Retry {
    /// 429 or 503.
    pub status: u16,
    /// The `Retry-After` value as received, if any.
    pub retry_after: Option<String>,
    /// How long the client waited before the next attempt.
    pub waited_ms: u64,
}

/// How long to wait before retrying an answer with `status` and
/// `retry_after`; `None` when the answer is the target's answer.
/// A 429 is always a rate limit (a missing or unusable `Retry-After` waits
/// [`DEFAULT_429_WAIT`]); a 503 only with a usable `Retry-After`.
pub fn wait_before_retry(
    status: u16,
    retry_after: Option<&str>,
    now: SystemTime,
) -> Option<Duration> {
    let parsed = retry_after.and_then(|v| parse_retry_after(v, now));
    match status {
        429 => Some(parsed.unwrap_or(DEFAULT_429_WAIT)),
        503 => parsed,
        _ => None,
    }
}

/// `Retry-After`: delay-seconds or an HTTP-date (a date in the past
/// means no wait).
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // Too many digits for a u64: as long as can be (the retry budget
        // then runs out: not determined, never judged).
        return Some(Duration::from_secs(
            value.parse::<u64>().unwrap_or(u64::MAX),
        ));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_endless_retry_after_is_as_long_as_can_be() {
        let now = SystemTime::now();
        assert_eq!(
            parse_retry_after("99999999999999999999999", now),
            Some(Duration::from_secs(u64::MAX))
        );
        assert_eq!(
            wait_before_retry(503, Some("99999999999999999999999"), now),
            Some(Duration::from_secs(u64::MAX))
        );
    }

    #[test]
    fn seconds_and_http_dates() {
        let now = httpdate::parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:40 GMT", now),
            Some(Duration::from_secs(3))
        );
        // A date in the past: retry at once.
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("-1", now), None);
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn which_answers_are_waited_out() {
        let now = SystemTime::now();
        assert_eq!(
            wait_before_retry(429, Some("2"), now),
            Some(Duration::from_secs(2))
        );
        assert_eq!(wait_before_retry(429, None, now), Some(DEFAULT_429_WAIT));
        assert_eq!(
            wait_before_retry(503, Some("1"), now),
            Some(Duration::from_secs(1))
        );
        // A 503 without Retry-After is an answer (the case judges it).
        assert_eq!(wait_before_retry(503, None, now), None);
        assert_eq!(wait_before_retry(503, Some("later"), now), None);
        assert_eq!(wait_before_retry(500, Some("1"), now), None);
        assert_eq!(wait_before_retry(200, Some("1"), now), None);
    }
}
