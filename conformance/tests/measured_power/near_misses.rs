//! The rows of the near-miss fakes (issue 18): a defect for each
//! comparison the catalogue probes both ways (`docs/catalogue.md`, "Near
//! misses"), the lone-surrogate 500, and legitimate choices (a `kid`
//! matched ignoring case, 503 with an HTTP-date `Retry-After`); and a
//! target that closes idle kept-alive connections after 50 ms.

use super::{Row, decision, defect, same};
use crate::fakes::Quirk::*;

pub(super) fn rows() -> Vec<Row> {
    vec![
        defect(
            "old-password-first-4",
            OldPasswordFirst4,
            "old password compared on its first 4 characters",
            &["password.exact.last-character-changed"],
        ),
        defect(
            "old-password-prefix",
            OldPasswordPrefixAccepted,
            "a prefix of the current password accepted as the old one",
            &["password.exact.one-character-fewer", "password.exact.empty"],
        ),
        defect(
            "old-password-extension",
            OldPasswordExtensionAccepted,
            "an old password that starts with the current one accepted",
            &["password.exact.one-character-more"],
        ),
        defect(
            "old-password-nul-terminated",
            OldPasswordNulTerminated,
            "old password read up to a NUL (a C string)",
            &["password.exact.nul-suffix"],
        ),
        defect(
            "old-password-first-char-skipped",
            OldPasswordFirstCharSkipped,
            "old password compared from its second character",
            &["password.exact.first-character-changed"],
        ),
        defect(
            "old-password-spaces-ignored",
            OldPasswordSpacesIgnored,
            "old password compared without its spaces",
            &["password.exact.inner-space"],
        ),
        defect(
            "empty-old-password-accepted",
            EmptyOldPasswordAccepted,
            "an empty old password skips the check",
            &["password.exact.empty"],
        ),
        defect(
            "duplicate-case-insensitive",
            DuplicateCaseInsensitive,
            "new = current compared case-insensitively (duplicate_password)",
            &["password.not-duplicate.case-changed"],
        ),
        defect(
            "duplicate-by-prefix",
            DuplicateByPrefix,
            "a new password starting with the current one is a duplicate",
            &["password.not-duplicate.one-character-more"],
        ),
        defect(
            "history-case-insensitive",
            HistoryCaseInsensitive,
            "history compared case-insensitively (recurrent_password)",
            &["history.not-recurrent.case-changed"],
        ),
        // RFC 6749 §3.3, not the document, makes scope values
        // case-sensitive: caught at rfc tier (the findings column).
        decision(
            "scope-case-insensitive",
            ScopeCaseInsensitive,
            "`OPENID` counts as openid",
            "scope case: RFC 6749 §3.3, an rfc-tier finding",
            same,
        ),
        decision(
            "similar-refused-by-policy",
            SimilarRefusedByPolicy,
            "a new password equal to the current or a previous one but for case: \
             invalid_new_password",
            "open point 5: a policy may refuse a too similar password",
            same,
        ),
        decision(
            "malformed-old-invalid-request",
            MalformedOldInvalidRequest,
            "an empty old password, or one with a NUL: invalid_request",
            "open point 6: a malformed member",
            same,
        ),
        defect(
            "scope-substring",
            ScopeSubstring,
            "any scope value containing openid counts",
            &["auth.insufficient-scope.openid-suffix"],
        ),
        defect(
            "scope-spaces-removed",
            ScopeSpacesRemoved,
            "scope values compared without their spaces (`open id` counts)",
            &["auth.insufficient-scope.openid-inner-space"],
        ),
        defect(
            "scope-first-only",
            ScopeFirstOnly,
            "only the first scope value is looked at",
            &["auth.scope.openid-middle", "auth.scope.openid-last"],
        ),
        defect(
            "scope-last-only",
            ScopeLastOnly,
            "only the last scope value is looked at",
            &["auth.scope.openid-middle"],
        ),
        defect(
            "obeys-body-account",
            ObeysBodyAccount,
            "`user_id`, `sub`, `username`, `uid` or `email` in the body picks the account",
            &[
                "body.other-account.user-id",
                "body.other-account.sub",
                "body.other-account.username",
                "body.other-account.uid",
                "body.other-account.email",
            ],
        ),
        defect(
            "500-on-lone-surrogate",
            Status500OnLoneSurrogate,
            "500 to a lone surrogate escape (`\\ud800`) in a JSON string",
            &[
                "body.lone-surrogate.old-password",
                "body.lone-surrogate.new-password",
            ],
        ),
        // The token's comparisons (issue 18 point 5): its time claims,
        // its `kid`, its subject.
        defect(
            "expiry-from-iat",
            ExpiryFromIat,
            "`exp` ignored, the token's age read from `iat` (an hour at most)",
            &["auth.invalid-token.expired-minutes-ago"],
        ),
        defect(
            "expiring-soon-refused",
            ExpiringSoonRefused,
            "tokens with less than two minutes left refused (a leeway applied the wrong way)",
            &["auth.token.expires-soon"],
        ),
        defect(
            "kidless-not-verified",
            KidlessNotVerified,
            "a token without a `kid`, or with an empty one, is not verified",
            &[
                "auth.invalid-token.unpublished-key-empty-kid",
                "auth.invalid-token.unpublished-key-no-kid",
            ],
        ),
        // Which key a `kid` picks is open point 9: a case-insensitive
        // match is a reference finding, and a key the target does not
        // publish is still refused under any spelling of the `kid`.
        decision(
            "kid-case-insensitive",
            KidCaseInsensitive,
            "a `kid` differing in letter case picks the key (the signature still verified)",
            "open point 9: keys chosen by `kid`, a reference finding",
            same,
        ),
        defect(
            "subject-collated",
            SubjectCollated,
            "the subject looked up ignoring letter case and trailing spaces (MySQL's default \
             collation)",
            &["auth.subject.case-changed", "auth.subject.trailing-space"],
        ),
        decision(
            "busy-503-http-date",
            Busy503HttpDate,
            "every 97th request answered 503 with `Retry-After` as an HTTP-date",
            "overload: RFC 9110 §10.2.3 allows an HTTP-date",
            same,
        ),
    ]
}

/// A target that closes kept-alive connections idle for 50 ms is a
/// legitimate choice. A request sent on a pooled connection the target is
/// closing at that moment loses its answer, and for a change the suite
/// cannot tell that from a target that applied it and died; so the client
/// sends every request that could change a password on a connection of
/// its own, and only the safe ones (the keys, discovery) on kept-alive
/// connections, resent once when one turns out closed
/// ([`conformance::client::may_resend`]). Six runs at once, as under load;
/// before that, 10–40 cases failed at seed tier on lost answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_closed_quickly_pass() {
    let row = super::decision(
        "close-idle-quickly",
        CloseIdleQuickly,
        "keep-alive connections idle for 50 ms are closed",
        "connections: the document says nothing of them",
        same,
    );
    let runs: Vec<_> = (0..6)
        .map(|_| {
            tokio::spawn(async move {
                let row = super::decision("close-idle-quickly", CloseIdleQuickly, "", "", same);
                super::run_one(&row).await.failed
            })
        })
        .collect();
    for r in runs {
        let failed = r.await.unwrap();
        assert!(failed.is_empty(), "{}: {failed:?}", row.name);
    }
}
