//! A local stand-in for an AWS Application Load Balancer rule with the
//! `authenticate-cognito` action, so an app runs on a laptop exactly as it runs behind
//! the load balancer: same login redirect, same session cookies, same signed identity
//! headers, same logout.
//!
//! What it does, in the order a browser meets it:
//! - a request without a session is redirected to a login page under `/_alb/`
//!   (username, optional email, no password) and comes back with the ALB session cookie
//!   `AWSELBAuthSessionCookie-0` (sharded into `-1`… past 4 KB, as on AWS);
//! - a request with a session is forwarded to the upstream app with `x-amzn-oidc-data`
//!   (an ES256 token in the ALB's padded format, signed with a key served at
//!   `/_alb/keys/<kid>`), `x-amzn-oidc-identity` and `x-amzn-oidc-accesstoken`; the same
//!   headers sent by the client are always removed first;
//! - `/_alb/logout?client_id=…&logout_uri=…` behaves like Cognito's logout endpoint.
//!
//! With routes (`--route HOST[/PATH]=UPSTREAM[,login=cognito|none]`) it routes by host as
//! an environment's listener rules do: each service behind login or not, a 404 for any
//! other host. The login page then lives on the emulator's own origin (as Cognito's
//! hosted UI lives on its own domain) and a login returns through the host's
//! `/oauth2/idpresponse`, so the ALB session cookie is per host, as on AWS, while one
//! login serves every login host.
//!
//! It is a development tool: it hands an identity to anyone who types a name, so it
//! listens on loopback only.
//!
//! Modules: `config` (settings and their checks), `rules` (the `--route` syntax),
//! `listener` (which rule a request is for), `startup` (bind, router, serve),
//! `host` (the Host check and the header names the ALB drops, before any routing),
//! `routes` (one module per endpoint), `proxy` (forwarding), `tokens` (identity headers),
//! `sessions` and `cookies` (the two sessions and their cookies), `return_path` (the
//! login `state`), `identity` (the user and its claims), `environment` (what is printed).

pub mod config;
mod cookies;
pub mod environment;
mod host;
mod identity;
mod listener;
mod proxy;
mod random;
mod return_path;
mod routes;
pub mod rules;
mod sessions;
pub mod startup;
mod tokens;

pub use config::{Settings, SettingsError};
pub use environment::{AppEnvironment, RouteInfo, StartInfo};
pub use random::RandomError;
pub use rules::{Login, Route};
pub use startup::{Emulator, StartError};
