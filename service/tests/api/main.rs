//! Integration tests: the real app on a random loopback port, a key server on loopback,
//! tokens signed with fresh P-256 keys. One binary for all (zero2prod's layout).

mod auth;
mod binary;
mod env_contract;
mod hardening;
mod helpers;
mod keys;
mod moto;
mod process;
mod public;
mod routes;
mod signout;
