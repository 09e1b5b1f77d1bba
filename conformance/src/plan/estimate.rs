//! How long a run would take, from its plan alone: a simple model,
//! documented in docs/vendor-guide.md ("Before a run: conformance plan").
//!
//! - **Requests**: each running case's steps as its plan implies them on
//!   a conformant target ([`requests_of`]: a valid change and its two
//!   effect steps, a refused one and the tracked password, the setup
//!   changes of the history cases …), one confirmation per eight cases
//!   that defer it, the probe and the restore (one change per history
//!   entry, and one more). With `--properties`, each generated policy
//!   case costs two requests, each account-model sequence half its
//!   maximum length, each hostile input one, at most the run's request
//!   bound.
//! - **Per request**: `1 / rate` when the run is paced (the profile's
//!   `[http] rate`, else 10 per second off the loopback interface), else
//!   [`LOOPBACK_MS`] on the loopback interface and [`REMOTE_MS`] off it.
//! - **Lockout waits**, per account of the pool, for a counting window
//!   with `window_secs`: with `n` wrong old passwords planned for the
//!   account (the plan's allotment, [`super::make`]) and `a` allowed at
//!   once, the run sends them `a` per window, so it waits
//!   `(ceil(n / a) - 1) × window_secs`, plus the guard's 0.1 s margin for
//!   each of the `n - a` that wait. The run's waits are the largest
//!   account's: the accounts' windows run in parallel while the runner
//!   moves on. With `--properties`, their wrong old passwords go to the
//!   account the runner gives them, the one with the most room left after
//!   the catalogue ([`RunPlan::properties_account`]). In a row (a success
//!   resets) and under a fixed budget nothing is waited for.
//!
//! The total is requests × per request + the waits: an upper estimate, as
//! the requests between two wrong old passwords also let the window move.

use serde::Serialize;

use crate::pacing::DEFAULT_REMOTE_RATE;
use crate::profile::{Counting, Profile};
use crate::vocabulary::plans::{history, password as pw, user};
use crate::vocabulary::{Case, Plan};

use super::RunPlan;

/// Milliseconds per request on the loopback interface, unpaced.
pub const LOOPBACK_MS: f64 = 3.0;
/// Milliseconds per request off the loopback interface, unpaced.
pub const REMOTE_MS: f64 = 150.0;
/// The guard's margin after each wait for the window, in seconds.
const WAIT_MARGIN_SECS: f64 = 0.1;

/// The generated properties a run would add.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PropertyLoad {
    /// Generated cases per property.
    pub cases: u32,
    /// Account-model sequences.
    pub sequences: u32,
    /// Steps per sequence at most.
    pub max_steps: u32,
    /// The run's bound on the properties' requests.
    pub max_requests: u64,
}

impl PropertyLoad {
    /// What `run --properties` uses without `--cases`: 64 cases for a
    /// target off the loopback interface (at most `remote_bound`
    /// requests), 256 on it, sequences a quarter of the cases, 30 steps.
    pub fn default_for(remote: bool, remote_bound: u64) -> PropertyLoad {
        let cases = if remote { 64 } else { 256 };
        PropertyLoad {
            cases,
            sequences: (cases / 4).max(1),
            max_steps: 30,
            max_requests: if remote { remote_bound } else { u64::MAX },
        }
    }

    fn requests(&self) -> u64 {
        let n = u64::from(self.cases);
        let model = u64::from(self.sequences) * u64::from(self.max_steps) / 2;
        (2 * n + model + n).min(self.max_requests)
    }

    /// Wrong old passwords: a quarter of the account model's steps.
    fn wrong_olds(&self) -> u32 {
        self.sequences * self.max_steps / 2 / 4
    }
}

/// The estimate of a run's length.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Estimate {
    /// Requests sent.
    pub requests: u64,
    /// Seconds per request.
    pub per_request_secs: f64,
    /// Seconds spent waiting for lockout windows.
    pub lockout_waits_secs: f64,
    /// Wrong old passwords sent the active accounts (planned).
    pub wrong_olds: u32,
    /// The total, in seconds.
    pub total_secs: f64,
}

impl Estimate {
    /// `~4 min 10 s (812 requests at 0.100 s, 3 min 0 s of lockout waits)`.
    pub fn line(&self) -> String {
        format!(
            "~{} ({} requests at {:.3} s, {} of lockout waits)",
            human(self.total_secs),
            self.requests,
            self.per_request_secs,
            human(self.lockout_waits_secs)
        )
    }
}

/// `2 h 5 min`, `4 min 10 s`, `12 s`, `0.4 s`.
pub fn human(secs: f64) -> String {
    let whole = secs.round() as u64;
    if secs < 10.0 {
        format!("{secs:.1} s")
    } else if whole < 60 {
        format!("{whole} s")
    } else if whole < 3600 {
        format!("{} min {} s", whole / 60, whole % 60)
    } else {
        format!("{} h {} min", whole / 3600, (whole % 3600) / 60)
    }
}

/// The requests `case` sends on a conformant target; `effect`: its effect
/// check tries the refused new password as old (one more).
pub fn requests_of(profile: &Profile, case: &Case, effect: bool) -> u32 {
    let depth = profile.policy.depth().unwrap_or(0) as u32;
    let base = match case.plan {
        Plan::Auth(_) | Plan::Tokens(_) | Plan::Http(_) | Plan::Members(_) => 1,
        Plan::User(user::Plan::Lockout) => profile.lockout.max_failures.unwrap_or(0) + 1,
        Plan::User(_) => 1,
        Plan::Password(p) => match p {
            pw::Plan::Success | pw::Plan::Exact(_) | pw::Plan::NotDuplicate(_) => 3,
            pw::Plan::WrongOld | pw::Plan::Duplicate => 2,
            pw::Plan::WrongOldFirst(_) => 1,
        },
        Plan::Policy(_) => 2,
        Plan::History(history::Plan::History(probe)) => match probe {
            history::HistoryProbe::MostRecent | history::HistoryProbe::MostRecentCaseChanged => 3,
            history::HistoryProbe::Nth | history::HistoryProbe::Beyond => depth + 3,
        },
        Plan::Property(_) => 0,
    };
    base + u32::from(effect)
}

/// The per-request figure for `profile`'s target.
pub fn per_request_secs(profile: &Profile) -> f64 {
    let remote = profile.endpoint().map_or(true, |e| !e.is_loopback());
    let rate = profile
        .http
        .rate
        .or(remote.then_some(DEFAULT_REMOTE_RATE))
        .filter(|r| *r > 0.0);
    match rate {
        Some(r) => 1.0 / r,
        None if remote => REMOTE_MS / 1000.0,
        None => LOOPBACK_MS / 1000.0,
    }
}

/// The estimate of carrying out `plan` (of `cases`) with `profile`, with
/// the generated `properties` if any.
pub fn estimate(
    profile: &Profile,
    cases: &[&'static Case],
    plan: &RunPlan,
    properties: Option<PropertyLoad>,
) -> Estimate {
    let mut requests: u64 = 1;
    let mut deferred = 0u64;
    for (case, p) in cases.iter().zip(&plan.cases) {
        if !p.runs() {
            continue;
        }
        requests += u64::from(requests_of(profile, case, p.refused_as_old()));
        if case.plan.defers_confirmation() {
            deferred += 1;
        }
    }
    requests += deferred.div_ceil(8);
    requests += profile.policy.depth().unwrap_or(0) as u64 + 1;
    // Per account of the pool: its planned wrong old passwords.
    let mut per_account: Vec<u32> = plan.accounts.iter().map(|a| a.planned()).collect();
    if let Some(props) = properties {
        requests += props.requests();
        let place = plan.properties_account();
        if let Some(n) = per_account.get_mut(place) {
            *n += match plan.accounts[place].left_for_properties {
                Some(left) => left.min(props.wrong_olds()),
                None => props.wrong_olds(),
            };
        }
    }
    let wrong_olds = per_account.iter().sum();
    let per_request = per_request_secs(profile);
    let waits = per_account
        .iter()
        .map(|&n| lockout_waits(profile, n))
        .fold(0.0, f64::max);
    Estimate {
        requests,
        per_request_secs: per_request,
        lockout_waits_secs: waits,
        wrong_olds,
        total_secs: requests as f64 * per_request + waits,
    }
}

/// The waits for the lockout window of `n` wrong old passwords sent one
/// account of the pool (see the module's model).
pub fn lockout_waits(profile: &Profile, n: u32) -> f64 {
    let rule = profile.lockout.rule();
    let (Some(a), Counting::Window, Some(window)) = (rule.allowance(), rule.counting, rule.window)
    else {
        return 0.0;
    };
    if a == 0 || n <= a {
        return 0.0;
    }
    let batches = n.div_ceil(a) - 1;
    batches as f64 * window.as_secs_f64() + (n - a) as f64 * WAIT_MARGIN_SECS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_follow_the_window_model() {
        let mut profile =
            Profile::load(std::path::Path::new(crate::embedded::REFERENCE_PROFILE)).unwrap();
        profile.lockout.max_failures = Some(4);
        profile.lockout.counting = Some(Counting::Window);
        profile.lockout.window_secs = Some(60);
        // Two at once: 7 wrong old passwords go out in 4 windows.
        let w = lockout_waits(&profile, 7);
        assert!((w - (3.0 * 60.0 + 5.0 * 0.1)).abs() < 1e-9, "{w}");
        assert_eq!(lockout_waits(&profile, 2), 0.0);
        profile.lockout.counting = Some(Counting::Consecutive);
        profile.lockout.window_secs = None;
        assert_eq!(lockout_waits(&profile, 70), 0.0);
        assert_eq!(human(250.0), "4 min 10 s");
        assert_eq!(human(7500.0), "2 h 5 min");
        assert_eq!(human(0.42), "0.4 s");
    }
}
