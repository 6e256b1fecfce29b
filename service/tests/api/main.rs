//! Integration tests: the real app on a random loopback port, a key server on loopback,
//! tokens signed with fresh P-256 keys. One binary for all (zero2prod's layout).

mod auth;
mod binary;
mod hardening;
mod process;
mod env_contract;
mod helpers;
mod keys;
mod routes;
