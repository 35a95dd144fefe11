//! The MongoDB the tests talk to: the project's wire-protocol test server (tests/mongo), started per
//! test on its own port and seeded from `tests/mongo/seed.json`, or, when `MONGODB_URL` is set, a
//! real MongoDB with the same seed loaded into a database of the test's own.

use mongodb::bson::{doc, Bson, Document};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

pub const SEED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/mongo/seed.json");
const SERVER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/mongo/wire_server.py");

/// A running test server process; its stdin is kept open, since closing it stops the server.
struct WireServer {
    child: Child,
    _stdin: ChildStdin,
}

impl Drop for WireServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The MongoDB of one test.
pub struct Mongo {
    pub port: u16,
    pub database: String,
    /// `MONGODB_URL` when the tests run against a real server.
    real_url: Option<String>,
    server: Option<WireServer>,
    seed: PathBuf,
    dir: tempfile::TempDir,
}

impl Mongo {
    /// The test server seeded with the shared seed (or the real server when configured).
    pub fn start() -> Mongo {
        Self::start_with_seed(Path::new(SEED))
    }

    pub fn start_with_seed(seed: &Path) -> Mongo {
        let dir = tempfile::tempdir().unwrap();
        if let Ok(url) = std::env::var("MONGODB_URL") {
            static NEXT: AtomicUsize = AtomicUsize::new(0);
            let database = format!(
                "relay_it_{}_{}",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::Relaxed)
            );
            seed_real_server(&url, &database, seed);
            return Mongo {
                port: 0,
                database,
                real_url: Some(url),
                server: None,
                seed: seed.to_owned(),
                dir,
            };
        }
        let mut mongo = Mongo {
            port: 0,
            database: "shop".to_owned(),
            real_url: None,
            server: None,
            seed: seed.to_owned(),
            dir,
        };
        mongo.spawn_server(0);
        mongo
    }

    /// True against the wire-protocol test server (which logs every command it receives).
    pub fn is_test_server(&self) -> bool {
        self.real_url.is_none()
    }

    fn command_log(&self) -> PathBuf {
        self.dir.path().join("commands.jsonl")
    }

    fn spawn_server(&mut self, port: u16) {
        let python = std::env::var("RELAY_MONGO_TEST_PYTHON").unwrap_or_else(|_| {
            concat!(env!("CARGO_MANIFEST_DIR"), "/target/mongo-venv/bin/python").to_owned()
        });
        assert!(
            Path::new(&python).exists(),
            "no Python for the MongoDB test server at {python}: run ./scripts/test.sh, or \
             `source scripts/lib/mongo-test-server.sh && ensure_mongo_test_server`"
        );
        let mut child = Command::new(&python)
            .arg(SERVER)
            .arg("--seed")
            .arg(&self.seed)
            .args(["--port", &port.to_string()])
            .arg("--command-log")
            .arg(self.command_log())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        self.port = first
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("test server printed {first:?} instead of its port"));
        self.server = Some(WireServer {
            child,
            _stdin: stdin,
        });
    }

    /// Stops the test server (the port stays ours for [`Mongo::restart`]).
    pub fn stop(&mut self) {
        self.server = None;
    }

    /// Starts the test server again on the same port, with the same seed.
    pub fn restart(&mut self) {
        let port = self.port;
        self.spawn_server(port);
    }

    /// Every command the test server received, oldest first.
    pub fn commands(&self) -> Vec<Value> {
        let text = std::fs::read_to_string(self.command_log()).unwrap_or_default();
        text.lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }

    /// The `connection:` mapping of a resource for this server (flow style).
    pub fn connection_yaml(&self) -> String {
        match &self.real_url {
            Some(url) => format!(
                "{{uri: '{url}', database: {}, connectTimeoutSeconds: 2}}",
                self.database
            ),
            None => format!(
                "{{host: 127.0.0.1, port: {}, database: {}, connectTimeoutSeconds: 2}}",
                self.port, self.database
            ),
        }
    }

    /// A `resources` entry with id `mongo`; `extra` adds keys (indented by four spaces).
    pub fn resource_yaml(&self, extra: &str) -> String {
        // A development server without access control counts as all-powerful.
        let privileged = if self.real_url.is_some() {
            "    allowPrivilegedUser: true\n"
        } else {
            ""
        };
        format!(
            "  - id: mongo\n    type: mongodb\n    name: Shop MongoDB\n    connection: {}\n\
             {privileged}{extra}",
            self.connection_yaml()
        )
    }
}

impl Drop for Mongo {
    fn drop(&mut self) {
        if let Some(url) = &self.real_url {
            let database = self.database.clone();
            with_client(url, |client| async move {
                let _ = client.database(&database).drop().await;
            });
        }
    }
}

/// The seed's documents of one collection, as BSON.
pub fn seeded(collection: &str) -> Vec<Document> {
    let seed = read_seed(Path::new(SEED));
    let docs = seed["databases"]["shop"]["collections"][collection].clone();
    docs.as_array()
        .unwrap()
        .iter()
        .map(|doc| match Bson::try_from(doc.clone()).unwrap() {
            Bson::Document(doc) => doc,
            other => panic!("not a document: {other}"),
        })
        .collect()
}

fn read_seed(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn with_client<F, Fut>(url: &str, work: F)
where
    F: FnOnce(mongodb::Client) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let runtime = actix_rt::Runtime::new().unwrap();
    runtime.block_on(async {
        let client = mongodb::Client::with_uri_str(url).await.unwrap();
        work(client).await;
    });
}

/// Loads the seed's `shop` database into `database` of a real server.
fn seed_real_server(url: &str, database: &str, seed: &Path) {
    let seed = read_seed(seed);
    let shop = seed["databases"]["shop"].clone();
    let as_doc = |value: &Value| match Bson::try_from(value.clone()).unwrap() {
        Bson::Document(doc) => doc,
        other => panic!("not a document: {other}"),
    };
    with_client(url, |client| async move {
        let db = client.database(database);
        for (name, validator) in shop["validators"].as_object().into_iter().flatten() {
            let command = doc! {"create": name, "validator": as_doc(validator)};
            db.run_command(command).await.unwrap();
        }
        for (name, docs) in shop["collections"].as_object().unwrap() {
            let docs: Vec<Document> = docs.as_array().unwrap().iter().map(as_doc).collect();
            db.collection::<Document>(name)
                .insert_many(docs)
                .await
                .unwrap();
        }
        for (name, indexes) in shop["indexes"].as_object().into_iter().flatten() {
            let indexes: Vec<Document> = indexes.as_array().unwrap().iter().map(as_doc).collect();
            db.run_command(doc! {"createIndexes": name, "indexes": indexes})
                .await
                .unwrap();
        }
        for (name, view) in shop["views"].as_object().into_iter().flatten() {
            let view = as_doc(view);
            let command = doc! {"create": name, "viewOn": view.get_str("viewOn").unwrap(),
            "pipeline": view.get_array("pipeline").unwrap().clone()};
            db.run_command(command).await.unwrap();
        }
    });
}
