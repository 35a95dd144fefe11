//! The relay binaries' shared parts: JSON logging and the development control plane's library.
//!
//! - `relay` (`src/main.rs`): the relay itself — `run`, `check`, `version`.
//! - `relay-devplane` (`src/bin/relay-devplane/`): a small control plane for demos, tests and
//!   benchmarks, built on [`devplane`].
//!
//! The actor system lives in the `relay-actors` crate, configuration in `relay-config`.
#![forbid(unsafe_code)]

pub mod devplane;
pub mod logging;
