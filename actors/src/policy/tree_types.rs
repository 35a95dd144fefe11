//! The typed walk's type names: casts, typed literals and the column definitions of function
//! column lists and JSON_TABLE, each reported to the inspector, and XML nodes.

use super::tree::{Inspector, Walker};
use super::PolicyViolation;
use pg_query::protobuf::{a_const, AConst, ColumnDef, TypeCast, TypeName, XmlExpr};
use pg_query::{Node, NodeEnum};

impl<I: Inspector> Walker<'_, I> {
    pub(super) fn type_cast(&mut self, cast: &TypeCast) {
        let TypeCast {
            arg,
            type_name,
            location: _,
        } = cast;
        if let Some(type_name) = type_name {
            self.type_name(type_name);
            if let Some(literal) = string_constant(arg) {
                self.inspector.literal_cast(literal, type_name);
            }
        }
        self.boxed(arg);
    }

    pub(super) fn type_name(&mut self, type_name: &TypeName) {
        let TypeName {
            names,
            type_oid: _,
            setof: _,
            pct_type,
            typmods,
            typemod: _,
            array_bounds,
            location: _,
        } = type_name;
        if *pct_type {
            self.inspector
                .refuse(PolicyViolation::Other("a %TYPE reference".to_owned()));
        }
        self.inspector.type_name(type_name);
        self.nodes(names);
        self.nodes(typmods);
        self.nodes(array_bounds);
    }

    /// A column of a function's column list (`AS t(a int)`) or of JSON_TABLE.
    pub(super) fn column_def(&mut self, column: &ColumnDef) {
        let ColumnDef {
            colname: _,
            type_name,
            compression: _,
            inhcount: _,
            is_local: _,
            is_not_null: _,
            is_from_type: _,
            storage: _,
            storage_name: _,
            raw_default,
            cooked_default,
            identity: _,
            identity_sequence,
            generated: _,
            coll_clause,
            coll_oid: _,
            constraints,
            fdwoptions,
            location: _,
        } = column;
        if let Some(type_name) = type_name {
            self.type_name(type_name);
        }
        if identity_sequence.is_some() {
            self.inspector
                .refuse(PolicyViolation::Other("an identity sequence".to_owned()));
        }
        self.boxed(raw_default);
        self.boxed(cooked_default);
        if let Some(collate) = coll_clause {
            self.collate(collate);
        }
        self.nodes(constraints);
        self.nodes(fdwoptions);
    }

    pub(super) fn xml(&mut self, xml: &XmlExpr) {
        let XmlExpr {
            xpr,
            op: _,
            name: _,
            named_args,
            arg_names,
            args,
            xmloption: _,
            indent: _,
            r#type: _,
            typmod: _,
            location: _,
        } = xml;
        self.boxed(xpr);
        self.nodes(named_args);
        self.nodes(arg_names);
        self.nodes(args);
    }
}

/// The text of a string constant, if the node is one.
fn string_constant(node: &Option<Box<Node>>) -> Option<&str> {
    match node.as_deref()?.node.as_ref()? {
        NodeEnum::AConst(AConst {
            val: Some(a_const::Val::Sval(text)),
            ..
        }) => Some(&text.sval),
        _ => None,
    }
}
