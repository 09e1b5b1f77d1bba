//! Interruptions: SIGINT and SIGTERM during a run. The first signal does
//! not stop anything at once: it is recorded, the request in flight
//! finishes (and is recorded in the state file like any other), no further
//! case or property step is sent, and the runner restores the original
//! password before the process exits with `128 + signal` (130 for SIGINT,
//! 143 for SIGTERM). A second signal exits at once with the same code; the
//! state file then holds what `conformance restore` needs (every change is
//! written to it as pending before it is sent).

use std::sync::atomic::{AtomicI32, Ordering};

/// The first signal received, 0 for none.
static RECEIVED: AtomicI32 = AtomicI32::new(0);

/// SIGINT.
pub const SIGINT: i32 = 2;
/// SIGTERM.
pub const SIGTERM: i32 = 15;

/// The signal that asked the run to stop, if one did.
pub fn requested() -> Option<i32> {
    match RECEIVED.load(Ordering::SeqCst) {
        0 => None,
        s => Some(s),
    }
}

/// The exit code for an interrupted run: `128 + signal`.
pub fn exit_code() -> Option<u8> {
    requested().map(|s| (128 + s) as u8)
}

/// The signal's name.
pub fn name(signal: i32) -> &'static str {
    match signal {
        SIGINT => "SIGINT",
        SIGTERM => "SIGTERM",
        _ => "a signal",
    }
}

/// Records `signal` as if it had been received (the first one wins).
pub fn request(signal: i32) {
    let _ = RECEIVED.compare_exchange(0, signal, Ordering::SeqCst, Ordering::SeqCst);
}

/// Starts listening for SIGINT and SIGTERM (must be called inside a
/// tokio runtime). Without it the default actions stay (the process dies).
#[cfg(unix)]
pub fn install() -> std::io::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut int = signal(SignalKind::interrupt())?;
    let mut term = signal(SignalKind::terminate())?;
    tokio::spawn(async move {
        loop {
            let s = tokio::select! {
                _ = int.recv() => SIGINT,
                _ = term.recv() => SIGTERM,
            };
            if requested().is_some() {
                eprintln!(
                    "conformance: {} again: exiting now; the state file holds the recorded \
                     passwords: run `conformance restore`",
                    name(s)
                );
                std::process::exit(i32::from(exit_code().unwrap_or(130)));
            }
            request(s);
            eprintln!(
                "conformance: {}: finishing the request in flight, then restoring the original \
                 password (send it again to exit at once)",
                name(s)
            );
        }
    });
    Ok(())
}

/// Without unix signals: nothing to install.
#[cfg(not(unix))]
pub fn install() -> std::io::Result<()> {
    Ok(())
}
