//! Where the bench's threads run: the two modes of the throughput rows.
//!
//! - **pinned** (default): the server under test (reference and bare hyper
//!   alike) runs one runtime worker thread and all its other threads on
//!   CPU 0; the load generator runs on CPU 1; the verification ceiling is
//!   measured on one thread pinned to CPU 0. Server and load generator do
//!   not compete for a core, so ratios compare server-side costs.
//! - **shared** (`--mode shared`, the bench before pinning): nothing is
//!   pinned, the server's runtime has one worker per core, the load
//!   generator two workers, and the ceiling as many threads as the
//!   server's workers; server and generator share every core.
//!
//! A pinned child learns its CPU from the environment variable [`PIN_ENV`].

use crate::Res;

/// The environment variable that tells a child server which CPU to run on.
pub const PIN_ENV: &str = "BENCH_SERVER_CPU";
/// The server's CPU in pinned mode.
pub const SERVER_CPU: usize = 0;
/// The load generator's CPU in pinned mode.
pub const LOAD_CPU: usize = 1;

/// How the bench places its threads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Pinned,
    Shared,
}

impl Mode {
    pub fn parse(s: &str) -> Res<Mode> {
        match s {
            "pinned" => Ok(Mode::Pinned),
            "shared" => Ok(Mode::Shared),
            other => Err(format!("--mode {other}: pinned or shared").into()),
        }
    }

    /// One line for the bench's header.
    pub fn describe(self) -> String {
        match self {
            Mode::Pinned => format!(
                "mode pinned: each server under test on CPU {SERVER_CPU} with 1 runtime worker; load generator on CPU {LOAD_CPU} (1 worker); ceiling on 1 thread on CPU {SERVER_CPU}"
            ),
            Mode::Shared => format!(
                "mode shared: nothing pinned; servers with {} runtime workers, load generator with 2, all on the same {} cores",
                cores(),
                cores()
            ),
        }
    }

    /// Worker threads of a server's runtime (and threads of the ceiling).
    pub fn server_workers(self) -> usize {
        match self {
            Mode::Pinned => 1,
            Mode::Shared => cores(),
        }
    }

    /// The load generator's runtime: pinned, one worker on [`LOAD_CPU`]
    /// (its threads pin themselves as they start); shared, two workers.
    pub fn load_runtime(self) -> Res<tokio::runtime::Runtime> {
        let mut builder = tokio::runtime::Builder::new_multi_thread();
        match self {
            Mode::Pinned => {
                if cores() < 2 {
                    return Err("--mode pinned needs 2 CPUs; use --mode shared".into());
                }
                builder.worker_threads(1).on_thread_start(|| {
                    pin_current_thread(LOAD_CPU).expect("pin a load generator thread");
                });
            }
            Mode::Shared => {
                builder.worker_threads(2);
            }
        }
        Ok(builder.enable_all().build()?)
    }

    /// The environment a child server under test gets: pinned, the CPU.
    pub fn child_env(self) -> Option<(&'static str, String)> {
        (self == Mode::Pinned).then(|| (PIN_ENV, SERVER_CPU.to_string()))
    }

    /// The CPU each ceiling thread pins itself to, if any.
    pub fn ceiling_cpu(self) -> Option<usize> {
        (self == Mode::Pinned).then_some(SERVER_CPU)
    }
}

/// Cores this process may use.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Restricts the calling thread to `cpu`; threads it starts afterwards
/// inherit that. Linux only (`sched_setaffinity` on thread id 0).
pub fn pin_current_thread(cpu: usize) -> Res<()> {
    // SAFETY: cpu_set_t is plain data; zeroed is the empty set, CPU_SET
    // writes inside it (cpu is checked against its capacity first).
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if cpu >= 8 * std::mem::size_of::<libc::cpu_set_t>() {
            return Err(format!("CPU {cpu} out of range").into());
        }
        libc::CPU_SET(cpu, &mut set);
        if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
            return Err(format!(
                "sched_setaffinity(CPU {cpu}): {}",
                std::io::Error::last_os_error()
            )
            .into());
        }
    }
    Ok(())
}

/// In a child server: pins the process's threads to the CPU named by
/// [`PIN_ENV`] if set, and builds its runtime (1 worker when pinned, one
/// per core otherwise).
pub fn child_runtime() -> Res<tokio::runtime::Runtime> {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Ok(cpu) = std::env::var(PIN_ENV) {
        pin_current_thread(cpu.parse()?)?;
        builder.worker_threads(1);
    }
    Ok(builder.enable_all().build()?)
}
