//! Ticket decisions that need no I/O: the vocabulary ([`model`]) and threading ([`thread`]).

pub mod commands;
pub mod model;
pub mod thread;
