//! Account-model sequences for `conformance diff`: generated once from a
//! seed, independently of any target, then played as given against each
//! target, every exchange recorded.
//!
//! [`generate`] draws the sequences from the [`model`] with a [`Setup`]
//! made from one profile alone ([`setup`]: its declared history, lockout
//! and policy, and the token variants both targets can make): the start
//! entries are placeholders, so nothing a target answers can change a
//! sequence. There is no shrinking and no judging here: [`play`] sends
//! each step with the driver (which keeps the state file as for the
//! properties), resolving the symbols `Start(i)` / `New(n)` to the target's
//! own passwords, and records per step the exchange (redacted with the
//! symbols' labels, so both targets' records read alike), the answer the
//! model allows that it meets, and which password works afterwards (a
//! change from the tracked password to itself, sent after every step the
//! model says is refused, after the last one, and after a divergence).
//!
//! A step whose answer leaves the account where the model does not (a 200
//! the model refuses, or the reverse) ends that sequence on that target:
//! its next steps would send an old password the target no longer has.
//! The same abstract steps are therefore sent to both targets up to the
//! first step where one of them parts from the model.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use proptest_state_machine::ReferenceStateMachine;
use serde::Serialize;

use crate::exchange::{Endpoint, ExchangeRecord, Response, TransportError};
use crate::profile::Profile;
use crate::redact::Redactor;
use crate::tokens::TokenFactory;
use crate::vocabulary::TokenKind;

use super::answers::Answers;
use super::answers::Prediction;
use super::driver::{DriveError, Driver, StepToken, is_error};
use super::model::{self, Model, New, Old, PasswordRef, Setup, Step, may_count};

/// One generated sequence: the model's state at its start and its steps.
#[derive(Debug, Clone)]
pub struct Sequence {
    /// The model's account when the sequence starts.
    pub init: model::Account,
    /// The steps.
    pub steps: Vec<Step>,
}

/// What the properties run plays instead of generating (`diff`).
#[derive(Debug, Clone)]
pub struct Replay {
    /// The sequences, the same for every target.
    pub sequences: Arc<Vec<Sequence>>,
    /// Where the played records are left for the caller.
    pub played: Arc<Mutex<Option<Played>>>,
    /// Print passwords and tokens in the records.
    pub show_secrets: bool,
}

/// One step as one target answered it.
#[derive(Debug, Clone, Serialize)]
pub struct PlayedStep {
    /// 1-based.
    pub step: usize,
    /// The answers the model (A's profile) allows, as a label.
    pub expected: String,
    /// The seed row of the model's (the reference's) answer: `S4`.
    pub row: &'static str,
    /// Whether the model allows several answers (open point 1).
    pub open_choice: bool,
    /// The allowed answer the response meets (its label), if any.
    pub met: Option<String>,
    /// The exchange, redacted.
    pub exchange: ExchangeRecord,
    /// Which password works afterwards, if it was tried.
    pub effect: Option<String>,
    /// The exchange that tried it.
    pub probe: Option<ExchangeRecord>,
}

/// One sequence as one target answered it.
#[derive(Debug, Clone, Serialize)]
pub struct PlayedSequence {
    /// 1-based.
    pub number: usize,
    /// The steps sent, in order.
    pub steps: Vec<PlayedStep>,
    /// Why the steps after the last one were not sent.
    pub stopped: Option<String>,
    /// The stop was a transport error (no answer): a connection error.
    pub transport: bool,
}

/// Every sequence as one target answered it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Played {
    /// Why no sequence was played (priming the history failed, …).
    pub error: Option<String>,
    /// The error was a transport error.
    pub transport: bool,
    /// The sequences, in order.
    pub sequences: Vec<PlayedSequence>,
}

/// The token variants `profile` can make for its active account.
pub async fn variants(profile: &Profile) -> Vec<StepToken> {
    let Ok(mut factory) = TokenFactory::new(profile) else {
        return Vec::new();
    };
    let account = profile.accounts.active().clone();
    if let Some(pw) = &account.password {
        factory.set_password(&account.subject, pw);
    }
    let form = profile.tokens.scope_format;
    let mut out = Vec::new();
    for tok in [StepToken::Renewed, StepToken::Expired, StepToken::NoOpenid] {
        let kind = match tok {
            StepToken::Renewed => TokenKind::Scope(&["openid"], form),
            StepToken::Expired => TokenKind::Expired,
            _ => TokenKind::Scope(&["profile"], form),
        };
        if factory.variant(&account, kind).await.is_ok() {
            out.push(tok);
        }
    }
    out
}

/// The model's setup from `profile` alone (the diff's A): its declared
/// history, lockout rule and policy breaks; `tokens` the variants to use.
/// The start entries are placeholders: the current password and the
/// `depth + 1` most recent previous ones, which priming makes known on
/// every target.
pub fn setup(profile: &Profile, tokens: &[StepToken]) -> Setup {
    let policy = &profile.policy;
    let depth = policy.depth();
    let entries = 1 + depth.map_or(0, |d| d + 1);
    let breaks = model::breaks(policy);
    Setup {
        depth,
        includes_current: policy.history_includes_current,
        max_failures: profile.lockout.effective(),
        // A's declared rule, before any target is touched: the room of a
        // fresh budget, and whether a success gives it back. Each target's
        // run budget is still guarded step by step when played.
        room: profile.lockout.rule().allowance(),
        resets: profile.lockout.rule().counting == crate::profile::Counting::Consecutive,
        known: (0..entries).map(|i| format!("start-{i}")).collect(),
        breaks,
        tokens: tokens.to_vec(),
    }
}

/// `count` sequences of 1 to `max_steps` steps drawn from the model with
/// `setup`, deterministically from `seed` (the same seed, the same
/// sequences).
pub fn generate(setup: Setup, count: u32, max_steps: usize, seed: u64) -> Vec<Sequence> {
    model::SETUP.with(|s| *s.borrow_mut() = setup);
    let strategy = Model::sequential_strategy(1..=max_steps.max(1));
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    bytes[8] = 4;
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &bytes),
    );
    (0..count)
        .map(|_| {
            let tree = strategy
                .new_tree(&mut runner)
                .expect("the model always has a step to take");
            let (init, steps, _) = tree.current();
            Sequence { init, steps }
        })
        .collect()
}

/// The seed row of an answer.
fn row_of(p: Prediction) -> &'static str {
    match p {
        Prediction::Success => "S1",
        Prediction::WrongOld => "S2",
        Prediction::Duplicate => "S3",
        Prediction::Recurrent => "S4",
        Prediction::Invalid => "S5",
        Prediction::Locked => "S8",
        Prediction::InvalidToken => "S10",
        Prediction::InsufficientScope => "S11",
    }
}

fn token_label(tok: StepToken) -> &'static str {
    match tok {
        StepToken::Standard => "token:standard",
        StepToken::Renewed => "token:renewed",
        StepToken::Expired => "token:expired",
        StepToken::NoOpenid => "token:no-openid",
        StepToken::Missing => "token:missing",
    }
}

/// The target's passwords behind one sequence's symbols, each registered
/// with the redactor under the symbol's label.
struct Passwords {
    known: Vec<String>,
    fresh: HashMap<u32, String>,
    redactor: Redactor,
}

impl Passwords {
    fn resolve(
        &mut self,
        pw: PasswordRef,
        policy: &crate::profile::Policy,
    ) -> Result<String, String> {
        match pw {
            PasswordRef::Start(i) => self
                .known
                .get(i)
                .cloned()
                .ok_or_else(|| format!("start entry {i} is not known")),
            PasswordRef::New(n) => {
                let value = self
                    .fresh
                    .entry(n)
                    .or_insert_with(|| crate::password::fresh(policy))
                    .clone();
                self.redactor.add(&value, &format!("password:new-{n}"));
                Ok(value)
            }
        }
    }

    /// The label of a password this sequence knows.
    fn label(&self, value: &str) -> String {
        self.redactor
            .label_of(value)
            .map_or_else(|| "an unknown password".into(), str::to_string)
    }
}

/// Plays every sequence against the driver's target (already primed).
pub fn play(d: &mut Driver, replay: &Replay) -> Played {
    let endpoint = match d.profile.endpoint() {
        Ok(e) => e,
        Err(e) => {
            return Played {
                error: Some(e),
                ..Played::default()
            };
        }
    };
    let mut played = Played::default();
    for (i, seq) in replay.sequences.iter().enumerate() {
        // As the properties: a sequence starts only when the budget holds
        // all its requests (each step, a probe after it, a reset), never
        // cut short in the middle.
        let needed = seq.steps.len() as u64 * 2 + 2;
        if d.budget_left() < needed {
            played.sequences.push(PlayedSequence {
                number: i + 1,
                steps: Vec::new(),
                stopped: Some(format!(
                    "not started: {} requests left in the budget, {needed} needed",
                    d.budget_left()
                )),
                transport: false,
            });
            break;
        }
        let p = play_one(d, &endpoint, seq, i + 1, replay.show_secrets);
        let stop_all = d.ledger.active.poisoned.is_some() || p.transport;
        played.sequences.push(p);
        if stop_all {
            break;
        }
    }
    played
}

fn no_answer(e: &DriveError) -> Result<Response, TransportError> {
    Err(TransportError::Http(e.to_string()))
}

fn play_one(
    d: &mut Driver,
    endpoint: &Endpoint,
    seq: &Sequence,
    number: usize,
    show_secrets: bool,
) -> PlayedSequence {
    let mut out = PlayedSequence {
        number,
        steps: Vec::new(),
        stopped: None,
        transport: false,
    };
    if let Err(e) = d.reset_failures() {
        stop(&mut out, &e);
        return out;
    }
    let policy = d.profile.policy.clone();
    let mut pws = start_passwords(d, show_secrets);
    let mut state = seq.init.clone();
    for (i, step) in seq.steps.iter().enumerate() {
        let n = i + 1;
        let predicted = state.predict(step);
        let (old, new) = match step_passwords(step, &state, &mut pws, &policy) {
            Ok(pair) => pair,
            Err(e) => {
                out.stopped = Some(format!("step {n}: {e}"));
                return out;
            }
        };
        if !room_for(d, step, n, &mut out) {
            return out;
        }
        let token = match d.token(step.token) {
            Ok(t) => t,
            Err(e) => {
                stop(&mut out, &e);
                return out;
            }
        };
        pws.redactor.add(&token, token_label(step.token));
        let request = Driver::change_request(&token, &old, &new);
        let started = Instant::now();
        let result = d.change(&token, &old, &new);
        let outcome = match &result {
            Ok(r) => Ok(r.clone()),
            Err(e) => no_answer(e),
        };
        let exchange = ExchangeRecord::new(
            n,
            &step.to_string(),
            endpoint,
            &request,
            &outcome,
            started,
            &pws.redactor,
        );
        let mut record = PlayedStep {
            step: n,
            expected: predicted.label(),
            row: row_of(predicted.reference),
            open_choice: predicted.allowed.len() > 1,
            met: None,
            exchange,
            effect: None,
            probe: None,
        };
        let r = match result {
            Ok(r) => r,
            Err(e) => {
                out.steps.push(record);
                stop(&mut out, &e);
                return out;
            }
        };
        record.met = predicted.judge(&r).ok().map(|(p, _)| p.label().to_string());
        if may_count(step) && !is_error(&r, "wrong_old_password") {
            d.ledger.active.budget.note_failure();
        }
        state = Model::apply(state, step);
        let model_current = pws.resolve(state.current, &policy).unwrap_or_default();
        let diverged = model_current != d.ledger.active.current;
        let refused = predicted != Answers::one(Prediction::Success);
        if !state.locked && (refused || n == seq.steps.len() || diverged) {
            let (effect, probe, transport) = try_current(d, endpoint, &mut pws);
            record.effect = Some(effect);
            record.probe = probe;
            if let Some(e) = transport {
                // No answer to the probe: a connection error, not an
                // effect to compare (and the account is unusable now).
                out.steps.push(record);
                stop(&mut out, &e);
                return out;
            }
        }
        out.steps.push(record);
        if diverged {
            out.stopped = Some(format!(
                "after step {n} the target's password is {}, the model's (A's profile) {}: the \
                 rest of the sequence was not sent",
                pws.label(&d.ledger.active.current),
                pws.label(&model_current)
            ));
            return out;
        }
        if d.ledger.active.poisoned.is_some() {
            out.stopped = d.ledger.active.poisoned.clone();
            return out;
        }
    }
    out
}

/// Stops a sequence on a driver error (a transport error stops the run).
fn stop(out: &mut PlayedSequence, e: &DriveError) {
    out.transport = matches!(e, DriveError::Transport(_));
    out.stopped = Some(e.to_string());
}

/// The passwords a sequence starts from: the account's current one and
/// its previous ones, newest first, labelled for the redactor.
fn start_passwords(d: &Driver, show_secrets: bool) -> Passwords {
    let mut pws = Passwords {
        known: std::iter::once(d.ledger.active.current.clone())
            .chain(d.ledger.active.previous.iter().rev().cloned())
            .collect(),
        fresh: HashMap::new(),
        redactor: Redactor::new(show_secrets),
    };
    for (i, value) in pws.known.clone().iter().enumerate() {
        pws.redactor.add(value, &format!("password:start-{i}"));
    }
    pws
}

/// The old and new passwords of `step` in model state `state`.
fn step_passwords(
    step: &Step,
    state: &model::Account,
    pws: &mut Passwords,
    policy: &crate::profile::Policy,
) -> Result<(String, String), String> {
    let old = match step.old {
        Old::Right => pws.resolve(state.current, policy),
        Old::Wrong => {
            let w = crate::password::wrong(policy);
            pws.redactor.add(&w, "password:wrong");
            Ok(w)
        }
    };
    let new = match step.new {
        New::Breaking(b) => crate::password::breaking(policy, b).inspect(|v| {
            pws.redactor.add(
                v,
                &format!("password:breaking-{}", format!("{b:?}").to_lowercase()),
            )
        }),
        other => state
            .new_password(other)
            .ok_or_else(|| "no such password".to_string())
            .and_then(|pw| pws.resolve(pw, policy)),
    };
    Ok((old?, new?))
}

/// The run's lockout budget (catalogue included) is guarded before each
/// wrong old password, as the catalogue's are: a success or a wait for the
/// window where needed, or the sequence stops here (`false`).
fn room_for(d: &mut Driver, step: &Step, n: usize, out: &mut PlayedSequence) -> bool {
    if !may_count(step) {
        return true;
    }
    match d.make_room() {
        Ok(true) => true,
        Ok(false) => {
            out.stopped = Some(format!(
                "step {n}: the lockout budget leaves no room for a wrong old password"
            ));
            false
        }
        Err(e) => {
            stop(out, &e);
            false
        }
    }
}

/// Tries the tracked password (a change from it to itself) and says
/// which password works; the third member is the transport error when
/// the probe got no answer.
fn try_current(
    d: &mut Driver,
    endpoint: &Endpoint,
    pws: &mut Passwords,
) -> (String, Option<ExchangeRecord>, Option<DriveError>) {
    let current = d.ledger.active.current.clone();
    let label = pws.label(&current);
    let token = match d.token(StepToken::Standard) {
        Ok(t) => t,
        Err(e) => return (format!("not tried: {e}"), None, None),
    };
    pws.redactor.add(&token, token_label(StepToken::Standard));
    let request = Driver::change_request(&token, &current, &current);
    let started = Instant::now();
    let result = d.probe_current();
    let mut transport = None;
    let (effect, outcome) = match result {
        Ok(r) if d.confirms_current(&r) => (format!("{label} works"), Ok(r)),
        Ok(r) => (
            format!(
                "{label} tried (old = new): {} {}",
                r.status,
                crate::terminal::line(&String::from_utf8_lossy(&r.body[..r.body.len().min(120)]))
            ),
            Ok(r),
        ),
        Err(e) => {
            let outcome = no_answer(&e);
            let effect = format!("{label} not tried: {e}");
            if matches!(e, DriveError::Transport(_)) {
                transport = Some(e);
            }
            (effect, outcome)
        }
    };
    let record = ExchangeRecord::new(
        0,
        "which password works: a change from the tracked password to itself",
        endpoint,
        &request,
        &outcome,
        started,
        &pws.redactor,
    );
    (pws.redactor.apply(&effect), Some(record), transport)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile() -> Profile {
        let file =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/reference.toml");
        Profile::load(&file).unwrap()
    }

    /// A target that answers its first request with S10's 401 and drops
    /// every later connection unanswered.
    fn answers_once_then_drops() -> std::net::SocketAddr {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            for (i, conn) in listener.incoming().enumerate() {
                let Ok(mut conn) = conn else { return };
                if i > 0 {
                    continue; // dropped: closed without an answer
                }
                let mut buf = [0u8; 8192];
                let mut seen = Vec::new();
                while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                    match conn.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => seen.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = conn.write_all(
                    b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer \
                      error=\"invalid_token\"\r\ncontent-length: 0\r\n\
                      connection: close\r\n\r\n",
                );
            }
        });
        addr
    }

    /// A target that answers every request 200 with no body.
    fn always_200() -> std::net::SocketAddr {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { return };
                let mut buf = [0u8; 8192];
                let mut seen = Vec::new();
                while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                    match conn.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => seen.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = conn.write_all(
                    b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                );
            }
        });
        addr
    }

    /// The properties' state file keeps the password before their latest
    /// 200, so a restore after a kill can try it should that 200 not have
    /// taken (and the runner's entry for the account is not dropped).
    #[test]
    fn the_state_file_keeps_the_password_before_the_latest_200() {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("state.json");
        let mut p =
            Profile::load(std::path::Path::new(crate::embedded::REFERENCE_PROFILE)).unwrap();
        let mut d = driver_at(&mut p, always_200(), 10, &runtime, Some(file.clone()));
        let original = d.ledger.active.current.clone();
        let token = d.token(StepToken::Standard).unwrap();
        let r = d.change(&token, &original, "Fresh-Password-1").unwrap();
        assert_eq!(r.status, 200);
        let saved = crate::state::StateFile::load(&file).unwrap().unwrap();
        let entry = &saved.accounts[0];
        assert_eq!(entry.current, "Fresh-Password-1");
        assert_eq!(entry.before_last_change.as_deref(), Some(original.as_str()));
    }

    /// The properties write the run's one ledger: another account's entry
    /// the catalogue recorded stays in the state file when they change the
    /// active account (the restore review's finding was that they wrote
    /// the active entry alone; they now hold the same ledger).
    #[test]
    fn a_property_change_keeps_the_other_accounts_entries() {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("state.json");
        let mut p =
            Profile::load(std::path::Path::new(crate::embedded::REFERENCE_PROFILE)).unwrap();
        let mut d = driver_at(&mut p, always_200(), 10, &runtime, Some(file.clone()));
        let other = crate::session::ledger::Effect::Candidate {
            subject: "lou".into(),
            original: "Lou-Original-1".into(),
            known: "Lou-Original-1".into(),
            new: "Lou-Candidate-1".into(),
        };
        d.ledger.before_change(&other).unwrap();
        let original = d.ledger.active.current.clone();
        let token = d.token(StepToken::Standard).unwrap();
        let r = d.change(&token, &original, "Fresh-Password-1").unwrap();
        assert_eq!(r.status, 200);
        let saved = crate::state::StateFile::load(&file).unwrap().unwrap();
        assert_eq!(saved.accounts.len(), 2, "{saved:?}");
        assert_eq!(saved.accounts[0].current, "Fresh-Password-1");
        let lou = saved.account("lou").unwrap();
        assert_eq!(lou.candidates, vec!["Lou-Candidate-1"]);
    }

    /// A state file that cannot be written keeps the change unsent.
    #[test]
    fn an_unwritable_state_file_keeps_the_change_unsent() {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("missing-folder").join("state.json");
        let mut p =
            Profile::load(std::path::Path::new(crate::embedded::REFERENCE_PROFILE)).unwrap();
        let mut d = driver_at(&mut p, always_200(), 10, &runtime, Some(file.clone()));
        let original = d.ledger.active.current.clone();
        let token = d.token(StepToken::Standard).unwrap();
        let sent = d.change(&token, &original, "Fresh-Password-1");
        assert!(sent.is_err(), "the change was sent: {sent:?}");
        assert_eq!(d.requests, 0);
        assert_eq!(d.ledger.active.current, original);
        assert_eq!(d.ledger.active.pending, None);
    }

    /// A driver of the reference profile's active account at `addr`,
    /// saving to `state` when given.
    fn driver_at(
        p: &mut Profile,
        addr: std::net::SocketAddr,
        max_requests: u64,
        runtime: &tokio::runtime::Runtime,
        state: Option<std::path::PathBuf>,
    ) -> Driver {
        p.base_url = format!("http://{addr}");
        let mut ledger = crate::session::ledger::Ledger::new(
            p.endpoint().unwrap().endpoint_url(),
            state,
            p.accounts.active().clone(),
            p.accounts.active().password.clone().unwrap(),
            p.lockout.rule(),
        );
        let bounds = super::super::driver::Bounds {
            max_requests,
            timeout: std::time::Duration::from_secs(5),
        };
        Driver::new(runtime.handle().clone(), p, &mut ledger, bounds).unwrap()
    }

    /// One sequence of one step with an expired token (refused, S10).
    fn expired_once(p: &Profile) -> Replay {
        let mut seq = generate(setup(p, &[StepToken::Expired]), 1, 1, 3).remove(0);
        seq.steps = vec![Step {
            token: StepToken::Expired,
            old: Old::Right,
            new: New::Fresh,
        }];
        Replay {
            sequences: Arc::new(vec![seq]),
            played: Arc::default(),
            show_secrets: false,
        }
    }

    #[test]
    fn a_sequence_the_budget_cannot_hold_is_not_started() {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let mut p = profile();
        let mut d = driver_at(&mut p, answers_once_then_drops(), 3, &runtime, None);
        let played = play(&mut d, &expired_once(&p));
        assert_eq!(d.requests, 0);
        let s = &played.sequences[0];
        assert!(s.steps.is_empty() && !s.transport, "{s:?}");
        assert!(s.stopped.as_deref().unwrap().contains("4 needed"), "{s:?}");
    }

    #[test]
    fn a_probe_without_an_answer_stops_the_sequence_as_a_connection_error() {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let mut p = profile();
        let mut d = driver_at(&mut p, answers_once_then_drops(), 20, &runtime, None);
        // One step with an expired token: refused (S10), so the tracked
        // password is tried after it, and that probe gets no answer.
        let replay = expired_once(&p);
        let played = play(&mut d, &replay);
        let s = &played.sequences[0];
        assert_eq!(s.steps.len(), 1, "{s:?}");
        assert_eq!(s.steps[0].exchange.response.as_ref().unwrap().status, 401);
        assert!(s.steps[0].probe.as_ref().unwrap().response.is_none());
        assert!(s.transport, "{s:?}");
        assert!(s.stopped.is_some());
        // The diff makes it an error (exit 2), not a difference of effect.
        let mut report = crate::diff::compare(
            &crate::report::fixture::report(),
            &crate::report::fixture::report(),
        );
        crate::diff::sequences::compare(&played, &played, &mut report);
        assert_eq!(report.exit_code(), crate::report::EXIT_ERROR);
    }

    #[test]
    fn the_same_seed_draws_the_same_sequences_from_the_profile_alone() {
        let p = profile();
        let s = setup(&p, &[StepToken::Expired]);
        // The current password and depth + 1 previous ones (history 5).
        assert_eq!(s.known.len(), 7);
        assert_eq!(s.max_failures, Some(5));
        let steps = |seed| -> Vec<Vec<Step>> {
            generate(s.clone(), 6, 8, seed)
                .into_iter()
                .map(|q| q.steps)
                .collect()
        };
        let first = steps(42);
        assert_eq!(first.len(), 6);
        assert!(first.iter().all(|q| (1..=8).contains(&q.len())));
        assert_eq!(first, steps(42));
        assert_ne!(first, steps(43));
        // Only the variants given are used.
        assert!(
            first
                .iter()
                .flatten()
                .all(|st| matches!(st.token, StepToken::Standard | StepToken::Expired))
        );
    }
}
