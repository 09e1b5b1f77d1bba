//! A wait never spends a token (issue 20, point 4): tokens live 15 s
//! (`ttl_secs = 15`) and the tenant locks after four wrong old passwords
//! within 20 s, so the run waits up to 20 s for the window between taking
//! a token and sending it; a tenant that allows no clock skew refuses a
//! token that expired on the way. The whole catalogue passes all the same
//! (before the token was taken again after the wait, five seed cases got
//! 401), and a static token that has expired is a configuration error
//! naming its key (exit 2), not a failure of a case.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use conformance::cases;
use conformance::client::BeforeAttempt;
use conformance::embedded::REFERENCE_PROFILE;
use conformance::exchange::{self, Endpoint, Request};
use conformance::profile::{Counting, Profile};
use conformance::runner;
use conformance::verdict::Verdict;

use crate::fakes::{ACCOUNTS, Fake, Tenant};

const WINDOW: Duration = Duration::from_secs(20);

/// A fake tenant that locks after 4 wrong old passwords within `window`
/// and allows no clock skew, and the reference profile declaring that
/// rule with tokens that live `ttl_secs`.
async fn window_tenant(window: Duration, ttl_secs: u64) -> (Fake, Profile) {
    let fake = Fake::tenant(Tenant {
        lockout_window: Some(window),
        max_failures: Some(4),
        exp_leeway: Some(0),
        ..Tenant::default()
    })
    .await;
    let mut profile = Profile::load(std::path::Path::new(REFERENCE_PROFILE)).unwrap();
    profile.base_url = format!("http://{}", fake.addr);
    profile.lockout.max_failures = Some(4);
    profile.lockout.counting = Some(Counting::Window);
    profile.lockout.window_secs = Some(window.as_secs());
    profile.tokens.ttl_secs = ttl_secs;
    (fake, profile)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn short_lived_tokens_survive_the_lockout_window_waits() {
    let (fake, profile) = window_tenant(WINDOW, 15).await;
    let dir = tempfile::tempdir().unwrap();
    let options = crate::support::external_options(dir.path());
    let all: Vec<_> = cases::CATALOGUE.iter().collect();
    let started = Instant::now();
    let outcome = runner::run(&profile, &all, &options)
        .await
        .expect("the run starts");
    let took = started.elapsed();
    let bad: Vec<String> = outcome
        .cases
        .iter()
        .filter(|r| matches!(r.verdict, Verdict::Fail | Verdict::Error))
        .map(|r| format!("{} {:?} {:?}", r.id, r.verdict, r.reason))
        .collect();
    assert!(bad.is_empty(), "after {took:?}:\n{}", bad.join("\n"));
    // The run did wait for the window, longer than a token lives, in
    // total; and every wrong-password case ran.
    let waits: f64 = outcome
        .cases
        .iter()
        .flat_map(|r| &r.notes)
        .filter(|n| n.contains("for the lockout window"))
        .filter_map(|n| n.split_whitespace().nth(1)?.parse::<f64>().ok())
        .sum();
    assert!(waits > 15.0, "waited {waits} s for the window in all");
    assert!(outcome.restore.ok, "{}", outcome.restore.outcome);
    // Every token taken again is shown by the label of the one it
    // replaced: in the cases that waited, no JWT in a request's record.
    let shown: Vec<&(String, String)> = outcome
        .cases
        .iter()
        .filter(|r| r.notes.iter().any(|n| n.contains("for the lockout window")))
        .flat_map(|r| &r.exchanges)
        .flat_map(|x| &x.request.headers)
        .filter(|(name, _)| name.eq_ignore_ascii_case("authorization"))
        .collect();
    assert!(!shown.is_empty());
    for (_, value) in shown {
        assert!(value.starts_with("Bearer <token:"), "{value}");
    }
    for (subject, original) in ACCOUNTS {
        let a = fake.account(subject);
        assert_eq!(a.password, *original, "{subject}");
        if *subject != "bob" {
            assert!(!a.locked_here, "{subject} was locked");
        }
    }
    eprintln!("the catalogue under a 4-per-20 s window with 15 s tokens took {took:?}");
}

/// A JWT-shaped static token whose `exp` is `exp` (the signature does not
/// matter: it never goes out).
fn static_token(exp: i64) -> String {
    let part = |v: serde_json::Value| URL_SAFE_NO_PAD.encode(v.to_string());
    format!(
        "{}.{}.c2ln",
        part(serde_json::json!({"alg": "RS256", "typ": "JWT"})),
        part(serde_json::json!({"sub": "alice", "exp": exp, "scope": ["openid"]}))
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_static_token_is_a_configuration_error_naming_its_key() {
    let fake = Fake::start(None).await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("static.toml");
    std::fs::write(
        &file,
        format!(
            "base_url = \"http://{}\"\n[accounts.active]\nsubject = \"alice\"\n\
             password = \"Alice-Passw0rd\"\ntoken = \"{}\"\n",
            fake.addr,
            static_token(now - 120)
        ),
    )
    .unwrap();
    let state = dir.path().join("state.json");
    let args = [
        "--profile".to_string(),
        file.display().to_string(),
        "--state".into(),
        state.display().to_string(),
        "--case".into(),
        "auth.*".into(),
    ];
    let o = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_conformance"))
            .args(args)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("accounts.active.token expired") && err.contains("s ago"),
        "{err}"
    );
    // Nothing reached the tenant: no case ran with the token.
    assert_eq!(fake.traffic().handled, 0);
}

/// Stamps each attempt (`x-attempt: N`) and notes when it ran.
struct Stamp(Vec<Instant>);

impl BeforeAttempt for Stamp {
    fn before_attempt<'a>(
        &'a mut self,
        request: &'a mut Request,
    ) -> Pin<Box<dyn Future<Output = ()> + Send + 'a>> {
        Box::pin(async move {
            self.0.push(Instant::now());
            let value = http::HeaderValue::from(self.0.len());
            request.headers.retain(|(n, _)| n != "x-attempt");
            request
                .headers
                .push((http::HeaderName::from_static("x-attempt"), value));
        })
    }
}

/// The client calls the hook after the `Retry-After` wait, before the
/// attempt that follows it: what the session takes the token again with.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_runs_the_hook_after_a_retry_after_wait() {
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = seen.clone();
    let (addr, task) = crate::support::serve_fn(move |req: hyper::Request<_>| {
        let n = counter.fetch_add(1, Ordering::SeqCst);
        let attempt = req
            .headers()
            .get("x-attempt")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        async move {
            let answer = hyper::Response::builder();
            let answer = if n == 0 {
                answer.status(429).header("retry-after", "1")
            } else {
                answer.status(200)
            };
            answer
                .body(http_body_util::Full::new(hyper::body::Bytes::from(attempt)))
                .unwrap()
        }
    })
    .await;
    let endpoint = Endpoint::parse(&format!("http://{addr}")).unwrap();
    let mut request = Request {
        method: http::Method::GET,
        path: "/".into(),
        headers: Vec::new(),
        body: Vec::new(),
    };
    let mut stamp = Stamp(Vec::new());
    let r = exchange::send_hooked(&endpoint, &mut request, Duration::from_secs(5), &mut stamp)
        .await
        .unwrap();
    assert_eq!((r.status, r.body.as_slice()), (200, &b"2"[..]));
    assert_eq!(r.retries.len(), 1);
    assert_eq!(stamp.0.len(), 2);
    assert!(stamp.0[1] - stamp.0[0] >= Duration::from_secs(1));
    // The request is left as the last attempt sent it.
    assert_eq!(request.headers[0].1, "2");
    task.abort();
}

/// The properties take their tokens after every wait too: tokens live 8 s
/// and the tenant locks after four wrong old passwords within 10 s, so the
/// hostile inputs wait for the window between making a request with the
/// account's token and sending it. No request goes out with a token that
/// expired on the way (before, the driver sent the one it had made, and
/// the tenant refused it: a 401 that judged nothing of the input). Only
/// the hostile inputs run: the account model sends expired tokens on
/// purpose (S10).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_properties_take_their_tokens_after_the_lockout_window_waits() {
    use conformance::properties::PropertyOptions;
    use conformance::properties::driver::Bounds;
    use conformance::verdict::Enforcement;
    use conformance::vocabulary::Property;

    let window = Duration::from_secs(10);
    let (fake, profile) = window_tenant(window, 8).await;
    let dir = tempfile::tempdir().unwrap();
    let options = crate::support::external_options(dir.path());
    let enforcement = Enforcement {
        strict: true,
        reference: false,
    };
    let props = PropertyOptions {
        cases: 16,
        sequences: 0,
        max_steps: 1,
        seed: 7,
        only: vec![Property::HostileInputs],
        regressions: None,
        enforcement,
        progress: false,
        max_shrink_iters: 0,
        replay: None,
    };
    let bounds = Bounds {
        max_requests: 500,
        timeout: Duration::from_secs(3),
    };
    let started = Instant::now();
    let outcome = runner::run_with_properties(&profile, &[], &options, Some((props, bounds)))
        .await
        .expect("the run starts");
    let took = started.elapsed();
    assert_eq!(outcome.cases.len(), 1);
    for result in &outcome.cases {
        assert_eq!(
            result.verdict,
            Verdict::Pass,
            "{} after {took:?}: {:?}\n{:?}",
            result.id,
            result.reason,
            result.notes
        );
    }
    // It waited for the window longer than a token lives, and no token
    // expired on the way.
    assert!(took > Duration::from_secs(8), "took {took:?}");
    assert_eq!(fake.traffic().expired_refused, 0, "after {took:?}");
    assert!(outcome.restore.ok, "{}", outcome.restore.outcome);
    let alice = fake.account("alice");
    assert_eq!(alice.password, "Alice-Passw0rd");
    assert!(!alice.locked_here, "alice was locked");
    eprintln!("the properties under a 4-per-10 s window with 8 s tokens took {took:?}");
}
