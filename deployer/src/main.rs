//! `deployer`: thin entry point; everything lives in the library so tests use the same code.
use std::process::ExitCode;

fn main() -> ExitCode {
    deployer::main_entry()
}
