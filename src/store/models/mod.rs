//! Rows and queries, one file per table or aggregate (re-exported here). Queries take a
//! connection and return `QueryResult`; the pipeline composes them inside its transactions.

use std::collections::HashMap;

use diesel::prelude::*;

use super::in_list::in_list;
use super::schema::{
    attachments, digest_runs, events, inbound, mailbox_cursors, messages, outbox, participants,
    sla_clocks, thread_refs, tickets,
};
use super::AnyConnection;

type Conn = AnyConnection;

mod approval;
mod article;
mod contact;
mod csat;
mod digest;
mod event;
mod field;
mod link;
mod message;
mod outgoing;
mod participant;
mod received;
mod search;
mod sla_clock;
mod ticket;

pub use approval::*;
pub use article::*;
pub use contact::*;
pub use csat::*;
pub use digest::*;
pub use event::*;
pub use field::*;
pub use link::*;
pub use message::*;
pub use outgoing::*;
pub use participant::*;
pub use received::*;
pub use search::*;
pub use sla_clock::*;
pub use ticket::*;
