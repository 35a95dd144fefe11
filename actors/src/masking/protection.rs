//! The masking column rules as the catalog snapshot and the lineage see them: which table columns
//! they protect, and which of several rules wins.

use super::MaskingEngine;
use crate::policy::catalog::QualifiedName;
use crate::policy::lineage::ColumnProtection;

impl ColumnProtection for MaskingEngine {
    fn may_protect(&self, column: &str) -> bool {
        self.columns.may_protect(column)
    }

    fn rule_for(&self, relation: &QualifiedName, column: &str) -> Option<usize> {
        self.columns.rule_of(relation, column)
    }

    fn strictest(&self, rules: &mut dyn Iterator<Item = usize>) -> Option<usize> {
        self.columns.strictest(rules)
    }

    fn any_rule(&self, relation: &QualifiedName) -> Option<usize> {
        self.columns
            .strictest(&mut self.columns.covering(relation).into_iter())
    }

    fn scoped_to(&self, relation: &QualifiedName) -> Vec<usize> {
        self.columns.scoped_to(relation)
    }
}
