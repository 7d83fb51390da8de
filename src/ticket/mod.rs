//! Ticket decisions that need no I/O: the vocabulary ([`model`]), threading ([`thread`]),
//! agent commands ([`commands`]), triage rules ([`rules`]) and SLA clocks ([`sla`]).

pub mod commands;
pub mod model;
pub mod rules;
pub mod sla;
pub mod thread;
