//! Mail as data: parsing incoming mail ([`parse`]), classifying it ([`classify`]) and composing
//! outgoing mail ([`compose`]). No database and no network here.

pub mod address;
pub mod auth;
pub(crate) mod charset;
pub mod classify;
pub mod compose;
pub mod dkim;
pub mod dsn;
pub mod forward;
pub mod html;
pub mod ids;
pub mod parse;
pub mod psl;
pub mod quote;
pub mod rtf;
pub mod tnef;
pub mod winbytes;
