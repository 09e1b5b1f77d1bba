//! The terms of the spec: tiers, seed rows, open points, spec references,
//! expected answers (challenges, descriptions), token kinds, and the ways
//! a password can break or sit on the edge of the policy.
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
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, Serialize, schemars::JsonSchema,
)]
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
    /// The profile's static token without `openid`
    /// (`tokens.no_openid_token`), else one minted with scope `profile`.
    ProfileNoOpenid,
    /// These scopes, in the form the profile declares
    /// (`tokens.scope_format`).
    DeclaredScope(&'static [&'static str]),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges_match_the_document_bytes() {
        assert_eq!(
            Challenge::InvalidRequest.header(),
            "Bearer error=\"invalid_request\", error_description=\"Bearer token not found in the request\", error_uri=\"https://tools.ietf.org/html/rfc6750#section-3.1\""
        );
    }
}
