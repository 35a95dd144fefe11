//! Classifies the one top-level statement: SELECT, SHOW and EXPLAIN may run, everything else is
//! refused with a human name for what it is (`INSERT`, `SET`, `CREATE TABLE`, ...).

use pg_query::protobuf::{ObjectType, TransactionStmtKind, VariableSetKind};
use pg_query::{Node, NodeEnum};

use super::tree::kind_name;
use super::PolicyViolation;

/// What the top-level statement turned out to be, with the read whose tree still needs walking.
pub(super) enum Classified<'a> {
    /// SELECT, VALUES, TABLE, WITH ... SELECT, set operations: the `SelectStmt` node.
    Select(&'a Node),
    /// `SHOW name`: reads one setting, nothing to walk.
    Show,
    /// EXPLAIN of a read; `query` is the inner `SelectStmt` node.
    Explain { analyze: bool, query: &'a Node },
}

pub(super) fn classify(statement: &Node) -> Result<Classified<'_>, PolicyViolation> {
    match statement.node.as_ref() {
        Some(NodeEnum::SelectStmt(_)) => Ok(Classified::Select(statement)),
        Some(NodeEnum::VariableShowStmt(_)) => Ok(Classified::Show),
        Some(NodeEnum::ExplainStmt(explain)) => {
            let inner = explain
                .query
                .as_deref()
                .ok_or_else(|| PolicyViolation::Other("EXPLAIN without a statement".to_owned()))?;
            // The grammar cannot explain SHOW or EXPLAIN, so a permitted inner statement is a read.
            match classify(inner)? {
                Classified::Select(query) => Ok(Classified::Explain {
                    analyze: requests_analyze(&explain.options),
                    query,
                }),
                Classified::Show | Classified::Explain { .. } => {
                    Err(PolicyViolation::StatementKind("EXPLAIN".to_owned()))
                }
            }
        }
        Some(refused) => Err(PolicyViolation::StatementKind(statement_name(
            statement, refused,
        ))),
        None => Err(PolicyViolation::Other("an empty statement".to_owned())),
    }
}

/// Whether EXPLAIN's options ask for the statement to be executed. PostgreSQL reads a bare
/// `ANALYZE` as true and accepts `true/false/on/off/1/0`; only an explicit false counts as off
/// here, and any one `analyze` option not switched off counts, whatever follows it.
fn requests_analyze(options: &[Node]) -> bool {
    options.iter().any(|option| match option.node.as_ref() {
        Some(NodeEnum::DefElem(element)) if element.defname.eq_ignore_ascii_case("analyze") => {
            !is_explicit_false(element.arg.as_deref())
        }
        _ => false,
    })
}

fn is_explicit_false(argument: Option<&Node>) -> bool {
    match argument.and_then(|argument| argument.node.as_ref()) {
        Some(NodeEnum::String(text)) => ["false", "off", "0"]
            .iter()
            .any(|word| text.sval.eq_ignore_ascii_case(word)),
        Some(NodeEnum::Integer(number)) => number.ival == 0,
        Some(NodeEnum::Boolean(flag)) => !flag.boolval,
        _ => false,
    }
}

/// The name a refused statement is reported under.
fn statement_name(statement: &Node, refused: &NodeEnum) -> String {
    if let Some(name) = name_from_fields(refused) {
        return name.to_owned();
    }
    match statement.node.as_ref() {
        Some(node) => name_for_kind(&kind_name(node)),
        None => "unrecognised".to_owned(),
    }
}

/// Statements whose SQL name depends on a field rather than on the node type alone.
fn name_from_fields(refused: &NodeEnum) -> Option<&'static str> {
    let either = |first: bool, yes: &'static str, no: &'static str| if first { yes } else { no };
    let name = match refused {
        NodeEnum::TransactionStmt(transaction) => transaction_name(transaction.kind()),
        NodeEnum::VariableSetStmt(set) => match set.kind() {
            VariableSetKind::VarReset | VariableSetKind::VarResetAll => "RESET",
            _ => "SET",
        },
        NodeEnum::GrantStmt(grant) => either(grant.is_grant, "GRANT", "REVOKE"),
        NodeEnum::GrantRoleStmt(grant) => either(grant.is_grant, "GRANT", "REVOKE"),
        NodeEnum::VacuumStmt(vacuum) => either(vacuum.is_vacuumcmd, "VACUUM", "ANALYZE"),
        NodeEnum::CreateFunctionStmt(create) => {
            either(create.is_procedure, "CREATE PROCEDURE", "CREATE FUNCTION")
        }
        NodeEnum::CreateTableAsStmt(create) => match create.objtype() {
            ObjectType::ObjectMatview => "CREATE MATERIALIZED VIEW",
            _ => "CREATE TABLE AS",
        },
        _ => return None,
    };
    Some(name)
}

fn transaction_name(kind: TransactionStmtKind) -> &'static str {
    match kind {
        TransactionStmtKind::TransStmtBegin => "BEGIN",
        TransactionStmtKind::TransStmtStart => "START TRANSACTION",
        TransactionStmtKind::TransStmtCommit => "COMMIT",
        TransactionStmtKind::TransStmtRollback => "ROLLBACK",
        TransactionStmtKind::TransStmtSavepoint => "SAVEPOINT",
        TransactionStmtKind::TransStmtRelease => "RELEASE SAVEPOINT",
        TransactionStmtKind::TransStmtRollbackTo => "ROLLBACK TO SAVEPOINT",
        TransactionStmtKind::TransStmtPrepare => "PREPARE TRANSACTION",
        TransactionStmtKind::TransStmtCommitPrepared => "COMMIT PREPARED",
        TransactionStmtKind::TransStmtRollbackPrepared => "ROLLBACK PREPARED",
        TransactionStmtKind::Undefined => "transaction control",
    }
}

/// Names whose protobuf type does not spell the SQL well; the rest are derived from the type.
const KIND_NAMES: &[(&str, &str)] = &[
    ("AlterObjectSchemaStmt", "ALTER ... SET SCHEMA"),
    ("AlterOwnerStmt", "ALTER ... OWNER TO"),
    ("AlterSeqStmt", "ALTER SEQUENCE"),
    ("CallStmt", "CALL"),
    ("CheckPointStmt", "CHECKPOINT"),
    ("ClosePortalStmt", "CLOSE"),
    ("CompositeTypeStmt", "CREATE TYPE"),
    ("CreateEnumStmt", "CREATE TYPE"),
    ("CreatePlangStmt", "CREATE LANGUAGE"),
    ("CreateRangeStmt", "CREATE TYPE"),
    ("CreateSeqStmt", "CREATE SEQUENCE"),
    ("CreateStatsStmt", "CREATE STATISTICS"),
    ("CreateStmt", "CREATE TABLE"),
    ("CreateTableSpaceStmt", "CREATE TABLESPACE"),
    ("CreateTrigStmt", "CREATE TRIGGER"),
    ("CreatedbStmt", "CREATE DATABASE"),
    ("DeclareCursorStmt", "DECLARE CURSOR"),
    ("DefineStmt", "CREATE"),
    ("DropTableSpaceStmt", "DROP TABLESPACE"),
    ("DropdbStmt", "DROP DATABASE"),
    ("IndexStmt", "CREATE INDEX"),
    ("LockStmt", "LOCK"),
    ("RefreshMatViewStmt", "REFRESH MATERIALIZED VIEW"),
    ("RenameStmt", "ALTER ... RENAME"),
    ("RuleStmt", "CREATE RULE"),
    ("SecLabelStmt", "SECURITY LABEL"),
    ("ViewStmt", "CREATE VIEW"),
];

/// `AlterSystemStmt` -> `ALTER SYSTEM`: drop the `Stmt` suffix, split the words, uppercase them.
fn name_for_kind(kind: &str) -> String {
    if let Some((_, name)) = KIND_NAMES.iter().find(|(known, _)| *known == kind) {
        return (*name).to_owned();
    }
    let base = kind.strip_suffix("Stmt").unwrap_or(kind);
    let mut name = String::with_capacity(base.len() + 4);
    for (index, letter) in base.chars().enumerate() {
        if index > 0 && letter.is_ascii_uppercase() {
            name.push(' ');
        }
        name.push(letter.to_ascii_uppercase());
    }
    name
}
