//! Links the postdesk binary as a position-dependent executable: its ~45,000 internal pointers are
//! then fixed at link time instead of relocated (and their pages copied) at every start, which
//! matters when an MTA starts one `postdesk ingest -` per mail.

fn main() {
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
