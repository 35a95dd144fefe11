//! The relay's allocator settings, applied once at the start of `main`.
//!
//! glibc's allocator gives each thread that allocates an arena of its own (up to eight per core)
//! and keeps what is freed in each. The relay's blocking threads (PostgreSQL decoding, masking,
//! encoding) each touch large answers, so with one arena per thread the peak resident memory at
//! 100 requests in flight was about twice what the relay used (65 MiB against 33.5 MiB with two
//! arenas), and two arenas also cost less CPU per answer.
//!
//! musl, the C library of the container image's static binary, has no per-thread arenas, but its
//! allocator serializes every allocation on one lock and returns memory eagerly: the static relay
//! spent about twice the CPU of the glibc build per 1000-row answer. There the relay allocates
//! with mimalloc instead (thread-local free lists, no global lock), built without transparent
//! huge pages so that a thread's first allocation does not make 2 MiB resident.

/// The static musl binary's allocator.
#[cfg(target_env = "musl")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// How many arenas glibc may create: enough that two threads allocating at once do not contend.
pub const GLIBC_ARENAS: i32 = 2;

/// Bounds glibc's arenas to [`GLIBC_ARENAS`], unless `MALLOC_ARENA_MAX` or `GLIBC_TUNABLES`
/// already says how many (the operator's choice wins). Call before any thread starts. Returns
/// whether it applied.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn bound_arenas() -> bool {
    let tunables = std::env::var("GLIBC_TUNABLES").unwrap_or_default();
    if std::env::var_os("MALLOC_ARENA_MAX").is_some() || tunables.contains("glibc.malloc.arena_max")
    {
        return false;
    }
    #[allow(unsafe_code)]
    // SAFETY: `mallopt` takes two integers and has no invariant for the caller to keep; called
    // before any other thread exists, it cannot race an allocation.
    let applied = unsafe { libc::mallopt(libc::M_ARENA_MAX, GLIBC_ARENAS) };
    applied == 1
}

/// Without glibc there are no per-thread arenas to bound.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn bound_arenas() -> bool {
    false
}

#[cfg(test)]
mod tests {
    #[test]
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    fn glibc_accepts_the_bound() {
        if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
            assert!(super::bound_arenas());
        }
    }
}
