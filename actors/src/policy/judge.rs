//! Judges what the walk of a statement reports against the catalog snapshot and the resource's
//! rules: a name is allowed only when every object PostgreSQL could resolve it to is a built-in the
//! policy allows or an object the operator vouched for (`allowedFunctions`, `allowedRelations`),
//! and a relation only when it is in the resource's table scope.

use super::builtins::{self, Builtin, BUILTIN_SCHEMA};
use super::catalog::{CatalogSnapshot, Code, QualifiedName, Reach};
use super::patterns::{NamePattern, TableScope};
use super::tree::Inspector;
use super::{keep_most_severe, PolicyViolation};
use pg_query::protobuf::{FuncCall, RangeVar, TypeName};
use pg_query::{Node, NodeEnum};

/// What a resource's configuration says about the objects a statement may reach.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rules {
    /// `allowedFunctions`: functions the operator vouches for.
    pub functions: Vec<NamePattern>,
    /// `allowedRelations`: relations whose definitions the operator vouches for.
    pub relations: Vec<NamePattern>,
    /// `tables`: what the resource may read; `None` without scoping.
    pub scope: Option<TableScope>,
}

impl Rules {
    pub fn new(functions: &[String], relations: &[String], scope: Option<TableScope>) -> Self {
        let parse = |entries: &[String]| entries.iter().map(|e| NamePattern::parse(e)).collect();
        Rules {
            functions: parse(functions),
            relations: parse(relations),
            scope: scope.filter(TableScope::restricts),
        }
    }

    /// Whether anything is vouched for, so reached code might take session-level locks.
    pub fn vouches_for_anything(&self) -> bool {
        !(self.functions.is_empty() && self.relations.is_empty())
    }
}

/// Functions that fill a record from JSON, coercing into the record's field types.
const RECORD_FILLERS: &[&str] = &[
    "json_populate_record",
    "json_populate_recordset",
    "jsonb_populate_record",
    "jsonb_populate_recordset",
    "jsonb_populate_record_valid",
];

/// Views nested deeper than this are refused rather than followed.
pub(super) const MAX_VIEW_DEPTH: usize = 32;

pub(super) struct Judge<'a> {
    pub(super) snapshot: &'a CatalogSnapshot,
    pub(super) rules: &'a Rules,
    pub(super) worst: Option<PolicyViolation>,
}

impl<'a> Judge<'a> {
    pub(super) fn new(snapshot: &'a CatalogSnapshot, rules: &'a Rules) -> Self {
        Judge {
            snapshot,
            rules,
            worst: None,
        }
    }

    /// Whether an object is vouched for: by a qualified entry, or by an unqualified one when the
    /// object lives on the search path (where an unqualified name finds it).
    fn vouched(&self, function: &QualifiedName) -> bool {
        self.rules
            .functions
            .iter()
            .any(|pattern| match &pattern.schema {
                Some(_) => pattern.matches_qualified(function),
                None => {
                    pattern.name.matches(&function.name)
                        && self.snapshot.search_path.contains(&function.schema)
                }
            })
    }

    /// Whether a call written `schema.name` is vouched for: only qualified entries vouch for
    /// qualified calls, as only unqualified entries vouch for unqualified names not yet known.
    fn vouched_qualified(&self, function: &QualifiedName) -> bool {
        self.rules
            .functions
            .iter()
            .any(|pattern| pattern.matches_qualified(function))
    }

    fn vouched_name(&self, name: &str) -> bool {
        self.rules
            .functions
            .iter()
            .any(|pattern| pattern.schema.is_none() && pattern.name.matches(name))
    }

    fn reaches(&mut self, what: String, reach: &Reach) {
        self.refuse(PolicyViolation::Reaches {
            what,
            object: reach.code.to_string(),
            why: reach.via.clone(),
        });
    }

    /// Whether code an object runs may run: an allowed built-in, or vouched for.
    fn code_allowed(&self, code: &Code) -> bool {
        if self.vouched(&code.function) {
            return true;
        }
        code.builtin
            && match builtins::classify(&code.function.name) {
                Some(Builtin::Allowed | Builtin::Revealing) => true,
                Some(Builtin::Refused(_)) | None => false,
            }
    }

    pub(super) fn judge_reach(&mut self, what: impl Fn() -> String, reach: &Reach) {
        if !self.code_allowed(&reach.code) {
            self.reaches(what(), reach);
        }
    }

    /// A built-in function called by name, `qualified` when written `pg_catalog.name`.
    fn builtin_call(&mut self, written: String, name: &str, arguments: usize, qualified: bool) {
        let as_builtin = QualifiedName::new(BUILTIN_SCHEMA, name);
        let vouched = match qualified {
            true => self.vouched_qualified(&as_builtin),
            false => self.vouched_name(name) || self.vouched_qualified(&as_builtin),
        };
        match builtins::classify(name) {
            Some(Builtin::Allowed) => self.record_filler(&written, name),
            Some(Builtin::Revealing) if self.rules.scope.is_some() && !vouched => {
                self.refuse(PolicyViolation::Function(written));
            }
            Some(Builtin::Revealing) => {}
            Some(Builtin::Refused(_)) | None if vouched => {}
            // `float8(x)`, `tsquery(x)`: a cast to a built-in type in function notation.
            None if arguments == 1 && builtins::is_builtin_type(name) => {}
            Some(Builtin::Refused(_)) | None => self.refuse(PolicyViolation::Function(written)),
        }
    }

    /// `json_populate_record` coerces JSON into the record's fields, running the CHECK of any
    /// domain among them, which the statement need not name.
    fn record_filler(&mut self, written: &str, name: &str) {
        if !RECORD_FILLERS.contains(&name) {
            return;
        }
        if let Some(domain) = self.snapshot.guarded_domains.first() {
            self.refuse(PolicyViolation::Reaches {
                what: format!("function {written}"),
                object: format!("the CHECK constraints of domain {domain}"),
                why: "it may coerce into a record field of that domain".to_owned(),
            });
        }
    }

    fn user_functions<'f>(
        &self,
        candidates: impl Iterator<Item = &'f super::catalog::Function>,
        written: &str,
        qualified: bool,
    ) -> Vec<PolicyViolation> {
        let vouched = |name: &QualifiedName| match qualified {
            true => self.vouched_qualified(name),
            false => self.vouched(name),
        };
        let name = written.rsplit('.').next().unwrap_or(written);
        let why = match !qualified && builtins::classify(name).is_some() {
            true => format!("it is not built in; write pg_catalog.{name}(...) for the built-in"),
            false => "it is not built in".to_owned(),
        };
        candidates
            .filter(|f| !f.system && !vouched(&f.code.function))
            .map(|f| PolicyViolation::Reaches {
                what: format!("function {written}"),
                object: f.code.to_string(),
                why: why.clone(),
            })
            .collect()
    }

    fn unqualified_call(&mut self, name: &str, arguments: usize) {
        let candidates: Vec<_> = self.snapshot.visible_functions(name).collect();
        for violation in self.user_functions(candidates.iter().copied(), name, false) {
            self.refuse(violation);
        }
        let known_outside = !candidates.is_empty();
        let builtin = builtins::classify(name).is_some() || builtins::is_builtin_type(name);
        if builtin || !known_outside {
            self.builtin_call(name.to_owned(), name, arguments, false);
        }
    }

    fn qualified_call(&mut self, schema: &str, name: &str, arguments: usize) {
        let written = format!("{schema}.{name}");
        let candidates: Vec<_> = self.snapshot.functions_in(schema, name).collect();
        for violation in self.user_functions(candidates.iter().copied(), &written, true) {
            self.refuse(violation);
        }
        if schema == BUILTIN_SCHEMA {
            self.builtin_call(written, name, arguments, true);
        } else if candidates.is_empty()
            && !self.vouched_qualified(&QualifiedName::new(schema, name))
        {
            self.refuse(PolicyViolation::Function(written));
        }
    }

    fn operator_named(&mut self, schema: Option<&str>, name: &str) {
        let written = match schema {
            Some(schema) => format!("{schema}.{name}"),
            None => name.to_owned(),
        };
        let candidates: Vec<_> = self.snapshot.operators_named(schema, name).collect();
        let outside_catalog = schema.is_some_and(|s| s != BUILTIN_SCHEMA);
        if outside_catalog && candidates.is_empty() {
            self.refuse(PolicyViolation::Other(format!("operator {written}")));
        }
        for operator in candidates {
            let reach = Reach {
                via: format!("it implements operator {}", operator.name),
                code: operator.code.clone(),
            };
            if !self.code_allowed(&reach.code) {
                self.reaches(format!("operator {written}"), &reach);
            }
        }
    }
}

impl Inspector for Judge<'_> {
    fn function_call(&mut self, call: &FuncCall) {
        let arguments = call.args.len();
        match string_parts(&call.funcname).as_deref() {
            Some([name]) => self.unqualified_call(name, arguments),
            Some([schema, name]) => self.qualified_call(schema, name, arguments),
            Some(parts) => self.refuse(PolicyViolation::Function(parts.join("."))),
            None => self.refuse(PolicyViolation::Function("(unreadable name)".to_owned())),
        }
    }

    fn operator(&mut self, name: &[Node]) {
        match string_parts(name).as_deref() {
            Some([operator]) => self.operator_named(None, operator),
            Some([schema, operator]) => self.operator_named(Some(schema), operator),
            _ => self.refuse(PolicyViolation::Other(
                "an operator with an unreadable name".to_owned(),
            )),
        }
    }

    fn implied_operator(&mut self, name: &'static str) {
        self.operator_named(None, name);
    }

    fn type_name(&mut self, type_name: &TypeName) {
        let found = match string_parts(&type_name.names).as_deref() {
            Some([name]) if builtins::is_builtin_type(name) => None,
            Some([name]) => self.snapshot.type_code(None, name),
            Some([schema, name]) => self.snapshot.type_code(Some(schema), name),
            _ => None,
        };
        let Some((name, code)) = found else {
            return;
        };
        let reaches: Vec<Reach> = code.io.iter().chain(&code.coercion).cloned().collect();
        for reach in &reaches {
            self.judge_reach(|| format!("type {name}"), reach);
        }
    }

    fn literal_cast(&mut self, literal: &str, type_name: &TypeName) {
        let is_regclass = matches!(
            string_parts(&type_name.names).as_deref(),
            Some(["regclass"] | ["pg_catalog", "regclass"])
        );
        if is_regclass && self.rules.scope.is_some() {
            self.regclass_literal(literal);
        }
    }

    fn field_selection(&mut self, name: &str) {
        // `(x).pg_stat_file` calls pg_stat_file(x) whatever x's type, so a refused built-in's
        // name is refused as a field too (no column of a plain read needs such a name).
        match builtins::classify(name) {
            Some(Builtin::Refused(_)) if !self.vouched_name(name) => {
                self.refuse(PolicyViolation::Function(name.to_owned()))
            }
            Some(Builtin::Revealing) if self.rules.scope.is_some() && !self.vouched_name(name) => {
                self.refuse(PolicyViolation::Function(name.to_owned()))
            }
            _ => {}
        }
        let candidates: Vec<_> = self
            .snapshot
            .visible_functions(name)
            .filter(|f| f.takes_one_argument && !f.system && !self.vouched(&f.code.function))
            .map(|f| f.code.to_string())
            .collect();
        for object in candidates {
            self.refuse(PolicyViolation::Reaches {
                what: format!("attribute .{name}"),
                object,
                why: format!("attribute notation x.{name} calls {name}(x)"),
            });
        }
    }

    fn sample_method(&mut self, name: &[Node]) {
        match string_parts(name).as_deref() {
            Some([method])
                if ["system", "bernoulli"].contains(method)
                    && self.snapshot.visible_functions(method).next().is_none() => {}
            Some([method]) => self.unqualified_call(method, 1),
            Some([schema, method]) => self.qualified_call(schema, method, 1),
            _ => self.refuse(PolicyViolation::Function("(unreadable name)".to_owned())),
        }
    }

    fn relation(&mut self, relation: &RangeVar) {
        let schema = (!relation.schemaname.is_empty()).then_some(relation.schemaname.as_str());
        match self.snapshot.resolve_relation(schema, &relation.relname) {
            Some((name, found)) => {
                let found = found.clone();
                self.check_relation(&name, &found, 0);
            }
            // Without scoping, a relation the snapshot does not know is the server's to report:
            // it does not exist, or it is newer than the snapshot and is judged at the next one.
            None if self.rules.scope.is_some() => {
                let written = match schema {
                    Some(schema) => format!("{schema}.{}", relation.relname),
                    None => relation.relname.clone(),
                };
                self.unknown_relation(written);
            }
            None => {}
        }
    }

    fn refuse(&mut self, violation: PolicyViolation) {
        keep_most_severe(&mut self.worst, violation);
    }
}

/// The values of a list of `String` nodes (a qualified name); `None` if any element is not one.
pub(super) fn string_parts(list: &[Node]) -> Option<Vec<&str>> {
    list.iter()
        .map(|node| match node.node.as_ref() {
            Some(NodeEnum::String(text)) => Some(text.sval.as_str()),
            _ => None,
        })
        .collect()
}
