//! Health of a MongoDB resource: a `ping` round trip, and whether the user could write, from
//! `connectionStatus` with `showPrivileges`.

use crate::resource::{DatabaseHealth, HealthError};
use mongodb::bson::{doc, Bson, Document};
use mongodb::Database;
use std::time::Instant;

/// Privilege actions that change data, schema, users or the server.
const WRITE_ACTIONS: &[&str] = &[
    "insert",
    "update",
    "remove",
    "bypassDocumentValidation",
    "createCollection",
    "dropCollection",
    "renameCollectionSameDB",
    "collMod",
    "convertToCapped",
    "createIndex",
    "dropIndex",
    "dropDatabase",
    "createSearchIndexes",
    "dropSearchIndex",
    "updateSearchIndex",
    "createUser",
    "dropUser",
    "updateUser",
    "changePassword",
    "createRole",
    "dropRole",
    "grantRole",
    "revokeRole",
    "applyOps",
    "compact",
    "enableSharding",
    "shardCollection",
    "setParameter",
    "shutdown",
    "killop",
];

/// Roles that hold every privilege.
const ALL_POWERFUL_ROLES: &[&str] = &["root", "__system"];

/// Reasons are capped so one over-privileged user does not flood the health report.
const MAX_REASONS: usize = 5;

/// Runs the round trip and the privilege check. A server that cannot report privileges still
/// counts as healthy; whether it could write is then unknown.
pub async fn check(database: &Database) -> Result<DatabaseHealth, HealthError> {
    let started = Instant::now();
    database
        .run_command(doc! {"ping": 1})
        .await
        .map_err(|err| HealthError::Database(super::describe_error(&err)))?;
    let latency = started.elapsed();
    let status = database
        .run_command(doc! {"connectionStatus": 1, "showPrivileges": true})
        .await
        .ok();
    let (superuser, write_reasons) = match status {
        Some(status) => {
            let found = write_privileges(&status);
            (found.0, Some(found.1))
        }
        None => (false, None),
    };
    Ok(DatabaseHealth {
        latency,
        superuser,
        write_reasons,
        notes: Vec::new(),
    })
}

/// From a `connectionStatus` reply: whether the user holds every privilege, and what it could
/// change. A server without access control lets anyone do anything.
pub fn write_privileges(status: &Document) -> (bool, Vec<String>) {
    let auth = status.get_document("authInfo").ok();
    let users = auth.and_then(|auth| auth.get_array("authenticatedUsers").ok());
    if users.is_none_or(|users| users.is_empty()) {
        return (
            true,
            vec!["server runs without access control: any client can write".to_owned()],
        );
    }
    let mut superuser = false;
    let mut reasons = Vec::new();
    let roles = auth.and_then(|auth| auth.get_array("authenticatedUserRoles").ok());
    for role in roles.into_iter().flatten().filter_map(Bson::as_document) {
        let name = role.get_str("role").unwrap_or_default();
        if ALL_POWERFUL_ROLES.contains(&name) {
            superuser = true;
            reasons.push(format!("has role {name}"));
        }
    }
    let privileges = auth.and_then(|auth| auth.get_array("authenticatedUserPrivileges").ok());
    for privilege in privileges
        .into_iter()
        .flatten()
        .filter_map(Bson::as_document)
    {
        let target = resource_name(privilege.get_document("resource").ok());
        let actions = privilege.get_array("actions").ok().into_iter().flatten();
        for action in actions.filter_map(Bson::as_str) {
            if action == "anyAction" {
                superuser = true;
                reasons.push(format!("may do anything on {target}"));
            } else if WRITE_ACTIONS.contains(&action) {
                reasons.push(format!("may {action} on {target}"));
            }
        }
    }
    reasons.dedup();
    reasons.truncate(MAX_REASONS);
    (superuser, reasons)
}

fn resource_name(resource: Option<&Document>) -> String {
    let Some(resource) = resource else {
        return "an unnamed resource".to_owned();
    };
    if resource.get_bool("anyResource").unwrap_or(false) {
        return "any resource".to_owned();
    }
    if resource.get_bool("cluster").unwrap_or(false) {
        return "the cluster".to_owned();
    }
    let db = resource.get_str("db").unwrap_or_default();
    let collection = resource.get_str("collection").unwrap_or_default();
    match (db.is_empty(), collection.is_empty()) {
        (true, true) => "every database".to_owned(),
        (false, true) => format!("{db}.*"),
        (true, false) => format!("*.{collection}"),
        (false, false) => format!("{db}.{collection}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(roles: Vec<Document>, privileges: Vec<Document>) -> Document {
        doc! {"authInfo": {
            "authenticatedUsers": [{"user": "relay", "db": "admin"}],
            "authenticatedUserRoles": roles,
            "authenticatedUserPrivileges": privileges,
        }, "ok": 1}
    }

    #[test]
    fn a_read_only_user_cannot_write() {
        let found = write_privileges(&status(
            vec![doc! {"role": "read", "db": "shop"}],
            vec![doc! {"resource": {"db": "shop", "collection": ""},
            "actions": ["find", "listCollections", "listIndexes", "collStats"]}],
        ));
        assert_eq!(found, (false, Vec::<String>::new()));
    }

    #[test]
    fn write_actions_are_reported() {
        let (superuser, reasons) = write_privileges(&status(
            vec![doc! {"role": "readWrite", "db": "shop"}],
            vec![
                doc! {"resource": {"db": "shop", "collection": ""}, "actions": ["find", "insert", "remove"]},
                doc! {"resource": {"db": "shop", "collection": "orders"}, "actions": ["update"]},
            ],
        ));
        assert!(!superuser);
        assert_eq!(
            reasons,
            [
                "may insert on shop.*",
                "may remove on shop.*",
                "may update on shop.orders"
            ]
        );
    }

    #[test]
    fn root_and_open_servers_are_all_powerful() {
        let (superuser, reasons) = write_privileges(&status(
            vec![doc! {"role": "root", "db": "admin"}],
            vec![doc! {"resource": {"anyResource": true}, "actions": ["anyAction"]}],
        ));
        assert!(superuser);
        assert_eq!(
            reasons,
            ["has role root", "may do anything on any resource"]
        );
        let open = doc! {"authInfo": {"authenticatedUsers": [], "authenticatedUserRoles": []}};
        let (superuser, reasons) = write_privileges(&open);
        assert!(superuser);
        assert!(reasons[0].contains("without access control"));
    }
}
