//! Work done on a schedule: the SLA sweep ([`sla_sweep`]) on the clocks ([`clocks`]) and
//! the digests ([`digest`]).

pub mod clocks;
pub mod digest;
pub mod sla_sweep;
