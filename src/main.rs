//! The postdesk binary: parse the command line and hand over to [`postdesk::cli`].
#![forbid(unsafe_code)]

fn main() {
    std::process::exit(postdesk::cli::main());
}
