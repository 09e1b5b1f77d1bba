//! Every catalogue case against the target (the in-process reference
//! server by default, `CONFORMANCE_PROFILE` otherwise), one named rstest
//! case per case ID, each exchange snapshotted into `snapshots/<id>.snap`.

use rstest::rstest;
use serde::Serialize;

use conformance::checks::Weight;
use conformance::exchange::{BodyRecord, ExchangeRecord};
use conformance::report::tree;
use conformance::verdict::{CaseResult, Verdict};

use crate::support;

/// Response headers a snapshot keeps (others vary or do not matter).
const HEADERS: &[&str] = &["content-type", "www-authenticate", "allow", "date"];

#[derive(Serialize)]
struct Snapshot<'a> {
    id: &'a str,
    tier: &'a str,
    spec: &'a str,
    requirement: &'a str,
    decision: Option<&'a str>,
    verdict: Verdict,
    reason: Option<&'a str>,
    exchanges: Vec<SnapExchange<'a>>,
    checks: Vec<String>,
    notes: &'a [String],
}

#[derive(Serialize)]
struct SnapExchange<'a> {
    step: usize,
    purpose: &'a str,
    request: SnapRequest<'a>,
    response: Option<SnapResponse<'a>>,
}

#[derive(Serialize)]
struct SnapRequest<'a> {
    method: &'a str,
    path: &'a str,
    headers: Vec<String>,
    body: &'a BodyRecord,
}

#[derive(Serialize)]
struct SnapResponse<'a> {
    status: u16,
    headers: std::collections::BTreeMap<&'a str, &'a str>,
    body: &'a BodyRecord,
}

fn exchange(x: &ExchangeRecord) -> SnapExchange<'_> {
    SnapExchange {
        step: x.step,
        purpose: &x.purpose,
        request: SnapRequest {
            method: &x.request.method,
            path: &x.request.path,
            headers: x
                .request
                .headers
                .iter()
                .map(|(n, v)| format!("{n}: {v}"))
                .collect(),
            body: &x.request.body,
        },
        response: x.response.as_ref().map(|r| SnapResponse {
            status: r.status,
            headers: r
                .headers
                .iter()
                .filter(|(n, _)| HEADERS.contains(&n.as_str()))
                .map(|(n, v)| (n.as_str(), v.as_str()))
                .collect(),
            body: &r.body,
        }),
    }
}

fn snapshot(r: &CaseResult) -> Snapshot<'_> {
    Snapshot {
        id: r.id,
        tier: r.tier.as_str(),
        spec: &r.spec,
        requirement: r.requirement,
        decision: r.decision.as_deref(),
        verdict: r.verdict,
        reason: r.reason.as_deref(),
        exchanges: r.exchanges.iter().map(exchange).collect(),
        checks: r
            .checks
            .iter()
            .map(|c| {
                let weight = match c.weight {
                    Weight::Pass => "pass",
                    Weight::Fail => "FAIL",
                    Weight::Warn => "warn",
                    Weight::Info => "info",
                    Weight::Note => "note",
                };
                if c.weight == Weight::Note {
                    format!("step {} note: {}: {}", c.step, c.what, c.observed)
                } else {
                    format!(
                        "step {} {weight} [{}] {}: expected {}, observed {}",
                        c.step,
                        c.tier.as_str(),
                        c.what,
                        c.expected,
                        c.observed
                    )
                }
            })
            .collect(),
        notes: &r.notes,
    }
}

#[rstest]
#[case::auth_missing_token_no_header("auth.missing-token.no-header")]
#[case::auth_missing_token_other_scheme("auth.missing-token.other-scheme")]
#[case::auth_missing_token_empty_bearer("auth.missing-token.empty-bearer")]
#[case::auth_missing_token_several_headers("auth.missing-token.several-headers")]
#[case::auth_scheme_lower_case("auth.scheme.lower-case")]
#[case::auth_invalid_token_garbage("auth.invalid-token.garbage")]
#[case::auth_invalid_token_bad_signature("auth.invalid-token.bad-signature")]
#[case::auth_invalid_token_untrusted_key("auth.invalid-token.untrusted-key")]
#[case::auth_invalid_token_alg_none("auth.invalid-token.alg-none")]
#[case::auth_invalid_token_expired("auth.invalid-token.expired")]
#[case::auth_invalid_token_wrong_issuer("auth.invalid-token.wrong-issuer")]
#[case::auth_invalid_token_wrong_audience("auth.invalid-token.wrong-audience")]
#[case::auth_invalid_token_unknown_kid("auth.invalid-token.unknown-kid")]
#[case::auth_invalid_token_not_yet_valid("auth.invalid-token.not-yet-valid")]
#[case::auth_invalid_token_not_b64token("auth.invalid-token.not-b64token")]
#[case::auth_invalid_token_hs256_public_key_pem("auth.invalid-token.hs256-public-key-pem")]
#[case::auth_invalid_token_hs384_public_key_pem("auth.invalid-token.hs384-public-key-pem")]
#[case::auth_invalid_token_hs512_public_key_pem("auth.invalid-token.hs512-public-key-pem")]
#[case::auth_invalid_token_hs256_public_key_jwk("auth.invalid-token.hs256-public-key-jwk")]
#[case::auth_invalid_token_hs384_public_key_jwk("auth.invalid-token.hs384-public-key-jwk")]
#[case::auth_invalid_token_hs512_public_key_jwk("auth.invalid-token.hs512-public-key-jwk")]
#[case::auth_invalid_token_alg_none_capitalised("auth.invalid-token.alg-none-capitalised")]
#[case::auth_invalid_token_alg_none_upper_case("auth.invalid-token.alg-none-upper-case")]
#[case::auth_invalid_token_alg_none_with_signature("auth.invalid-token.alg-none-with-signature")]
#[case::auth_invalid_token_alg_none_capitalised_with_signature(
    "auth.invalid-token.alg-none-capitalised-with-signature"
)]
#[case::auth_invalid_token_alg_none_upper_case_with_signature(
    "auth.invalid-token.alg-none-upper-case-with-signature"
)]
#[case::auth_invalid_token_signature_stripped("auth.invalid-token.signature-stripped")]
#[case::auth_invalid_token_embedded_jwk("auth.invalid-token.embedded-jwk")]
#[case::auth_invalid_token_jku_untrusted("auth.invalid-token.jku-untrusted")]
#[case::auth_invalid_token_x5u_untrusted("auth.invalid-token.x5u-untrusted")]
#[case::auth_invalid_token_kid_path_traversal("auth.invalid-token.kid-path-traversal")]
#[case::auth_invalid_token_kid_sql_injection("auth.invalid-token.kid-sql-injection")]
#[case::auth_invalid_token_kid_command_injection("auth.invalid-token.kid-command-injection")]
#[case::auth_invalid_token_ecdsa_zero_signature("auth.invalid-token.ecdsa-zero-signature")]
#[case::auth_invalid_token_no_exp("auth.invalid-token.no-exp")]
#[case::auth_invalid_token_unknown_crit("auth.invalid-token.unknown-crit")]
#[case::auth_invalid_token_iss_array("auth.invalid-token.iss-array")]
#[case::auth_invalid_token_expired_minutes_ago("auth.invalid-token.expired-minutes-ago")]
#[case::auth_invalid_token_expired_seconds_ago("auth.invalid-token.expired-seconds-ago")]
#[case::auth_token_expires_soon("auth.token.expires-soon")]
#[case::auth_invalid_token_not_yet_valid_soon("auth.invalid-token.not-yet-valid-soon")]
#[case::auth_invalid_token_issued_ahead("auth.invalid-token.issued-ahead")]
#[case::auth_invalid_token_kid_case_changed("auth.invalid-token.kid-case-changed")]
#[case::auth_invalid_token_kid_suffix("auth.invalid-token.kid-suffix")]
#[case::auth_invalid_token_kid_prefix("auth.invalid-token.kid-prefix")]
#[case::auth_invalid_token_kid_empty("auth.invalid-token.kid-empty")]
#[case::auth_invalid_token_kid_missing("auth.invalid-token.kid-missing")]
#[case::auth_invalid_token_unpublished_key_published_kid(
    "auth.invalid-token.unpublished-key-published-kid"
)]
#[case::auth_invalid_token_unpublished_key_kid_case_changed(
    "auth.invalid-token.unpublished-key-kid-case-changed"
)]
#[case::auth_invalid_token_unpublished_key_empty_kid(
    "auth.invalid-token.unpublished-key-empty-kid"
)]
#[case::auth_invalid_token_unpublished_key_no_kid("auth.invalid-token.unpublished-key-no-kid")]
#[case::auth_subject_case_changed("auth.subject.case-changed")]
#[case::auth_subject_trailing_space("auth.subject.trailing-space")]
#[case::auth_insufficient_scope_no_scope_claim("auth.insufficient-scope.no-scope-claim")]
#[case::auth_insufficient_scope_array_without_openid(
    "auth.insufficient-scope.array-without-openid"
)]
#[case::auth_insufficient_scope_string_without_openid(
    "auth.insufficient-scope.string-without-openid"
)]
#[case::auth_insufficient_scope_openid_prefix("auth.insufficient-scope.openid-prefix")]
#[case::auth_insufficient_scope_openid_upper_case("auth.insufficient-scope.openid-upper-case")]
#[case::auth_insufficient_scope_openid_suffix("auth.insufficient-scope.openid-suffix")]
#[case::auth_insufficient_scope_openid_inner_space("auth.insufficient-scope.openid-inner-space")]
#[case::auth_insufficient_scope_profile_token("auth.insufficient-scope.profile-token")]
#[case::auth_scope_array_with_openid("auth.scope.array-with-openid")]
#[case::auth_scope_openid_middle("auth.scope.openid-middle")]
#[case::auth_scope_openid_last("auth.scope.openid-last")]
#[case::auth_scope_string_with_openid("auth.scope.string-with-openid")]
#[case::http_method_not_allowed("http.method-not-allowed")]
#[case::http_unknown_path("http.unknown-path")]
#[case::http_unsupported_media_type("http.unsupported-media-type")]
#[case::http_body_too_large("http.body-too-large")]
#[case::body_malformed_json("body.malformed-json")]
#[case::body_not_an_object("body.not-an-object")]
#[case::body_missing_old_password("body.missing-old-password")]
#[case::body_missing_new_password("body.missing-new-password")]
#[case::body_null_member("body.null-member")]
#[case::body_non_string_member("body.non-string-member")]
#[case::body_lone_surrogate_old_password("body.lone-surrogate.old-password")]
#[case::body_lone_surrogate_new_password("body.lone-surrogate.new-password")]
#[case::body_other_account_user_id("body.other-account.user-id")]
#[case::body_other_account_sub("body.other-account.sub")]
#[case::body_other_account_username("body.other-account.username")]
#[case::body_other_account_uid("body.other-account.uid")]
#[case::body_other_account_email("body.other-account.email")]
#[case::user_not_found("user.not-found")]
#[case::user_frozen("user.frozen")]
#[case::user_frozen_and_locked("user.frozen-and-locked")]
#[case::user_locked("user.locked")]
#[case::user_lockout_after_failures("user.lockout-after-failures")]
#[case::password_wrong_old("password.wrong-old")]
#[case::password_duplicate("password.duplicate")]
#[case::password_change("password.change")]
#[case::password_exact_case_changed("password.exact.case-changed")]
#[case::password_exact_surrounding_whitespace("password.exact.surrounding-whitespace")]
#[case::password_exact_whitespace_removed("password.exact.whitespace-removed")]
#[case::password_exact_first_72_bytes("password.exact.first-72-bytes")]
#[case::password_exact_one_character_more("password.exact.one-character-more")]
#[case::password_exact_one_character_fewer("password.exact.one-character-fewer")]
#[case::password_exact_last_character_changed("password.exact.last-character-changed")]
#[case::password_exact_first_character_changed("password.exact.first-character-changed")]
#[case::password_exact_inner_space("password.exact.inner-space")]
#[case::password_exact_empty("password.exact.empty")]
#[case::password_exact_nul_suffix("password.exact.nul-suffix")]
#[case::password_not_duplicate_case_changed("password.not-duplicate.case-changed")]
#[case::password_not_duplicate_one_character_more("password.not-duplicate.one-character-more")]
#[case::policy_too_short("policy.too-short")]
#[case::policy_too_long("policy.too-long")]
#[case::policy_far_too_long("policy.far-too-long")]
#[case::policy_no_lowercase("policy.no-lowercase")]
#[case::policy_no_uppercase("policy.no-uppercase")]
#[case::policy_no_digit("policy.no-digit")]
#[case::policy_no_symbol("policy.no-symbol")]
#[case::policy_control_character("policy.control-character")]
#[case::policy_short_after_normalization("policy.short-after-normalization")]
#[case::policy_min_length_accepted("policy.min-length-accepted")]
#[case::policy_max_length_accepted("policy.max-length-accepted")]
#[case::policy_max_length_code_points("policy.max-length-code-points")]
#[case::precedence_token_before_body("precedence.token-before-body")]
#[case::precedence_body_before_user("precedence.body-before-user")]
#[case::precedence_status_before_old_password("precedence.status-before-old-password")]
#[case::precedence_old_password_before_duplicate("precedence.old-password-before-duplicate")]
#[case::precedence_old_password_before_policy("precedence.old-password-before-policy")]
#[case::history_most_recent("history.most-recent")]
#[case::history_nth_previous("history.nth-previous")]
#[case::history_beyond_depth("history.beyond-depth")]
#[case::history_not_recurrent_case_changed("history.not-recurrent.case-changed")]
#[tokio::test]
async fn catalogue(#[case] id: &str) {
    let report = support::run_case(support::case(id)).await;
    let result = &report.cases[0];
    assert_eq!(result.id, id);
    if support::external_profile().is_none() {
        let value = snapshot(result);
        support::insta_settings().bind(|| insta::assert_json_snapshot!(id, value));
    }
    assert!(
        !result.verdict.fails_run(),
        "{id} did not pass:\n{}",
        tree::render(&report)
    );
    assert!(
        report.restore.ok,
        "{id}: the password was not restored: {}",
        report.restore.outcome
    );
}
