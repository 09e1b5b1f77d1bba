//! The proof that the suite is safe to point at a real tenant (issue 10,
//! point 7): the whole suite, catalogue and generated properties, runs
//! against fake tenants over loopback ([`crate::fakes::Tenant`]) that
//! rate-limit with 429 and `Retry-After`, count wrong old passwords within
//! a sliding window (declared in the profile), cut answers off mid-body,
//! decode invalid UTF-8 leniently and apply the change, and change the
//! locked and frozen accounts' passwords when sent a valid change. After
//! each run, the fake's own accounts are read: every one has its original
//! password, and none was locked but `lockable` (which
//! `user.lockout-after-failures` locks on purpose).

use std::time::Duration;

use conformance::catalogue::{self, Property};
use conformance::embedded::REFERENCE_PROFILE;
use conformance::profile::{Counting, Profile};
use conformance::properties::PropertyOptions;
use conformance::properties::driver::Bounds;
use conformance::runner::{self, RunOutcome};
use conformance::verdict::Enforcement;

use crate::fakes::{ACCOUNTS, Fake, Quirk, Tenant};

/// The lockout window of the fakes, declared in the profile.
const WINDOW: Duration = Duration::from_secs(1);

/// Runs the whole catalogue and the three properties (a few generated
/// cases) against `tenant`, with its lockout rule declared: `max_failures`
/// wrong old passwords within [`WINDOW`] lock.
async fn whole_suite(max_failures: u32, tenant: Tenant) -> (Fake, RunOutcome, tempfile::TempDir) {
    let fake = Fake::tenant(Tenant {
        lockout_window: Some(WINDOW),
        max_failures: Some(max_failures),
        ..tenant
    })
    .await;
    let mut profile = Profile::load(std::path::Path::new(REFERENCE_PROFILE)).unwrap();
    profile.base_url = format!("http://{}", fake.addr);
    profile.lockout.max_failures = Some(max_failures);
    profile.lockout.counting = Some(Counting::Window);
    profile.lockout.window_secs = Some(WINDOW.as_secs());
    let dir = tempfile::tempdir().unwrap();
    let options = crate::support::external_options(dir.path());
    let enforcement = Enforcement {
        strict: false,
        reference: false,
    };
    let props = PropertyOptions {
        cases: 12,
        sequences: 3,
        max_steps: 8,
        seed: 10,
        only: vec![
            Property::PolicyOracle,
            Property::AccountModel,
            Property::HostileInputs,
        ],
        regressions: None,
        enforcement,
        progress: false,
        max_shrink_iters: 16,
        replay: None,
    };
    let bounds = Bounds {
        max_requests: 3_000,
        timeout: Duration::from_secs(5),
    };
    let cases: Vec<_> = catalogue::CATALOGUE.iter().collect();
    let outcome = runner::run_with_properties(&profile, &cases, &options, Some((props, bounds)))
        .await
        .expect("the run starts");
    (fake, outcome, dir)
}

/// Every account of the fake has its original password and none is
/// locked but `bob` (the profile's `lockable`); the run says so too and
/// removed its state file.
fn assert_nothing_lost_nothing_locked(fake: &Fake, outcome: &RunOutcome, dir: &tempfile::TempDir) {
    let now = fake.accounts();
    let said = || {
        format!(
            "restore: {}\neffects: {:?}\n{}",
            outcome.restore.outcome,
            outcome
                .effects
                .iter()
                .map(|h| &h.outcome)
                .collect::<Vec<_>>(),
            summary(outcome)
        )
    };
    for (subject, original) in ACCOUNTS {
        let a = now.iter().find(|a| a.subject == *subject).unwrap();
        assert!(
            a.password == *original,
            "{subject} does not have its original password; {}",
            said()
        );
        if *subject != "bob" {
            assert!(!a.locked_here, "{subject} was locked; {}", said());
        }
    }
    assert!(outcome.restore.ok, "{}", said());
    assert!(!dir.path().join("state.json").exists(), "{}", said());
}

fn summary(outcome: &RunOutcome) -> String {
    outcome
        .cases
        .iter()
        .map(|r| {
            format!(
                "{} {:?} {:?} {} ms",
                r.id, r.verdict, r.reason, r.elapsed_ms
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The quirks every tenant here has: a Node-like lenient decoder (invalid
/// UTF-8 decoded with U+FFFD and the change applied), and statuses not
/// enforced (the frozen and locked accounts' passwords change when sent a
/// valid change).
fn lenient() -> Vec<Quirk> {
    vec![
        Quirk::LenientNode,
        Quirk::FrozenNotChecked,
        Quirk::LockedNotChecked,
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limited_lenient_tenant_that_cuts_answers_keeps_every_password() {
    // It also checks the policy before the old password (open point 1).
    let mut quirks = lenient();
    quirks.push(Quirk::PolicyBeforeOldPassword);
    let (fake, outcome, dir) = whole_suite(
        20,
        Tenant {
            quirks,
            limit_every: Some(61),
            cut_every: Some(37),
            ..Tenant::default()
        },
    )
    .await;
    let traffic = fake.traffic();
    assert_nothing_lost_nothing_locked(&fake, &outcome, &dir);
    assert!(traffic.rate_limited >= 3 && traffic.cut >= 4, "{traffic:?}");
    // A cut answer reached the suite as a lost answer, and a 429 as a
    // retry it waited out.
    let exchanges: Vec<_> = outcome
        .cases
        .iter()
        .flat_map(|r| &r.exchanges)
        .chain(outcome.effects.iter().flat_map(|h| &h.exchanges))
        .chain(&outcome.restore.exchanges)
        .collect();
    assert!(exchanges.iter().any(|x| x.error.is_some()));
    assert!(
        exchanges
            .iter()
            .any(|x| x.purpose.contains("waited out 1 answer: 429"))
    );
}

/// Six wrong old passwords within a second lock: the catalogue and the
/// properties spend one budget of four, and wait for the window rather
/// than reset it with a success (which a window does not forget).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tight_sliding_window_is_never_filled() {
    let (fake, outcome, dir) = whole_suite(
        6,
        Tenant {
            quirks: lenient(),
            limit_every: Some(150),
            cut_every: Some(131),
            ..Tenant::default()
        },
    )
    .await;
    let traffic = fake.traffic();
    assert_nothing_lost_nothing_locked(&fake, &outcome, &dir);
    assert!(traffic.rate_limited >= 1 && traffic.cut >= 1, "{traffic:?}");
    let waited = outcome
        .cases
        .iter()
        .flat_map(|r| &r.notes)
        .any(|n| n.contains("lockout window"));
    assert!(waited, "the run waited for the window at least once");
}
