//! Integration tests: the real `postdesk` binary, run in a fresh temp dir against a fresh
//! database (SQLite, or PostgreSQL when POSTDESK_TEST_BACKEND=postgres), and the real Postfix and
//! Dovecot that tests/run.sh starts.

mod util;

mod approvals;
mod browser;
mod catalog;
mod cluster;
mod conversation;
mod corpus;
mod csat;
mod digest;
mod fields;
mod forward;
mod hostile;
mod identities;
mod imap;
mod ingest;
mod knowledge;
mod languages;
mod lmtp;
mod mutt;
mod oauth;
mod parity;
mod problems;
mod restart;
mod search;
mod serve;
mod service;
mod sla;
mod smtp;
mod suggest;
mod tnef;
