//! What an operator sees of a running desk: counters ([`metrics`]), the HTTP endpoint
//! ([`http`]) and systemd's notify protocol ([`sd_notify`]).

pub mod http;
pub mod metrics;
pub mod sd_notify;
