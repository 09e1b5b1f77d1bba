//! The case families: each module holds its cases (stable ID, tier, spec
//! reference, title, plan) and the code that carries out its plans, on top
//! of the steps the session shares (`session::CaseContext`).
//!
//! [`all`] is the explicit list, in the order a run carries the cases out:
//! the bearer token first (S9, the scheme, S10, S11), then hand-made
//! requests, body members naming another account, other accounts, the active account's password, the policy, the
//! precedence cases, and the history last (it needs the most changes).

use std::sync::LazyLock;

use crate::session::{CaseContext, Stop};
use crate::vocabulary::{Case, PROPERTIES, Plan};

/// Builds a [`Case`]; the plan is any family's plan (`.into()`).
macro_rules! case {
    ($id:literal, $tier:ident, $spec:expr, $title:literal, $plan:expr) => {
        $crate::vocabulary::Case {
            id: $id,
            tier: $crate::vocabulary::Tier::$tier,
            title: $title,
            spec: $spec,
            decision: None,
            plan: ($plan).into(),
        }
    };
    ($id:literal, $tier:ident, $spec:expr, $title:literal, $plan:expr, $point:ident: $decision:literal) => {
        $crate::vocabulary::Case {
            id: $id,
            tier: $crate::vocabulary::Tier::$tier,
            title: $title,
            spec: $spec,
            decision: Some(($crate::vocabulary::OpenPoint::$point, $decision)),
            plan: ($plan).into(),
        }
    };
}

pub mod auth;
pub mod history;
pub mod http;
pub mod members;
pub mod password;
pub mod policy;
pub mod precedence;
pub mod token_misses;
pub mod tokens;
pub mod user;

/// Every catalogue case, in run order.
pub fn all() -> Vec<Case> {
    [
        auth::missing_token(),
        tokens::cases(),
        auth::scope(),
        http::cases(),
        members::cases(),
        user::cases(),
        password::cases(),
        policy::cases(),
        precedence::cases(),
        history::cases(),
    ]
    .concat()
}

/// Every case of the catalogue, in the order the runner carries them out
/// (the explicit list is [`all`]).
pub static CATALOGUE: LazyLock<Vec<Case>> = LazyLock::new(all);

/// The case (or property) with this ID.
pub fn find(id: &str) -> Option<&'static Case> {
    CATALOGUE
        .iter()
        .chain(PROPERTIES.iter())
        .find(|c| c.id == id)
}

/// Carries out one case's plan with the family that owns it.
pub(crate) async fn run(ctx: &mut CaseContext<'_>, plan: Plan) -> Result<(), Stop> {
    match plan {
        Plan::Property(_) => Err(Stop::Skip(
            "a generated property: run with --properties".to_string(),
        )),
        Plan::Auth(p) => auth::run(ctx, p).await,
        Plan::Tokens(p) => tokens::run(ctx, p).await,
        Plan::Http(p) => http::run(ctx, p).await,
        Plan::Members(p) => members::run(ctx, p).await,
        Plan::User(p) => user::run(ctx, p).await,
        Plan::Password(p) => password::run(ctx, p).await,
        Plan::Policy(p) => policy::run(ctx, p).await,
        Plan::History(p) => history::run(ctx, p).await,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::vocabulary::{PROPERTIES, Row, Spec, Tier};

    #[test]
    fn every_case_can_be_found() {
        for case in CATALOGUE.iter().chain(PROPERTIES.iter()) {
            assert_eq!(find(case.id).map(|c| c.id), Some(case.id));
        }
        assert!(find("no.such-case").is_none());
    }

    #[test]
    fn ids_are_unique_and_well_formed() {
        let mut seen = HashSet::new();
        for case in all().iter().chain(PROPERTIES.iter()) {
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
    fn every_case_has_a_title_a_spec_reference_and_a_quote() {
        for case in all() {
            assert!(!case.title.is_empty(), "{} has no title", case.id);
            assert!(!case.spec.quote().is_empty(), "{} quotes nothing", case.id);
            assert!(
                !case.spec.reference().is_empty(),
                "{} has no spec reference",
                case.id
            );
            assert!(
                !matches!(case.plan, Plan::Property(_)),
                "{} is a property inside the catalogue",
                case.id
            );
        }
    }

    #[test]
    fn every_seed_row_has_a_seed_case() {
        let cases = all();
        for row in Row::ALL {
            assert!(
                cases
                    .iter()
                    .any(|c| c.tier == Tier::Seed && c.spec == Spec::Row(row)),
                "no seed case for {}",
                row.id()
            );
        }
    }

    #[test]
    fn reference_cases_name_their_open_point() {
        for case in all() {
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
    fn open_point_cases_are_never_seed_tier() {
        for case in all() {
            if let Spec::Open(_) = case.spec {
                assert_ne!(case.tier, Tier::Seed, "{} checks an open point", case.id);
            }
        }
    }

    #[test]
    fn cases_are_grouped_by_family_in_run_order() {
        // A family's cases stay together: the report and `list` read in
        // the same order as a run.
        let ids: Vec<&str> = all().iter().map(|c| c.id).collect();
        let prefix = |id: &str| id.split('.').next().unwrap().to_string();
        let mut seen: Vec<String> = Vec::new();
        for id in &ids {
            let p = prefix(id);
            if seen.last() != Some(&p) {
                assert!(!seen.contains(&p), "{id}: family {p} is split");
                seen.push(p);
            }
        }
    }
}
