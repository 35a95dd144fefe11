//! Link settings of the `relay` binary that keep its resident memory small.
//!
//! The code it runs from start-up to idle goes first in `.text` (`link/idle-text.ld`, written by
//! `scripts/record-text-order.sh`): the kernel maps a program's code in blocks around each page
//! it touches, so code that runs, spread through 12 MiB of code that does not, keeps most of it
//! resident. Relative relocations are packed (`DT_RELR`): at every start, the loader (or, in the
//! container image's static musl binary, its own start code, musl 1.2.4 or later) reads a few KiB
//! instead of 0.4 MiB of `.rela.dyn`. A glibc build then needs glibc 2.36 or later where it runs.
//! Both apply to optimized builds only.

use std::env;
use std::path::Path;

fn main() {
    let script = Path::new("link").join("idle-text.ld");
    println!("cargo:rerun-if-changed={}", script.display());
    // The order is recorded from an optimized build; a debug build's functions (not inlined, other
    // instances) hardly match it, and it is never deployed.
    let optimized = env::var("PROFILE").as_deref() == Ok("release");
    if env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("linux") || !optimized {
        return;
    }
    let manifest_dir = env::var("CARGO_MANIFEST_DIR").unwrap_or_default();
    let script = Path::new(&manifest_dir).join(script);
    println!("cargo:rustc-link-arg-bin=relay=-Wl,-T,{}", script.display());
    println!("cargo:rustc-link-arg-bin=relay=-Wl,-z,pack-relative-relocs");
}
