//! Changes whose answer determines nothing: a stateful fake tenant over
//! loopback applies alice's first change and then answers 429 with a
//! `Retry-After` beyond the retry bound. The case is not determined (no
//! verdict), the change stays pending in the state file, and it is
//! resolved before the restore: the fake ends with the original password.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use conformance::catalogue;
use conformance::embedded::REFERENCE_PROFILE;
use conformance::profile::Profile;
use conformance::runner::{self, RunOptions};
use conformance::verdict::{Enforcement, Verdict};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;

/// The fake's account: alice's password and how many changes it applied.
#[derive(Debug)]
struct Tenant {
    password: String,
    applied: usize,
}

async fn serve(tenant: Arc<Mutex<Tenant>>) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let tenant = tenant.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(
                    move |req: hyper::Request<hyper::body::Incoming>| {
                        let tenant = tenant.clone();
                        async move {
                            let body = req.into_body().collect().await.unwrap().to_bytes();
                            let v: serde_json::Value =
                                serde_json::from_slice(&body).unwrap_or_default();
                            let old = v["old_password"].as_str().unwrap_or_default();
                            let new = v["new_password"].as_str().unwrap_or_default();
                            let mut t = tenant.lock().unwrap();
                            let (status, retry, body): (u16, bool, &str) = if old != t.password {
                                (400, false, r#"{"error":"wrong_old_password"}"#)
                            } else {
                                t.password = new.to_string();
                                t.applied += 1;
                                // The first change is applied, then rate limited.
                                (if t.applied == 1 { 429 } else { 200 }, t.applied == 1, "{}")
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
                            Ok::<_, std::convert::Infallible>(response)
                        }
                    },
                );
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    addr
}

#[tokio::test]
async fn a_rate_limited_change_is_not_judged_and_is_resolved_before_the_restore() {
    let mut profile = Profile::load(std::path::Path::new(REFERENCE_PROFILE)).unwrap();
    let original = profile.accounts.active.password.clone().unwrap();
    let tenant = Arc::new(Mutex::new(Tenant {
        password: original.clone(),
        applied: 0,
    }));
    let addr = serve(tenant.clone()).await;
    profile.base_url = format!("http://{addr}");
    let dir = tempfile::tempdir().unwrap();
    let options = RunOptions {
        enforcement: Enforcement {
            strict: false,
            reference: false,
        },
        show_secrets: false,
        state_file: dir.path().join("state.json"),
        timeout: Duration::from_secs(5),
    };
    let case = catalogue::find("password.change").unwrap();
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
        t.password, original,
        "the fake ends with the original password"
    );
    assert!(t.applied >= 2);
    assert!(!options.state_file.exists());
}
