//! postdesk: an email-driven ticketing server.
//!
//! One mail's path through the modules, top-down: [`source`] (Maildir, files, mbox, stdin) →
//! [`mail::parse`] → [`mail::classify`] → [`ticket::thread`] → [`pipeline`] (the one place the
//! stages are sequenced, one transaction per batch) → [`outbox`] (compose, enqueue, deliver).
#![forbid(unsafe_code)]

pub mod app;
pub mod cli;
pub mod cluster;
pub mod config;
pub mod daemon;
pub mod digest;
#[doc(hidden)]
pub mod fuzzing;
pub mod mail;
pub mod metrics;
pub mod notify;
pub mod outbox;
pub mod pipeline;
pub mod security;
pub mod service;
pub mod sla;
pub mod source;
pub mod store;
pub mod templates;
pub mod ticket;
pub mod time;
