//! `conformance init`: discovery and JWKS read from a running reference
//! server, the template without network access, and the written profile
//! loaded by the suite's own loader before and after its placeholders are
//! filled (and, once filled, used for a real run).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use conformance::profile::Profile;

fn conformance(args: Vec<String>) -> Output {
    Command::new(env!("CARGO_BIN_EXE_conformance"))
        .args(args)
        .output()
        .expect("the conformance binary runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A loopback port nothing listens on (bound, read, released).
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures")
}

/// The reference server in-process, its issuer (and so its discovery
/// document's `jwks_uri`) set to the address it listens on.
async fn reference_server(dir: &Path) -> server::Running {
    let port = closed_port();
    let mut config = server::Config::load(Path::new(server::cli::DEFAULT_CONFIG)).unwrap();
    config.db = dir.join("reference.sqlite3");
    config.issuer = format!("http://127.0.0.1:{port}");
    config.hashing.profile = server::config::HashingProfile::CheapTestOnly;
    let app = server::App::build(&config).unwrap();
    server::Running::start(app, SocketAddr::from(([127, 0, 0, 1], port)))
        .await
        .expect("the port just released is free")
}

/// Uncomments the first `# {key} = …` line and gives it `value`.
fn fill(text: &str, key: &str, value: &str) -> String {
    let prefix = format!("# {key} = ");
    let mut done = false;
    let lines: Vec<String> = text
        .lines()
        .map(|l| {
            if !done && l.starts_with(&prefix) {
                done = true;
                format!("{key} = {value}")
            } else {
                l.to_string()
            }
        })
        .collect();
    assert!(done, "no placeholder for {key}");
    lines.join("\n") + "\n"
}

fn load(dir: &Path, text: &str) -> Result<Profile, String> {
    let file = dir.join("filled.toml");
    std::fs::write(&file, text).unwrap();
    Profile::load(&file).map_err(|e| e.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_fills_issuer_algorithm_and_kid_from_discovery_and_the_profile_runs() {
    let dir = tempfile::tempdir().unwrap();
    let server = reference_server(dir.path()).await;
    let url = server.base_url();
    let out = dir.path().join("mine.toml");
    let args = vec![
        "init".to_string(),
        "--issuer".into(),
        url.clone(),
        "--base-url".into(),
        url.clone(),
        "--output".into(),
        out.display().to_string(),
    ];
    let o = tokio::task::spawn_blocking(move || conformance(args))
        .await
        .unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(
        err.contains(&format!(
            "JWKS {url}/oauth2/jwks reachable, 2 key(s): kid dev-rs256: RSA, alg RS256, use sig; kid dev-es256: EC P-256, alg ES256, use sig"
        )),
        "{err}"
    );
    let text = std::fs::read_to_string(&out).unwrap();
    for line in [
        format!("base_url = \"{url}\""),
        format!("issuer = \"{url}\"    # filled: the discovery document's issuer"),
        "algorithm = \"RS256\"    # filled: the first signing key of the JWKS the suite can mint for".to_string(),
        "kid = \"dev-rs256\"    # filled: that key's kid; private_key must be its private half".to_string(),
        format!("#   jwks_uri: {url}/oauth2/jwks"),
        format!("jwks_url = \"{url}/oauth2/jwks\"    # filled: the document's jwks_uri (the target's public keys: token attacks)"),
        "#     kid dev-es256: EC P-256, alg ES256, use sig".to_string(),
        "#   left out, skips: history.most-recent, history.nth-previous, history.beyond-depth, history.not-recurrent.case-changed".to_string(),
    ] {
        assert!(text.lines().any(|l| l == line), "{line:?} not in\n{text}");
    }

    // As written, the loader names the first REQUIRED key still missing.
    let e = load(dir.path(), &text).unwrap_err();
    assert!(e.contains("missing field `subject`"), "{e}");
    let text = fill(&text, "subject", "\"alice\"");
    let e = load(dir.path(), &text).unwrap_err();
    assert!(e.contains("accounts.active.password is required"), "{e}");
    let text = fill(&text, "password", "\"Alice-Passw0rd\"");
    let e = load(dir.path(), &text).unwrap_err();
    assert!(
        e.contains("no way to get a token for accounts.active"),
        "{e}"
    );
    let key = fixtures().join("keys/dev-rs256.pem");
    let text = fill(
        &text,
        "private_key",
        &format!("{:?}", key.display().to_string()),
    );
    let e = load(dir.path(), &text).unwrap_err();
    assert!(e.contains("tokens.audience"), "{e}");
    let text = fill(&text, "audience", "\"reference-app\"");
    let profile = load(dir.path(), &text).expect("the filled template loads");
    assert_eq!(profile.base_url, url);
    assert_eq!(profile.tokens.issuer.as_deref(), Some(url.as_str()));
    assert_eq!(profile.tokens.algorithm, "RS256");
    assert_eq!(profile.tokens.kid.as_deref(), Some("dev-rs256"));
    assert_eq!(profile.policy.history, None);

    // The filled profile drives a real run: token cases pass, the ones whose
    // keys were left out are skipped, never passed.
    let file = dir.path().join("filled.toml");
    let state = dir.path().join("state.json");
    let args = vec![
        "--profile".to_string(),
        file.display().to_string(),
        "--case".into(),
        "auth.invalid-token.*".into(),
        "--state".into(),
        state.display().to_string(),
        "--format".into(),
        "json".into(),
    ];
    let o = tokio::task::spawn_blocking(move || conformance(args))
        .await
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let verdict = |id: &str| {
        report["cases"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .unwrap_or_else(|| panic!("{id}"))["verdict"]
            .clone()
    };
    assert_eq!(verdict("auth.invalid-token.wrong-issuer"), "pass");
    assert_eq!(verdict("auth.invalid-token.expired"), "pass");
    assert_eq!(verdict("auth.invalid-token.untrusted-key"), "skip");
    server.shutdown().await;
}

#[test]
fn init_without_network_says_so_and_writes_the_template() {
    let dir = tempfile::tempdir().unwrap();
    let issuer = format!("http://127.0.0.1:{}/oauth2", closed_port());
    let out = dir.path().join("offline.toml");
    let o = conformance(vec![
        "init".into(),
        "--issuer".into(),
        issuer.clone(),
        "--output".into(),
        out.display().to_string(),
        "--timeout".into(),
        "2".into(),
    ]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(
        err.contains("init: cannot read the issuer's discovery document")
            && err.contains("writing the template without it"),
        "{err}"
    );
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(
        text.contains("# The issuer could not be read (GET "),
        "{text}"
    );
    assert!(
        text.contains("# Nothing below comes from discovery"),
        "{text}"
    );
    // base_url is the issuer's origin, marked as a guess; the issuer is
    // kept as given; nothing is claimed about keys.
    let origin = issuer.trim_end_matches("/oauth2");
    assert!(text.contains(&format!("base_url = \"{origin}\"")), "{text}");
    assert!(text.contains("A GUESS"), "{text}");
    assert!(
        text.contains(&format!("issuer = \"{issuer}\"    # from --issuer")),
        "{text}"
    );
    assert!(text.contains("# algorithm = \"RS256\"    # TODO"), "{text}");
    let e = load(dir.path(), &text).unwrap_err();
    assert!(e.contains("missing field `subject`"), "{e}");
    let text = fill(&text, "subject", "\"u\"");
    let text = fill(&text, "password", "\"p\"");
    let text = fill(&text, "token_command", "\"echo t\"");
    let profile = load(dir.path(), &text).expect("the filled template loads");
    assert_eq!(profile.tokens.token_command.as_deref(), Some("echo t"));
    assert!(!profile.tokens.can_mint());
    // Beside it, the schema its `#:schema` line names, as `conformance
    // schema` prints it; a second profile there leaves it alone.
    assert!(
        text.starts_with("#:schema ./profile.schema.json\n"),
        "{text}"
    );
    let schema = std::fs::read_to_string(dir.path().join("profile.schema.json")).unwrap();
    let printed = conformance(vec!["schema".into()]);
    assert_eq!(schema.as_bytes(), printed.stdout.as_slice());
    std::fs::write(dir.path().join("profile.schema.json"), "{}").unwrap();
    let again = conformance(vec![
        "init".into(),
        "--issuer".into(),
        issuer,
        "--output".into(),
        dir.path().join("second.toml").display().to_string(),
        "--timeout".into(),
        "2".into(),
    ]);
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    assert!(stderr(&again).contains("exists, left as it is"));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("profile.schema.json")).unwrap(),
        "{}"
    );
}

#[test]
fn init_refuses_bad_urls_and_existing_files() {
    let o = conformance(vec!["init".into(), "--issuer".into(), "idp.example".into()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--issuer: \"idp.example\" is not an absolute URL"));
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("exists.toml");
    std::fs::write(&out, "keep me").unwrap();
    let o = conformance(vec![
        "init".into(),
        "--issuer".into(),
        "http://127.0.0.1:9".into(),
        "--output".into(),
        out.display().to_string(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("the file exists"), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "keep me");
}
