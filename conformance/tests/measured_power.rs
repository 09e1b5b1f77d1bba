//! The suite measures itself: the whole catalogue and the generated
//! properties (small budget, fixed seed) run against fakes
//! ([`crate::fakes`]) that each break one thing the vendor document pins
//! (each must fail the named seed-tier cases) or decide an open point
//! differently from the reference (each must pass at seed tier), plus the
//! conformant fake as a control.
//!
//! The table of results is the "Measured power" section of
//! `conformance/PROPERTIES.md`, generated from this run:
//! `UPDATE_MEASURED_POWER=1 cargo test -p conformance --test tests measured_power`
//! rewrites it; otherwise the test fails when the section differs from
//! what it observed (all but the findings column, which depends on
//! passwords drawn at random).

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use conformance::cases;
use conformance::checks::Weight;
use conformance::embedded::REFERENCE_PROFILE;
use conformance::profile::{Normalization, Profile};
use conformance::properties::PropertyOptions;
use conformance::properties::driver::Bounds;
use conformance::runner::{self, RunOptions};
use conformance::verdict::{CaseResult, Enforcement, Verdict};
use conformance::vocabulary::Property;

use crate::fakes::{Fake, Quirk};

mod near_misses;

/// What a fake is, and what the suite must make of it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Kind {
    /// The conformant fake: nothing fails.
    Control,
    /// Breaks the document: these seed-tier cases must fail.
    Defect(&'static [&'static str]),
    /// Decides this open point differently: nothing fails at seed tier.
    Decision(&'static str),
}

/// One fake of the table (also measured with Schemathesis,
/// [`crate::schemathesis_vendor`]).
pub(crate) struct Row {
    pub(crate) name: &'static str,
    pub(crate) quirk: Option<Quirk>,
    pub(crate) what: &'static str,
    pub(crate) kind: Kind,
    /// Declares the fake's decisions in its profile.
    profile: fn(&mut Profile),
}

fn same(_: &mut Profile) {}
fn history_with_current(p: &mut Profile) {
    p.policy.history = Some(6);
    p.policy.history_includes_current = true;
}
fn no_status_passwords(p: &mut Profile) {
    for a in [
        &mut p.accounts.frozen,
        &mut p.accounts.locked,
        &mut p.accounts.frozen_and_locked,
    ]
    .into_iter()
    .flatten()
    {
        a.password = None;
    }
}
fn nfkc(p: &mut Profile) {
    p.policy.normalization = Some(Normalization::Nfkc);
}
fn no_normalization(p: &mut Profile) {
    p.policy.normalization = Some(Normalization::None);
}

const fn defect(
    name: &'static str,
    quirk: Quirk,
    what: &'static str,
    fails: &'static [&'static str],
) -> Row {
    Row {
        name,
        quirk: Some(quirk),
        what,
        kind: Kind::Defect(fails),
        profile: same,
    }
}

const fn decision(
    name: &'static str,
    quirk: Quirk,
    what: &'static str,
    point: &'static str,
    profile: fn(&mut Profile),
) -> Row {
    Row {
        name,
        quirk: Some(quirk),
        what,
        kind: Kind::Decision(point),
        profile,
    }
}

pub(crate) fn rows() -> Vec<Row> {
    use Quirk::*;
    vec![
        Row {
            name: "conformant",
            quirk: None,
            what: "the document, with the reference's decisions",
            kind: Kind::Control,
            profile: same,
        },
        defect(
            "s9-status-401",
            MissingTokenStatus401,
            "S9 answered 401",
            &["auth.missing-token.no-header"],
        ),
        defect(
            "s10-no-error-uri",
            InvalidTokenChallengeWithoutErrorUri,
            "S10 challenge without error_uri",
            &["auth.invalid-token.garbage", "auth.invalid-token.expired"],
        ),
        defect(
            "s11-says-invalid-token",
            ScopeChallengeSaysInvalidToken,
            "S11 challenge with error=\"invalid_token\"",
            &[
                "auth.insufficient-scope.no-scope-claim",
                "auth.insufficient-scope.array-without-openid",
            ],
        ),
        defect(
            "s2-error-string",
            WrongOldErrorString,
            "S2 error is wrong_password",
            &["password.wrong-old"],
        ),
        defect(
            "s2-text-plain",
            WrongOldAsTextPlain,
            "S2 body as text/plain",
            &["password.wrong-old"],
        ),
        defect(
            "frozen-not-checked",
            FrozenNotChecked,
            "a frozen account can change its password",
            &["user.frozen"],
        ),
        defect(
            "locked-not-checked",
            LockedNotChecked,
            "a locked account can change its password",
            &["user.locked"],
        ),
        defect(
            "s7-no-description",
            FrozenWithoutDescription,
            "S7 without error_description",
            &["user.frozen"],
        ),
        defect(
            "s6-status-404",
            UserNotFound404,
            "S6 answered 404",
            &["user.not-found"],
        ),
        defect(
            "history-ignored",
            HistoryIgnored,
            "no history check",
            &["history.most-recent", "history.nth-previous"],
        ),
        defect(
            "history-short",
            HistoryShortByOne,
            "history keeps N − 1",
            &["history.nth-previous"],
        ),
        defect(
            "history-long",
            HistoryLongByOne,
            "history keeps N + 1",
            &["history.beyond-depth"],
        ),
        defect(
            "s4-as-duplicate",
            RecurrentAsDuplicate,
            "S4 answered duplicate_password",
            &["history.most-recent"],
        ),
        defect(
            "duplicate-accepted",
            DuplicateNotDetected,
            "new = current accepted",
            &["password.duplicate"],
        ),
        defect(
            "s3-as-recurrent",
            DuplicateAsRecurrent,
            "S3 answered recurrent_password",
            &["password.duplicate"],
        ),
        defect(
            "min-length-ignored",
            MinLengthNotEnforced,
            "min_length not enforced",
            &["policy.too-short"],
        ),
        defect(
            "max-length-ignored",
            MaxLengthNotEnforced,
            "max_length not enforced",
            &["policy.too-long"],
        ),
        defect(
            "min-length-off-by-one",
            MinLengthOffByOne,
            "min_length + 1 required",
            &["policy.min-length-accepted"],
        ),
        defect(
            "max-length-off-by-one",
            MaxLengthOffByOne,
            "max_length − 1 allowed",
            &["policy.max-length-accepted"],
        ),
        defect(
            "uppercase-ignored",
            UppercaseNotRequired,
            "no upper-case letter required",
            &["policy.no-uppercase"],
        ),
        defect(
            "digit-ignored",
            DigitNotRequired,
            "no digit required",
            &["policy.no-digit"],
        ),
        defect(
            "s5-status-422",
            PolicyStatus422,
            "S5 answered 422",
            &["policy.too-short"],
        ),
        defect(
            "stores-despite-s5",
            StoresDespitePolicyError,
            "a refused policy break is stored anyway",
            &["policy.too-short"],
        ),
        defect(
            "change-breaks-tokens",
            ChangeBreaksTokens,
            "after a change every token of the account is refused, new ones too",
            &["password.change"],
        ),
        defect(
            "success-not-stored",
            SuccessNotStored,
            "200, but the password stays",
            &["auth.scheme.lower-case"],
        ),
        defect(
            "stores-new-trimmed",
            StoresNewTrimmed,
            "200, but the new password is stored trimmed",
            &["password.change"],
        ),
        defect(
            "expired-accepted",
            ExpiredAccepted,
            "an expired token is accepted",
            &["auth.invalid-token.expired"],
        ),
        defect(
            "signature-not-verified",
            SignatureNotVerified,
            "signatures not verified",
            &[
                "auth.invalid-token.bad-signature",
                "auth.invalid-token.untrusted-key",
            ],
        ),
        defect(
            "alg-none-accepted",
            AlgNoneAccepted,
            "alg: none accepted",
            &["auth.invalid-token.alg-none"],
        ),
        defect(
            "no-scope-check",
            NoScopeCheck,
            "openid not required",
            &[
                "auth.insufficient-scope.no-scope-claim",
                "auth.insufficient-scope.array-without-openid",
            ],
        ),
        defect(
            "scope-prefix",
            ScopePrefixMatch,
            "openidx counts as openid",
            &["auth.insufficient-scope.openid-prefix"],
        ),
        defect(
            "json-body-on-401",
            JsonBodyOn401,
            "a JSON body on the 401",
            &["auth.invalid-token.garbage"],
        ),
        defect(
            "500-on-malformed-json",
            Status500OnMalformedJson,
            "500 to a body that is not JSON",
            &["property.hostile-inputs"],
        ),
        defect(
            "lowercase-ignored",
            LowercaseNotRequired,
            "no lower-case letter required",
            &["policy.no-lowercase"],
        ),
        defect(
            "stores-despite-s2",
            StoresDespiteWrongOld,
            "a wrong old password refused, the new one stored anyway",
            &["password.wrong-old"],
        ),
        defect(
            "s10-description",
            InvalidTokenDescriptionWrong,
            "S10 error_description is \"Invalid token\"",
            &["auth.invalid-token.garbage", "auth.invalid-token.expired"],
        ),
        defect(
            "hs256-public-key",
            Hs256WithPublicKey,
            "HS256 with the RSA public key (PEM or DER) as the HMAC secret",
            &["auth.invalid-token.hs256-public-key-pem"],
        ),
        defect(
            "old-password-case-insensitive",
            OldPasswordCaseInsensitive,
            "old password compared case-insensitively",
            &["password.exact.case-changed"],
        ),
        defect(
            "passwords-trimmed",
            PasswordsTrimmed,
            "passwords trimmed of surrounding whitespace",
            &["password.exact.surrounding-whitespace"],
        ),
        defect(
            "500-on-long-new-password",
            Status500OnLongNewPassword,
            "500 to a new password over 200 bytes",
            &["policy.far-too-long"],
        ),
        decision(
            "policy-before-old-password",
            PolicyBeforeOldPassword,
            "policy checked before the old password",
            "open point 1",
            same,
        ),
        decision(
            "old-password-before-status",
            OldPasswordBeforeStatus,
            "old password checked before the status",
            "open point 1",
            same,
        ),
        Row {
            name: "history-counts-current-first",
            quirk: Some(HistoryCountsCurrentFirst),
            what: "N = 6 counting the current password (declared), history checked before the duplicate",
            kind: Kind::Decision("open points 1 and 3"),
            profile: history_with_current,
        },
        decision(
            "old-password-before-status-no-status-passwords",
            OldPasswordBeforeStatus,
            "old password before the status; the profile gives no password for the frozen and \
             locked accounts",
            "open point 1",
            no_status_passwords,
        ),
        decision(
            "no-issuer-audience-check",
            NoIssuerAudienceCheck,
            "no issuer or audience check",
            "open point 9",
            same,
        ),
        decision(
            "scheme-case-sensitive",
            SchemeCaseSensitive,
            "only `Bearer` with a capital B",
            "open point 8",
            same,
        ),
        decision(
            "no-lockout",
            NoLockout,
            "wrong old passwords never lock",
            "open point 4",
            same,
        ),
        decision(
            "revokes-on-change",
            RevokesOnChange,
            "a change revokes the account's tokens issued before it",
            "open point 10",
            same,
        ),
        decision(
            "success-with-body",
            SuccessWithBody,
            "the 200 carries a JSON body",
            "open point 7",
            same,
        ),
        decision(
            "frozen-and-locked-as-locked",
            FrozenAndLockedAsLocked,
            "frozen and locked reads as locked",
            "open point 2",
            same,
        ),
        decision(
            "nfkc",
            Nfkc,
            "NFKC normalisation (declared)",
            "open point 5",
            nfkc,
        ),
        decision(
            "no-normalization",
            NoNormalization,
            "no normalisation (declared)",
            "open point 5",
            no_normalization,
        ),
        decision(
            "extra-json-members",
            ExtraJsonMembers,
            "error bodies with extra members",
            "extra members: the document shows members, not a closed set",
            same,
        ),
        decision(
            "charset-spelled-otherwise",
            CharsetSpelledOtherwise,
            "application/json; charset=utf-8",
            "the vendor's exact Content-Type bytes: a reference check",
            same,
        ),
        decision(
            "challenge-with-realm",
            ChallengeWithRealm,
            "challenges with realm=\"ciam\" first",
            "challenge parameters: RFC 7235 allows more",
            same,
        ),
        decision(
            "challenge-reordered",
            ChallengeReordered,
            "challenge parameters as error_uri, error, error_description",
            "challenge parameters: RFC 7235 gives their order no meaning",
            same,
        ),
        decision(
            "lenient-node",
            LenientNode,
            "any Content-Type, lossy UTF-8, 400 text on bad JSON",
            "open point 6",
            same,
        ),
    ]
    .into_iter()
    .chain(near_misses::rows())
    .collect()
}

struct Observed {
    /// Cases that failed (a required check, seed tier here).
    failed: Vec<&'static str>,
    /// Cases that could not complete (errors also fail a run).
    errored: Vec<&'static str>,
    reference_findings: usize,
    skipped: Vec<&'static str>,
    restored: bool,
}

async fn run_one(row: &Row) -> Observed {
    let fake = Fake::start(row.quirk).await;
    let mut profile = Profile::load(std::path::Path::new(REFERENCE_PROFILE)).unwrap();
    profile.base_url = format!("http://{}", fake.addr);
    (row.profile)(&mut profile);
    let dir = tempfile::tempdir().unwrap();
    let enforcement = Enforcement {
        strict: false,
        reference: false,
    };
    let options = RunOptions {
        enforcement,
        show_secrets: false,
        state_file: dir.path().join("state.json"),
        timeout: Duration::from_secs(10),
    };
    let props = PropertyOptions {
        cases: 24,
        sequences: 6,
        max_steps: 12,
        seed: 8,
        only: vec![
            Property::PolicyOracle,
            Property::AccountModel,
            Property::HostileInputs,
        ],
        regressions: None,
        enforcement,
        progress: false,
        max_shrink_iters: 64,
        replay: None,
    };
    let bounds = Bounds {
        max_requests: 3_000,
        timeout: Duration::from_secs(10),
    };
    let cases: Vec<_> = cases::CATALOGUE.iter().collect();
    let outcome = runner::run_with_properties(&profile, &cases, &options, Some((props, bounds)))
        .await
        .expect("the run starts");
    let with = |v: Verdict| -> Vec<&'static str> {
        outcome
            .cases
            .iter()
            .filter(|r| r.verdict == v)
            .map(|r| r.id)
            .collect()
    };
    let failed = with(Verdict::Fail);
    let errored = [with(Verdict::Error), with(Verdict::Stale)].concat();
    let info = |r: &CaseResult| {
        r.checks
            .iter()
            .any(|c| matches!(c.weight, Weight::Info | Weight::Warn))
    };
    Observed {
        failed,
        errored,
        reference_findings: outcome.cases.iter().filter(|r| info(r)).count(),
        skipped: with(Verdict::Skip),
        restored: outcome.restore.ok,
    }
}

pub(crate) fn list(ids: &[&str]) -> String {
    if ids.is_empty() {
        "none".to_string()
    } else {
        ids.iter()
            .map(|i| format!("`{i}`"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn skipped(ids: &[&str]) -> String {
    if ids.len() <= 3 {
        list(ids)
    } else {
        format!("{} cases", ids.len())
    }
}

fn render(rows: &[Row], observed: &[Observed]) -> String {
    let mut out = String::from(
        "| fake | one change | kind | must fail (seed tier) | observed failing | \
         cases with rfc/reference findings | errored | skipped | verdict |\n|---|---|---|---|---|---|---|---|---|\n",
    );
    let (mut caught, mut defects, mut fair, mut decisions) = (0, 0, 0, 0);
    for (row, obs) in rows.iter().zip(observed) {
        let (kind, must, ok) = match row.kind {
            Kind::Control => (
                "control".to_string(),
                "none".to_string(),
                obs.failed.is_empty() && obs.errored.is_empty(),
            ),
            Kind::Defect(ids) => {
                defects += 1;
                let ok = ids.iter().all(|i| obs.failed.contains(i));
                caught += usize::from(ok);
                ("defect".to_string(), list(ids), ok)
            }
            Kind::Decision(point) => {
                decisions += 1;
                let ok = obs.failed.is_empty() && obs.errored.is_empty();
                fair += usize::from(ok);
                (format!("decision ({point})"), "none".to_string(), ok)
            }
        };
        let verdict = match (row.kind, ok) {
            (Kind::Defect(_), true) => "caught",
            (Kind::Defect(_), false) => "MISSED",
            (_, true) => "passes",
            (_, false) => "FAILED UNFAIRLY",
        };
        out.push_str(&format!(
            "| `{}` | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            row.name,
            row.what,
            kind,
            must,
            list(&obs.failed),
            obs.reference_findings,
            skipped(&obs.errored),
            skipped(&obs.skipped),
            verdict
        ));
    }
    out.push_str(&format!(
        "\n{caught} of {defects} defects caught at seed tier; {fair} of {decisions} other \
         decisions pass at seed tier.\n"
    ));
    out
}

/// The table without its findings column: how many cases have RFC or
/// reference-tier findings depends on generated passwords drawn at random,
/// so only the verdict columns are compared with the document.
fn mask(table: &str) -> String {
    table
        .lines()
        .map(|line| {
            let mut cells: Vec<&str> = line.split(" | ").collect();
            if line.starts_with("| `") && cells.len() == 9 {
                cells[5] = "…";
            }
            cells.join(" | ")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

const BEGIN: &str = "<!-- measured-power:begin (generated by tests/measured_power.rs) -->\n";
const END: &str = "<!-- measured-power:end -->";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn measured_power() {
    let started = Instant::now();
    let rows = rows();
    let mut tasks = Vec::new();
    for (i, _) in rows.iter().enumerate() {
        tasks.push(tokio::spawn(async move {
            let rows = self::rows();
            run_one(&rows[i]).await
        }));
    }
    let mut observed = Vec::new();
    for t in tasks {
        observed.push(t.await.expect("a run completes"));
    }
    let elapsed = started.elapsed();
    let table = render(&rows, &observed);
    eprintln!(
        "{table}\n{} fakes in {:.1} s",
        rows.len(),
        elapsed.as_secs_f64()
    );

    let mut problems = Vec::new();
    for (row, obs) in rows.iter().zip(&observed) {
        let seen: BTreeSet<&str> = obs.failed.iter().copied().collect();
        match row.kind {
            Kind::Defect(ids) => {
                for id in ids {
                    assert!(
                        cases::find(id).is_some() || id.starts_with("property."),
                        "{}: no case {id}",
                        row.name
                    );
                    if !seen.contains(id) {
                        problems.push(format!(
                            "{}: {id} did not fail (failed: {seen:?})",
                            row.name
                        ));
                    }
                }
            }
            Kind::Control | Kind::Decision(_) => {
                if !seen.is_empty() || !obs.errored.is_empty() {
                    problems.push(format!(
                        "{}: failed at seed tier: {seen:?}, errored: {:?}",
                        row.name, obs.errored
                    ));
                }
                if !obs.restored {
                    problems.push(format!(
                        "{}: the original password was not restored",
                        row.name
                    ));
                }
            }
        }
    }
    let counted = rows
        .iter()
        .filter(|r| matches!(r.kind, Kind::Defect(_)))
        .count();
    let decisions = rows
        .iter()
        .filter(|r| matches!(r.kind, Kind::Decision(_)))
        .count();
    assert!(
        counted >= 25 && decisions >= 5,
        "{counted} defects, {decisions} decisions"
    );
    assert!(problems.is_empty(), "{}\n\n{table}", problems.join("\n"));

    let doc = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("PROPERTIES.md");
    let text = std::fs::read_to_string(&doc).unwrap();
    let (Some(a), Some(b)) = (text.find(BEGIN), text.find(END)) else {
        panic!("PROPERTIES.md has no measured-power markers");
    };
    let current = &text[a + BEGIN.len()..b];
    if mask(current) != mask(&table) {
        if std::env::var_os("UPDATE_MEASURED_POWER").is_some() {
            let updated = format!("{}{}{}{}", &text[..a], BEGIN, table, &text[b..]);
            std::fs::write(&doc, updated).unwrap();
        } else {
            panic!(
                "the measured-power table in PROPERTIES.md differs from this run; rerun with \
                 UPDATE_MEASURED_POWER=1 and review the diff\n\n{table}"
            );
        }
    }
}
