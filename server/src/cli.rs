//! The command line: `serve` and `mint-token`. Parses flags, loads the
//! configuration, and hands over to the library; exit codes are 0 (done),
//! 1 (runtime failure) and 2 (bad flags or configuration).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use serde_json::json;

use crate::app::{App, StartError};
use crate::config::Config;
use crate::keys::{SigningKey, parse_algorithm};
use crate::server::{serve, shutdown_signal};

/// Default configuration file (the committed development fixture).
pub const DEFAULT_CONFIG: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/server.toml");

/// Reference server for Tencent Cloud CIAM `POST /change_user_password`.
#[derive(Debug, Parser)]
#[command(name = "server", version)]
pub struct Cli {
    /// Configuration file (TOML); relative paths inside it follow the file.
    #[arg(long, global = true, default_value = DEFAULT_CONFIG)]
    pub config: PathBuf,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the endpoint.
    Serve {
        /// Listen address (overrides `addr`).
        #[arg(long)]
        addr: Option<SocketAddr>,
        /// SQLite file (overrides `db`).
        #[arg(long)]
        db: Option<PathBuf>,
    },
    /// Print one access token the server accepts, signed with a TEST-ONLY key.
    MintToken {
        /// The `sub` claim.
        #[arg(long)]
        sub: String,
        /// Space-separated scopes.
        #[arg(long, default_value = "openid")]
        scope: String,
        /// How the `scope` claim is written.
        #[arg(long, value_enum, default_value_t = ScopeFormat::Array)]
        scope_format: ScopeFormat,
        /// Lifetime in seconds; negative gives an already expired token.
        #[arg(long, default_value_t = 300, allow_negative_numbers = true)]
        ttl: i64,
        /// Signing algorithm.
        #[arg(long, default_value = "RS256", value_parser = ["RS256", "ES256"])]
        alg: String,
    },
}

/// Form of the `scope` claim.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ScopeFormat {
    /// JSON array, as the vendor issues it.
    Array,
    /// Space-separated string, as RFC 9068 writes it.
    String,
}

/// Runs the command line; returns the process exit code.
pub fn run(cli: Cli) -> ExitCode {
    let mut config = match Config::load(&cli.config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    match cli.command {
        Command::Serve { addr, db } => {
            if let Some(addr) = addr {
                config.addr = addr;
            }
            if let Some(db) = db {
                config.db = db;
            }
            serve_command(&config)
        }
        Command::MintToken {
            sub,
            scope,
            scope_format,
            ttl,
            alg,
        } => match mint(&config, &sub, &scope, scope_format, ttl, &alg) {
            Ok(token) => {
                println!("{token}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(2)
            }
        },
    }
}

fn serve_command(config: &Config) -> ExitCode {
    init_logging();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    // Built before the runtime runs: seeding hashes on this thread, not on an async worker.
    let app = match App::build(config) {
        Ok(app) => app,
        Err(e) => {
            eprintln!("error: {e}");
            return match e {
                StartError::Store(_) => ExitCode::FAILURE,
                _ => ExitCode::from(2),
            };
        }
    };
    runtime.block_on(async {
        let listener = match tokio::net::TcpListener::bind(config.addr).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("error: cannot listen on {}: {e}", config.addr);
                return ExitCode::FAILURE;
            }
        };
        let addr = listener.local_addr().map_or(config.addr, |a| a);
        let shutdown = shutdown_signal();
        tracing::info!(%addr, "listening");
        serve(listener, std::sync::Arc::new(app), shutdown).await;
        ExitCode::SUCCESS
    })
}

/// Signs a token for `sub` with the first configured key of `alg`.
pub fn mint(
    config: &Config,
    sub: &str,
    scope: &str,
    format: ScopeFormat,
    ttl: i64,
    alg: &str,
) -> Result<String, String> {
    let algorithm = parse_algorithm(alg).ok_or_else(|| format!("unsupported --alg {alg}"))?;
    let key = SigningKey::select(&config.signing_key, algorithm).map_err(|e| e.to_string())?;
    let now = crate::now_ms() / 1000;
    let scopes: Vec<&str> = scope.split_whitespace().collect();
    let scope = match format {
        ScopeFormat::Array => json!(scopes),
        ScopeFormat::String => json!(scopes.join(" ")),
    };
    let mut jti = [0u8; 16];
    getrandom::fill(&mut jti).map_err(|e| e.to_string())?;
    let claims = json!({
        "iss": config.issuer,
        "aud": config.audience,
        "sub": sub,
        "iat": now,
        "nbf": now.min(now + ttl),
        "exp": now + ttl,
        "jti": jti.iter().map(|b| format!("{b:02x}")).collect::<String>(),
        "scope": scope,
    });
    key.sign(&claims).map_err(|e| e.to_string())
}

/// Logs to stderr; `RUST_LOG` filters (default `info`).
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}
