//! The account model (proptest-state-machine): the current password, the
//! history, the consecutive-failure count and the status, and the steps
//! that change them. Passwords are symbols: `Start(i)` is the i-th entry of
//! the account as it was when the sequence started (0 the current one, 1
//! the most recent previous one, …), `New(n)` the n-th fresh password of
//! the sequence; the system under test maps them to real strings.
//!
//! Each step gets the *set* of answers the document allows
//! ([`Answers`]): with a wrong old password and a policy break, say, both
//! `wrong_old_password` and `invalid_new_password` are right (open point
//! 1); the reference's choice is the first in its precedence.
//!
//! The failure count is an upper bound: every step that reaches the account
//! with a wrong old password counts, whatever the answer (a target that
//! checks the policy first may still count it), and only a 200 resets it
//! (the profile does not say whether a refused change with the right old
//! password does); and a wrong old password is only generated while the bound stays
//! below `lockout.max_failures`, so the model and any target agree that the
//! account never locks during a run. The model still predicts S8 once the
//! bound reaches the threshold, should a precondition ever let it.
//!
//! The run's lockout budget bounds them too: a sequence generates at most
//! the wrong old passwords the budget has room for when it starts
//! (`Setup::room`), and where the target counts within a window a success
//! gives none back.

use std::cell::RefCell;

use proptest::prelude::*;
use proptest::sample::select;
use proptest_state_machine::ReferenceStateMachine;

use crate::vocabulary::PolicyBreak;

use super::answers::Answers;
use super::answers::Prediction;
use super::driver::StepToken;

/// A password, symbolically.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PasswordRef {
    /// The i-th entry of the account when the sequence started.
    Start(usize),
    /// The n-th fresh password of the sequence.
    New(u32),
}

/// What the model needs from the profile, and the account at the start.
#[derive(Debug, Clone, Default)]
pub struct Setup {
    /// Previous passwords refused (current excluded).
    pub depth: Option<usize>,
    /// `policy.history_includes_current`.
    pub includes_current: bool,
    /// `lockout.max_failures` (effective).
    pub max_failures: Option<u32>,
    /// Wrong old passwords the run's lockout budget has room for when the
    /// sequence starts (`None`: no lockout).
    pub room: Option<u32>,
    /// Whether a success gives the room back (the target counts in a row).
    pub resets: bool,
    /// Known entries at the start: 0 current, then most recent first.
    pub known: Vec<String>,
    /// Policy breaks the profile allows to make.
    pub breaks: Vec<PolicyBreak>,
    /// Which token variants can be made.
    pub tokens: Vec<StepToken>,
}

thread_local! {
    /// The setup of the sequences generated on this thread.
    pub static SETUP: RefCell<Setup> = RefCell::new(Setup::default());
}

/// The model's state.
#[derive(Debug, Clone)]
pub struct Account {
    /// The current password.
    pub current: PasswordRef,
    /// Previous passwords, oldest first.
    pub history: Vec<PasswordRef>,
    /// Consecutive wrong old passwords since the last success (bound).
    pub failures: u32,
    /// Whether the account is locked.
    pub locked: bool,
    /// Id of the next fresh password.
    pub next_new: u32,
    /// The setup (copied so strategies need no global).
    pub depth: Option<usize>,
    /// `policy.history_includes_current`: the current password may be
    /// answered as recurrent.
    pub includes_current: bool,
    /// `lockout.max_failures`.
    pub max_failures: Option<u32>,
    /// Wrong old passwords sent in this sequence that count against the
    /// run's budget.
    pub spent: u32,
    /// The budget's room at the start ([`Setup::room`]).
    pub room: Option<u32>,
    /// Whether a success gives the room back ([`Setup::resets`]).
    pub resets: bool,
    /// Breaks available.
    pub breaks: Vec<PolicyBreak>,
    /// Tokens available.
    pub tokens: Vec<StepToken>,
}

/// The old password of a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Old {
    /// The model's current password.
    Right,
    /// A password the account never had.
    Wrong,
}

/// The new password of a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum New {
    /// The current password.
    Current,
    /// The k-th most recent previous password (1-based).
    Previous(usize),
    /// A fresh password that satisfies the policy.
    Fresh,
    /// A fresh password that breaks the policy this way.
    Breaking(PolicyBreak),
}

/// One step: a change request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    /// The token it carries.
    pub token: StepToken,
    /// The old password.
    pub old: Old,
    /// The new password.
    pub new: New,
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let token = match self.token {
            StepToken::Standard => "a valid token",
            StepToken::Renewed => "a newly minted token",
            StepToken::Expired => "an expired token",
            StepToken::NoOpenid => "a token without openid",
            StepToken::Missing => "a token of the missing user",
        };
        let old = match self.old {
            Old::Right => "right old password",
            Old::Wrong => "wrong old password",
        };
        let new = match self.new {
            New::Current => "new = the current password".to_string(),
            New::Previous(k) => format!("new = previous password #{k}"),
            New::Fresh => "new = a fresh valid password".to_string(),
            New::Breaking(b) => format!("new = a fresh password breaking the policy ({b:?})"),
        };
        write!(f, "change with {token}, {old}, {new}")
    }
}

/// The model.
#[derive(Debug)]
pub struct Model;

impl Account {
    /// The password the step sends as new, before the step.
    pub fn new_password(&self, new: New) -> Option<PasswordRef> {
        match new {
            New::Current => Some(self.current),
            New::Previous(k) => self.history.len().checked_sub(k).map(|i| self.history[i]),
            New::Fresh => Some(PasswordRef::New(self.next_new)),
            New::Breaking(_) => None,
        }
    }

    /// The answers the document allows to the step: every error that
    /// applies (open point 1 leaves their order open), the reference's
    /// choice first; a success when none applies.
    pub fn predict(&self, step: &Step) -> Answers {
        match step.token {
            StepToken::Expired => return Answers::one(Prediction::InvalidToken),
            StepToken::NoOpenid => return Answers::one(Prediction::InsufficientScope),
            _ => {}
        }
        let mut applicable = Vec::new();
        if self.locked {
            applicable.push(Prediction::Locked);
        }
        if step.old == Old::Wrong {
            applicable.push(Prediction::WrongOld);
        }
        match self.new_password(step.new) {
            None => applicable.push(Prediction::Invalid),
            Some(pw) => {
                let is_current = pw == self.current;
                if is_current {
                    applicable.push(Prediction::Duplicate);
                }
                if let Some(depth) = self.depth {
                    let start = self.history.len().saturating_sub(depth);
                    if self.history[start..].contains(&pw) || (is_current && self.includes_current)
                    {
                        applicable.push(Prediction::Recurrent);
                    }
                }
            }
        }
        Answers::of_errors(applicable)
    }
}

/// The policy breaks `policy` makes possible (a password breaking it can
/// be made), the ones the model may generate.
pub fn breaks(policy: &crate::profile::Policy) -> Vec<PolicyBreak> {
    [
        PolicyBreak::TooShort,
        PolicyBreak::TooLong,
        PolicyBreak::NoLowercase,
        PolicyBreak::NoUppercase,
        PolicyBreak::NoDigit,
        PolicyBreak::NoSymbol,
        PolicyBreak::ControlCharacter,
    ]
    .into_iter()
    .filter(|b| crate::password::breaking(policy, *b).is_ok())
    .collect()
}

/// Whether the step reaches the account with a wrong old password (a
/// target may count it toward the lockout, whatever it answers).
pub fn may_count(step: &Step) -> bool {
    step.old == Old::Wrong && matches!(step.token, StepToken::Standard | StepToken::Renewed)
}

impl ReferenceStateMachine for Model {
    type State = Account;
    type Transition = Step;

    fn init_state() -> BoxedStrategy<Account> {
        let setup = SETUP.with(|s| s.borrow().clone());
        // The same string twice in the known entries is one symbol.
        let id = |i: usize| {
            let first = setup.known.iter().position(|p| *p == setup.known[i]);
            PasswordRef::Start(first.unwrap_or(i))
        };
        let history = (1..setup.known.len()).rev().map(id).collect();
        Just(Account {
            current: PasswordRef::Start(0),
            history,
            failures: 0,
            locked: false,
            next_new: 0,
            depth: setup.depth,
            includes_current: setup.includes_current,
            max_failures: setup.max_failures,
            spent: 0,
            room: setup.room,
            resets: setup.resets,
            breaks: setup.breaks.clone(),
            tokens: setup.tokens.clone(),
        })
        .boxed()
    }

    fn transitions(state: &Account) -> BoxedStrategy<Step> {
        let mut news: Vec<(u32, BoxedStrategy<New>)> = vec![
            (4, Just(New::Fresh).boxed()),
            (2, Just(New::Current).boxed()),
        ];
        if let Some(depth) = state.depth
            && !state.history.is_empty()
        {
            let most = state.history.len().min(depth + 1);
            news.push((4, (1..=most).prop_map(New::Previous).boxed()));
        }
        if !state.breaks.is_empty() {
            news.push((
                2,
                select(state.breaks.clone()).prop_map(New::Breaking).boxed(),
            ));
        }
        let mut tokens: Vec<(u32, BoxedStrategy<StepToken>)> =
            vec![(10, Just(StepToken::Standard).boxed())];
        for t in &state.tokens {
            tokens.push((1, Just(*t).boxed()));
        }
        (
            proptest::strategy::Union::new_weighted(tokens),
            prop_oneof![4 => Just(Old::Right), 1 => Just(Old::Wrong)],
            proptest::strategy::Union::new_weighted(news),
        )
            .prop_map(|(token, old, new)| Step { token, old, new })
            .boxed()
    }

    fn preconditions(state: &Account, step: &Step) -> bool {
        if let New::Previous(k) = step.new
            && k > state.history.len()
        {
            return false;
        }
        if let New::Breaking(b) = step.new
            && !state.breaks.contains(&b)
        {
            return false;
        }
        if step.token != StepToken::Standard && !state.tokens.contains(&step.token) {
            return false;
        }
        let counts = matches!(step.token, StepToken::Standard | StepToken::Renewed);
        if counts
            && step.old == Old::Wrong
            && (state.max_failures.is_some_and(|m| state.failures + 1 >= m)
                || state.room.is_some_and(|r| state.spent + 1 > r))
        {
            return false;
        }
        true
    }

    fn apply(mut state: Account, step: &Step) -> Account {
        let answers = state.predict(step);
        let new = state.new_password(step.new);
        if step.new == New::Fresh {
            state.next_new += 1;
        }
        if answers == Answers::one(Prediction::Success) {
            let old = state.current;
            state.current = new.expect("a success sets a known password");
            state.history.push(old);
            state.failures = 0;
            if state.resets {
                state.spent = 0;
            }
        } else if may_count(step) {
            state.failures += 1;
            state.spent += 1;
            if state.max_failures.is_some_and(|m| state.failures >= m) {
                state.locked = true;
            }
        }
        state
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account() -> Account {
        Account {
            current: PasswordRef::Start(0),
            history: vec![],
            failures: 0,
            locked: false,
            next_new: 0,
            depth: Some(2),
            includes_current: false,
            max_failures: Some(3),
            spent: 0,
            room: None,
            resets: true,
            breaks: vec![PolicyBreak::TooShort],
            tokens: vec![StepToken::Expired],
        }
    }

    fn step(old: Old, new: New) -> Step {
        Step {
            token: StepToken::Standard,
            old,
            new,
        }
    }

    #[test]
    fn the_model_follows_history_and_failures() {
        let mut s = account();
        for _ in 0..3 {
            assert_eq!(
                s.predict(&step(Old::Right, New::Fresh)),
                Answers::one(Prediction::Success)
            );
            s = Model::apply(s, &step(Old::Right, New::Fresh));
        }
        // history: Start(0), New(0), New(1); current New(2); depth 2.
        assert_eq!(
            s.predict(&step(Old::Right, New::Previous(2))),
            Answers::one(Prediction::Recurrent)
        );
        assert_eq!(
            s.predict(&step(Old::Right, New::Previous(3))),
            Answers::one(Prediction::Success)
        );
        assert_eq!(
            s.predict(&step(Old::Right, New::Current)),
            Answers::one(Prediction::Duplicate)
        );
        // A wrong old password and a policy break: either answer.
        let both = s.predict(&step(Old::Wrong, New::Breaking(PolicyBreak::TooShort)));
        assert_eq!(both.allowed, [Prediction::WrongOld, Prediction::Invalid]);
        assert_eq!(both.reference, Prediction::WrongOld);
        assert!(Model::preconditions(&s, &step(Old::Wrong, New::Fresh)));
        s = Model::apply(s, &step(Old::Wrong, New::Fresh));
        assert!(Model::preconditions(&s, &step(Old::Wrong, New::Fresh)));
        s = Model::apply(s, &step(Old::Wrong, New::Fresh));
        // A third would lock (max 3): never generated.
        assert!(!Model::preconditions(&s, &step(Old::Wrong, New::Fresh)));
        s = Model::apply(s, &step(Old::Wrong, New::Fresh));
        assert!(s.locked);
        assert_eq!(
            s.predict(&step(Old::Right, New::Fresh)).reference,
            Prediction::Locked
        );
    }

    #[test]
    fn the_run_budget_bounds_wrong_passwords_and_a_window_gives_none_back() {
        let mut s = Account {
            room: Some(2),
            resets: false,
            max_failures: Some(10),
            ..account()
        };
        let wrong = step(Old::Wrong, New::Fresh);
        for _ in 0..2 {
            assert!(Model::preconditions(&s, &wrong));
            s = Model::apply(s, &wrong);
            s = Model::apply(s, &step(Old::Right, New::Fresh));
        }
        // Successes in between: still spent (window counting).
        assert!(!Model::preconditions(&s, &wrong));
        let mut s = Account { resets: true, ..s };
        s.spent = 1;
        s = Model::apply(s, &step(Old::Right, New::Fresh));
        assert!(Model::preconditions(&s, &wrong));
    }
}
