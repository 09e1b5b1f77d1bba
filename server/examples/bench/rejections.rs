//! The cheap rejections against bare hyper (S9 without a token, S10 with a
//! garbage token, S11 with a valid token lacking `openid`, answered from the
//! verified-token cache) and the forged-signature S10 row, measured against
//! bare hyper and against its verification ceiling: the server's own
//! token check ([`Verifier::verify`]: cache lookup, header decoding, key
//! lookup, signature verification; no HTTP), run in this process on as many
//! threads as the server's runtime has workers (pinned mode: one, on the
//! server's CPU), over the same kind of forged tokens. Servers and load
//! generator are placed as [`Mode`] says. Every forged token carries a signature never sent before,
//! and the server's count of signature verifications is read before and
//! after, so a row cannot be bought with a cache of refusals.

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use server::Config;
use server::keys::KeySet;
use server::token::{TokenError, Verifier};

use crate::load::{Forger, Load, Template, drive};
use crate::pin::{Mode, pin_current_thread};
use crate::pipeline::drive_pipelined;
use crate::{Res, Row, ServerProc, row, token};

/// CPU time the calling thread has used.
fn thread_cpu() -> Duration {
    // SAFETY: clock_gettime writes the timespec it is given.
    let mut ts: libc::timespec = unsafe { std::mem::zeroed() };
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// How many forged tokens `verifier` refuses in `duration` on `threads`
/// threads (each pinned to `cpu` if given), the time it took and the CPU
/// time the threads used; an error if one is answered otherwise than
/// "bad signature".
fn ceiling(
    verifier: &Verifier,
    forger: &Forger,
    threads: usize,
    cpu: Option<usize>,
    duration: Duration,
) -> Res<(u64, Duration, Duration)> {
    let started = Instant::now();
    let deadline = started + duration;
    let counts = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(move || {
                    if let Some(cpu) = cpu {
                        pin_current_thread(cpu).map_err(|e| e.to_string())?;
                    }
                    let mut refused = 0u64;
                    let cpu_before = thread_cpu();
                    while Instant::now() < deadline {
                        match verifier.verify(&forger.next()) {
                            Err(TokenError::Invalid("bad signature")) => refused += 1,
                            other => return Err(format!("a forged token gave {other:?}")),
                        }
                    }
                    Ok((refused, thread_cpu() - cpu_before))
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("ceiling thread"))
            .collect::<Result<Vec<(u64, Duration)>, String>>()
    })?;
    let refused = counts.iter().map(|c| c.0).sum();
    let cpu = counts.iter().map(|c| c.1).sum();
    Ok((refused, started.elapsed(), cpu))
}

/// 32 connections driving `addr` with `template` for `round`, one request
/// at a time (`depth` 1) or in pipelined batches of `depth`.
async fn load(addr: SocketAddr, template: &Template, round: Duration, depth: usize) -> Load {
    if depth > 1 {
        drive_pipelined(addr, template, 32, round, depth).await
    } else {
        drive(addr, template, 32, round).await
    }
}

/// `server` driven with `template` for `round`, with the CPU time it used.
fn measured(
    runtime: &tokio::runtime::Runtime,
    server: &ServerProc,
    template: &Template,
    round: Duration,
    depth: usize,
) -> Res<Load> {
    let before = server.cpu()?;
    let mut load = runtime.block_on(load(server.addr, template, round, depth));
    load.server_cpu = server.cpu()? - before;
    Ok(load)
}

/// The rows of this section, from one baseline and one reference server.
pub fn rows(
    mode: Mode,
    dir: &Path,
    config: &Config,
    users: &Path,
    phase: Duration,
    depth: usize,
) -> Res<Vec<Row>> {
    let mut rows = Vec::new();
    let runtime = &mode.load_runtime()?;
    let baseline = ServerProc::start_in(mode, &["--child-baseline"])?;
    let mut reference = ServerProc::reference_in(mode, dir, "rejections", 5, users)?;
    let garbage = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImRldi1yczI1NiJ9.e30.c2lnbmF0dXJl";
    let no_openid = token(config, "alice", "profile")?;
    let scenarios = [
        ("S9 missing token", Template::change(None, "a", "b"), 0.8),
        (
            "S10 garbage token",
            Template::change(Some(garbage), "a", "b"),
            0.5,
        ),
        (
            "S11 no openid scope (verified-token cache hit)",
            Template::change(Some(&no_openid), "a", "b"),
            0.8,
        ),
    ];
    // Baseline and reference in turns (three rounds of a third of the
    // phase), so that load drifting during the run falls on both alike.
    let round = phase / 3;
    for (name, template, goal) in &scenarios {
        let (mut base, mut refr) = (Load::empty(), Load::empty());
        for _ in 0..3 {
            base.merge(measured(runtime, &baseline, template, round, depth)?);
            refr.merge(measured(runtime, &reference, template, round, depth)?);
        }
        rows.extend(versus_baseline(name, &base, &refr, *goal));
    }

    // S10 with a forged signature, in three rounds of ceiling, baseline,
    // reference, so that drifting load falls on all three alike.
    let openid = token(config, "alice", "openid")?;
    let other = token(config, "bob", "openid")?;
    let verifier = Verifier::from_config(KeySet::load(&config.jwks)?, config);
    let threads = mode.server_workers();
    let http = Template::forged(Forger::new(&openid, &other), "a", "b");
    let in_process = Forger::new(&openid, &other);
    let (mut base, mut refr) = (Load::empty(), Load::empty());
    let (mut refused, mut spent, mut ceiling_cpu) = (0u64, Duration::ZERO, Duration::ZERO);
    let before = reference.verifications()?;
    for _ in 0..3 {
        let (n, took, cpu) = ceiling(&verifier, &in_process, threads, mode.ceiling_cpu(), round)?;
        refused += n;
        spent += took;
        ceiling_cpu += cpu;
        base.merge(measured(runtime, &baseline, &http, round, depth)?);
        refr.merge(measured(runtime, &reference, &http, round, depth)?);
    }
    let verified = reference.verifications()? - before;
    let name = "S10 forged signature, fresh for every request";
    rows.extend(versus_baseline(name, &base, &refr, 0.25));
    let ceiling_rps = refused as f64 / spent.as_secs_f64();
    rows.push(row(
        format!(
            "verification ceiling: forged tokens refused per second by `Verifier::verify` on {threads} threads, no HTTP"
        ),
        format!("{ceiling_rps:.0} ({refused} in {:.1} s)", spent.as_secs_f64()),
        "",
        None,
    ));
    let ratio = refr.rps() / ceiling_rps;
    rows.push(row(
        format!("{name}: req/s reference / verification ceiling"),
        format!("{:.0} / {ceiling_rps:.0} = {ratio:.2}", refr.rps()),
        ">= 0.7",
        Some(ratio >= 0.7),
    ));
    let per_verification = ceiling_cpu.as_secs_f64() * 1e6 / refused.max(1) as f64;
    let cpu_ratio = per_verification / refr.cpu_us();
    rows.push(row(
        format!(
            "{name}: CPU per verification in the ceiling / server CPU per request (the ratio above if the server's CPU were the bottleneck)"
        ),
        format!(
            "{per_verification:.1} us / {:.1} us = {cpu_ratio:.2}",
            refr.cpu_us()
        ),
        ">= 0.7",
        Some(cpu_ratio >= 0.7),
    ));
    let answered = refr.statuses.get(&401).copied().unwrap_or(0);
    rows.push(row(
        format!("{name}: signature verifications in the server / 401 answers"),
        format!("{verified} / {answered} (statuses {:?})", refr.statuses),
        ">= 1 verification per 401",
        Some(answered > 0 && verified >= answered && refr.statuses.len() == 1),
    ));
    Ok(rows)
}

/// `--profile s9|s10|s11 SECS`: drives one scenario (S10: the forged
/// signature) against a reference child for `secs`, after printing the
/// child's pid and waiting 3 s so that `perf record -p PID` can attach.
pub fn hold(
    mode: Mode,
    dir: &Path,
    config: &Config,
    users: &Path,
    scenario: &str,
    secs: u64,
    depth: usize,
) -> Res<()> {
    let template = match scenario {
        "s9" => Template::change(None, "a", "b"),
        "s11" => Template::change(Some(&token(config, "alice", "profile")?), "a", "b"),
        "s10" => Template::forged(
            Forger::new(
                &token(config, "alice", "openid")?,
                &token(config, "bob", "openid")?,
            ),
            "a",
            "b",
        ),
        other => return Err(format!("--profile {other}: one of s9, s10, s11").into()),
    };
    let runtime = mode.load_runtime()?;
    let reference = ServerProc::reference_in(mode, dir, "profile", 5, users)?;
    println!("reference pid {}", reference.pid());
    std::thread::sleep(Duration::from_secs(3));
    let load = runtime.block_on(load(
        reference.addr,
        &template,
        Duration::from_secs(secs),
        depth,
    ));
    println!("{:.0} req/s, statuses {:?}", load.rps(), load.statuses);
    Ok(())
}

/// The pipelined driver's dropped connections, when there were any.
fn dropped(base: &Load, refr: &Load) -> String {
    match (refr.connection_errors, base.connection_errors) {
        (0, 0) => String::new(),
        (r, b) => format!("  dropped connections {r} ({b})"),
    }
}

/// The throughput ratio row (with its goal), the same ratio from the
/// servers' CPU time per request, and the latency row of one scenario.
fn versus_baseline(name: &str, base: &Load, refr: &Load, goal: f64) -> [Row; 3] {
    let ratio = refr.rps() / base.rps();
    let cpu_ratio = base.cpu_us() / refr.cpu_us();
    [
        row(
            format!("{name}: req/s reference / baseline"),
            format!("{:.0} / {:.0} = {ratio:.2}", refr.rps(), base.rps()),
            &format!(">= {goal}"),
            Some(ratio >= goal),
        ),
        row(
            format!(
                "{name}: server CPU per request, baseline / reference (the ratio above if the server's CPU were the bottleneck)"
            ),
            format!(
                "{:.1} us / {:.1} us = {cpu_ratio:.2}",
                base.cpu_us(),
                refr.cpu_us()
            ),
            &format!(">= {goal}"),
            Some(cpu_ratio >= goal),
        ),
        row(
            format!("{name}: p50 / p99 ms, reference (baseline)"),
            format!(
                "{:.2} / {:.2} ({:.2} / {:.2})  statuses {:?}{}",
                refr.p(0.5),
                refr.p(0.99),
                base.p(0.5),
                base.p(0.99),
                refr.statuses,
                dropped(base, refr)
            ),
            "",
            None,
        ),
    ]
}
