//! What a statement could reach in one database beyond `pg_catalog`'s built-ins, as the resource
//! last read it from the catalog: functions and operators outside `pg_catalog`, types whose use runs
//! code that is not built in, and relations whose reading does (views, row-level security, foreign
//! tables), with what each relation reads. Pure data; the resource's loader fills it.

use std::collections::HashMap;
use std::fmt;

/// A schema-qualified name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct QualifiedName {
    pub schema: String,
    pub name: String,
}

impl QualifiedName {
    pub fn new(schema: impl Into<String>, name: impl Into<String>) -> Self {
        QualifiedName {
            schema: schema.into(),
            name: name.into(),
        }
    }
}

impl fmt::Display for QualifiedName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.schema, self.name)
    }
}

/// A function some object makes PostgreSQL run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Code {
    pub function: QualifiedName,
    /// The argument types, as `pg_get_function_identity_arguments` prints them.
    pub arguments: String,
    /// A built-in of `pg_catalog` (judged by its name), as opposed to somebody's own function.
    pub builtin: bool,
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}({})", self.function, self.arguments)
    }
}

/// How an object reaches a function: `"its view definition"`, `"its row-level security policy
/// p"`, `"its CHECK constraint"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reach {
    pub via: String,
    pub code: Code,
}

/// A function outside `pg_catalog`'s built-ins that the relay's role may execute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Function {
    pub code: Code,
    /// Callable with a single argument, so `t.name` may call it in attribute notation.
    pub takes_one_argument: bool,
    /// `i`mmutable, `s`table or `v`olatile.
    pub volatility: char,
    pub security_definer: bool,
    pub language: String,
    pub owner: String,
    /// Created with the database (`information_schema`), not by a user.
    pub system: bool,
}

/// An operator outside `pg_catalog`'s built-ins, and the function behind it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operator {
    pub name: QualifiedName,
    pub left: String,
    pub right: String,
    pub code: Code,
}

/// A type whose use runs code that is not a built-in of `pg_catalog`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TypeCode {
    /// Input, output and similar functions: run whenever a value is read in or written out.
    pub io: Vec<Reach>,
    /// CHECK constraints of a domain and casts to or from the type: run when a value is coerced
    /// to it, which a query may do without naming the type (`COALESCE(col, 'x')`).
    pub coercion: Vec<Reach>,
}

/// The kind of a relation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum RelationKind {
    #[default]
    Table,
    PartitionedTable,
    View,
    MaterializedView,
    ForeignTable,
}

/// A column a masking column rule protects, and which rule (its index in `masking.columns`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtectedColumn {
    pub name: String,
    pub attnum: i16,
    pub rule: usize,
}

/// A relation a statement may name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Relation {
    pub oid: u32,
    pub kind: RelationKind,
    /// Created with the database (a catalog or `information_schema` relation).
    pub system: bool,
    /// Code reading it runs (views, row-level security, foreign-data wrappers, column types).
    pub runs: Vec<Reach>,
    /// Relations reading it reads as well: a view's base relations, a parent's partitions.
    pub reads: Vec<QualifiedName>,
    /// Its columns a column rule protects (for a view, those derived from protected columns).
    pub protected: Vec<ProtectedColumn>,
}

/// The catalog as one resource last read it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CatalogSnapshot {
    /// The schemas the relay's sessions search, in order; `pg_catalog` first.
    pub search_path: Vec<String>,
    /// Functions by name.
    pub functions: HashMap<String, Vec<Function>>,
    /// Operators by name.
    pub operators: HashMap<String, Vec<Operator>>,
    /// Types whose use runs code that is not built in.
    pub types: HashMap<QualifiedName, TypeCode>,
    /// Every relation of a searched schema, and every other relation that runs code or is read.
    pub relations: HashMap<QualifiedName, Relation>,
    /// Domains whose CHECK constraints run code that is not built in; a record filled from JSON
    /// (`json_populate_record`) may coerce into one without naming it.
    pub guarded_domains: Vec<QualifiedName>,
    /// Whether `relations` holds every relation of the searched schemas, so an unqualified name
    /// resolves exactly.
    pub relations_complete: bool,
    /// Relations by oid, as a result's row description names them.
    pub oids: HashMap<u32, QualifiedName>,
}

impl CatalogSnapshot {
    /// What a database without user-defined objects looks like.
    pub fn builtin_only() -> Self {
        CatalogSnapshot {
            search_path: vec!["pg_catalog".to_owned(), "public".to_owned()],
            ..CatalogSnapshot::default()
        }
    }

    /// The schemas searched after `pg_catalog`.
    pub fn user_schemas(&self) -> impl Iterator<Item = &str> {
        self.search_path
            .iter()
            .map(String::as_str)
            .filter(|schema| *schema != "pg_catalog")
    }

    /// Functions named `name` that an unqualified call may resolve to: those in a searched schema.
    pub fn visible_functions<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a Function> {
        self.functions
            .get(name)
            .into_iter()
            .flatten()
            .filter(|function| self.is_searched(&function.code.function.schema))
    }

    /// Functions `schema.name`.
    pub fn functions_in<'a>(
        &'a self,
        schema: &'a str,
        name: &str,
    ) -> impl Iterator<Item = &'a Function> {
        self.functions
            .get(name)
            .into_iter()
            .flatten()
            .filter(move |function| function.code.function.schema == schema)
    }

    /// Operators named `name` in `schema`, or in any searched schema when `schema` is `None`.
    pub fn operators_named<'a>(
        &'a self,
        schema: Option<&'a str>,
        name: &str,
    ) -> impl Iterator<Item = &'a Operator> {
        self.operators
            .get(name)
            .into_iter()
            .flatten()
            .filter(move |operator| match schema {
                Some(schema) => operator.name.schema == schema,
                None => self.is_searched(&operator.name.schema),
            })
    }

    /// The type an unqualified or qualified name denotes, if its use runs code. An unqualified
    /// name is looked up in the searched schemas, first match wins, after `pg_catalog`.
    pub fn type_code(
        &self,
        schema: Option<&str>,
        name: &str,
    ) -> Option<(QualifiedName, &TypeCode)> {
        let candidates: Vec<&str> = match schema {
            Some(schema) => vec![schema],
            None => self.user_schemas().collect(),
        };
        candidates.into_iter().find_map(|schema| {
            let key = QualifiedName::new(schema, name);
            self.types.get(&key).map(|code| (key, code))
        })
    }

    /// The relation a name denotes: qualified as written, unqualified by the search path.
    pub fn resolve_relation(
        &self,
        schema: Option<&str>,
        name: &str,
    ) -> Option<(QualifiedName, &Relation)> {
        let schemas: Vec<&str> = match schema {
            Some(schema) => vec![schema],
            None => self.search_path.iter().map(String::as_str).collect(),
        };
        schemas.into_iter().find_map(|schema| {
            let key = QualifiedName::new(schema, name);
            self.relations.get(&key).map(|relation| (key, relation))
        })
    }

    /// The rule protecting a table column a result column comes straight from.
    pub fn protected_column(
        &self,
        table_oid: u32,
        attnum: i16,
    ) -> Option<(&QualifiedName, &ProtectedColumn)> {
        let name = self.oids.get(&table_oid)?;
        let relation = self.relations.get(name)?;
        relation
            .protected
            .iter()
            .find(|column| column.attnum == attnum)
            .map(|column| (name, column))
    }

    fn is_searched(&self, schema: &str) -> bool {
        self.search_path.iter().any(|searched| searched == schema)
    }
}
