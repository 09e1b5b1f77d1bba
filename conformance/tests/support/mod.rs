//! Shared test helpers: the target (embedded reference server, or the
//! profile in `CONFORMANCE_PROFILE`), running one case, snapshot settings.

use std::path::{Path, PathBuf};
use std::sync::LazyLock;
use std::time::Duration;

use conformance::cases;
use conformance::embedded::{Embedded, Hashing};
use conformance::exchange::{self, ENDPOINT_PATH, Endpoint, Request};
use conformance::profile::Profile;
use conformance::report::RunReport;
use conformance::runner::{self, RunOptions};
use conformance::tokens::TokenFactory;
use conformance::verdict::Enforcement;
use conformance::vocabulary::Case;

/// The top-level `snapshots/` folder.
pub fn snapshot_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../snapshots")
}

/// insta settings: top-level folder, snapshot name = case ID, no module
/// prefix, no expression.
pub fn insta_settings() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(snapshot_dir());
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    // Dynamic values never reach a snapshot (tokens and passwords are
    // labels, ports are not recorded); a Date header would be.
    settings.add_redaction(".exchanges[].response.headers.date", "[date]");
    settings
}

/// An external target serialises its tests: they share one account.
static EXTERNAL: LazyLock<tokio::sync::Mutex<()>> = LazyLock::new(|| tokio::sync::Mutex::new(()));

/// The profile named by `CONFORMANCE_PROFILE`, if set.
pub fn external_profile() -> Option<PathBuf> {
    std::env::var_os("CONFORMANCE_PROFILE").map(PathBuf::from)
}

/// Runs one case against the target and returns the report.
pub async fn run_case(case: &'static Case) -> RunReport {
    let cases = [case];
    match external_profile() {
        None => {
            let server = Embedded::start(Hashing::CheapTestOnly)
                .await
                .expect("the embedded reference server starts");
            let options = strict_options(&server);
            let outcome = runner::run(&server.profile, &cases, &options)
                .await
                .expect("the run completes");
            let endpoint = server.profile.base_url.clone();
            server.stop().await;
            RunReport::new(
                endpoint,
                "embedded reference server".into(),
                options.enforcement,
                false,
                String::new(),
                outcome,
                0,
            )
        }
        Some(file) => {
            let _one_at_a_time = EXTERNAL.lock().await;
            let profile = Profile::load(&file).expect("CONFORMANCE_PROFILE loads");
            let strict = std::env::var_os("CONFORMANCE_STRICT").is_some();
            let stem = file
                .file_stem()
                .map_or("profile".into(), |s| s.to_string_lossy().into_owned());
            let options = RunOptions {
                enforcement: Enforcement {
                    strict,
                    reference: false,
                },
                show_secrets: false,
                state_file: std::env::temp_dir()
                    .join(format!("conformance-tests-{stem}.state.json")),
                timeout: Duration::from_secs(30),
            };
            let outcome = runner::run(&profile, &cases, &options)
                .await
                .expect("the run completes");
            RunReport::new(
                profile.base_url.clone(),
                format!("profile {}", file.display()),
                options.enforcement,
                false,
                options.state_file.display().to_string(),
                outcome,
                0,
            )
        }
    }
}

/// The catalogue case with this ID (panics on a typo).
pub fn case(id: &str) -> &'static Case {
    cases::find(id).unwrap_or_else(|| panic!("no case {id} in the catalogue"))
}

/// Run options for the embedded reference server: everything is enforced.
pub fn strict_options(server: &Embedded) -> RunOptions {
    RunOptions {
        enforcement: Enforcement {
            strict: true,
            reference: true,
        },
        show_secrets: false,
        state_file: server.state_file(),
        timeout: Duration::from_secs(10),
    }
}

/// Run options of a vendor's run against an external target (reference and
/// RFC cases do not fail the run), with the state file in `dir`.
pub fn external_options(dir: &std::path::Path) -> RunOptions {
    RunOptions {
        enforcement: Enforcement {
            strict: false,
            reference: false,
        },
        show_secrets: false,
        state_file: dir.join("state.json"),
        timeout: Duration::from_secs(5),
    }
}

/// Serves `handle` over HTTP/1.1 (keep-alive) on an ephemeral loopback
/// port: the accept loop every hand-written fake shares. Returns the
/// address and the accept task (abort it to stop accepting; dropping the
/// handle leaves it running for the rest of the test).
pub async fn serve_fn<F, Fut, B>(handle: F) -> (std::net::SocketAddr, tokio::task::JoinHandle<()>)
where
    F: Fn(hyper::Request<hyper::body::Incoming>) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = hyper::Response<B>> + Send + 'static,
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    serve_fn_idle(handle, None).await
}

/// [`serve_fn`], closing a keep-alive connection that waits longer than
/// `idle` for its next request (as a proxy with a short idle timeout does).
pub async fn serve_fn_idle<F, Fut, B>(
    handle: F,
    idle: Option<std::time::Duration>,
) -> (std::net::SocketAddr, tokio::task::JoinHandle<()>)
where
    F: Fn(hyper::Request<hyper::body::Incoming>) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = hyper::Response<B>> + Send + 'static,
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let handle = handle.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| {
                    let answer = handle(req);
                    async move { Ok::<_, std::convert::Infallible>(answer.await) }
                });
                let stream = IdleClose {
                    inner: stream,
                    idle,
                    answered: false,
                    sleep: None,
                };
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (addr, task)
}

/// A server's side of a connection that ends (reads as closed) once it
/// has waited `idle` for the next request after an answer: a kept-alive
/// connection closed when idle, never one waiting for its first request.
struct IdleClose {
    inner: tokio::net::TcpStream,
    idle: Option<std::time::Duration>,
    /// Bytes were written since the last read: an answer went out.
    answered: bool,
    sleep: Option<std::pin::Pin<Box<tokio::time::Sleep>>>,
}

impl tokio::io::AsyncRead for IdleClose {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        use std::future::Future;
        use std::task::Poll;
        let before = buf.filled().len();
        match std::pin::Pin::new(&mut self.inner).poll_read(cx, buf) {
            Poll::Ready(r) => {
                if buf.filled().len() > before {
                    self.answered = false;
                    self.sleep = None;
                }
                Poll::Ready(r)
            }
            Poll::Pending => {
                let Some(idle) = self.idle.filter(|_| self.answered) else {
                    return Poll::Pending;
                };
                let sleep = self
                    .sleep
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(idle)));
                if sleep.as_mut().poll(cx).is_ready() {
                    // Nothing read: the end of the stream.
                    return Poll::Ready(Ok(()));
                }
                Poll::Pending
            }
        }
    }
}

impl tokio::io::AsyncWrite for IdleClose {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        let r = std::pin::Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(r, std::task::Poll::Ready(Ok(n)) if n > 0) {
            self.answered = true;
            self.sleep = None;
        }
        r
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Whether `password` is alice's password now: a real change from it
/// (which the target answers 200 only if it is).
pub async fn is_current(profile: &Profile, password: &str) -> bool {
    change_active(profile, password, "Probe-After-Run-42").await == 200
}

/// Sends a change of the active account from `old` to `new` with a
/// standard token; the answer's status.
pub async fn change_active(profile: &Profile, old: &str, new: &str) -> u16 {
    let endpoint = Endpoint::parse(&profile.base_url).unwrap();
    let token = TokenFactory::new(profile)
        .unwrap()
        .standard(profile.accounts.active())
        .await
        .unwrap();
    let request = Request {
        method: http::Method::POST,
        path: ENDPOINT_PATH.into(),
        headers: vec![
            (
                http::header::AUTHORIZATION,
                format!("Bearer {token}").parse().unwrap(),
            ),
            (
                http::header::CONTENT_TYPE,
                "application/json".parse().unwrap(),
            ),
        ],
        body: serde_json::to_vec(&serde_json::json!({"old_password": old, "new_password": new}))
            .unwrap(),
    };
    exchange::send(&endpoint, &request, Duration::from_secs(5))
        .await
        .unwrap()
        .status
}
