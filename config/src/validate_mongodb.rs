//! Validation of a mongodb resource's connection keys: a `uri` or a host, the database, and the
//! keys only MongoDB has (`authSource`, `tls`, `readPreference`). Every problem is collected.

use crate::check::Checker;
use crate::connection::MongoConnection;
use crate::error::key_path;
use crate::secret::Secret;

/// mongodb: either `uri` or `host`, not both; a database is required unless the uri names one.
pub(crate) fn check_connection(check: &mut Checker, connection: &MongoConnection, at: &str) {
    match (&connection.uri, &connection.host) {
        (Some(_), Some(_)) => check.push(key_path(at, "uri"), "set either uri or host, not both"),
        (None, None) => check.push(at, "mongodb needs either uri or host"),
        (Some(uri), None) => check_mongodb_uri(check, connection, uri, at),
        (None, Some(_)) => {
            if connection.database.is_none() {
                check.push(key_path(at, "database"), "required for mongodb");
            }
        }
    }
    if connection
        .auth_source
        .as_deref()
        .is_some_and(|source| source.trim().is_empty())
    {
        check.push(key_path(at, "authSource"), "must not be empty");
    }
}

fn check_mongodb_uri(check: &mut Checker, connection: &MongoConnection, uri: &Secret, at: &str) {
    let Some(database) = mongodb_uri_database(uri.expose()) else {
        // Not echoed: the URI normally carries a password.
        let message = "must start with mongodb:// or mongodb+srv:// and name a host";
        check.push(key_path(at, "uri"), message);
        return;
    };
    let in_uri = "not allowed together with uri (put it in the uri)";
    if connection.port.is_some() {
        check.push(key_path(at, "port"), in_uri);
    }
    if connection.user.is_some() {
        check.push(key_path(at, "user"), in_uri);
    }
    if connection.password.is_some() {
        check.push(key_path(at, "password"), in_uri);
    }
    if database.is_empty() && connection.database.is_none() {
        let message = "required for mongodb (the uri names no database)";
        check.push(key_path(at, "database"), message);
    }
}

/// The database named in the path of a mongodb URI (empty when none), or `None` when the
/// text is not a mongodb URI with a host.
fn mongodb_uri_database(uri: &str) -> Option<&str> {
    let rest = ["mongodb://", "mongodb+srv://"]
        .iter()
        .find_map(|scheme| uri.strip_prefix(scheme))?;
    let before_query = rest.split('?').next().unwrap_or_default();
    // Credentials are percent-encoded, so the last `@` ends them.
    let hosts_and_path = before_query
        .rsplit_once('@')
        .map_or(before_query, |(_, tail)| tail);
    let (hosts, database) = hosts_and_path
        .split_once('/')
        .unwrap_or((hosts_and_path, ""));
    (!hosts.is_empty()).then_some(database)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::test_support::{load, problems, with_after, MINIMAL};
    use crate::ReadPreference;

    #[test]
    fn mongodb_uri_database_is_the_path() {
        assert_eq!(
            mongodb_uri_database("mongodb://u:p@h1,h2:27017/app?rs=x"),
            Some("app")
        );
        assert_eq!(
            mongodb_uri_database("mongodb+srv://cluster.example.com/"),
            Some("")
        );
        assert_eq!(mongodb_uri_database("mongodb://h"), Some(""));
        assert_eq!(mongodb_uri_database("mongodb://u:p@/db"), None);
        assert_eq!(mongodb_uri_database("postgres://h/db"), None);
    }

    fn mongodb(connection: &str) -> String {
        format!("{MINIMAL}  - {{id: mongo, type: mongodb, connection: {{{connection}}}}}\n")
    }

    #[test]
    fn mongodb_takes_a_uri_or_a_host() {
        let with_uri = load(&mongodb(
            "uri: 'mongodb+srv://u:p@cluster.example.com/app?w=1'",
        ));
        assert_eq!(with_uri.resources[1].connection.port_or_default(), 27017);
        load(&mongodb("uri: 'mongodb://h', database: app"));
        load(&mongodb(
            "host: h, port: 27018, database: app, user: u, password: p",
        ));
        let at = "resources[1].connection";
        assert_eq!(
            problems(&mongodb("database: app")),
            [format!("{at}: mongodb needs either uri or host")]
        );
        let both = mongodb("uri: 'mongodb://h/app', host: h");
        assert_eq!(
            problems(&both),
            [format!("{at}.uri: set either uri or host, not both")]
        );
        assert_eq!(
            problems(&mongodb("host: h")),
            [format!("{at}.database: required for mongodb")]
        );
    }

    #[test]
    fn mongodb_uri_rules_never_echo_the_uri() {
        let found = problems(&mongodb("uri: 'mongo://u:SEKRIT@h/app'"));
        let expected = "resources[1].connection.uri: must start with mongodb:// or mongodb+srv:// \
                        and name a host";
        assert_eq!(found, [expected]);
        let found = problems(&mongodb(
            "uri: 'mongodb://u:SEKRIT@h', port: 1, user: u, password: p",
        ));
        let in_uri = "not allowed together with uri (put it in the uri)";
        let expected = [
            format!("resources[1].connection.port: {in_uri}"),
            format!("resources[1].connection.user: {in_uri}"),
            format!("resources[1].connection.password: {in_uri}"),
            "resources[1].connection.database: required for mongodb (the uri names no database)"
                .to_owned(),
        ];
        assert_eq!(found, expected);
        assert!(!found.concat().contains("SEKRIT"));
    }

    #[test]
    fn mongodb_keys_are_typed_and_only_for_mongodb() {
        let config = load(&mongodb(
            "host: h, database: app, authSource: admin, tls: 'true', readPreference: nearest",
        ));
        let connection = config.resources[1].connection.as_mongodb().unwrap();
        assert_eq!(connection.auth_source.as_deref(), Some("admin"));
        assert_eq!(connection.tls, Some(true));
        assert_eq!(connection.read_preference, ReadPreference::Nearest);
        let defaults = load(&mongodb("host: h, database: app"));
        assert_eq!(
            defaults.resources[1]
                .connection
                .as_mongodb()
                .unwrap()
                .read_preference,
            ReadPreference::SecondaryPreferred
        );
        assert_eq!(
            problems(&mongodb("host: h, database: app, authSource: ' '")),
            ["resources[1].connection.authSource: must not be empty"]
        );
        let postgres = with_after(
            "    connection:\n",
            "      authSource: admin\n      tls: true\n      readPreference: primary\n",
        );
        let only = "applies to mongodb resources only";
        assert_eq!(
            problems(&postgres),
            [
                format!("resources[0].connection.authSource: {only}"),
                format!("resources[0].connection.tls: {only}"),
                format!("resources[0].connection.readPreference: {only}"),
            ]
        );
    }
}
