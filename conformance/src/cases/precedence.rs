//! Precedence when several errors apply (open point 1): the reference
//! order token → body → user → status → old password → duplicate → policy
//! → history, checked with the plans of the families involved.

use crate::vocabulary::{Case, Challenge, Expect, OpenPoint, Spec};

use super::http::{self, Body, JSON, RawAuth, post_endpoint};
use super::password::{self, WrongOldNew};
use super::user::{self, Role};

/// The `precedence.*` cases.
pub fn cases() -> Vec<Case> {
    vec![
        // --- Precedence ---------------------------------------------------------------
        case!(
            "precedence.token-before-body",
            Reference,
            Spec::Open(OpenPoint::Precedence),
            "no token and a malformed body: the token is checked first (S9)",
            http::Plan::Raw(
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
            http::Plan::Raw(
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
            user::Plan::Account {
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
            password::Plan::WrongOldFirst(WrongOldNew::Same),
            Precedence: "token → body → user → status → old password → duplicate → policy → history"
        ),
        case!(
            "precedence.old-password-before-policy",
            Reference,
            Spec::Open(OpenPoint::Precedence),
            "a wrong old password with a too-short new one is wrong_old_password",
            password::Plan::WrongOldFirst(WrongOldNew::TooShort),
            Precedence: "token → body → user → status → old password → duplicate → policy → history"
        ),
    ]
}
