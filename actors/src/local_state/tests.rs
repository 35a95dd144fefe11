//! Local-state tests: instance names, the private directory's checks, links refused, the lock,
//! and how the probe finds the status file.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use crate::status_file::find_in;
use crate::status_file::{self, AuditStatus, Status};
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

fn mode(path: &Path) -> u32 {
    std::fs::symlink_metadata(path).unwrap().mode() & 0o7777
}

#[test]
fn instance_names_differ_by_tenant_and_instance_and_are_stable() {
    let a = instance_dir_name("acme", "host-1");
    assert_eq!(a, instance_dir_name("acme", "host-1"));
    assert!(
        a.starts_with("acme-") && a.len() == "acme-".len() + 16,
        "{a}"
    );
    assert_ne!(a, instance_dir_name("acme", "host-2"));
    assert_ne!(a, instance_dir_name("globex", "host-1"));
    // Unsafe characters are replaced, yet tenants that look alike still get their own directory.
    let odd = instance_dir_name("../a b/c", "h");
    assert!(!odd.contains('/') && !odd.starts_with('.'), "{odd}");
    assert_ne!(instance_dir_name("a/b", "h"), instance_dir_name("a_b", "h"));
}

#[test]
fn the_private_directory_is_created_0700_and_its_mode_restored() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("relay").join("acme-0011223344556677");
    prepare_private_dir(&dir).unwrap();
    assert_eq!((mode(dir.parent().unwrap()), mode(&dir)), (0o700, 0o700));
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    prepare_private_dir(&dir).unwrap();
    assert_eq!(mode(&dir), 0o700);
}

#[test]
fn links_foreign_owners_and_open_parents_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path().join("relay");
    std::fs::create_dir(&base).unwrap();
    let elsewhere = tmp.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    let linked = base.join("linked");
    std::os::unix::fs::symlink(&elsewhere, &linked).unwrap();
    let err = prepare_private_dir(&linked).unwrap_err().to_string();
    assert!(err.contains("not a directory"), "{err}");

    let foreign = base.join("foreign");
    std::fs::create_dir(&foreign).unwrap();
    std::os::unix::fs::chown(&foreign, Some(4242), Some(4242)).unwrap();
    let err = prepare_private_dir(&foreign).unwrap_err().to_string();
    assert!(err.contains("belongs to uid 4242"), "{err}");

    std::fs::set_permissions(&base, std::fs::Permissions::from_mode(0o777)).unwrap();
    let err = prepare_private_dir(&base.join("mine"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("others may write to it (mode 777)"), "{err}");
    // Sticky, as /tmp is: others cannot rename or remove what is ours.
    std::fs::set_permissions(&base, std::fs::Permissions::from_mode(0o1777)).unwrap();
    prepare_private_dir(&base.join("mine")).unwrap();
}

#[test]
fn appends_refuse_links_and_new_files_refuse_anything_in_the_way() {
    let tmp = tempfile::tempdir().unwrap();
    let target = tmp.path().join("target");
    std::fs::write(&target, "x").unwrap();
    let link = tmp.path().join("link");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let err = open_append(&link).unwrap_err();
    assert!(err.to_string().contains("symbolic links"), "{err}");
    assert!(create_new(&link).is_err());
    let dangling = tmp.path().join("dangling");
    std::os::unix::fs::symlink(tmp.path().join("nothing"), &dangling).unwrap();
    assert!(create_new(&dangling).is_err());
    assert!(!tmp.path().join("nothing").exists());
    let fresh = tmp.path().join("fresh");
    drop(open_append(&fresh).unwrap());
    assert_eq!(mode(&fresh), 0o600);
}

#[test]
fn a_second_lock_names_the_holder_and_a_dropped_lock_is_free() {
    let tmp = tempfile::tempdir().unwrap();
    let spool = tmp.path().join("spool.jsonl");
    let held = FileLock::try_acquire(&spool).unwrap();
    let busy = FileLock::try_acquire(&spool).unwrap_err().to_string();
    assert_eq!(
        busy,
        format!("it is in use by another relay (pid {})", std::process::id())
    );
    assert!(FileLock::held_by_other(&spool).is_some());
    drop(held);
    assert!(FileLock::held_by_other(&spool).is_none());
    FileLock::try_acquire(&spool).unwrap();
}

fn write_status(dir: &Path, pid: u32, updated_at_ms: u64) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join(STATUS_FILE_NAME);
    let status = Status {
        version: "0.1.0".into(),
        pid,
        updated_at_ms,
        connected: true,
        standby: false,
        ready: true,
        tenant_id: "acme".into(),
        audit: AuditStatus::default(),
        resources: vec![],
    };
    status_file::write(&path, &status).unwrap();
    path
}

#[test]
fn the_probe_finds_the_one_status_file_or_says_why_not() {
    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path().join("relay");
    let max = Duration::from_secs(30);
    let none = find_in(&base, max).unwrap_err().to_string();
    assert!(
        none.contains("no status file") && none.contains("RELAY_STATUS_FILE"),
        "{none}"
    );
    let now = status_file::now_ms();
    let mine = write_status(&base.join("acme-1"), std::process::id(), now);
    assert_eq!(find_in(&base, max).unwrap(), mine);
    // A relay that is gone, and one that stopped writing, leave the running one the only choice.
    let gone = write_status(&base.join("old-2"), u32::MAX - 1, now);
    write_status(&base.join("stale-3"), std::process::id(), now - 60_000);
    assert_eq!(find_in(&base, max).unwrap(), mine);
    // Two running relays: the probe cannot choose.
    write_status(&base.join("other-4"), std::process::id(), now);
    let many = find_in(&base, max).unwrap_err().to_string();
    assert!(
        many.contains("several relays") && many.contains("--status-file"),
        "{many}"
    );
    // Files of another user are not candidates.
    std::fs::remove_dir_all(base.join("other-4")).unwrap();
    std::os::unix::fs::chown(gone.parent().unwrap(), Some(4242), None).unwrap();
    std::fs::remove_dir_all(base.join("stale-3")).unwrap();
    assert_eq!(find_in(&base, max).unwrap(), mine);
}
