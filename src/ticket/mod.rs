//! Ticket decisions that need no I/O: the vocabulary ([`model`]), threading ([`thread`]),
//! agent commands ([`commands`]), triage rules ([`rules`]), SLA clocks ([`sla`]), and the
//! decision about one mail ([`decide`]), which returns [`action`]s for the pipeline to apply.

pub mod action;
pub mod approval;
pub mod catalog;
pub mod commands;
pub mod csat;
pub mod decide;
pub mod fields;
pub mod language;
pub mod model;
pub mod rules;
pub mod sla;
pub mod solved;
pub mod thread;
