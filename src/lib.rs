//! postdesk: an email-driven ticketing server.
//!
//! One mail's path through the modules, top-down: [`intake`] (Maildir, files, mbox, stdin) →
//! [`mail::parse`] → [`mail::classify`] → [`ticket::thread`] → [`pipeline`] (the one place the
//! stages are sequenced, one transaction per batch) → [`outbox`] (compose, enqueue, deliver).
#![forbid(unsafe_code)]

pub mod app;
pub mod chart;
pub mod cli;
pub mod config;
pub mod daemon;
#[doc(hidden)]
pub mod fuzzing;
pub mod holder;
pub mod intake;
pub mod knowledge;
pub mod mail;
pub mod notify;
pub mod oauth;
pub mod observe;
pub mod outbox;
pub mod pipeline;
pub mod schedule;
pub mod search;
pub mod security;
pub mod store;
pub mod templates;
pub mod ticket;
pub mod time;
pub mod web;
