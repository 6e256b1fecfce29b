//! One module per route.

mod health;
mod logout;
mod me;
mod page;
mod public;

pub(crate) use health::health;
pub(crate) use logout::logout;
pub(crate) use me::me;
pub(crate) use page::page;
pub(crate) use public::{public_logout, public_page};
