//! What changed between the configuration in effect and a newly loaded one: which resources were
//! added, removed or changed, which sections changed, and which changes a running relay cannot
//! take (they make a reload rejected, as a problem by key path).

use crate::error::Problem;
use crate::model::Config;
use crate::resource::Resource;

/// A top-level section of the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Section {
    ControlPlane,
    Resources,
    Masking,
    Audit,
    Metrics,
}

impl Section {
    /// The section's key in the file.
    pub fn key(self) -> &'static str {
        match self {
            Section::ControlPlane => "controlPlane",
            Section::Resources => "resources",
            Section::Masking => "masking",
            Section::Audit => "audit",
            Section::Metrics => "metrics",
        }
    }
}

/// The difference between two configurations.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfigDiff {
    /// Ids of resources only the new configuration has, in its order.
    pub added: Vec<String>,
    /// Ids of resources only the old configuration has, in its order.
    pub removed: Vec<String>,
    /// Ids of resources both have, with different settings, in the new order.
    pub changed: Vec<String>,
    /// The sections that differ, in the file's usual order. `resources` is here when the list
    /// differs at all, its order included (the control plane is told the new list).
    pub sections: Vec<Section>,
    /// `masking.columns` or `masking.hashKey` differ. Resources follow column rules through their
    /// queries by rule, so every resource picks up the new rules (see the reload docs).
    pub column_rules_changed: bool,
}

impl ConfigDiff {
    /// Compares `old` (in effect) with `new` (just loaded).
    pub fn between(old: &Config, new: &Config) -> ConfigDiff {
        let find = |list: &[Resource], id: &str| list.iter().find(|r| r.id == id).cloned();
        let added = ids(&new.resources, |r| find(&old.resources, &r.id).is_none());
        let removed = ids(&old.resources, |r| find(&new.resources, &r.id).is_none());
        let changed = ids(&new.resources, |r| {
            find(&old.resources, &r.id).is_some_and(|previous| previous != *r)
        });
        let mut sections = Vec::new();
        let mut note = |section: Section, differs: bool| {
            if differs {
                sections.push(section);
            }
        };
        note(
            Section::ControlPlane,
            old.control_plane != new.control_plane,
        );
        note(Section::Resources, old.resources != new.resources);
        note(Section::Masking, old.masking != new.masking);
        note(Section::Audit, old.audit != new.audit);
        note(Section::Metrics, old.metrics != new.metrics);
        ConfigDiff {
            added,
            removed,
            changed,
            sections,
            column_rules_changed: old.masking.columns != new.masking.columns
                || old.masking.hash_key != new.masking.hash_key,
        }
    }

    /// Nothing differs.
    pub fn is_empty(&self) -> bool {
        self.sections.is_empty()
    }

    /// Whether `section` differs.
    pub fn touches(&self, section: Section) -> bool {
        self.sections.contains(&section)
    }

    /// The keys of the sections that differ, for logs and audit records.
    pub fn section_keys(&self) -> Vec<&'static str> {
        self.sections.iter().map(|s| s.key()).collect()
    }
}

fn ids(list: &[Resource], keep: impl Fn(&Resource) -> bool) -> Vec<String> {
    list.iter()
        .filter(|r| keep(r))
        .map(|r| r.id.clone())
        .collect()
}

/// Changes a running relay cannot apply: the tenant names its spool, status file and lock, and
/// the metrics endpoint is a listening socket bound at start. Each needs a restart.
pub fn unreloadable(old: &Config, new: &Config) -> Vec<Problem> {
    let mut problems = Vec::new();
    let restart = "cannot change while the relay runs; restart the relay to apply it";
    if old.control_plane.tenant_id != new.control_plane.tenant_id {
        problems.push(Problem::new("controlPlane.tenantId", restart));
    }
    if old.metrics != new.metrics {
        problems.push(Problem::new("metrics", restart));
    }
    problems
}

#[cfg(test)]
#[path = "diff_tests.rs"]
mod tests;
