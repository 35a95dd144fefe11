//! The operations the suite measures, each as a relay `request` and as the statements a client
//! talking to PostgreSQL directly would run for the same answer.

use crate::controlplane::Answer;
use crate::relaybench::{self, Dataset, READER};
use relay_actors::resource::postgres::catalog::list_tables_sql;
use relay_actors::resource::postgres::describe::describe_relation_sql;
use serde_json::json;

/// The resource id of `relaybench` in the relay's configuration.
pub const RESOURCE: &str = "bench-pg";

/// Rows of the range query; also the relay's `maxRowsPerQuery`.
pub const RANGE_ROWS: i64 = 1000;

pub const POINT_SQL: &str = "SELECT * FROM customers WHERE id = $1";
pub const RANGE_SQL: &str = "SELECT * FROM customers WHERE id BETWEEN $1 AND $1 + 999";
/// The aggregate behind `explain`, spelled once for the relay's request and the direct EXPLAIN.
macro_rules! join_sql {
    () => {
        "SELECT c.id, c.name, count(o.id) AS orders, sum(o.amount) AS total \
         FROM customers c JOIN orders o ON o.customer_id = c.id \
         WHERE o.created_at >= '2023-01-01' GROUP BY c.id, c.name ORDER BY total DESC LIMIT 10"
    };
}
pub const JOIN_SQL: &str = join_sql!();
/// The statement the relay's `explain` runs for `JOIN_SQL`.
pub const EXPLAIN_SQL: &str = concat!("EXPLAIN (FORMAT JSON)\n", join_sql!());

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Workload {
    PointLookup,
    Range,
    ListTables,
    DescribeTable,
    Explain,
}

pub const ALL: [Workload; 5] = [
    Workload::PointLookup,
    Workload::Range,
    Workload::ListTables,
    Workload::DescribeTable,
    Workload::Explain,
];

impl Workload {
    pub fn label(self) -> &'static str {
        match self {
            Workload::PointLookup => "point lookup by id",
            Workload::Range => "1000-row range, masked",
            Workload::ListTables => "list_tables",
            Workload::DescribeTable => "describe_table customers",
            Workload::Explain => "explain customers⋈orders aggregate",
        }
    }

    /// The lowest relay ÷ direct ratio accepted at 20 in flight.
    pub fn target(self) -> f64 {
        match self {
            Workload::PointLookup => 0.4,
            Workload::Range => 0.45,
            _ => 0.6,
        }
    }

    /// The highest relay CPU per operation accepted at 20 in flight, in units of the CPU its
    /// PostgreSQL backends spend on the same operations; `None` where no target is set.
    pub fn cpu_target(self) -> Option<f64> {
        match self {
            Workload::PointLookup => Some(1.5),
            Workload::Range => Some(2.0),
            _ => None,
        }
    }

    /// The operations per second at 20 in flight of the AI database servers a user might run
    /// instead (without masking or audit), measured on this machine class; `None` where none was.
    pub fn rival_ops_per_second(self) -> Option<f64> {
        match self {
            Workload::PointLookup => Some(8150.0),
            Workload::Explain => Some(4515.0),
            Workload::DescribeTable => Some(3540.0),
            _ => None,
        }
    }

    /// The first id of this request's rows: a lookup anywhere, a range that fits the table.
    pub fn first_id(self, rng: &mut fastrand::Rng, customers: i64) -> i64 {
        match self {
            Workload::Range => rng.i64(1..=(customers - RANGE_ROWS + 1).max(1)),
            _ => rng.i64(1..=customers.max(1)),
        }
    }

    /// The `request` message the control plane sends.
    pub fn request(self, id: &str, first_id: i64) -> String {
        let (operation, params) = match self {
            Workload::PointLookup => ("query", json!({"sql": POINT_SQL, "params": [first_id]})),
            Workload::Range => ("query", json!({"sql": RANGE_SQL, "params": [first_id]})),
            Workload::ListTables => ("list_tables", json!({"schema": "public"})),
            Workload::DescribeTable => ("describe_table", json!({"table": "customers"})),
            Workload::Explain => ("explain", json!({"sql": JOIN_SQL})),
        };
        json!({"type": "request", "id": id, "resourceId": RESOURCE, "operation": operation,
               "params": params})
        .to_string()
    }

    /// What a correct answer looks like, so a broken run cannot pass for a fast one.
    pub fn check(self) -> fn(&Answer) -> Result<(), String> {
        match self {
            Workload::PointLookup => |a| rows_are(a, 1),
            Workload::Range => |a| {
                rows_are(a, RANGE_ROWS as u64)?;
                match a.masked.as_ref().map(|m| m.total) {
                    Some(total) if total >= RANGE_ROWS as u64 => Ok(()),
                    other => Err(format!("only {other:?} values masked in 1000 rows")),
                }
            },
            Workload::ListTables => |a| rows_are(a, 3),
            Workload::DescribeTable => |a| rows_are(a, 8),
            Workload::Explain => |_| Ok(()),
        }
    }

    /// The statements a direct client runs, in order, with their parameters.
    pub fn direct_statements(self) -> Vec<&'static str> {
        match self {
            Workload::PointLookup => vec![POINT_SQL],
            Workload::Range => vec![RANGE_SQL],
            Workload::ListTables => vec![list_tables_sql()],
            // Found by name with its columns, indexes and foreign keys, as the relay does.
            Workload::DescribeTable => vec![describe_relation_sql()],
            Workload::Explain => vec![EXPLAIN_SQL],
        }
    }
}

fn rows_are(answer: &Answer, expected: u64) -> Result<(), String> {
    match answer.row_count {
        Some(count) if count == expected => Ok(()),
        other => Err(format!("{other:?} rows, expected {expected}")),
    }
}

/// The relay's configuration for the benchmark: the reader role, the seed's masking patterns
/// beside the default built-ins, enough queue for 100 requests in flight, and plaintext to the
/// local server as the direct client uses. Its sessions show `application_name` in the database.
pub fn relay_config(port: u16, dataset: &Dataset, spool: &str, application_name: &str) -> String {
    let (host, pg_port, database) = (relaybench::host(), relaybench::port(), &dataset.database);
    format!(
        "controlPlane:
  url: ws://127.0.0.1:{port}/v1/relay/connect
  token: bench-relay-token
  tenantId: bench
resources:
  - id: {RESOURCE}
    type: postgres
    connection: {{host: {host}, port: {pg_port}, database: {database}, user: {READER}, sslmode: disable,
      applicationName: {application_name}}}
    allowedOperations: [query, describe_table, list_tables, explain]
    maxRowsPerQuery: {RANGE_ROWS}
    maxQueuedRequests: 128
masking:
  enabled: true
  patterns:
    - name: cpf
      regex: '\\d{{3}}\\.\\d{{3}}\\.\\d{{3}}-\\d{{2}}'
      replacement: '***.***.***-**'
    - name: email
      regex: '[a-zA-Z0-9._%+-]+@[a-zA-Z0-9.-]+\\.[a-zA-Z]{{2,}}'
      replacement: '***@***.***'
audit:
  spoolPath: {spool}
"
    )
}
