//! How long the conformance run takes, this build against an older one
//! (issue 20 point 6: "no slower than today on a tenant without lockout"),
//! measured in the same go: the two binaries run the catalogue alternately,
//! several times each, against the same reference server code (started by
//! this program, in-process, with a fresh database before every run, so
//! that neither run finds the other's locked account or history), with the
//! same profile (`fixtures/reference.toml`, a consecutive count reset by a
//! success: no run waits for a lockout window).
//!
//! ```sh
//! git archive 4132d38 | tar -x -C /tmp/old && \
//!   cargo build --release -p conformance --manifest-path /tmp/old/Cargo.toml --target-dir /tmp/old-target
//! cargo build --release -p conformance --example suite_speed
//! ./target/release/examples/suite_speed --old /tmp/old-target/release/conformance
//! ```
//!
//! Links (`--links`, default all three): `loopback` (straight to the
//! server), `delay` (through a proxy adding `--delay-ms` each way and a
//! round trip per new connection: `link`), `tls` (the same, https behind
//! the delay). The proxy listens on this machine's address off the
//! loopback interface, so both binaries treat the target as remote (plain
//! http allowed with `--allow-insecure-http`; both unpaced, `--rate 0`,
//! unless `--rate` says otherwise). Prints, per link: the medians of the wall time, of the time
//! per exchange (the report's exchanges: cases, effect checks, restore),
//! of the summed time of the cases both binaries run, the TCP connections
//! opened, and the ratios new / old.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

mod link;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

const HELP: &str = "\
usage: suite_speed --old PATH [--new PATH] [--runs N] [--delay-ms MS]
                   [--links loopback,delay,tls] [--hashing cheap|owasp]
                   [--rate R] [--remote-ip IP]

  --old       the conformance binary to compare against (built elsewhere)
  --new       this build's binary [default: target/release/conformance]
  --runs      runs of each binary per link, alternated [default: 5]
  --delay-ms  one-way delay of the delay and tls links [default: 5]
  --links     which links to measure [default: loopback,delay,tls]
  --hashing   argon2id cost of the reference server [default: cheap]
  --rate      --rate given to both binaries (requests per second, 0:
              unpaced) [default: 0]
  --remote-ip where the delay and tls links listen: an address off the
              loopback interface, so that both binaries treat the target
              as remote [default: the source address of the default route]
";

/// What one run of one binary produced.
struct Run {
    wall: Duration,
    /// CPU time (user + system) of the conformance process.
    cpu: Duration,
    code: Option<i32>,
    summary: String,
    exchanges: u64,
    cases: BTreeMap<String, f64>,
    connections: Option<u64>,
    resumed: Option<u64>,
}

struct Options {
    old: PathBuf,
    new: PathBuf,
    runs: usize,
    delay: Duration,
    links: Vec<String>,
    owasp: bool,
    rate: String,
    remote_ip: std::net::IpAddr,
}

fn main() -> ExitCode {
    match options().and_then(|o| measure(&o)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("suite_speed: {e}");
            ExitCode::FAILURE
        }
    }
}

fn options() -> Res<Options> {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--help" || a == "-h") {
        print!("{HELP}");
        std::process::exit(0);
    }
    let flag = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let old = flag("--old").ok_or("--old PATH is required (see --help)")?;
    let new = match flag("--new") {
        Some(p) => PathBuf::from(p),
        None => std::env::current_exe()?
            .parent()
            .and_then(Path::parent)
            .map(|d| d.join("conformance"))
            .ok_or("no target directory")?,
    };
    let links = flag("--links").unwrap_or_else(|| "loopback,delay,tls".into());
    Ok(Options {
        old: PathBuf::from(old),
        new,
        runs: flag("--runs").map_or(Ok(5), |n| n.parse())?,
        delay: Duration::from_millis(flag("--delay-ms").map_or(Ok(5), |n| n.parse())?),
        links: links.split(',').map(str::to_string).collect(),
        owasp: flag("--hashing").is_some_and(|h| h == "owasp"),
        rate: flag("--rate").unwrap_or_else(|| "0".into()),
        remote_ip: match flag("--remote-ip") {
            Some(ip) => ip.parse()?,
            None => own_address()?,
        },
    })
}

/// This machine's address off the loopback interface (the source address
/// of its default route; no packet is sent).
fn own_address() -> Res<std::net::IpAddr> {
    let probe = std::net::UdpSocket::bind("0.0.0.0:0")?;
    probe.connect("198.51.100.1:9")?;
    let ip = probe.local_addr()?.ip();
    if ip.is_loopback() || ip.is_unspecified() {
        return Err("no address off the loopback interface: give --remote-ip".into());
    }
    Ok(ip)
}

fn measure(o: &Options) -> Res<()> {
    for bin in [&o.old, &o.new] {
        if !bin.is_file() {
            return Err(format!("{}: no such binary", bin.display()).into());
        }
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    println!("# conformance run: new / old, same go");
    println!("old: {}", o.old.display());
    println!("new: {}", o.new.display());
    println!(
        "load average before: {}; {} runs of each binary per link, alternated; hashing {}",
        load_average(),
        o.runs,
        if o.owasp { "owasp" } else { "cheap-test-only" }
    );
    for name in &o.links {
        let mut old_runs = Vec::new();
        let mut new_runs = Vec::new();
        for i in 0..o.runs {
            // Alternate which binary goes first, so drifting load falls on both.
            let order = if i % 2 == 0 {
                [true, false]
            } else {
                [false, true]
            };
            for is_old in order {
                let bin = if is_old { &o.old } else { &o.new };
                let run = runtime.block_on(one_run(bin, name, o))?;
                if is_old {
                    old_runs.push(run);
                } else {
                    new_runs.push(run);
                }
            }
        }
        print_link(name, o, &old_runs, &new_runs);
    }
    println!("load average after: {}", load_average());
    Ok(())
}

/// One run of `bin` against a fresh reference server over the link `name`.
async fn one_run(bin: &Path, name: &str, o: &Options) -> Res<Run> {
    let dir = tempfile::tempdir()?;
    let mut config = server::Config::load(Path::new(server::cli::DEFAULT_CONFIG))?;
    config.db = dir.path().join("reference.sqlite3");
    if !o.owasp {
        config.hashing.profile = server::config::HashingProfile::CheapTestOnly;
    }
    let app = server::App::build(&config)?;
    let running = server::Running::start(app, ([127, 0, 0, 1], 0).into()).await?;
    let server_addr: std::net::SocketAddr =
        running.base_url().trim_start_matches("http://").parse()?;
    let mut ca_file = None;
    let (base_url, link) = match name {
        "loopback" => (running.base_url(), None),
        "delay" => {
            let l = link::start(o.remote_ip, server_addr, o.delay, None).await?;
            (format!("http://{}", l.addr), Some(l))
        }
        "tls" => {
            let (ca, acceptor) = link::tls_acceptor(o.remote_ip)?;
            let file = dir.path().join("ca.pem");
            std::fs::write(&file, ca)?;
            ca_file = Some(file);
            let l = link::start(o.remote_ip, server_addr, o.delay, Some(acceptor)).await?;
            (format!("https://{}", l.addr), Some(l))
        }
        other => return Err(format!("unknown link {other:?} (loopback, delay, tls)").into()),
    };
    let report = dir.path().join("report.json");
    let keep = std::env::var_os("SUITE_SPEED_KEEP").map(PathBuf::from);
    let mut cmd = tokio::process::Command::new(bin);
    cmd.current_dir(dir.path())
        .args(["--profile", conformance::embedded::REFERENCE_PROFILE])
        .args(["--base-url", &base_url, "--format", "json"])
        .arg("--state")
        .arg(dir.path().join("state.json"))
        .arg("--output")
        .arg(&report)
        .args(["--rate", &o.rate]);
    if name == "delay" {
        cmd.arg("--allow-insecure-http");
    }
    cmd.stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    if let Some(ca) = &ca_file {
        cmd.env("CONFORMANCE_CA_FILE", ca);
    }
    let (start, cpu_before) = (Instant::now(), children_cpu());
    let status = cmd.status().await?;
    let (wall, cpu) = (start.elapsed(), children_cpu().saturating_sub(cpu_before));
    let connections = link.as_ref().map(link::Link::connections);
    let resumed = link
        .as_ref()
        .map(link::Link::resumed)
        .filter(|_| name == "tls");
    if let Some(l) = link {
        l.stop();
    }
    running.shutdown().await;
    if let Some(keep) = keep {
        let tag = bin.to_string_lossy().replace('/', "_");
        std::fs::copy(&report, keep.join(format!("{name}{tag}.json")))?;
    }
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&report)?)?;
    let mut run = parse(json, wall, status.code(), connections);
    run.cpu = cpu;
    run.resumed = resumed;
    Ok(run)
}

fn parse(
    json: serde_json::Value,
    wall: Duration,
    code: Option<i32>,
    connections: Option<u64>,
) -> Run {
    let mut exchanges = 0;
    let mut cases = BTreeMap::new();
    for case in json["cases"].as_array().into_iter().flatten() {
        exchanges += case["exchanges"].as_array().map_or(0, |a| a.len() as u64);
        if let (Some(id), Some(ms)) = (case["id"].as_str(), case["elapsed_ms"].as_f64()) {
            cases.insert(id.to_string(), ms);
        }
    }
    let listed = |v: &serde_json::Value| v["exchanges"].as_array().map_or(0, |a| a.len() as u64);
    exchanges += json["effects"]
        .as_array()
        .into_iter()
        .flatten()
        .map(listed)
        .sum::<u64>();
    exchanges += listed(&json["restore"]);
    let s = &json["summary"];
    let summary = format!(
        "{} cases: {} passed, {} failed, {} skipped",
        cases.len(),
        s["passed"],
        s["failed"],
        s["skipped"]
    );
    Run {
        wall,
        cpu: Duration::ZERO,
        code,
        summary,
        exchanges,
        cases,
        connections,
        resumed: None,
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// The summed time of the cases `shared` in one run, ms.
fn shared_ms(run: &Run, shared: &[&String]) -> f64 {
    shared.iter().filter_map(|id| run.cases.get(*id)).sum()
}

/// A printed figure: its name, how it is read from a run, its unit.
type Figure<'a> = (&'a str, &'a dyn Fn(&Run) -> f64, &'a str);

fn print_link(name: &str, o: &Options, old: &[Run], new: &[Run]) {
    let delay = match name {
        "loopback" => String::new(),
        _ => format!(" ({} ms each way)", o.delay.as_millis()),
    };
    println!("\n## link: {name}{delay}");
    for (label, runs) in [("old", old), ("new", new)] {
        let first = &runs[0];
        let walls: Vec<String> = runs
            .iter()
            .map(|r| format!("{:.2}", r.wall.as_secs_f64()))
            .collect();
        println!(
            "{label}: exit {:?}, {}, {} exchanges; wall s: {}",
            first.code,
            first.summary,
            first.exchanges,
            walls.join(" ")
        );
    }
    let shared: Vec<&String> = old[0]
        .cases
        .keys()
        .filter(|id| new[0].cases.contains_key(*id))
        .collect();
    let stat = |runs: &[Run], f: &dyn Fn(&Run) -> f64| median(runs.iter().map(f).collect());
    let rows: [Figure; 8] = [
        ("wall time of the run", &|r| r.wall.as_secs_f64(), "s"),
        (
            "wall time per exchange",
            &|r| r.wall.as_secs_f64() * 1000.0 / r.exchanges.max(1) as f64,
            "ms",
        ),
        (
            "CPU time of the conformance process (user + system)",
            &|r| r.cpu.as_secs_f64(),
            "s",
        ),
        (
            "summed time of the shared cases",
            &|r| shared_ms(r, &shared) / 1000.0,
            "s",
        ),
        (
            "summed time of all cases",
            &|r| r.cases.values().sum::<f64>() / 1000.0,
            "s",
        ),
        (
            "wall time outside the cases (start, effects, restore)",
            &|r| r.wall.as_secs_f64() - r.cases.values().sum::<f64>() / 1000.0,
            "s",
        ),
        (
            "TCP connections opened",
            &|r| r.connections.map_or(f64::NAN, |c| c as f64),
            "",
        ),
        (
            "TLS handshakes that resumed a session",
            &|r| r.resumed.map_or(f64::NAN, |c| c as f64),
            "",
        ),
    ];
    println!("| figure | old (median) | new (median) | new / old |");
    println!("|---|---|---|---|");
    for (figure, f, unit) in rows {
        let (a, b) = (stat(old, f), stat(new, f));
        if a.is_nan() {
            continue;
        }
        println!(
            "| {figure} | {a:.3} {unit} | {b:.3} {unit} | {:.2} |",
            b / a
        );
    }
    println!(
        "shared cases: {} (old {}, new {})",
        shared.len(),
        old[0].cases.len(),
        new[0].cases.len()
    );
}

/// CPU time of the children waited for so far (one run at a time: the
/// difference around a run is that run's).
fn children_cpu() -> Duration {
    // SAFETY: getrusage writes one `rusage` into the zeroed value given.
    let usage = unsafe {
        let mut u: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_CHILDREN, &mut u);
        u
    };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}
