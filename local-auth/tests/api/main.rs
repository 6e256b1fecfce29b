//! Integration tests: the real emulator on a random loopback port in front of a tiny
//! upstream that echoes what it receives. One binary for all of them (`tests/api/`).

mod failures;
mod flow;
mod hardening;
mod headers;
mod helpers;
mod logout;
mod redirects;
mod routing;
mod service;
mod shutdown;
mod upgrade;
