//! A deliberately broken target: a tiny HTTP server that answers every
//! request 200 with an empty body. Every refusal case must fail against it,
//! naming the check; the cases that expect a 200 still pass; the runner
//! follows the password it (wrongly) changed and restores the original.

use conformance::embedded::REFERENCE_PROFILE;
use conformance::profile::Profile;
use conformance::runner;
use conformance::verdict::{Enforcement, Verdict};
use conformance::{cases, vocabulary};
use http_body_util::Full;
use hyper::body::Bytes;

/// Serves "200, empty" to everything on an ephemeral port.
async fn accept_everything() -> std::net::SocketAddr {
    crate::support::serve_fn(|_req| async { hyper::Response::new(Full::new(Bytes::new())) })
        .await
        .0
}

#[tokio::test]
async fn a_target_that_accepts_everything_fails_every_refusal() {
    let addr = accept_everything().await;
    let mut profile = Profile::load(std::path::Path::new(REFERENCE_PROFILE)).unwrap();
    profile.base_url = format!("http://{addr}");
    let must_fail = [
        "auth.missing-token.no-header",
        "auth.invalid-token.garbage",
        "auth.invalid-token.bad-signature",
        "auth.invalid-token.expired",
        "auth.insufficient-scope.no-scope-claim",
        "user.not-found",
        "user.frozen",
        "user.locked",
        "password.wrong-old",
        "password.duplicate",
        "password.change",
        "policy.too-short",
        "history.most-recent",
    ];
    let must_pass = ["auth.scope.array-with-openid", "policy.min-length-accepted"];
    let cases: Vec<_> = must_fail
        .iter()
        .chain(must_pass.iter())
        .map(|id| cases::find(id).unwrap())
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let options = crate::support::external_options(dir.path());
    let outcome = runner::run(&profile, &cases, &options).await.unwrap();
    for result in &outcome.cases {
        let expected = if must_fail.contains(&result.id) {
            Verdict::Fail
        } else {
            Verdict::Pass
        };
        assert_eq!(
            result.verdict, expected,
            "{}: {:#?}",
            result.id, result.checks
        );
    }
    // Each failure names what differed: the status of the first step.
    let frozen = outcome
        .cases
        .iter()
        .find(|r| r.id == "user.frozen")
        .unwrap();
    let status = frozen.checks.iter().find(|c| c.what == "status").unwrap();
    assert_eq!(
        (status.expected.as_str(), status.observed.as_str()),
        ("400", "200")
    );
    // The runner followed every accepted change and set the original again.
    assert!(outcome.restore.ok, "{}", outcome.restore.outcome);
}

/// Serves `answer(n)` to the n-th request (0-based) on an ephemeral port:
/// (status, headers).
async fn serve(
    answer: impl Fn(usize) -> (u16, Vec<(&'static str, &'static str)>, &'static str)
    + Send
    + Sync
    + 'static,
) -> std::net::SocketAddr {
    let answer = std::sync::Arc::new(answer);
    let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (addr, _) = crate::support::serve_fn(move |_req| {
        let n = count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let (status, headers, body) = answer(n);
        let mut response = hyper::Response::new(Full::new(Bytes::from_static(body.as_bytes())));
        *response.status_mut() = hyper::StatusCode::from_u16(status).unwrap();
        for (name, value) in headers {
            response
                .headers_mut()
                .append(name, hyper::header::HeaderValue::from_static(value));
        }
        async move { response }
    })
    .await;
    addr
}

async fn run_against(addr: std::net::SocketAddr, ids: &[&str]) -> runner::RunOutcome {
    let mut profile = Profile::load(std::path::Path::new(REFERENCE_PROFILE)).unwrap();
    profile.base_url = format!("http://{addr}");
    run_profile(profile, ids).await
}

async fn run_profile(profile: Profile, ids: &[&str]) -> runner::RunOutcome {
    let cases: Vec<_> = ids.iter().map(|id| cases::find(id).unwrap()).collect();
    let dir = tempfile::tempdir().unwrap();
    let options = crate::support::external_options(dir.path());
    runner::run(&profile, &cases, &options).await.unwrap()
}

#[tokio::test]
async fn a_server_error_fails_even_a_reference_case() {
    let addr = serve(|_| (500, vec![], "")).await;
    let outcome = run_against(addr, &["body.malformed-json"]).await;
    let result = &outcome.cases[0];
    assert_eq!(result.tier, vocabulary::Tier::Reference);
    assert_eq!(result.verdict, Verdict::Fail, "{:#?}", result.checks);
    let check = result
        .checks
        .iter()
        .find(|c| c.what == conformance::checks::NO_SERVER_ERROR)
        .expect("the 5xx check");
    assert_eq!(
        (check.tier, check.observed.as_str()),
        (vocabulary::Tier::Seed, "500")
    );
}

#[tokio::test]
async fn a_503_with_retry_after_is_retried_not_judged() {
    const CHALLENGE: &str = "Bearer error=\"invalid_token\", error_description=\"Error decoding JWT\", error_uri=\"https://tools.ietf.org/html/rfc6750#section-3.1\"";
    let addr = serve(|n| {
        if n < 2 {
            (503, vec![("retry-after", "0")], "")
        } else {
            (401, vec![("www-authenticate", CHALLENGE)], "")
        }
    })
    .await;
    let outcome = run_against(addr, &["auth.invalid-token.garbage"]).await;
    let result = &outcome.cases[0];
    assert_eq!(result.verdict, Verdict::Pass, "{:#?}", result.checks);
    // The client waited the two 503s out: one step, its purpose says so.
    assert_eq!(result.exchanges.len(), 1);
    assert!(
        result.exchanges[0]
            .purpose
            .contains("waited out 2 answers: 503 (Retry-After: 0), 503 (Retry-After: 0)"),
        "{}",
        result.exchanges[0].purpose
    );
    // A target that never stops answering 503 with Retry-After: the retry
    // budget runs out and the case is not determined, never failed.
    let addr = serve(|_| (503, vec![("retry-after", "0")], "")).await;
    let outcome = run_against(addr, &["auth.invalid-token.garbage"]).await;
    assert_eq!(outcome.cases[0].verdict, Verdict::Skip);
    assert!(
        outcome.cases[0]
            .reason
            .as_deref()
            .unwrap_or("")
            .starts_with("not determined"),
        "{:?}",
        outcome.cases[0].reason
    );
    // A 503 without Retry-After is a server error like any other.
    let addr = serve(|_| (503, vec![], "")).await;
    let outcome = run_against(addr, &["auth.invalid-token.garbage"]).await;
    assert_eq!(outcome.cases[0].verdict, Verdict::Fail);
    assert_eq!(outcome.cases[0].exchanges.len(), 1);
}

/// A careless target: it answers a token whose `alg` is not RS256 with the
/// S10 challenge, but has already applied the change (checks the old
/// password, sets the new one). Signatures are not checked at all.
async fn changes_then_rejects(original: &str) -> std::net::SocketAddr {
    use base64::Engine;
    let password = std::sync::Arc::new(std::sync::Mutex::new(original.to_string()));
    let (addr, _) = crate::support::serve_fn(move |req: hyper::Request<hyper::body::Incoming>| {
        let password = password.clone();
        async move {
            use http_body_util::BodyExt;
            let alg = req
                .headers()
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .and_then(|t| t.split('.').next())
                .and_then(|h| {
                    base64::engine::general_purpose::URL_SAFE_NO_PAD
                        .decode(h)
                        .ok()
                })
                .and_then(|h| serde_json::from_slice::<serde_json::Value>(&h).ok())
                .and_then(|h| h["alg"].as_str().map(str::to_string));
            let body = req.into_body().collect().await.unwrap().to_bytes();
            let body: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
            let mut current = password.lock().unwrap();
            let changed = body["old_password"].as_str() == Some(current.as_str());
            if changed && let Some(new) = body["new_password"].as_str() {
                *current = new.to_string();
            }
            let mut response = hyper::Response::new(Full::new(Bytes::new()));
            if alg.as_deref() != Some("RS256") {
                *response.status_mut() = hyper::StatusCode::UNAUTHORIZED;
                response.headers_mut().insert(
                    "www-authenticate",
                    hyper::header::HeaderValue::from_static("Bearer error=\"invalid_token\", error_description=\"Error decoding JWT\", error_uri=\"https://tools.ietf.org/html/rfc6750#section-3.1\""),
                );
            } else if !changed {
                response = wrong_old_password();
            }
            response
        }
    })
    .await;
    addr
}

/// A 400 `wrong_old_password` answer.
fn wrong_old_password() -> hyper::Response<Full<Bytes>> {
    let mut response = hyper::Response::new(Full::new(Bytes::from_static(
        b"{\"error\":\"wrong_old_password\"}",
    )));
    *response.status_mut() = hyper::StatusCode::BAD_REQUEST;
    response.headers_mut().insert(
        "content-type",
        hyper::header::HeaderValue::from_static("application/json;charset=UTF-8"),
    );
    response
}

#[tokio::test]
async fn a_change_behind_a_rejection_fails_the_case_that_made_it() {
    let profile = Profile::load(std::path::Path::new(REFERENCE_PROFILE)).unwrap();
    let original = profile.accounts.active().password.clone().unwrap();
    let addr = changes_then_rejects(&original).await;
    // alg-none changes the password behind its 401; the next case's
    // request then carries a stale old password and changes nothing.
    let outcome = run_against(
        addr,
        &[
            "auth.invalid-token.alg-none",
            "auth.missing-token.other-scheme",
        ],
    )
    .await;
    assert_eq!(
        outcome.cases[0].verdict,
        Verdict::Fail,
        "{:?} {:#?}",
        outcome.cases[0].reason,
        outcome.effects
    );
    let culprit = outcome
        .cases
        .iter()
        .find(|r| r.id == "auth.invalid-token.alg-none")
        .unwrap();
    let check = culprit
        .checks
        .iter()
        .find(|c| c.what == conformance::checks::PASSWORD_UNCHANGED)
        .expect("the effect check");
    assert_eq!(check.tier, vocabulary::Tier::Seed);
    assert!(outcome.effects.iter().any(|e| !e.ok));
    // The runner found the password and restored the original.
    assert!(outcome.restore.ok, "{}", outcome.restore.outcome);
}

#[tokio::test]
async fn a_status_case_without_the_password_is_not_determined_by_wrong_old_password() {
    let addr = serve(|_| {
        (
            400,
            vec![("content-type", "application/json;charset=UTF-8")],
            "{\"error\":\"wrong_old_password\"}",
        )
    })
    .await;
    let mut profile = Profile::load(std::path::Path::new(REFERENCE_PROFILE)).unwrap();
    profile.base_url = format!("http://{addr}");
    let with_password = run_profile(profile.clone(), &["user.frozen"]).await;
    // With the account's own password, wrong_old_password is a failure.
    assert_eq!(with_password.cases[0].verdict, Verdict::Fail);
    profile.accounts.frozen.as_mut().unwrap().password = None;
    let outcome = run_profile(profile, &["user.frozen"]).await;
    let r = &outcome.cases[0];
    assert_eq!(r.verdict, Verdict::Skip, "{:#?}", r.checks);
    let reason = r.reason.as_deref().unwrap();
    assert!(
        reason.starts_with("not determined") && reason.contains("[accounts.frozen] password"),
        "{reason}"
    );
    assert_eq!(r.exchanges.len(), 1);
}

/// Checks the old password (tokens are not checked) and answers 200 to a
/// change from it, but stores the new password from the second 200 on
/// only: the first 200 does not take.
async fn first_success_not_stored(original: &str) -> std::net::SocketAddr {
    let state = std::sync::Arc::new(std::sync::Mutex::new((original.to_string(), 0usize)));
    let (addr, _) = crate::support::serve_fn(move |req: hyper::Request<hyper::body::Incoming>| {
        let state = state.clone();
        async move {
            use http_body_util::BodyExt;
            let body = req.into_body().collect().await.unwrap().to_bytes();
            let body: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
            let mut state = state.lock().unwrap();
            let (current, successes) = &mut *state;
            match body["new_password"].as_str() {
                Some(new) if body["old_password"].as_str() == Some(current) => {
                    if *successes > 0 {
                        *current = new.to_string();
                    }
                    *successes += 1;
                    hyper::Response::new(Full::new(Bytes::new()))
                }
                _ => wrong_old_password(),
            }
        }
    })
    .await;
    addr
}

#[tokio::test]
async fn a_200_that_does_not_take_fails_at_seed_tier_and_the_run_goes_on() {
    let profile = Profile::load(std::path::Path::new(REFERENCE_PROFILE)).unwrap();
    let original = profile.accounts.active().password.clone().unwrap();
    let addr = first_success_not_stored(&original).await;
    let outcome = run_against(
        addr,
        &[
            "policy.min-length-accepted",
            "password.change",
            "auth.scope.array-with-openid",
        ],
    )
    .await;
    let summary: Vec<_> = outcome
        .cases
        .iter()
        .map(|r| (r.id, r.verdict, r.reason.clone()))
        .collect();
    // The refusal of the tracked password is explained: the password
    // before the 200 still works, so that 200 did not take (S1).
    let (found_in, check) = outcome
        .cases
        .iter()
        .find_map(|r| {
            r.checks
                .iter()
                .find(|c| c.what == "effect: after a 200 the new password works")
                .map(|c| (r, c))
        })
        .unwrap_or_else(|| panic!("no S1 effect check: {summary:#?}"));
    assert_eq!(check.tier, vocabulary::Tier::Seed);
    assert_eq!(check.outcome, conformance::checks::Outcome::Fail);
    assert!(
        check.observed.contains("of policy.min-length-accepted"),
        "{}",
        check.observed
    );
    assert_eq!(found_in.verdict, Verdict::Fail, "{summary:#?}");
    // Recovered: the later case ran (and passed against the now storing
    // target), and the original password was restored.
    let later = outcome
        .cases
        .iter()
        .find(|r| r.id == "auth.scope.array-with-openid")
        .unwrap();
    assert_eq!(later.verdict, Verdict::Pass, "{summary:#?}");
    assert!(outcome.restore.ok, "{}", outcome.restore.outcome);
}

#[tokio::test]
async fn a_200_that_does_not_take_without_lockout_room_fails_at_seed_tier_and_the_run() {
    let profile = Profile::load(std::path::Path::new(REFERENCE_PROFILE)).unwrap();
    let original = profile.accounts.active().password.clone().unwrap();
    let addr = first_success_not_stored(&original).await;
    // password.wrong-old spends the lockout's room before the tracked
    // password is refused: the password before the 200 is not tried.
    let outcome = run_against(
        addr,
        &[
            "policy.min-length-accepted",
            "password.wrong-old",
            "password.change",
        ],
    )
    .await;
    let later = outcome
        .cases
        .iter()
        .find(|r| r.id == "password.change")
        .unwrap();
    assert_eq!(later.verdict, Verdict::Skip);
    let reason = later.reason.clone().unwrap_or_default();
    assert!(
        reason.contains("after the 200 of step 1 of policy.min-length-accepted")
            && reason.contains("neither its new password nor"),
        "{reason}"
    );
    // The refusal of the tracked password fails at seed tier all the same
    // (S1: the suite is the only writer of the account), naming what was
    // not tried for want of lockout room.
    let check = outcome
        .cases
        .iter()
        .flat_map(|r| &r.checks)
        .find(|c| c.what == conformance::checks::SUCCESS_TOOK_EFFECT)
        .expect("an S1 check");
    assert_eq!(check.tier, vocabulary::Tier::Seed);
    assert_eq!(check.outcome, conformance::checks::Outcome::Fail);
    assert!(
        check.observed.contains("is not determined")
            && check
                .observed
                .contains("not tried: unchanged (the 200 did not take)"),
        "{}",
        check.observed
    );
    // A run whose active account ends poisoned does not exit 0.
    assert!(!outcome.restore.ok, "{}", outcome.restore.outcome);
    let report = conformance::report::RunReport::new(
        String::new(),
        String::new(),
        Enforcement {
            strict: false,
            reference: false,
        },
        false,
        String::new(),
        outcome,
        0,
    );
    assert_ne!(report.exit_code(), 0);
}
