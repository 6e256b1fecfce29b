//! One module per route.

mod health;
mod logout;
mod me;
mod page;

pub(crate) use health::health;
pub(crate) use logout::logout;
pub(crate) use me::me;
pub(crate) use page::page;
