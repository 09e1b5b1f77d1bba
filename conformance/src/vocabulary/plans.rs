//! The case families' plans as data: what the runner does for a case,
//! one enum per family (carried out by that family in [`crate::cases`]),
//! the [`Plan`] that holds them, the generated [`Property`] plans, and
//! the [`Case`] record.

use super::terms::{Group, OpenPoint, Row, Spec, Tier};

/// The plan of [`crate::cases::auth`].
pub mod auth {
    #[allow(unused_imports)]
    use crate::vocabulary::terms::{Expect, PolicyBreak, PolicyEdge, TokenKind};
    /// The `Authorization` header(s) of an auth case.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Auth {
        /// No header at all.
        None,
        /// This exact header value (not a secret).
        Literal(&'static str),
        /// Two headers, each `Bearer <valid token>`.
        Twice,
        /// `bearer <valid token>`.
        LowerCaseScheme,
        /// `Bearer <token of this kind>`.
        Token(TokenKind),
    }

    /// The auth family's plan.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Plan {
        /// A valid change of the active account (old = current, new = fresh),
        /// sent with these credentials.
        Auth(Auth, Expect),
    }
}

/// The plan of [`crate::cases::tokens`].
pub mod tokens {
    #[allow(unused_imports)]
    use crate::vocabulary::terms::{Expect, PolicyBreak, PolicyEdge, TokenKind};
    use jsonwebtoken::Algorithm;
    /// The target's public key as HMAC secret: which bytes.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum KeyBytes {
        /// The PEM text (`tokens.public_key`, or derived from the JWK).
        Pem,
        /// The JWK's JSON as the JWKS serves it.
        Jwk,
    }

    /// Where a header of a token signed by the harness's own key says its key is.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum KeyHint {
        /// The key itself, embedded as `jwk`.
        Jwk,
        /// `jku`: a JWKS URL the target cannot trust.
        Jku,
        /// `x5u`: a certificate URL the target cannot trust.
        X5u,
    }

    /// A claim or header RFC 9068 / RFC 7515 rule on, minted with the
    /// profile's key.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Claims {
        /// No `exp` claim.
        NoExp,
        /// `crit` naming an extension no one understands.
        UnknownCrit,
        /// `iss` as a one-element array.
        IssArray,
        /// A 300 s token that expired ten minutes ago.
        ExpiredMinutesAgo,
        /// A token that expired 45 s ago (beyond the reference's 30 s
        /// leeway).
        ExpiredSecondsAgo,
        /// A token issued now with a minute to live (issued now, not four
        /// minutes ago: a target that revokes tokens issued before the
        /// run's last change, open point 10, must not refuse it).
        ExpiresSoon,
        /// `nbf` two minutes ahead.
        NotBeforeSoon,
        /// `iat` two minutes ahead.
        IssuedAhead,
        /// The profile's `kid` missed this way (the profile's key signs).
        Kid(KidMiss),
        /// The active account's subject missed this way.
        Subject(SubjectMiss),
    }

    /// A `kid` near the published one.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum KidMiss {
        /// The published `kid` itself.
        Exact,
        /// Its letter case flipped.
        CaseChanged,
        /// With a character appended.
        Suffix,
        /// With a character prepended.
        Prefix,
        /// The empty string.
        Empty,
        /// No `kid` header at all.
        Missing,
    }

    /// A subject near the active account's.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum SubjectMiss {
        /// Its letter case flipped.
        CaseChanged,
        /// With a space appended.
        TrailingSpace,
    }

    /// A forged or unusable token.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Forgery {
        /// The valid token's claims, HMAC-signed with the target's public key.
        Hmac(Algorithm, KeyBytes),
        /// The valid token under this `alg` spelling of none, with or without
        /// its original signature.
        AlgNone(&'static str, bool),
        /// `header.payload.`
        SignatureStripped,
        /// Signed with the harness's own key, which the header names this way.
        HarnessKey(KeyHint),
        /// HS256 with this `kid` and this secret (what an injected `kid` would
        /// make a naive key lookup return).
        Kid(&'static str, &'static [u8]),
        /// ES256/ES384 with r = s = 0, naming the target's EC key.
        ZeroEcdsa,
        /// Minted with the profile's key, this claim or header broken.
        Claims(Claims),
        /// The valid token's claims signed with the harness's own key, which
        /// no target publishes, under the profile's `kid` or a near miss.
        UnpublishedKey(KidMiss),
    }

    /// The tokens family's plan.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Plan {
        /// A valid change sent with this forged token.
        Forge(Forgery),
    }
}

/// The plan of [`crate::cases::http`].
pub mod http {
    #[allow(unused_imports)]
    use crate::vocabulary::terms::{Expect, PolicyBreak, PolicyEdge, TokenKind};
    /// A member of a hand-made JSON body.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Member {
        /// Left out.
        Absent,
        /// `null`.
        Null,
        /// A JSON number.
        Number,
        /// The active account's current password.
        Current,
        /// A fresh password that satisfies the declared policy.
        Fresh,
    }

    /// The body of a hand-made request.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Body {
        /// No body.
        Empty,
        /// These bytes.
        Text(&'static str),
        /// `{"old_password": …, "new_password": …}` built from members.
        Members(Member, Member),
        /// A valid change padded with an extra member past the declared body limit.
        Oversized,
        /// These bytes (`text`), a change whose members hold escapes no
        /// Rust string holds (a lone surrogate), with the `old` and `new`
        /// passwords a lenient decoder reads from them (U+FFFD for the
        /// escape): a wrong-old change, guarded by the lockout budget and
        /// `new` recorded before it is sent.
        Escaped {
            /// The body sent.
            text: &'static str,
            /// The old password as a lenient decoder reads it.
            old: &'static str,
            /// The new password as a lenient decoder reads it.
            new: &'static str,
        },
    }

    /// Whose token a hand-made request carries.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum RawAuth {
        /// None.
        None,
        /// The active account's valid token.
        Active,
        /// A valid token for the missing subject.
        Missing,
    }

    /// A hand-made request.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Raw {
        /// The method.
        pub method: &'static str,
        /// Path after the base URL; `None` means the endpoint.
        pub path: Option<&'static str>,
        /// `Content-Type`, if any.
        pub content_type: Option<&'static str>,
        /// The body.
        pub body: Body,
        /// The token.
        pub auth: RawAuth,
    }

    /// The http family's plan.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Plan {
        /// A hand-made request.
        Raw(Raw, Expect),
    }

    impl Plan {
        /// The wrong old passwords the plan sends the active account: a
        /// change with its token whose old password is not the current
        /// one (an escaped wrong one, or none at all beside a string new
        /// password) is guarded and counted as one.
        pub fn wrong_olds(self) -> crate::vocabulary::plans::WrongOlds {
            let Plan::Raw(raw, _) = self;
            let wrong_old = matches!(
                raw.body,
                Body::Escaped { .. }
                    | Body::Members(
                        Member::Absent | Member::Null | Member::Number,
                        Member::Fresh
                    )
            );
            if raw.auth == RawAuth::Active && wrong_old {
                crate::vocabulary::plans::WrongOlds::OWN
            } else {
                crate::vocabulary::plans::WrongOlds::NONE
            }
        }
    }
}

/// The plan of [`crate::cases::members`].
pub mod members {
    /// The members family's plan.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Plan {
        /// A valid change of the active account whose body also carries
        /// this member, naming another account of the profile.
        OtherAccount(&'static str),
    }
}

/// The plan of [`crate::cases::user`].
pub mod user {
    #[allow(unused_imports)]
    use crate::vocabulary::terms::{Expect, PolicyBreak, PolicyEdge, TokenKind};
    /// An account of the profile other than the active one.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Role {
        /// `[accounts.frozen]`.
        Frozen,
        /// `[accounts.locked]`.
        Locked,
        /// `[accounts.frozen_and_locked]`.
        FrozenAndLocked,
        /// `[accounts.missing]`.
        Missing,
    }

    impl Role {
        /// The profile table's name.
        pub fn table(self) -> &'static str {
            match self {
                Role::Frozen => "accounts.frozen",
                Role::Locked => "accounts.locked",
                Role::FrozenAndLocked => "accounts.frozen_and_locked",
                Role::Missing => "accounts.missing",
            }
        }
    }

    /// The user family's plan.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Plan {
        /// Another account's token; the old password is its own (from the
        /// profile) unless `wrong_old`, or when the profile has none.
        Account {
            /// Which account.
            role: Role,
            /// Send a made-up old password on purpose.
            wrong_old: bool,
            /// The expected answer.
            expect: Expect,
        },
        /// Lock `[accounts.lockable]` with wrong old passwords.
        Lockout,
    }
}

/// The plan of [`crate::cases::password`].
pub mod password {
    #[allow(unused_imports)]
    use crate::vocabulary::terms::{Expect, PolicyBreak, PolicyEdge, TokenKind};
    /// What the new password is when the old one is wrong (precedence cases).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum WrongOldNew {
        /// The same wrong password (a duplicate, were the old one right).
        Same,
        /// Too short for the policy.
        TooShort,
    }

    /// The password family's plan.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Plan {
        /// S1 and its effects.
        Success,
        /// S2 and its effects.
        WrongOld,
        /// S3 and its effects.
        Duplicate,
        /// A wrong old password with a new one that has its own problem.
        WrongOldFirst(WrongOldNew),
        /// After a change to P, this near miss of P is a wrong old password.
        Exact(NearMiss),
        /// A near miss of the current password as the new one is accepted.
        NotDuplicate(NotEqual),
    }

    /// A near miss of the password P just set.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum NearMiss {
        /// Every letter's case changed.
        CaseChanged,
        /// P with spaces and a tab around it.
        SurroundingWhitespace,
        /// P without its spaces (P has spaces inside and at the ends).
        WhitespaceRemoved,
        /// The first 72 bytes of a longer P.
        First72Bytes,
        /// P with one more character at its end.
        OneMore,
        /// P without its last character.
        OneFewer,
        /// P with its last character changed.
        LastChanged,
        /// P with its first character changed.
        FirstChanged,
        /// P with a space inserted in its middle.
        InnerSpace,
        /// The empty string.
        Empty,
        /// P followed by a NUL character.
        NulSuffix,
    }

    /// A new password that differs from one the target knows only a
    /// little: it is not equal, so it must be accepted.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum NotEqual {
        /// The current password with every letter's case changed.
        CaseChanged,
        /// The current password with one character more.
        OneMore,
    }

    impl Plan {
        /// The wrong old passwords the plan sends the active account on a
        /// conformant target: S1's old password after the change, S2's
        /// wrong one (and its refused new password tried as old), the
        /// near miss of P, the precedence cases' wrong one.
        pub fn wrong_olds(self) -> crate::vocabulary::plans::WrongOlds {
            match self {
                Plan::Success | Plan::WrongOldFirst(_) | Plan::Exact(_) => {
                    crate::vocabulary::plans::WrongOlds::OWN
                }
                Plan::WrongOld => crate::vocabulary::plans::WrongOlds { own: 1, effect: 1 },
                Plan::Duplicate | Plan::NotDuplicate(_) => {
                    crate::vocabulary::plans::WrongOlds::NONE
                }
            }
        }
    }
}

/// The plan of [`crate::cases::policy`].
pub mod policy {
    #[allow(unused_imports)]
    use crate::vocabulary::terms::{Expect, PolicyBreak, PolicyEdge, TokenKind};
    /// The policy family's plan.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Plan {
        /// S5: a new password that breaks the policy this way.
        Break(PolicyBreak),
        /// A password on the edge of the policy is accepted.
        Edge(PolicyEdge),
        /// S5: a new password far over `max_length`, the body still within
        /// the declared limit.
        FarTooLong,
    }

    impl Plan {
        /// The wrong old passwords the plan sends the active account on a
        /// conformant target: the refused new password tried as old (an
        /// effect check).
        pub fn wrong_olds(self) -> crate::vocabulary::plans::WrongOlds {
            match self {
                Plan::Break(_) | Plan::FarTooLong => crate::vocabulary::plans::WrongOlds::EFFECT,
                Plan::Edge(_) => crate::vocabulary::plans::WrongOlds::NONE,
            }
        }
    }
}

/// The plan of [`crate::cases::history`].
pub mod history {
    #[allow(unused_imports)]
    use crate::vocabulary::terms::{Expect, PolicyBreak, PolicyEdge, TokenKind};
    /// Which previous password a history case reuses.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum HistoryProbe {
        /// The most recent previous password: refused.
        MostRecent,
        /// The N-th previous password: refused.
        Nth,
        /// The N+1-th previous password: accepted.
        Beyond,
        /// The most recent previous password with every letter's case
        /// changed: not equal to it, accepted.
        MostRecentCaseChanged,
    }

    /// The history family's plan.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Plan {
        /// S4: reuse this previous password.
        History(HistoryProbe),
    }

    impl Plan {
        /// The wrong old passwords the plan sends the active account on a
        /// conformant target: the refused previous password tried as old
        /// (an effect check).
        pub fn wrong_olds(self) -> crate::vocabulary::plans::WrongOlds {
            match self {
                Plan::History(HistoryProbe::MostRecent | HistoryProbe::Nth) => {
                    crate::vocabulary::plans::WrongOlds::EFFECT
                }
                Plan::History(_) => crate::vocabulary::plans::WrongOlds::NONE,
            }
        }
    }
}

/// What the runner does for a case: a plan of the case's family, carried
/// out by that family's module in [`crate::cases`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// A valid change sent with some credentials ([`crate::cases::auth`]).
    Auth(auth::Plan),
    /// A forged token ([`crate::cases::tokens`]).
    Tokens(tokens::Plan),
    /// A hand-made request ([`crate::cases::http`]).
    Http(http::Plan),
    /// Body members naming another account ([`crate::cases::members`]).
    Members(members::Plan),
    /// Another account of the profile ([`crate::cases::user`]).
    User(user::Plan),
    /// The old and new password of the active account ([`crate::cases::password`]).
    Password(password::Plan),
    /// The declared policy ([`crate::cases::policy`]).
    Policy(policy::Plan),
    /// The password history ([`crate::cases::history`]).
    History(history::Plan),
    /// A generated property (`conformance run --properties`), run by
    /// [`crate::properties`], never by the catalogue runner.
    Property(Property),
}

impl Plan {
    /// Whether the runner confirms, after the case, that its refused
    /// requests left the active account's password unchanged, batched with
    /// the next such cases: plans that send requests the target should
    /// refuse without verifying the password themselves (auth, tokens,
    /// http). The other families check their effects within the case.
    pub fn defers_confirmation(self) -> bool {
        matches!(
            self,
            Plan::Auth(_) | Plan::Tokens(_) | Plan::Http(_) | Plan::Members(_)
        )
    }

    /// The wrong old passwords the case sends the active account on a
    /// conformant target: the one place the run's budget plan
    /// (`crate::plan`) reads them from.
    pub fn wrong_olds(self) -> WrongOlds {
        match self {
            Plan::Password(p) => p.wrong_olds(),
            Plan::Policy(p) => p.wrong_olds(),
            Plan::History(p) => p.wrong_olds(),
            Plan::Http(p) => p.wrong_olds(),
            Plan::Auth(_) | Plan::Tokens(_) | Plan::Members(_) | Plan::User(_) => WrongOlds::NONE,
            Plan::Property(_) => WrongOlds::NONE,
        }
    }

    /// Whether the case sends old passwords it knows to be wrong for the
    /// active account, for its own checks or an effect check (and so needs
    /// room below the lockout threshold). The hand-made requests' are
    /// left to the lockout guard.
    pub fn sends_wrong_passwords(self) -> bool {
        !matches!(self, Plan::Http(_)) && self.wrong_olds().total() > 0
    }
}

/// The wrong old passwords a case sends the active account on a
/// conformant target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WrongOlds {
    /// Sent by the case's own steps: without them it checks nothing of
    /// what it is for.
    pub own: u32,
    /// The refused new password tried as old password after a refused
    /// change: an effect check the tracked password stands in for (a
    /// target that stored the refused change refuses the tracked one).
    pub effect: u32,
}

impl WrongOlds {
    /// None.
    pub const NONE: WrongOlds = WrongOlds { own: 0, effect: 0 };
    /// One, for the case's own check.
    pub const OWN: WrongOlds = WrongOlds { own: 1, effect: 0 };
    /// One, for an effect check.
    pub const EFFECT: WrongOlds = WrongOlds { own: 0, effect: 1 };

    /// Both.
    pub fn total(self) -> u32 {
        self.own + self.effect
    }
}

macro_rules! family_plan {
    ($($variant:ident => $family:ident),*) => {$(
        impl From<$family::Plan> for Plan {
            fn from(p: $family::Plan) -> Plan {
                Plan::$variant(p)
            }
        }
    )*};
}

family_plan!(
    Auth => auth,
    Tokens => tokens,
    Http => http,
    Members => members,
    User => user,
    Password => password,
    Policy => policy,
    History => history
);

/// The generated properties of [`crate::properties`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Property {
    /// Generated new passwords against the declared policy's oracle.
    PolicyOracle,
    /// Sequences of steps against a model of the account.
    AccountModel,
    /// Hostile but harmless requests.
    HostileInputs,
}

/// One case of the catalogue.
#[derive(Debug, Clone, Copy)]
pub struct Case {
    /// Stable ID, like `auth.missing-token.no-header`.
    pub id: &'static str,
    /// The tier of the case; its checks never weigh more.
    pub tier: Tier,
    /// One line: what is being checked.
    pub title: &'static str,
    /// The seed row, RFC section or open point it checks.
    pub spec: Spec,
    /// For reference cases that extend a row: the open point and the
    /// reference server's decision; for open-point cases, the decision.
    pub decision: Option<(OpenPoint, &'static str)>,
    /// What the runner does.
    pub plan: Plan,
}

impl Case {
    /// The report group.
    pub fn group(&self) -> Group {
        self.spec.group()
    }
}

/// The generated properties, run only with `--properties` (see
/// `conformance/PROPERTIES.md`). They are cases for the reports (stable
/// IDs, tier, spec), but not part of [`crate::cases::CATALOGUE`].
pub static PROPERTIES: [Case; 3] = [
    Case {
        id: "property.policy-oracle",
        tier: Tier::Seed,
        title: "generated new passwords (valid, one rule broken, reused) get the answer the \
                declared policy predicts",
        spec: Spec::Row(Row::S5),
        decision: None,
        plan: Plan::Property(Property::PolicyOracle),
    },
    Case {
        id: "property.account-model",
        tier: Tier::Seed,
        title: "generated sequences of changes, wrong old passwords and token variants match a \
                model of the account (password, history, failures, status)",
        spec: Spec::Row(Row::S4),
        decision: None,
        plan: Plan::Property(Property::AccountModel),
    },
    Case {
        id: "property.hostile-inputs",
        tier: Tier::Seed,
        title: "generated hostile Authorization values, bodies and Content-Types get a \
                documented answer, never a 5xx, and never change the password",
        spec: Spec::Open(OpenPoint::Malformed),
        decision: Some((
            OpenPoint::Malformed,
            "malformed input gets a documented 4xx shape (seed rows, invalid_request, 413, \
             415) or 503; never another 5xx; the password never changes",
        )),
        plan: Plan::Property(Property::HostileInputs),
    },
];
