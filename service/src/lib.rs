//! The sample app behind the ALB: verifies the ALB identity token (`x-amzn-oidc-data`)
//! and shows who is signed in. `main.rs` only wires these modules together.

pub mod auth;
pub mod configuration;
pub mod healthcheck;
mod middleware;
mod routes;
pub mod signout;
pub mod signout_limits;
pub mod startup;
pub mod telemetry;
