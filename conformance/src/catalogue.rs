//! The case catalogue: every case with its stable ID, its tier, the seed row,
//! RFC section or open point it checks (with the quoted requirement), and the
//! plan the runner carries out.
//!
//! Expectations are written here from the vendor document
//! (`shared/spec/change_user_password.seed.txt` and its English rendering),
//! never taken from the reference server. IDs are stable: a case is renamed
//! only together with its snapshot and every baseline that names it.

use serde::Serialize;

/// How much weight a failing expectation carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    /// Pinned by the vendor document: a failure fails the run.
    Seed,
    /// RFC 6750/7235/9110 expectations: a warning, a failure under `--strict`.
    Rfc,
    /// What the document leaves open, as the reference server decided it:
    /// information for external targets, enforced against the embedded
    /// reference server and under `--strict`.
    Reference,
}

impl Tier {
    /// Lower-case name, as printed.
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Seed => "seed",
            Tier::Rfc => "rfc",
            Tier::Reference => "reference",
        }
    }

    /// The weaker of two tiers (a check inside a case never weighs more
    /// than the case).
    pub fn weaker(self, other: Tier) -> Tier {
        self.max(other)
    }
}

/// A row of the vendor document's response table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Row {
    /// Success.
    S1,
    /// Old password wrong.
    S2,
    /// New password equals the old one.
    S3,
    /// New password equals one of the previous N.
    S4,
    /// New password breaks the policy.
    S5,
    /// User not found.
    S6,
    /// User frozen.
    S7,
    /// User locked.
    S8,
    /// Bearer token missing.
    S9,
    /// Bearer token wrong.
    S10,
    /// Token lacks the `openid` scope.
    S11,
}

impl Row {
    /// Every row in document order.
    pub const ALL: [Row; 11] = [
        Row::S1,
        Row::S2,
        Row::S3,
        Row::S4,
        Row::S5,
        Row::S6,
        Row::S7,
        Row::S8,
        Row::S9,
        Row::S10,
        Row::S11,
    ];

    /// `S1` … `S11`.
    pub fn id(self) -> &'static str {
        match self {
            Row::S1 => "S1",
            Row::S2 => "S2",
            Row::S3 => "S3",
            Row::S4 => "S4",
            Row::S5 => "S5",
            Row::S6 => "S6",
            Row::S7 => "S7",
            Row::S8 => "S8",
            Row::S9 => "S9",
            Row::S10 => "S10",
            Row::S11 => "S11",
        }
    }

    /// The row's condition in English.
    pub fn title(self) -> &'static str {
        match self {
            Row::S1 => "success",
            Row::S2 => "old password wrong",
            Row::S3 => "new password equals the old one",
            Row::S4 => "new password equals one of the previous N",
            Row::S5 => "new password breaks the policy",
            Row::S6 => "user not found",
            Row::S7 => "user frozen",
            Row::S8 => "user locked",
            Row::S9 => "bearer token missing",
            Row::S10 => "bearer token wrong",
            Row::S11 => "token lacks the openid scope",
        }
    }

    /// The requirement as the vendor document states it (English rendering).
    pub fn quote(self) -> &'static str {
        match self {
            Row::S1 => "Changes the password of the logged-in user. Success: HTTP/1.1 200 OK",
            Row::S2 => {
                "Old password wrong: 400, Content-Type: application/json;charset=UTF-8, \
                 {\"error\":\"wrong_old_password\"}"
            }
            Row::S3 => {
                "New password equals the old one: 400, Content-Type: application/json;charset=UTF-8, \
                 {\"error\":\"duplicate_password\"}"
            }
            Row::S4 => {
                "The new password must not equal any of the previous N passwords, N being set in \
                 the policy: 400, Content-Type: application/json;charset=UTF-8, \
                 {\"error\":\"recurrent_password\"}"
            }
            Row::S5 => {
                "The new password must satisfy the password policy: 400, Content-Type: \
                 application/json;charset=UTF-8, {\"error\":\"invalid_new_password\"}"
            }
            Row::S6 => {
                "User not found: 400, Content-Type: application/json;charset=UTF-8, \
                 {\"error\":\"user_not_found\"}"
            }
            Row::S7 => {
                "User frozen: 400, Content-Type: application/json;charset=UTF-8, \
                 {\"error\":\"abnormal_user_status\",\"error_description\":\"User is frozen.\"}"
            }
            Row::S8 => {
                "User locked: 400, Content-Type: application/json;charset=UTF-8, \
                 {\"error\":\"abnormal_user_status\",\"error_description\":\"User is locked.\"}"
            }
            Row::S9 => {
                "Bearer token missing: 400, WWW-Authenticate: Bearer error=\"invalid_request\", \
                 error_description=\"Bearer token not found in the request\", \
                 error_uri=\"https://tools.ietf.org/html/rfc6750#section-3.1\"; no body"
            }
            Row::S10 => {
                "Bearer token wrong (undecodable, bad signature, expired, revoked): 401, \
                 WWW-Authenticate: Bearer error=\"invalid_token\", error_description=\"Error \
                 decoding JWT\", error_uri=\"https://tools.ietf.org/html/rfc6750#section-3.1\"; no body"
            }
            Row::S11 => {
                "The Access Token must carry the openid scope: 403, WWW-Authenticate: Bearer \
                 error=\"insufficient_scope\", error_description=\"The request requires higher \
                 privileges than provided by the access token.\", \
                 error_uri=\"https://tools.ietf.org/html/rfc6750#section-3.1\"; no body"
            }
        }
    }

    /// The vendor document's own words for the row (Chinese original).
    pub fn quote_zh(self) -> &'static str {
        match self {
            Row::S1 => "修改已登录用户的密码。正常响应示例 HTTP/1.1 200 OK",
            Row::S2 => "旧密码错误。",
            Row::S3 => "新密码与旧密码相同。",
            Row::S4 => "不能与策略中指定的前 N 次历史密码相同。新密码与历史密码相同。",
            Row::S5 => "新密码需符合当前应用关联的账号密码认证源的密码策略。新密码不满足密码策略。",
            Row::S6 => "用户未找到。",
            Row::S7 => "用户被冻结。",
            Row::S8 => "用户被锁定。",
            Row::S9 => "bearer_token 缺失。",
            Row::S10 => "bearer_token 错误。",
            Row::S11 => {
                "需携带登录成功时得到的具备 openid scope 的 Access Token。bearer_token 无效。"
            }
        }
    }
}

/// A point the vendor document leaves open (numbered as in
/// `shared/spec/README.md`, "What the vendor document leaves open").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum OpenPoint {
    /// 1. Precedence when several errors apply.
    Precedence = 1,
    /// 2. Frozen and locked at once.
    FrozenAndLocked = 2,
    /// 3. Whether the current password counts among the N history entries.
    HistoryCurrent = 3,
    /// 4. Whether a wrong old password counts toward lockout.
    Lockout = 4,
    /// 5. The policy itself, Unicode normalisation.
    Policy = 5,
    /// 6. Malformed JSON, members, Content-Type, methods, paths, sizes.
    Malformed = 6,
    /// 7. Headers and body of the 200.
    SuccessResponse = 7,
    /// 8. Bearer syntax variants.
    BearerSyntax = 8,
    /// 9. Issuer/audience checks, clock skew, `nbf`, algorithms.
    TokenClaims = 9,
}

impl OpenPoint {
    /// The point's number in the spec README.
    pub fn number(self) -> u8 {
        self as u8
    }

    /// What the spec README says is open.
    pub fn quote(self) -> &'static str {
        match self {
            OpenPoint::Precedence => {
                "Precedence when several errors apply (user, status, old password, duplicate, \
                 policy, history)."
            }
            OpenPoint::FrozenAndLocked => "Frozen and locked at once.",
            OpenPoint::HistoryCurrent => {
                "Whether the current password counts among the N history entries."
            }
            OpenPoint::Lockout => "Whether a wrong old password counts toward lockout.",
            OpenPoint::Policy => {
                "The policy itself (lengths, character classes), Unicode normalisation."
            }
            OpenPoint::Malformed => {
                "Malformed JSON, missing, null or non-string members, wrong Content-Type, other \
                 methods, unknown paths, oversized bodies."
            }
            OpenPoint::SuccessResponse => "Headers and body of the 200.",
            OpenPoint::BearerSyntax => {
                "`bearer` in lower case (RFC 7235: the scheme is case-insensitive), a non-Bearer \
                 scheme, a token that is not b64token syntax, several tokens, a token in the \
                 query or body, an empty token."
            }
            OpenPoint::TokenClaims => {
                "Issuer/audience checks, clock skew, `nbf`, which algorithms, `scp`."
            }
        }
    }
}

/// What a case checks: a seed row, an RFC section, or an open point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spec {
    /// A row of the vendor document.
    Row(Row),
    /// An RFC section with the requirement's words.
    Rfc {
        /// Like `RFC 7235 §2.1`.
        section: &'static str,
        /// The requirement, quoted.
        quote: &'static str,
    },
    /// A point the document leaves open (reference tier).
    Open(OpenPoint),
}

/// The group a case is listed under in reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Group {
    /// A seed row.
    Row(Row),
    /// An RFC section.
    Rfc(&'static str),
    /// An open point.
    Open(OpenPoint),
}

impl Group {
    /// Short key: `S9`, `RFC 7235 §2.1`, `open-6`.
    pub fn key(self) -> String {
        match self {
            Group::Row(r) => r.id().to_string(),
            Group::Rfc(s) => s.to_string(),
            Group::Open(p) => format!("open-{}", p.number()),
        }
    }

    /// Heading for reports.
    pub fn heading(self) -> String {
        match self {
            Group::Row(r) => format!("{} {}", r.id(), r.title()),
            Group::Rfc(s) => s.to_string(),
            Group::Open(p) => format!("open point {}: {}", p.number(), p.quote()),
        }
    }
}

impl Spec {
    /// The report group.
    pub fn group(self) -> Group {
        match self {
            Spec::Row(r) => Group::Row(r),
            Spec::Rfc { section, .. } => Group::Rfc(section),
            Spec::Open(p) => Group::Open(p),
        }
    }

    /// Short reference: `seed S9`, `RFC 7235 §2.1`, `open point 6`.
    pub fn reference(self) -> String {
        match self {
            Spec::Row(r) => format!("seed {}", r.id()),
            Spec::Rfc { section, .. } => section.to_string(),
            Spec::Open(p) => format!("open point {}", p.number()),
        }
    }

    /// The quoted requirement.
    pub fn quote(self) -> &'static str {
        match self {
            Spec::Row(r) => r.quote(),
            Spec::Rfc { quote, .. } => quote,
            Spec::Open(p) => p.quote(),
        }
    }
}

/// The three bearer challenges of rows S9–S11.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Challenge {
    /// S9: 400 `invalid_request`.
    InvalidRequest,
    /// S10: 401 `invalid_token`.
    InvalidToken,
    /// S11: 403 `insufficient_scope`.
    InsufficientScope,
}

/// `error_uri` of every challenge in the document.
pub const ERROR_URI: &str = "https://tools.ietf.org/html/rfc6750#section-3.1";

impl Challenge {
    /// The status code.
    pub fn status(self) -> u16 {
        match self {
            Challenge::InvalidRequest => 400,
            Challenge::InvalidToken => 401,
            Challenge::InsufficientScope => 403,
        }
    }

    /// The `error` parameter.
    pub fn error(self) -> &'static str {
        match self {
            Challenge::InvalidRequest => "invalid_request",
            Challenge::InvalidToken => "invalid_token",
            Challenge::InsufficientScope => "insufficient_scope",
        }
    }

    /// The `error_description` parameter.
    pub fn description(self) -> &'static str {
        match self {
            Challenge::InvalidRequest => "Bearer token not found in the request",
            Challenge::InvalidToken => "Error decoding JWT",
            Challenge::InsufficientScope => {
                "The request requires higher privileges than provided by the access token."
            }
        }
    }

    /// The header exactly as the vendor writes it.
    pub fn header(self) -> String {
        format!(
            "Bearer error=\"{}\", error_description=\"{}\", error_uri=\"{}\"",
            self.error(),
            self.description(),
            ERROR_URI
        )
    }
}

/// What the `error_description` member of a JSON error must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Description {
    /// The document gives no description: any or none is fine.
    Unspecified,
    /// Exactly this text.
    Exact(&'static str),
    /// Some string (the reference's `invalid_request` explains itself).
    AnyString,
}

/// The expected response of one step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// 200 (S1); an empty body is the reference's answer to open point 7.
    Success,
    /// 400 with a JSON error body.
    JsonError {
        /// The `error` member.
        error: &'static str,
        /// The `error_description` member.
        description: Description,
    },
    /// A bearer challenge and no body.
    Challenge(Challenge),
    /// A bare status (the document says nothing about the body).
    Status(u16),
    /// 405 with `Allow` naming POST.
    MethodNotAllowed,
}

impl Expect {
    /// S2.
    pub const WRONG_OLD: Expect = Expect::JsonError {
        error: "wrong_old_password",
        description: Description::Unspecified,
    };
    /// S3.
    pub const DUPLICATE: Expect = Expect::JsonError {
        error: "duplicate_password",
        description: Description::Unspecified,
    };
    /// S4.
    pub const RECURRENT: Expect = Expect::JsonError {
        error: "recurrent_password",
        description: Description::Unspecified,
    };
    /// S5.
    pub const INVALID_NEW: Expect = Expect::JsonError {
        error: "invalid_new_password",
        description: Description::Unspecified,
    };
    /// S6.
    pub const USER_NOT_FOUND: Expect = Expect::JsonError {
        error: "user_not_found",
        description: Description::Unspecified,
    };
    /// S7.
    pub const FROZEN: Expect = Expect::JsonError {
        error: "abnormal_user_status",
        description: Description::Exact("User is frozen."),
    };
    /// S8.
    pub const LOCKED: Expect = Expect::JsonError {
        error: "abnormal_user_status",
        description: Description::Exact("User is locked."),
    };
    /// The reference's 400 for malformed bodies (open point 6).
    pub const INVALID_REQUEST: Expect = Expect::JsonError {
        error: "invalid_request",
        description: Description::AnyString,
    };
}

/// How the `scope` claim of a minted token is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ScopeForm {
    /// `["openid", "profile"]`, as the vendor issues it.
    Array,
    /// `"openid profile"`, as RFC 9068 writes it.
    String,
}

/// A variant of the active account's access token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// A valid token whose signature bytes were altered.
    BadSignature,
    /// Signed by a key the target does not trust (profile `untrusted_private_key`).
    UntrustedKey,
    /// `exp` an hour ago.
    Expired,
    /// `nbf` an hour ahead.
    NotYetValid,
    /// Another `iss`.
    WrongIssuer,
    /// Another `aud`.
    WrongAudience,
    /// `{"alg":"none"}` and no signature, claims of a valid token.
    AlgNone,
    /// A `kid` the target does not publish, signed with the trusted key.
    UnknownKid,
    /// No `scope` claim at all.
    NoScope,
    /// These scopes, in this form.
    Scope(&'static [&'static str], ScopeForm),
}

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

/// Which previous password a history case reuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HistoryProbe {
    /// The most recent previous password: refused.
    MostRecent,
    /// The N-th previous password: refused.
    Nth,
    /// The N+1-th previous password: accepted.
    Beyond,
}

/// A way to break the declared policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyBreak {
    /// `min_length - 1` code points.
    TooShort,
    /// `max_length + 1` code points.
    TooLong,
    /// No lower-case letter.
    NoLowercase,
    /// No upper-case letter.
    NoUppercase,
    /// No digit.
    NoDigit,
    /// No symbol.
    NoSymbol,
    /// A control character inside.
    ControlCharacter,
    /// Long enough as sent (decomposed), too short after NFC.
    ShortAfterNormalization,
}

/// A password on the edge of the declared policy that must be accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyEdge {
    /// Exactly `min_length`.
    MinLength,
    /// Exactly `max_length`.
    MaxLength,
    /// Exactly `max_length` code points, many of them two bytes in UTF-8.
    MaxLengthCodePoints,
}

/// What the new password is when the old one is wrong (precedence cases).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WrongOldNew {
    /// The same wrong password (a duplicate, were the old one right).
    Same,
    /// Too short for the policy.
    TooShort,
}

/// What the runner does for a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// A valid change of the active account (old = current, new = fresh),
    /// sent with these credentials.
    Auth(Auth, Expect),
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
    /// A hand-made request.
    Raw(Raw, Expect),
    /// S1 and its effects.
    Success,
    /// S2 and its effects.
    WrongOld,
    /// S3 and its effects.
    Duplicate,
    /// S4.
    History(HistoryProbe),
    /// S5.
    Break(PolicyBreak),
    /// A password on the edge of the policy is accepted.
    Edge(PolicyEdge),
    /// A wrong old password with a new one that has its own problem.
    WrongOldFirst(WrongOldNew),
    /// Lock `[accounts.lockable]` with wrong old passwords.
    Lockout,
    /// A generated property (`conformance run --properties`), run by
    /// [`crate::properties`], never by the catalogue runner.
    Property(Property),
}

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

impl Plan {
    /// Whether the case sends old passwords it knows to be wrong for the
    /// active account (and so needs room below the lockout threshold).
    pub fn sends_wrong_passwords(self) -> bool {
        matches!(
            self,
            Plan::Success
                | Plan::WrongOld
                | Plan::History(HistoryProbe::MostRecent | HistoryProbe::Nth)
                | Plan::Break(_)
                | Plan::WrongOldFirst(_)
        )
    }
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

const OPENID: &[&str] = &["openid"];
const OPENID_PROFILE: &[&str] = &["openid", "profile"];
const PROFILE_EMAIL: &[&str] = &["profile", "email"];
const OPENIDX: &[&str] = &["openidx", "profile"];

macro_rules! case {
    ($id:literal, $tier:ident, $spec:expr, $title:literal, $plan:expr) => {
        Case {
            id: $id,
            tier: Tier::$tier,
            title: $title,
            spec: $spec,
            decision: None,
            plan: $plan,
        }
    };
    ($id:literal, $tier:ident, $spec:expr, $title:literal, $plan:expr, $point:ident: $decision:literal) => {
        Case {
            id: $id,
            tier: Tier::$tier,
            title: $title,
            spec: $spec,
            decision: Some((OpenPoint::$point, $decision)),
            plan: $plan,
        }
    };
}

use Plan as P;
use Spec::Row as R;

const fn post_endpoint(content_type: Option<&'static str>, body: Body, auth: RawAuth) -> Raw {
    Raw {
        method: "POST",
        path: None,
        content_type,
        body,
        auth,
    }
}

const JSON: Option<&str> = Some("application/json");

/// Every case, in the order the runner carries them out.
pub static CATALOGUE: &[Case] = &[
    // --- S9: bearer token missing -------------------------------------------------
    case!(
        "auth.missing-token.no-header",
        Seed,
        R(Row::S9),
        "no Authorization header",
        P::Auth(Auth::None, Expect::Challenge(Challenge::InvalidRequest))
    ),
    case!(
        "auth.missing-token.other-scheme",
        Reference,
        R(Row::S9),
        "Authorization with a non-Bearer scheme counts as no bearer token",
        P::Auth(
            Auth::Literal("Basic dXNlcjpwYXNz"),
            Expect::Challenge(Challenge::InvalidRequest)
        ),
        BearerSyntax: "a non-Bearer scheme is answered like a missing token (S9)"
    ),
    case!(
        "auth.missing-token.empty-bearer",
        Reference,
        R(Row::S9),
        "`Bearer` with nothing after it counts as no bearer token",
        P::Auth(
            Auth::Literal("Bearer"),
            Expect::Challenge(Challenge::InvalidRequest)
        ),
        BearerSyntax: "`Bearer` with an empty token is answered like a missing token (S9)"
    ),
    case!(
        "auth.missing-token.several-headers",
        Reference,
        R(Row::S9),
        "two Authorization headers are not one bearer token",
        P::Auth(Auth::Twice, Expect::Challenge(Challenge::InvalidRequest)),
        BearerSyntax: "several Authorization headers are answered like a missing token (S9)"
    ),
    // --- RFC 7235: the scheme is case-insensitive -----------------------------------
    case!(
        "auth.scheme.lower-case",
        Rfc,
        Spec::Rfc {
            section: "RFC 7235 §2.1",
            quote: "It uses a case-insensitive token as a means to identify the authentication scheme"
        },
        "`bearer <token>` in lower case is accepted",
        P::Auth(Auth::LowerCaseScheme, Expect::Success),
        BearerSyntax: "`bearer` in lower case is accepted (RFC 7235)"
    ),
    // --- S10: bearer token wrong ---------------------------------------------------
    case!(
        "auth.invalid-token.garbage",
        Seed,
        R(Row::S10),
        "a token that is not a JWT (undecodable)",
        P::Auth(
            Auth::Literal("Bearer not-a-jwt"),
            Expect::Challenge(Challenge::InvalidToken)
        )
    ),
    case!(
        "auth.invalid-token.bad-signature",
        Seed,
        R(Row::S10),
        "a valid token with its signature bytes altered",
        P::Auth(
            Auth::Token(TokenKind::BadSignature),
            Expect::Challenge(Challenge::InvalidToken)
        )
    ),
    case!(
        "auth.invalid-token.untrusted-key",
        Seed,
        R(Row::S10),
        "a token signed by a key the target does not trust (bad signature)",
        P::Auth(
            Auth::Token(TokenKind::UntrustedKey),
            Expect::Challenge(Challenge::InvalidToken)
        )
    ),
    case!(
        "auth.invalid-token.alg-none",
        Seed,
        R(Row::S10),
        "an unsigned token (`alg: none`) has no valid signature",
        P::Auth(
            Auth::Token(TokenKind::AlgNone),
            Expect::Challenge(Challenge::InvalidToken)
        )
    ),
    case!(
        "auth.invalid-token.expired",
        Seed,
        R(Row::S10),
        "a token that expired an hour ago",
        P::Auth(
            Auth::Token(TokenKind::Expired),
            Expect::Challenge(Challenge::InvalidToken)
        )
    ),
    case!(
        "auth.invalid-token.wrong-issuer",
        Reference,
        R(Row::S10),
        "a token from another issuer",
        P::Auth(
            Auth::Token(TokenKind::WrongIssuer),
            Expect::Challenge(Challenge::InvalidToken)
        ),
        TokenClaims: "the configured `iss` is enforced; another one is a wrong token (S10)"
    ),
    case!(
        "auth.invalid-token.wrong-audience",
        Reference,
        R(Row::S10),
        "a token for another audience",
        P::Auth(
            Auth::Token(TokenKind::WrongAudience),
            Expect::Challenge(Challenge::InvalidToken)
        ),
        TokenClaims: "the configured `aud` is enforced; another one is a wrong token (S10)"
    ),
    case!(
        "auth.invalid-token.unknown-kid",
        Reference,
        R(Row::S10),
        "a token whose `kid` the target does not publish",
        P::Auth(
            Auth::Token(TokenKind::UnknownKid),
            Expect::Challenge(Challenge::InvalidToken)
        ),
        TokenClaims: "keys are chosen by `kid`; an unknown `kid` is a wrong token (S10)"
    ),
    case!(
        "auth.invalid-token.not-yet-valid",
        Reference,
        R(Row::S10),
        "a token whose `nbf` is an hour ahead",
        P::Auth(
            Auth::Token(TokenKind::NotYetValid),
            Expect::Challenge(Challenge::InvalidToken)
        ),
        TokenClaims: "`nbf` is honoured (within the leeway)"
    ),
    case!(
        "auth.invalid-token.not-b64token",
        Reference,
        R(Row::S10),
        "a token outside the RFC 6750 b64token syntax",
        P::Auth(
            Auth::Literal("Bearer abc!def"),
            Expect::Challenge(Challenge::InvalidToken)
        ),
        BearerSyntax: "a token that is not b64token syntax is a wrong token (S10)"
    ),
    // --- S11: token lacks the openid scope ----------------------------------------
    case!(
        "auth.insufficient-scope.no-scope-claim",
        Seed,
        R(Row::S11),
        "a token without a scope claim",
        P::Auth(
            Auth::Token(TokenKind::NoScope),
            Expect::Challenge(Challenge::InsufficientScope)
        )
    ),
    case!(
        "auth.insufficient-scope.array-without-openid",
        Seed,
        R(Row::S11),
        "scope as a JSON array without openid",
        P::Auth(
            Auth::Token(TokenKind::Scope(PROFILE_EMAIL, ScopeForm::Array)),
            Expect::Challenge(Challenge::InsufficientScope)
        )
    ),
    case!(
        "auth.insufficient-scope.string-without-openid",
        Seed,
        R(Row::S11),
        "scope as a space-separated string without openid",
        P::Auth(
            Auth::Token(TokenKind::Scope(PROFILE_EMAIL, ScopeForm::String)),
            Expect::Challenge(Challenge::InsufficientScope)
        )
    ),
    case!(
        "auth.insufficient-scope.openid-prefix",
        Seed,
        R(Row::S11),
        "`openidx` is not the openid scope",
        P::Auth(
            Auth::Token(TokenKind::Scope(OPENIDX, ScopeForm::String)),
            Expect::Challenge(Challenge::InsufficientScope)
        )
    ),
    case!(
        "auth.scope.array-with-openid",
        Seed,
        R(Row::S11),
        "scope as a JSON array with openid (the vendor's form) is accepted",
        P::Auth(
            Auth::Token(TokenKind::Scope(OPENID, ScopeForm::Array)),
            Expect::Success
        )
    ),
    case!(
        "auth.scope.string-with-openid",
        Reference,
        R(Row::S11),
        "scope as a space-separated string with openid (RFC 9068) is accepted",
        P::Auth(
            Auth::Token(TokenKind::Scope(OPENID_PROFILE, ScopeForm::String)),
            Expect::Success
        ),
        TokenClaims: "the scope claim is read as a JSON array or a space-separated string"
    ),
    // --- Requests the document does not describe ----------------------------------
    case!(
        "http.method-not-allowed",
        Reference,
        Spec::Open(OpenPoint::Malformed),
        "GET is answered 405 with `Allow: POST`",
        P::Raw(
            Raw {
                method: "GET",
                path: None,
                content_type: None,
                body: Body::Empty,
                auth: RawAuth::Active
            },
            Expect::MethodNotAllowed
        ),
        Malformed: "other methods: 405 with `Allow: POST`"
    ),
    case!(
        "http.unknown-path",
        Reference,
        Spec::Open(OpenPoint::Malformed),
        "a path next to the endpoint is 404",
        P::Raw(
            Raw {
                method: "POST",
                path: Some("/change_user_passwords"),
                content_type: JSON,
                body: Body::Members(Member::Current, Member::Fresh),
                auth: RawAuth::Active
            },
            Expect::Status(404)
        ),
        Malformed: "unknown paths: 404"
    ),
    case!(
        "http.unsupported-media-type",
        Reference,
        Spec::Open(OpenPoint::Malformed),
        "a valid change sent as text/plain is 415",
        P::Raw(
            post_endpoint(
                Some("text/plain"),
                Body::Members(Member::Current, Member::Fresh),
                RawAuth::Active
            ),
            Expect::Status(415)
        ),
        Malformed: "a Content-Type other than JSON: 415"
    ),
    case!(
        "http.body-too-large",
        Reference,
        Spec::Open(OpenPoint::Malformed),
        "a body over the declared limit is 413",
        P::Raw(
            post_endpoint(JSON, Body::Oversized, RawAuth::Active),
            Expect::Status(413)
        ),
        Malformed: "bodies over the limit (4096 bytes by default): 413"
    ),
    case!(
        "body.malformed-json",
        Reference,
        Spec::Open(OpenPoint::Malformed),
        "a body that is not JSON",
        P::Raw(
            post_endpoint(
                JSON,
                Body::Text("{\"old_password\": \"x\", \"new_password\": "),
                RawAuth::Active
            ),
            Expect::INVALID_REQUEST
        ),
        Malformed: "malformed JSON: 400 invalid_request with an error_description"
    ),
    case!(
        "body.not-an-object",
        Reference,
        Spec::Open(OpenPoint::Malformed),
        "a JSON body that is not an object",
        P::Raw(
            post_endpoint(
                JSON,
                Body::Text("[\"old_password\", \"new_password\"]"),
                RawAuth::Active
            ),
            Expect::INVALID_REQUEST
        ),
        Malformed: "a body that is not an object: 400 invalid_request"
    ),
    case!(
        "body.missing-old-password",
        Reference,
        Spec::Open(OpenPoint::Malformed),
        "no old_password member",
        P::Raw(
            post_endpoint(
                JSON,
                Body::Members(Member::Absent, Member::Fresh),
                RawAuth::Active
            ),
            Expect::INVALID_REQUEST
        ),
        Malformed: "a missing member: 400 invalid_request"
    ),
    case!(
        "body.missing-new-password",
        Reference,
        Spec::Open(OpenPoint::Malformed),
        "no new_password member",
        P::Raw(
            post_endpoint(
                JSON,
                Body::Members(Member::Current, Member::Absent),
                RawAuth::Active
            ),
            Expect::INVALID_REQUEST
        ),
        Malformed: "a missing member: 400 invalid_request"
    ),
    case!(
        "body.null-member",
        Reference,
        Spec::Open(OpenPoint::Malformed),
        "new_password is null",
        P::Raw(
            post_endpoint(
                JSON,
                Body::Members(Member::Current, Member::Null),
                RawAuth::Active
            ),
            Expect::INVALID_REQUEST
        ),
        Malformed: "a null member: 400 invalid_request"
    ),
    case!(
        "body.non-string-member",
        Reference,
        Spec::Open(OpenPoint::Malformed),
        "new_password is a number",
        P::Raw(
            post_endpoint(
                JSON,
                Body::Members(Member::Current, Member::Number),
                RawAuth::Active
            ),
            Expect::INVALID_REQUEST
        ),
        Malformed: "a non-string member: 400 invalid_request"
    ),
    // --- S6, S7, S8: the user ------------------------------------------------------
    case!(
        "user.not-found",
        Seed,
        R(Row::S6),
        "a valid token for a subject that does not exist",
        P::Account {
            role: Role::Missing,
            wrong_old: false,
            expect: Expect::USER_NOT_FOUND
        }
    ),
    case!(
        "user.frozen",
        Seed,
        R(Row::S7),
        "the frozen account, with its own password",
        P::Account {
            role: Role::Frozen,
            wrong_old: false,
            expect: Expect::FROZEN
        }
    ),
    case!(
        "user.frozen-and-locked",
        Reference,
        R(Row::S7),
        "an account both frozen and locked reads as frozen",
        P::Account {
            role: Role::FrozenAndLocked,
            wrong_old: false,
            expect: Expect::FROZEN
        },
        FrozenAndLocked: "frozen wins over locked: \"User is frozen.\""
    ),
    case!(
        "user.locked",
        Seed,
        R(Row::S8),
        "the locked account, with its own password",
        P::Account {
            role: Role::Locked,
            wrong_old: false,
            expect: Expect::LOCKED
        }
    ),
    case!(
        "user.lockout-after-failures",
        Reference,
        R(Row::S8),
        "`max_failures` wrong old passwords lock the account",
        P::Lockout,
        Lockout: "consecutive wrong old passwords lock the account (5 by default, for 15 minutes)"
    ),
    // --- S2, S3, S1: the password -------------------------------------------------
    case!(
        "password.wrong-old",
        Seed,
        R(Row::S2),
        "a wrong old password is refused and changes nothing",
        P::WrongOld
    ),
    case!(
        "password.duplicate",
        Seed,
        R(Row::S3),
        "the current password as the new one is refused and changes nothing",
        P::Duplicate
    ),
    case!(
        "password.change",
        Seed,
        R(Row::S1),
        "a valid change succeeds; the new password works, the old one is refused",
        P::Success
    ),
    // --- S5: the policy -----------------------------------------------------------
    case!(
        "policy.too-short",
        Seed,
        R(Row::S5),
        "one code point under min_length",
        P::Break(PolicyBreak::TooShort)
    ),
    case!(
        "policy.too-long",
        Seed,
        R(Row::S5),
        "one code point over max_length",
        P::Break(PolicyBreak::TooLong)
    ),
    case!(
        "policy.no-lowercase",
        Seed,
        R(Row::S5),
        "no lower-case letter",
        P::Break(PolicyBreak::NoLowercase)
    ),
    case!(
        "policy.no-uppercase",
        Seed,
        R(Row::S5),
        "no upper-case letter",
        P::Break(PolicyBreak::NoUppercase)
    ),
    case!(
        "policy.no-digit",
        Seed,
        R(Row::S5),
        "no digit",
        P::Break(PolicyBreak::NoDigit)
    ),
    case!(
        "policy.no-symbol",
        Seed,
        R(Row::S5),
        "no symbol",
        P::Break(PolicyBreak::NoSymbol)
    ),
    case!(
        "policy.control-character",
        Reference,
        R(Row::S5),
        "a control character inside the new password",
        P::Break(PolicyBreak::ControlCharacter),
        Policy: "control characters are refused"
    ),
    case!(
        "policy.short-after-normalization",
        Reference,
        R(Row::S5),
        "long enough as sent (decomposed), one under min_length after NFC",
        P::Break(PolicyBreak::ShortAfterNormalization),
        Policy: "passwords are NFC-normalised before lengths are counted"
    ),
    case!(
        "policy.min-length-accepted",
        Seed,
        R(Row::S5),
        "exactly min_length code points is accepted",
        P::Edge(PolicyEdge::MinLength)
    ),
    case!(
        "policy.max-length-accepted",
        Seed,
        R(Row::S5),
        "exactly max_length code points is accepted",
        P::Edge(PolicyEdge::MaxLength)
    ),
    case!(
        "policy.max-length-code-points",
        Reference,
        R(Row::S5),
        "max_length code points of two UTF-8 bytes each is accepted",
        P::Edge(PolicyEdge::MaxLengthCodePoints),
        Policy: "lengths count Unicode code points, not bytes"
    ),
    // --- Precedence ---------------------------------------------------------------
    case!(
        "precedence.token-before-body",
        Reference,
        Spec::Open(OpenPoint::Precedence),
        "no token and a malformed body: the token is checked first (S9)",
        P::Raw(
            post_endpoint(JSON, Body::Text("{\"old_password\": "), RawAuth::None),
            Expect::Challenge(Challenge::InvalidRequest)
        ),
        Precedence: "token → body → user → status → old password → duplicate → policy → history"
    ),
    case!(
        "precedence.body-before-user",
        Reference,
        Spec::Open(OpenPoint::Precedence),
        "a missing user and a malformed body: the body is checked first",
        P::Raw(
            post_endpoint(JSON, Body::Text("{\"old_password\": "), RawAuth::Missing),
            Expect::INVALID_REQUEST
        ),
        Precedence: "token → body → user → status → old password → duplicate → policy → history"
    ),
    case!(
        "precedence.status-before-old-password",
        Reference,
        Spec::Open(OpenPoint::Precedence),
        "the frozen account with a wrong old password reads as frozen",
        P::Account {
            role: Role::Frozen,
            wrong_old: true,
            expect: Expect::FROZEN
        },
        Precedence: "token → body → user → status → old password → duplicate → policy → history"
    ),
    case!(
        "precedence.old-password-before-duplicate",
        Reference,
        Spec::Open(OpenPoint::Precedence),
        "a wrong old password repeated as the new one is wrong_old_password",
        P::WrongOldFirst(WrongOldNew::Same),
        Precedence: "token → body → user → status → old password → duplicate → policy → history"
    ),
    case!(
        "precedence.old-password-before-policy",
        Reference,
        Spec::Open(OpenPoint::Precedence),
        "a wrong old password with a too-short new one is wrong_old_password",
        P::WrongOldFirst(WrongOldNew::TooShort),
        Precedence: "token → body → user → status → old password → duplicate → policy → history"
    ),
    // --- S4: history (last: it needs the most changes) -----------------------------
    case!(
        "history.most-recent",
        Seed,
        R(Row::S4),
        "the most recent previous password is refused and changes nothing",
        P::History(HistoryProbe::MostRecent)
    ),
    case!(
        "history.nth-previous",
        Seed,
        R(Row::S4),
        "the N-th previous password is refused and changes nothing",
        P::History(HistoryProbe::Nth)
    ),
    case!(
        "history.beyond-depth",
        Seed,
        R(Row::S4),
        "the N+1-th previous password is accepted",
        P::History(HistoryProbe::Beyond),
        HistoryCurrent: "N counts previous passwords; the current one is not among them"
    ),
];

/// The generated properties, run only with `--properties` (see
/// `conformance/PROPERTIES.md`). They are cases for the reports (stable
/// IDs, tier, spec), but not part of [`CATALOGUE`].
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

/// The case (or property) with this ID.
pub fn find(id: &str) -> Option<&'static Case> {
    CATALOGUE
        .iter()
        .chain(PROPERTIES.iter())
        .find(|c| c.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ids_are_unique_and_well_formed() {
        let mut seen = HashSet::new();
        for case in CATALOGUE {
            assert!(seen.insert(case.id), "duplicate id {}", case.id);
            assert!(
                case.id
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-'),
                "{} has characters outside [a-z0-9.-]",
                case.id
            );
            assert!(case.id.contains('.'), "{} has no group prefix", case.id);
        }
    }

    #[test]
    fn every_seed_row_has_a_seed_case() {
        for row in Row::ALL {
            assert!(
                CATALOGUE
                    .iter()
                    .any(|c| c.tier == Tier::Seed && c.spec == Spec::Row(row)),
                "no seed case for {}",
                row.id()
            );
        }
    }

    #[test]
    fn reference_cases_name_their_open_point() {
        for case in CATALOGUE {
            if case.tier == Tier::Reference {
                assert!(
                    case.decision.is_some(),
                    "{} is reference tier without a decision",
                    case.id
                );
            }
        }
    }

    #[test]
    fn challenges_match_the_document_bytes() {
        assert_eq!(
            Challenge::InvalidRequest.header(),
            "Bearer error=\"invalid_request\", error_description=\"Bearer token not found in the request\", error_uri=\"https://tools.ietf.org/html/rfc6750#section-3.1\""
        );
    }
}
