//! The vocabulary of the spec, as data: the terms ([`terms`]: tiers, seed
//! rows, open points, spec references, expected answers) and the plans
//! ([`plans`]: each family's plan, the [`Case`] record, the generated
//! properties). It imports nothing of the crate. The cases themselves live
//! with their family in [`crate::cases`], together with the code that
//! carries out their plans.
//!
//! Expectations are written here from the vendor document
//! (`shared/spec/change_user_password.seed.txt` and its English rendering),
//! never taken from the reference server. IDs are stable: a case is renamed
//! only together with its snapshot and every baseline that names it.

pub mod plans;
pub mod terms;

pub use plans::{Case, PROPERTIES, Plan, Property, WrongOlds};
pub use terms::*;
