//! Integration tests of the `deployer` binary: the real command line against a local
//! moto (tools/moto), a local docker-registry and fault-injecting proxies. One binary
//! for all (zero2prod's layout), with shared helpers.

mod bootstrap;
mod bootstrap_env;
mod config_env;
mod day2;
mod deploy_image;
mod deploy_moto;
mod dry_run_image;
mod helpers;
mod offline;
mod output;
mod plan_apply;
mod preview;
mod promote;
mod push;
mod push_rules;
mod recover;
mod release;
mod states;
