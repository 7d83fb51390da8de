//! What every part of the desk shares: the config, the compiled templates and the HMAC keys.
//! The pipeline, the scheduler and the CLI borrow one `App`; mail is composed through
//! `App::notify` (in [`crate::notify`]).

use crate::config::Config;
use crate::security::Keys;
use crate::templates::Templates;

/// The desk's shared, read-only parts.
#[derive(Clone, Copy)]
pub struct App<'a> {
    pub cfg: &'a Config,
    pub templates: &'a Templates,
    /// The HMAC key of our Message-IDs and reply addresses.
    pub keys: &'a Keys,
}
