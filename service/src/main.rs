//! Placeholder until the service lands (issue 2).
fn main() {}
