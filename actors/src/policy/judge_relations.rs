//! The relation half of the judgement: what reading a relation runs (its view definition,
//! row-level security, foreign-data wrapper) and reads (a view's base relations, a parent's
//! partitions), followed through nested views, and whether each is in the table scope.

use super::catalog::{QualifiedName, Relation};
use super::judge::{Judge, MAX_VIEW_DEPTH};
use super::tree::Inspector;
use super::PolicyViolation;

impl Judge<'_> {
    pub(super) fn check_relation(
        &mut self,
        name: &QualifiedName,
        relation: &Relation,
        depth: usize,
    ) {
        if let Some(scope) = &self.rules.scope {
            if !scope.permits(name) {
                self.refuse(PolicyViolation::NotAllowedRelation(name.to_string()));
            }
        }
        let vouched = self
            .rules
            .relations
            .iter()
            .any(|p| p.matches_qualified(name));
        if relation.system || vouched {
            return;
        }
        for reach in &relation.runs {
            self.judge_reach(|| format!("relation {name}"), reach);
        }
        if depth >= MAX_VIEW_DEPTH {
            self.refuse(PolicyViolation::Other(format!(
                "views nested deeper than {MAX_VIEW_DEPTH} levels under {name}"
            )));
            return;
        }
        for read in &relation.reads {
            match self.snapshot.relations.get(read) {
                Some(inner) => self.check_relation(read, inner, depth + 1),
                None if self.rules.scope.is_some() => self.unknown_relation(read.to_string()),
                None => {}
            }
        }
    }

    pub(super) fn unknown_relation(&mut self, name: String) {
        self.refuse(PolicyViolation::NotAllowedRelation(format!(
            "{name} (not in the relay's catalog snapshot; it may be newer)"
        )));
    }

    /// `'name'::regclass` names a relation, which with table scoping must be in scope.
    pub(super) fn regclass_literal(&mut self, literal: &str) {
        let parts = split_identifier(literal);
        let (schema, name) = match parts.as_slice() {
            [name] => (None, name.as_str()),
            [schema, name] => (Some(schema.as_str()), name.as_str()),
            _ => return self.unknown_relation(literal.to_owned()),
        };
        match self.snapshot.resolve_relation(schema, name) {
            Some((qualified, relation)) => {
                let relation = relation.clone();
                self.check_relation(&qualified, &relation, 0);
            }
            None => self.unknown_relation(literal.to_owned()),
        }
    }
}

/// `schema.name` as `regclass` reads it: unquoted parts folded to lower case, `"..."` kept.
fn split_identifier(text: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut chars = text.trim().chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                current.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            '.' if !quoted => parts.push(std::mem::take(&mut current)),
            c if quoted => current.push(c),
            c => current.push(c.to_ascii_lowercase()),
        }
    }
    parts.push(current);
    parts
}
