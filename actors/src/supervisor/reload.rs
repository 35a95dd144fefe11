//! The supervisor's side of a configuration reload: read the file again, reject it whole (the
//! relay keeps the configuration in effect) or apply what changed with the least disruption.
//!
//! - A resource added starts; one removed or changed retires (it finishes what runs on its old
//!   pool, then stops) and a changed one starts afresh. Unchanged resources keep their actors,
//!   pools and health. A change to the column rules restarts every resource: their catalog
//!   snapshots and query lineage carry the rules.
//! - New masking patterns or rules: a new masker; the auditor takes them with the audit settings.
//! - `controlPlane` changed (a rotated token too): the session closes and connects again.
//!   Otherwise the session stays up; a changed resource list is announced with `hello`.

use super::{initial_health, ResourceChild, Supervisor};
use crate::audit::chain::sha256_hex;
use crate::audit::SecurityKind;
use crate::control_plane::connect::Link;
use crate::control_plane::Reconnect;
use crate::log_event::LogEvent;
use crate::masking::{Masker, MaskingEngine};
use crate::reload_messages::{
    Reconfigure, ReloadConfig, ReloadOutcome, ReloadTrigger, Retire, TokenReread, UpdateHello,
};
use actix::{Actor, Context, Handler, MessageResult};
use relay_config::{unreloadable, Config, ConfigDiff, ConfigError, Problem, Section};
use serde_json::json;
use slog::{error, info};
use std::path::Path;
use std::sync::Arc;

/// A configuration that loaded, with what applying it needs built in advance (so that nothing
/// fails half-way through).
struct Prepared {
    config: Config,
    diff: ConfigDiff,
    masking: Option<Arc<MaskingEngine>>,
    link: Option<Link>,
}

/// The file's bytes hashed (never a secret's: a token file is not hashed) and the configuration
/// they hold. One read, so the hash is of exactly what was loaded.
fn read_config(path: &Path) -> (String, Result<Config, ConfigError>) {
    let read_error = |source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    };
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(err) => return (String::new(), Err(read_error(err))),
    };
    let sha256 = sha256_hex(&bytes);
    let loaded = String::from_utf8(bytes)
        .map_err(|err| read_error(std::io::Error::new(std::io::ErrorKind::InvalidData, err)))
        .and_then(|text| {
            let env = |name: &str| std::env::var(name).ok();
            Config::from_yaml_str(&text, &path.display().to_string(), &env)
        });
    (sha256, loaded)
}

fn problems_of(err: ConfigError) -> Vec<Problem> {
    match err {
        ConfigError::Invalid { problems, .. } => problems,
        read @ ConfigError::Read { .. } => vec![Problem::new("(file)", read.to_string())],
    }
}

impl Handler<ReloadConfig> for Supervisor {
    type Result = MessageResult<ReloadConfig>;

    fn handle(&mut self, reload: ReloadConfig, ctx: &mut Context<Self>) -> Self::Result {
        let applied = !self.shutting_down && self.reload(reload.trigger, ctx);
        MessageResult(ReloadOutcome {
            applied,
            token_file: self.config.control_plane.token_file.clone(),
        })
    }
}

impl Handler<TokenReread> for Supervisor {
    type Result = ();

    fn handle(&mut self, reread: TokenReread, _ctx: &mut Context<Self>) {
        Arc::make_mut(&mut self.config).control_plane.credential = reread.credential;
    }
}

impl Supervisor {
    /// Reloads from the file named at start; returns whether the new configuration was applied.
    fn reload(&mut self, trigger: ReloadTrigger, ctx: &mut Context<Self>) -> bool {
        let file = self.config_source.clone().unwrap_or_default().0;
        let (sha256, loaded) = read_config(Path::new(&file));
        let prepared = loaded
            .map_err(problems_of)
            .and_then(|config| self.prepare(config));
        match prepared {
            Ok(prepared) => {
                self.apply(prepared, trigger, file, sha256, ctx);
                true
            }
            Err(problems) => {
                self.rejected(&problems, trigger, &file, &sha256);
                false
            }
        }
    }

    fn prepare(&self, config: Config) -> Result<Prepared, Vec<Problem>> {
        let problems = unreloadable(&self.config, &config);
        if !problems.is_empty() {
            return Err(problems);
        }
        let diff = ConfigDiff::between(&self.config, &config);
        let masking = match diff.touches(Section::Masking) {
            true => Some(Arc::new(
                MaskingEngine::from_config(&config.masking)
                    .map_err(|err| vec![Problem::new("masking", err.to_string())])?,
            )),
            false => None,
        };
        let link = match diff.touches(Section::ControlPlane) {
            true => Some(
                Link::new(&config.control_plane)
                    .map_err(|err| vec![Problem::new("controlPlane", err.to_string())])?,
            ),
            false => None,
        };
        Ok(Prepared {
            config,
            diff,
            masking,
            link,
        })
    }

    fn apply(
        &mut self,
        prepared: Prepared,
        trigger: ReloadTrigger,
        file: String,
        sha256: String,
        ctx: &mut Context<Self>,
    ) {
        let Prepared {
            config,
            diff,
            masking,
            link,
        } = prepared;
        let previous = self.config_source.replace((file.clone(), sha256.clone()));
        self.config = Arc::new(config);
        if let Some(engine) = masking {
            self.masking = engine;
            // Requests already routed keep the old masker, which stops once they are done.
            self.masker = Some(Masker::new(Arc::clone(&self.masking)).start());
        }
        if diff.touches(Section::Masking) || diff.touches(Section::Audit) {
            if let Some(auditor) = &self.auditor {
                auditor.do_send(Reconfigure {
                    settings: self.config.audit.clone(),
                    masking: Arc::clone(&self.masking),
                });
            }
        }
        self.apply_resources(&diff);
        self.routes_stale = true;
        self.ensure_children(ctx);
        self.tell_control_plane(&diff, link);
        let joined = |ids: &[String]| ids.join(",");
        info!(self.log, "{}", LogEvent::ConfigurationReloaded; "file" => file.clone(), "sha256" => sha256.clone(),
            "trigger" => trigger.as_str(), "sections" => diff.section_keys().join(","),
            "resourcesAdded" => joined(&diff.added), "resourcesRemoved" => joined(&diff.removed),
            "resourcesChanged" => joined(&diff.changed),
            "columnRulesChanged" => diff.column_rules_changed);
        let details = json!({"file": file, "sha256": sha256, "trigger": trigger.as_str(),
            "result": "applied", "previousSha256": previous.map(|(_, sha)| sha),
            "sections": diff.section_keys(), "resourcesAdded": diff.added,
            "resourcesRemoved": diff.removed, "resourcesChanged": diff.changed,
            "columnRulesChanged": diff.column_rules_changed});
        self.audit_security(SecurityKind::ConfigReloaded, details, false);
        self.metrics.config_reloaded(true);
        self.report_health();
        self.write_status();
    }

    fn rejected(&mut self, problems: &[Problem], trigger: ReloadTrigger, file: &str, sha: &str) {
        for problem in problems {
            error!(self.log, "{}", LogEvent::ConfigurationRejected; "file" => file.to_owned(),
                "key" => problem.path.clone(), "problem" => problem.message.clone(),
                "sha256" => sha.to_owned(), "trigger" => trigger.as_str());
        }
        let listed: Vec<_> = problems
            .iter()
            .map(|p| json!({"key": p.path, "problem": p.message}))
            .collect();
        let in_effect = self.config_source.clone().unwrap_or_default().1;
        let details = json!({"file": file, "sha256": sha, "trigger": trigger.as_str(),
            "result": "rejected", "inEffectSha256": in_effect, "problems": listed});
        self.audit_security(SecurityKind::ConfigReloaded, details, true);
        self.metrics.config_reloaded(false);
    }

    /// Retires removed and changed resources and makes room for the new ones; the watchdog's
    /// `ensure_children` starts them.
    fn apply_resources(&mut self, diff: &ConfigDiff) {
        for id in &diff.removed {
            if let Some(child) = self.resources.remove(id) {
                self.retire(child);
            }
            self.health.remove(id);
            self.startup.announced.remove(id);
        }
        let config = Arc::clone(&self.config);
        for spec in &config.resources {
            let added = diff.added.contains(&spec.id);
            let replaced = diff.column_rules_changed || diff.changed.contains(&spec.id);
            if !added && !replaced {
                continue;
            }
            let child = ResourceChild {
                spec: Arc::new(spec.clone()),
                addr: None,
            };
            if let Some(old) = self.resources.insert(spec.id.clone(), child) {
                self.retire(old);
            }
            if added {
                let limit = spec.pool_size + spec.max_queued_requests;
                self.metrics.resource_added(&spec.id, limit);
                self.health.insert(spec.id.clone(), initial_health(spec));
            }
        }
    }

    /// Tells a removed or replaced resource to finish what runs and stop; cancels still reach it.
    fn retire(&mut self, child: ResourceChild) {
        if let Some(handle) = child.addr {
            handle.retire.do_send(Retire);
            self.retired.add(&child.spec.id, handle);
        }
    }

    /// Reconnects with new settings, or announces a new resource list on the same session.
    fn tell_control_plane(&mut self, diff: &ConfigDiff, link: Option<Link>) {
        if let Some(link) = &link {
            self.link = link.clone();
        }
        let Some(control_plane) = &self.control_plane else {
            return;
        };
        match link {
            Some(link) => control_plane.do_send(Reconnect {
                config: Arc::new(self.config.control_plane.clone()),
                link,
                hello: self.hello(),
            }),
            None if diff.touches(Section::Resources) => control_plane.do_send(UpdateHello {
                hello: self.hello(),
            }),
            None => {}
        }
    }
}
