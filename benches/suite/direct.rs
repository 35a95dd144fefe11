//! The baseline: the same statements run directly against PostgreSQL by N client threads sharing
//! five connections (the relay's pool size), each statement prepared once per connection and every
//! returned value read, as a well-written direct client would.

use crate::controlplane::LoadRun;
use crate::relaybench::describe;
use crate::workloads::Workload;
use postgres::types::ToSql;
use postgres::{Client, NoTls, Row, Statement};
use relay_actors::resource::pg_values::RawCell;
use std::collections::HashMap;
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

/// The relay's pool size, and so the baseline's.
pub const CONNECTIONS: usize = 5;

struct Connection {
    client: Client,
    prepared: HashMap<&'static str, Statement>,
}

/// Five connections handed to whichever client thread asks first.
pub struct DirectPool {
    idle: Mutex<Vec<Connection>>,
    returned: Condvar,
    customers: i64,
}

impl DirectPool {
    pub fn connect(settings: &str, customers: usize) -> Result<DirectPool, String> {
        let idle = (0..CONNECTIONS)
            .map(|_| {
                Client::connect(settings, NoTls).map(|client| Connection {
                    client,
                    prepared: HashMap::new(),
                })
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(|err| format!("direct connection ({settings}): {}", describe(&err)))?;
        Ok(DirectPool {
            idle: Mutex::new(idle),
            returned: Condvar::new(),
            customers: customers as i64,
        })
    }

    fn take(&self) -> Result<Connection, String> {
        let mut idle = self.idle.lock().map_err(|_| "pool poisoned")?;
        loop {
            if let Some(connection) = idle.pop() {
                return Ok(connection);
            }
            idle = self.returned.wait(idle).map_err(|_| "pool poisoned")?;
        }
    }

    fn give_back(&self, connection: Connection) {
        if let Ok(mut idle) = self.idle.lock() {
            idle.push(connection);
            self.returned.notify_one();
        }
    }

    /// `in_flight` client threads run `workload` back to back for `duration`.
    pub fn run(&self, workload: Workload, in_flight: usize, duration: Duration) -> LoadRun {
        let started = Instant::now();
        let per_thread: Vec<LoadRun> = std::thread::scope(|scope| {
            let threads: Vec<_> = (0..in_flight)
                .map(|index| scope.spawn(move || self.client_loop(workload, index, duration)))
                .collect();
            threads
                .into_iter()
                .map(|thread| thread.join().unwrap_or_default())
                .collect()
        });
        let mut total = LoadRun {
            elapsed: started.elapsed(),
            ..LoadRun::default()
        };
        for run in per_thread {
            total.latencies.extend(run.latencies);
            total.failed += run.failed;
            total.failures.extend(run.failures.into_iter().take(3));
        }
        total
    }

    fn client_loop(&self, workload: Workload, index: usize, duration: Duration) -> LoadRun {
        let mut rng = fastrand::Rng::with_seed(index as u64);
        let mut measured = LoadRun::default();
        let started = Instant::now();
        while started.elapsed() < duration {
            let sent = Instant::now();
            let outcome = self.take().and_then(|mut connection| {
                let first_id = workload.first_id(&mut rng, self.customers);
                let outcome = run_once(&mut connection, workload, first_id);
                self.give_back(connection);
                outcome
            });
            measured.latencies.push(sent.elapsed());
            if let Err(why) = outcome {
                measured.failed += 1;
                if measured.failures.len() < 3 {
                    measured.failures.push(why);
                }
            }
        }
        measured
    }
}

/// Runs the workload's statements once on `connection`; every value of every row is read.
fn run_once(connection: &mut Connection, workload: Workload, first_id: i64) -> Result<(), String> {
    for sql in workload.direct_statements() {
        let statement = match connection.prepared.get(sql) {
            Some(statement) => statement.clone(),
            None => {
                let statement = connection.client.prepare(sql).map_err(|e| describe(&e))?;
                connection.prepared.insert(sql, statement.clone());
                statement
            }
        };
        let schema = Some("public");
        let no_schema: Option<&str> = None;
        let limit = 1001i64;
        let table = "customers";
        let no_patterns: Vec<String> = Vec::new();
        let no_allow: Option<Vec<String>> = None;
        let params: Vec<&(dyn ToSql + Sync)> = match workload {
            Workload::PointLookup | Workload::Range => vec![&first_id],
            Workload::ListTables => {
                vec![
                    &schema,
                    &limit,
                    &no_patterns,
                    &no_patterns,
                    &no_allow,
                    &no_allow,
                ]
            }
            Workload::DescribeTable => vec![&table, &no_schema],
            Workload::Explain => vec![],
        };
        let rows = connection
            .client
            .query(&statement, &params)
            .map_err(|e| describe(&e))?;
        read_every_value(&rows)?;
    }
    Ok(())
}

/// Touches every value as a client would; customers' text columns are decoded into strings.
fn read_every_value(rows: &[Row]) -> Result<usize, String> {
    let mut bytes = 0;
    for row in rows {
        for (index, column) in row.columns().iter().enumerate() {
            if column.type_() == &postgres::types::Type::TEXT {
                let text: Option<String> = row.try_get(index).map_err(|e| describe(&e))?;
                bytes += text.map_or(0, |t| t.len());
            } else {
                let raw: RawCell<'_> = row.try_get(index).map_err(|e| describe(&e))?;
                bytes += raw.0.map_or(0, <[u8]>::len);
            }
        }
    }
    Ok(bytes)
}
