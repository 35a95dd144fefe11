//! Tests of the file watch: in-place edits, a Kubernetes-style `..data` symlink swap, and a
//! token file rotated without the configuration changing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use std::os::unix::fs::symlink;

/// A volume laid out as the kubelet does: `name -> ..data/name`, `..data -> ..<version>`.
fn projected_volume(dir: &Path, version: &str, files: &[(&str, &str)]) {
    let versioned = dir.join(format!("..{version}"));
    std::fs::create_dir(&versioned).unwrap();
    for (name, contents) in files {
        std::fs::write(versioned.join(name), contents).unwrap();
        let link = dir.join(name);
        if link.symlink_metadata().is_err() {
            symlink(Path::new("..data").join(name), &link).unwrap();
        }
    }
    let staged = dir.join("..data_tmp");
    symlink(format!("..{version}"), &staged).unwrap();
    std::fs::rename(&staged, dir.join("..data")).unwrap();
}

#[test]
fn nothing_changed_is_no_change() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("relay.yaml");
    std::fs::write(&config, "a: 1\n").unwrap();
    let mut watch = ConfigWatch::new(config, None);
    assert!(!watch.changed());
    assert!(!watch.changed());
}

#[test]
fn an_edit_in_place_is_seen_once() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("relay.yaml");
    std::fs::write(&config, "a: 1\n").unwrap();
    let mut watch = ConfigWatch::new(config.clone(), None);
    std::fs::write(&config, "a: 2\n").unwrap();
    assert!(watch.changed());
    assert!(!watch.changed(), "the same change is reported once");
}

#[test]
fn a_symlink_swap_of_the_token_secret_is_seen() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("relay.yaml");
    std::fs::write(&config, "a: 1\n").unwrap();
    let secret = dir.path().join("secret");
    std::fs::create_dir(&secret).unwrap();
    projected_volume(&secret, "v1", &[("token", "first\n")]);
    let token = secret.join("token");
    let mut watch = ConfigWatch::new(config, Some(token.clone()));
    assert!(!watch.changed());
    // Same length, so only the swap itself tells the versions apart.
    projected_volume(&secret, "v2", &[("token", "secnd\n")]);
    assert!(watch.changed());
    assert_eq!(std::fs::read_to_string(&token).unwrap(), "secnd\n");
    assert!(!watch.changed());
}

#[test]
fn a_config_map_swap_is_seen() {
    let dir = tempfile::tempdir().unwrap();
    projected_volume(dir.path(), "v1", &[("relay.yaml", "a: 1\n")]);
    let config = dir.path().join("relay.yaml");
    let mut watch = ConfigWatch::new(config, None);
    projected_volume(dir.path(), "v2", &[("relay.yaml", "a: 2\n")]);
    assert!(watch.changed());
    assert!(!watch.changed());
}

#[test]
fn a_newly_named_token_file_is_watched_from_the_reload_on() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("relay.yaml");
    std::fs::write(&config, "a: 1\n").unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, "one\n").unwrap();
    let mut watch = ConfigWatch::new(config, None);
    watch.settle(Some(token.clone()));
    assert!(!watch.changed(), "the reload that named it has read it");
    std::fs::write(&token, "rotated\n").unwrap();
    assert!(watch.changed());
}
