//! The read-only policy's cost per statement: a remembered verdict (the path nearly every request
//! takes) and a first check (parse, walk, judgement against a catalog snapshot with many user
//! objects), on one core.

use crate::report::Section;
use crate::workloads::{POINT_SQL, RANGE_SQL};
use relay_actors::policy::catalog::{CatalogSnapshot, Code, Function, QualifiedName, Relation};
use relay_actors::policy::{Rules, SqlPolicy};
use std::sync::Arc;
use std::time::Instant;

/// A remembered verdict may add at most this much to a request.
const CACHED_TARGET_MICROS: f64 = 10.0;

const ANALYTIC_SQL: &str = "WITH recent AS (SELECT customer_id, sum(amount) AS total, \
    count(*) AS n FROM orders WHERE created_at > now() - interval '30 days' GROUP BY customer_id) \
    SELECT c.id, c.email, r.total, rank() OVER (ORDER BY r.total DESC), \
    percentile_cont(0.5) WITHIN GROUP (ORDER BY r.total) OVER () FROM customers c \
    JOIN recent r ON r.customer_id = c.id WHERE c.email LIKE '%@example.com' ORDER BY 4 LIMIT 50";

/// A catalog with a thousand user functions and relations, none of them reached.
fn busy_catalog() -> CatalogSnapshot {
    let mut catalog = CatalogSnapshot::builtin_only();
    for i in 0..1000 {
        let name = format!("app_fn_{i}");
        catalog
            .functions
            .entry(name.clone())
            .or_default()
            .push(Function {
                code: Code {
                    function: QualifiedName::new("public", name),
                    arguments: "integer".to_owned(),
                    builtin: false,
                },
                takes_one_argument: true,
                volatility: 'v',
                security_definer: false,
                language: "plpgsql".to_owned(),
                owner: "app".to_owned(),
                system: false,
            });
        catalog.relations.insert(
            QualifiedName::new("public", format!("table_{i}")),
            Relation {
                ..Relation::default()
            },
        );
    }
    for name in ["customers", "orders"] {
        catalog.relations.insert(
            QualifiedName::new("public", name),
            Relation {
                ..Relation::default()
            },
        );
    }
    catalog.relations_complete = true;
    catalog
}

fn policy(catalog: &Arc<CatalogSnapshot>) -> SqlPolicy {
    let policy = SqlPolicy::with_rules(Rules::default(), false);
    policy.set_catalog(Ok(Arc::clone(catalog)));
    policy
}

/// Microseconds per call of `work`, over `rounds` calls.
fn micros(rounds: u32, mut work: impl FnMut()) -> f64 {
    let started = Instant::now();
    for _ in 0..rounds {
        work();
    }
    started.elapsed().as_secs_f64() * 1e6 / f64::from(rounds)
}

pub fn run(rounds: u32) -> Result<Section, String> {
    let catalog = Arc::new(busy_catalog());
    let mut section = Section::new(
        "Read-only policy per statement (one core, a catalog of 1000 user functions and tables)",
        &[
            "Statement",
            "Remembered verdict",
            "First check",
            "Target (remembered)",
        ],
    );
    for (name, sql) in [
        ("point lookup", POINT_SQL),
        ("1000-row range", RANGE_SQL),
        ("analytic query", ANALYTIC_SQL),
    ] {
        let warm = policy(&catalog);
        warm.check_query(sql)
            .map_err(|violation| format!("{name} refused: {violation}"))?;
        let remembered = micros(rounds * 10, || {
            let _ = std::hint::black_box(warm.remembered(std::hint::black_box(sql)));
        });
        let first = micros(rounds / 10, || {
            let cold = policy(&catalog);
            let _ = std::hint::black_box(cold.check_query(sql));
        });
        if remembered > CACHED_TARGET_MICROS {
            section.note(format!("{name}: the remembered verdict missed its target"));
        }
        section.row([
            name.to_owned(),
            format!("{remembered:.2} µs"),
            format!("{first:.1} µs"),
            format!("≤ {CACHED_TARGET_MICROS} µs"),
        ]);
    }
    section.note(
        "A remembered verdict is a lookup by statement text, reached on the actor's thread; a first \
         check parses with PostgreSQL's own parser and walks the tree on a blocking thread.",
    );
    Ok(section)
}
