//! One module per route.

mod health;
mod logout;
mod me;
mod page;

pub use health::health;
pub use logout::logout;
pub use me::me;
pub use page::page;
