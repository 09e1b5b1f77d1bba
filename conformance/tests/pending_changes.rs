//! Changes whose answer determines nothing: a stateful fake tenant over
//! loopback applies alice's first change and then answers 429 with a
//! `Retry-After` beyond the retry bound. The case is not determined (no
//! verdict), the change stays pending in the state file, and it is
//! resolved before the restore: the fake ends with the original password.
//! The other accounts' changes are recorded and set back the same way,
//! also when the answer to one was cut off.

use std::sync::{Arc, Mutex};

use conformance::cases;
use conformance::embedded::REFERENCE_PROFILE;
use conformance::profile::Profile;
use conformance::runner;
use conformance::verdict::Verdict;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;

/// The fake's accounts: each subject's password (from the token's `sub`,
/// not verified: the fake does not enforce tokens or statuses) and how
/// many changes it applied.
#[derive(Debug)]
struct Tenant {
    passwords: std::collections::HashMap<String, String>,
    applied: usize,
    /// Answer the first applied change with 429 past the retry bound.
    rate_limit_first: bool,
}

/// The `sub` claim of a bearer token (payload decoded, not verified).
fn subject(req: &hyper::Request<hyper::body::Incoming>) -> String {
    use base64::Engine as _;
    let auth = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let payload = auth.split('.').nth(1).unwrap_or_default();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap_or_default();
    let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
    v["sub"].as_str().unwrap_or_default().to_string()
}

async fn serve(tenant: Arc<Mutex<Tenant>>) -> std::net::SocketAddr {
    let (addr, _) = crate::support::serve_fn(move |req: hyper::Request<hyper::body::Incoming>| {
        let tenant = tenant.clone();
        async move {
            let sub = subject(&req);
            let body = req.into_body().collect().await.unwrap().to_bytes();
            let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
            let old = v["old_password"].as_str().unwrap_or_default();
            let new = v["new_password"].as_str().unwrap_or_default();
            let mut t = tenant.lock().unwrap();
            let first = t.rate_limit_first && t.applied == 0;
            let known = t.passwords.get(&sub).cloned();
            let (status, retry, body): (u16, bool, &str) = match known {
                None => (400, false, r#"{"error":"user_not_found"}"#),
                Some(p) if p != old => (400, false, r#"{"error":"wrong_old_password"}"#),
                Some(_) => {
                    t.passwords.insert(sub, new.to_string());
                    t.applied += 1;
                    // The first change is applied, then rate limited.
                    (if first { 429 } else { 200 }, first, "{}")
                }
            };
            let mut response = hyper::Response::new(Full::new(Bytes::from(body)));
            *response.status_mut() = hyper::StatusCode::from_u16(status).unwrap();
            response.headers_mut().insert(
                "content-type",
                hyper::header::HeaderValue::from_static("application/json"),
            );
            if retry {
                response.headers_mut().insert(
                    "retry-after",
                    hyper::header::HeaderValue::from_static("3600"),
                );
            }
            response
        }
    })
    .await;
    addr
}

#[tokio::test]
async fn a_rate_limited_change_is_not_judged_and_is_resolved_before_the_restore() {
    let mut profile = Profile::load(std::path::Path::new(REFERENCE_PROFILE)).unwrap();
    let original = profile.accounts.active().password.clone().unwrap();
    let tenant = Arc::new(Mutex::new(Tenant {
        passwords: [("alice".to_string(), original.clone())].into(),
        applied: 0,
        rate_limit_first: true,
    }));
    let addr = serve(tenant.clone()).await;
    profile.base_url = format!("http://{addr}");
    let dir = tempfile::tempdir().unwrap();
    let options = crate::support::external_options(dir.path());
    let case = cases::find("password.change").unwrap();
    let outcome = runner::run(&profile, &[case], &options).await.unwrap();
    let result = &outcome.cases[0];
    assert_eq!(result.verdict, Verdict::Skip, "{:#?}", result.checks);
    assert!(
        result
            .reason
            .as_deref()
            .is_some_and(|r| r.contains("not determined") && r.contains("retry bound")),
        "{:?}",
        result.reason
    );
    assert!(outcome.restore.ok, "{}", outcome.restore.outcome);
    assert!(
        outcome
            .restore
            .exchanges
            .iter()
            .any(|x| x.purpose.contains("was the interrupted change applied")),
        "the pending change was resolved"
    );
    let t = tenant.lock().unwrap();
    assert_eq!(
        t.passwords["alice"], original,
        "the fake ends with the original password"
    );
    assert!(t.applied >= 2);
    assert!(!options.state_file.exists());
}

#[tokio::test]
async fn a_frozen_account_changed_by_a_target_that_ignores_status_is_recorded_and_set_back() {
    let mut profile = Profile::load(std::path::Path::new(REFERENCE_PROFILE)).unwrap();
    let alice = profile.accounts.active().password.clone().unwrap();
    let frozen = profile
        .accounts
        .frozen
        .clone()
        .expect("the reference profile has one");
    let frozen_password = frozen.password.clone().expect("with a password");
    let tenant = Arc::new(Mutex::new(Tenant {
        passwords: [
            ("alice".to_string(), alice.clone()),
            (frozen.subject.clone(), frozen_password.clone()),
        ]
        .into(),
        applied: 0,
        rate_limit_first: false,
    }));
    let addr = serve(tenant.clone()).await;
    profile.base_url = format!("http://{addr}");
    let dir = tempfile::tempdir().unwrap();
    let options = crate::support::external_options(dir.path());
    let case = cases::find("user.frozen").unwrap();
    let outcome = runner::run(&profile, &[case], &options).await.unwrap();
    // The fake applied the change: the case fails, and the account is set
    // back from what the state file recorded.
    assert_eq!(outcome.cases[0].verdict, Verdict::Fail);
    assert!(outcome.restore.ok, "{}", outcome.restore.outcome);
    assert!(
        outcome.restore.outcome.contains(&format!(
            "{} has its original password again",
            frozen.subject
        )),
        "{}",
        outcome.restore.outcome
    );
    let t = tenant.lock().unwrap();
    assert_eq!(t.passwords[&frozen.subject], frozen_password);
    assert_eq!(t.passwords["alice"], alice);
    assert!(!options.state_file.exists());
}

#[tokio::test]
async fn a_frozen_account_change_whose_answer_is_cut_is_resolved_and_set_back() {
    use crate::fakes::{ACCOUNTS, Fake, Quirk, Tenant};
    // The fake applies frank's change and cuts its answer mid-body.
    let fake = Fake::tenant(Tenant {
        quirks: vec![Quirk::FrozenNotChecked],
        cut_only: Some(1),
        ..Tenant::default()
    })
    .await;
    let mut profile = Profile::load(std::path::Path::new(REFERENCE_PROFILE)).unwrap();
    profile.base_url = format!("http://{}", fake.addr);
    let dir = tempfile::tempdir().unwrap();
    let options = crate::support::external_options(dir.path());
    let case = cases::find("user.frozen").unwrap();
    let outcome = runner::run(&profile, &[case], &options).await.unwrap();
    assert_eq!(fake.traffic().cut, 1);
    assert!(outcome.restore.ok, "{}", outcome.restore.outcome);
    for a in fake.accounts() {
        let original = ACCOUNTS.iter().find(|(s, _)| *s == a.subject).unwrap().1;
        assert_eq!(a.password, original, "{}", a.subject);
    }
    assert!(
        outcome.restore.exchanges.iter().any(|x| x
            .purpose
            .contains("was the change without an answer applied?")),
        "the lost change was resolved"
    );
    assert!(!options.state_file.exists());
}
