//! The catalog queries behind a resource's catalog snapshot. Like every statement the relay sends
//! they are fully schema-qualified, operators included (`OPERATOR(pg_catalog.=)`), and compare
//! only values of exactly the operator's types, so no object of the database's users can be
//! chosen by name resolution while they run.
//!
//! Objects with an oid below 16384 (`FirstNormalObjectId`) were created with the database; anything
//! else, wherever it lives, is somebody's own. `$1` of the dependency queries is the list of
//! built-in functions the policy allows, so only dependencies the policy must judge come back.

/// A cheap signature of everything the snapshot is read from: when it is unchanged, so is the
/// snapshot, and the health check reads nothing more.
pub const FINGERPRINT_SQL: &str = "\
SELECT pg_catalog.md5(pg_catalog.concat_ws(',',
         pg_catalog.array_to_string(pg_catalog.current_schemas(false), '.'),
         (SELECT pg_catalog.concat(pg_catalog.count(*), '/', pg_catalog.sum(x.xmin::pg_catalog.text::pg_catalog.int8))
            FROM pg_catalog.pg_class x),
         (SELECT pg_catalog.concat(pg_catalog.count(*), '/', pg_catalog.sum(x.xmin::pg_catalog.text::pg_catalog.int8))
            FROM pg_catalog.pg_proc x),
         (SELECT pg_catalog.concat(pg_catalog.count(*), '/', pg_catalog.sum(x.xmin::pg_catalog.text::pg_catalog.int8))
            FROM pg_catalog.pg_operator x),
         (SELECT pg_catalog.concat(pg_catalog.count(*), '/', pg_catalog.sum(x.xmin::pg_catalog.text::pg_catalog.int8))
            FROM pg_catalog.pg_type x),
         (SELECT pg_catalog.concat(pg_catalog.count(*), '/', pg_catalog.sum(x.xmin::pg_catalog.text::pg_catalog.int8))
            FROM pg_catalog.pg_cast x),
         (SELECT pg_catalog.concat(pg_catalog.count(*), '/', pg_catalog.sum(x.xmin::pg_catalog.text::pg_catalog.int8))
            FROM pg_catalog.pg_rewrite x),
         (SELECT pg_catalog.concat(pg_catalog.count(*), '/', pg_catalog.sum(x.xmin::pg_catalog.text::pg_catalog.int8))
            FROM pg_catalog.pg_policy x),
         (SELECT pg_catalog.concat(pg_catalog.count(*), '/', pg_catalog.sum(x.xmin::pg_catalog.text::pg_catalog.int8))
            FROM pg_catalog.pg_constraint x),
         (SELECT pg_catalog.concat(pg_catalog.count(*), '/', pg_catalog.sum(x.xmin::pg_catalog.text::pg_catalog.int8))
            FROM pg_catalog.pg_namespace x),
         (SELECT pg_catalog.concat(pg_catalog.count(*), '/', pg_catalog.sum(x.xmin::pg_catalog.text::pg_catalog.int8))
            FROM pg_catalog.pg_inherits x),
         (SELECT pg_catalog.concat(pg_catalog.count(*), '/', pg_catalog.sum(x.xmin::pg_catalog.text::pg_catalog.int8))
            FROM pg_catalog.pg_auth_members x)))";

/// The schemas the session searches, `pg_catalog` first.
pub const SEARCH_PATH_SQL: &str = "SELECT pg_catalog.current_schemas(false)::pg_catalog.text[]";

/// Functions outside the built-ins that the role may execute.
pub const FUNCTIONS_SQL: &str = "\
SELECT n.nspname::pg_catalog.text, p.proname::pg_catalog.text,
       pg_catalog.pg_get_function_identity_arguments(p.oid),
       p.pronargs OPERATOR(pg_catalog.>=) 1::pg_catalog.int2
         AND (p.pronargs OPERATOR(pg_catalog.-) p.pronargdefaults) OPERATOR(pg_catalog.<=) 1::pg_catalog.int2,
       p.provolatile::pg_catalog.text, p.prosecdef, l.lanname::pg_catalog.text,
       pg_catalog.pg_get_userbyid(p.proowner)::pg_catalog.text,
       p.oid OPERATOR(pg_catalog.<) 16384::pg_catalog.oid
  FROM pg_catalog.pg_proc p
  JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) p.pronamespace
  JOIN pg_catalog.pg_language l ON l.oid OPERATOR(pg_catalog.=) p.prolang
 WHERE (p.oid OPERATOR(pg_catalog.>=) 16384::pg_catalog.oid
        OR n.nspname OPERATOR(pg_catalog.<>) 'pg_catalog'::pg_catalog.name)
   AND pg_catalog.has_schema_privilege(n.oid, 'USAGE'::pg_catalog.text)
   AND pg_catalog.has_function_privilege(p.oid, 'EXECUTE'::pg_catalog.text)";

/// `(schema, name, arguments, builtin)` of the function `f` in namespace `fn`.
macro_rules! code_columns {
    () => {
        "fn.nspname::pg_catalog.text, f.proname::pg_catalog.text,
       pg_catalog.pg_get_function_identity_arguments(f.oid),
       f.oid OPERATOR(pg_catalog.<) 16384::pg_catalog.oid
         AND fn.nspname OPERATOR(pg_catalog.=) 'pg_catalog'::pg_catalog.name"
    };
}

/// Operators outside the built-ins, with the functions behind them.
pub const OPERATORS_SQL: &str = concat!(
    "SELECT n.nspname::pg_catalog.text, o.oprname::pg_catalog.text,
       pg_catalog.format_type(o.oprleft, NULL::pg_catalog.int4),
       pg_catalog.format_type(o.oprright, NULL::pg_catalog.int4), ",
    code_columns!(),
    "
  FROM pg_catalog.pg_operator o
  JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) o.oprnamespace
  JOIN pg_catalog.pg_proc f ON f.oid OPERATOR(pg_catalog.=) o.oprcode::pg_catalog.oid
  JOIN pg_catalog.pg_namespace fn ON fn.oid OPERATOR(pg_catalog.=) f.pronamespace
 WHERE (o.oid OPERATOR(pg_catalog.>=) 16384::pg_catalog.oid
        OR n.nspname OPERATOR(pg_catalog.<>) 'pg_catalog'::pg_catalog.name)
   AND pg_catalog.has_schema_privilege(n.oid, 'USAGE'::pg_catalog.text)"
);

/// Types whose use runs code: I/O functions that are not built in (`io`), domain constraints and
/// casts (`coercion`). Rows: type oid, schema, name, class, how, then the code's columns.
pub const TYPE_CODE_SQL: &str = concat!(
    "SELECT t.oid, n.nspname::pg_catalog.text, t.typname::pg_catalog.text, 'io'::pg_catalog.text,
       pg_catalog.concat('its ', io.kind, ' function'), ",
    code_columns!(),
    "
  FROM pg_catalog.pg_type t
  JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) t.typnamespace
  CROSS JOIN LATERAL (VALUES ('input', t.typinput::pg_catalog.oid), ('output', t.typoutput::pg_catalog.oid),
      ('receive', t.typreceive::pg_catalog.oid), ('send', t.typsend::pg_catalog.oid),
      ('type modifier input', t.typmodin::pg_catalog.oid), ('type modifier output', t.typmodout::pg_catalog.oid),
      ('analyze', t.typanalyze::pg_catalog.oid), ('subscript', t.typsubscript::pg_catalog.oid)) AS io(kind, func)
  JOIN pg_catalog.pg_proc f ON f.oid OPERATOR(pg_catalog.=) io.func
  JOIN pg_catalog.pg_namespace fn ON fn.oid OPERATOR(pg_catalog.=) f.pronamespace
 WHERE f.oid OPERATOR(pg_catalog.>=) 16384::pg_catalog.oid
UNION ALL
SELECT t.oid, n.nspname::pg_catalog.text, t.typname::pg_catalog.text, 'io'::pg_catalog.text,
       pg_catalog.concat('its range ', rf.kind, ' function'), ",
    code_columns!(),
    "
  FROM pg_catalog.pg_range r
  JOIN pg_catalog.pg_type t ON t.oid OPERATOR(pg_catalog.=) r.rngtypid
  JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) t.typnamespace
  CROSS JOIN LATERAL (VALUES ('canonical', r.rngcanonical::pg_catalog.oid),
      ('subtype difference', r.rngsubdiff::pg_catalog.oid)) AS rf(kind, func)
  JOIN pg_catalog.pg_proc f ON f.oid OPERATOR(pg_catalog.=) rf.func
  JOIN pg_catalog.pg_namespace fn ON fn.oid OPERATOR(pg_catalog.=) f.pronamespace
 WHERE f.oid OPERATOR(pg_catalog.>=) 16384::pg_catalog.oid
UNION ALL
SELECT t.oid, n.nspname::pg_catalog.text, t.typname::pg_catalog.text, 'coercion'::pg_catalog.text,
       pg_catalog.concat('its constraint ', c.conname), ",
    code_columns!(),
    "
  FROM pg_catalog.pg_constraint c
  JOIN pg_catalog.pg_type t ON t.oid OPERATOR(pg_catalog.=) c.contypid
  JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) t.typnamespace
  JOIN pg_catalog.pg_depend d ON d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_constraint'::pg_catalog.regclass::pg_catalog.oid
                             AND d.objid OPERATOR(pg_catalog.=) c.oid
  JOIN pg_catalog.pg_proc f ON f.oid OPERATOR(pg_catalog.=) CASE
         WHEN d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_proc'::pg_catalog.regclass::pg_catalog.oid THEN d.refobjid
         WHEN d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_operator'::pg_catalog.regclass::pg_catalog.oid
           THEN (SELECT o.oprcode::pg_catalog.oid FROM pg_catalog.pg_operator o
                  WHERE o.oid OPERATOR(pg_catalog.=) d.refobjid) END
  JOIN pg_catalog.pg_namespace fn ON fn.oid OPERATOR(pg_catalog.=) f.pronamespace
 WHERE c.contypid OPERATOR(pg_catalog.<>) 0::pg_catalog.oid
   AND NOT (f.oid OPERATOR(pg_catalog.<) 16384::pg_catalog.oid
            AND fn.nspname OPERATOR(pg_catalog.=) 'pg_catalog'::pg_catalog.name
            AND f.proname::pg_catalog.text OPERATOR(pg_catalog.=) ANY ($1::pg_catalog.text[]))
UNION ALL
SELECT t.oid, n.nspname::pg_catalog.text, t.typname::pg_catalog.text, 'coercion'::pg_catalog.text,
       pg_catalog.concat('a cast between ', pg_catalog.format_type(c.castsource, NULL::pg_catalog.int4),
                         ' and ', pg_catalog.format_type(c.casttarget, NULL::pg_catalog.int4)), ",
    code_columns!(),
    "
  FROM pg_catalog.pg_cast c
  JOIN pg_catalog.pg_type t ON t.oid OPERATOR(pg_catalog.=) ANY (ARRAY[c.castsource, c.casttarget])
                           AND t.oid OPERATOR(pg_catalog.>=) 16384::pg_catalog.oid
  JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) t.typnamespace
  JOIN pg_catalog.pg_proc f ON f.oid OPERATOR(pg_catalog.=) c.castfunc
  JOIN pg_catalog.pg_namespace fn ON fn.oid OPERATOR(pg_catalog.=) f.pronamespace
 WHERE c.oid OPERATOR(pg_catalog.>=) 16384::pg_catalog.oid"
);

/// Types that hold one of the types `$1` (arrays of them, domains over them or whose constraints
/// use them, ranges of them, composite types with a column of them): the container's oid, schema
/// and name, the held type, how it holds it, and for a table's row type the table's oid.
pub const CONTAINING_TYPES_SQL: &str = "\
SELECT t.oid, n.nspname::pg_catalog.text, t.typname::pg_catalog.text, t.typelem, 'its element type'::pg_catalog.text,
       NULL::pg_catalog.oid
  FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) t.typnamespace
 WHERE t.typelem OPERATOR(pg_catalog.=) ANY ($1::pg_catalog.oid[])
   AND t.typsubscript::pg_catalog.oid OPERATOR(pg_catalog.=) 'pg_catalog.array_subscript_handler'::pg_catalog.regproc::pg_catalog.oid
UNION ALL
SELECT t.oid, n.nspname::pg_catalog.text, t.typname::pg_catalog.text, t.typbasetype, 'its base type'::pg_catalog.text,
       NULL::pg_catalog.oid
  FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) t.typnamespace
 WHERE t.typbasetype OPERATOR(pg_catalog.=) ANY ($1::pg_catalog.oid[])
UNION ALL
SELECT t.oid, n.nspname::pg_catalog.text, t.typname::pg_catalog.text, r.rngsubtype, 'its subtype'::pg_catalog.text,
       NULL::pg_catalog.oid
  FROM pg_catalog.pg_range r
  JOIN pg_catalog.pg_type t ON t.oid OPERATOR(pg_catalog.=) ANY (ARRAY[r.rngtypid, r.rngmultitypid])
  JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) t.typnamespace
 WHERE r.rngsubtype OPERATOR(pg_catalog.=) ANY ($1::pg_catalog.oid[])
UNION ALL
SELECT t.oid, n.nspname::pg_catalog.text, t.typname::pg_catalog.text, a.atttypid,
       pg_catalog.concat('its column ', a.attname), c.oid
  FROM pg_catalog.pg_attribute a
  JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) a.attrelid
  JOIN pg_catalog.pg_type t ON t.oid OPERATOR(pg_catalog.=) c.reltype
  JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) t.typnamespace
 WHERE a.atttypid OPERATOR(pg_catalog.=) ANY ($1::pg_catalog.oid[])
   AND a.attnum OPERATOR(pg_catalog.>) 0::pg_catalog.int2 AND NOT a.attisdropped
UNION ALL
SELECT t.oid, n.nspname::pg_catalog.text, t.typname::pg_catalog.text, d.refobjid,
       pg_catalog.concat('its constraint ', c.conname), NULL::pg_catalog.oid
  FROM pg_catalog.pg_constraint c
  JOIN pg_catalog.pg_type t ON t.oid OPERATOR(pg_catalog.=) c.contypid
  JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) t.typnamespace
  JOIN pg_catalog.pg_depend d ON d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_constraint'::pg_catalog.regclass::pg_catalog.oid
                             AND d.objid OPERATOR(pg_catalog.=) c.oid
                             AND d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_type'::pg_catalog.regclass::pg_catalog.oid
 WHERE d.refobjid OPERATOR(pg_catalog.=) ANY ($1::pg_catalog.oid[])";

/// Relations of the searched schemas (`$1`), and every other relation outside the built-ins the
/// role may reach: oid, schema, name, kind, created with the database.
pub const RELATIONS_SQL: &str = "\
SELECT c.oid, n.nspname::pg_catalog.text, c.relname::pg_catalog.text, c.relkind::pg_catalog.text,
       c.oid OPERATOR(pg_catalog.<) 16384::pg_catalog.oid
  FROM pg_catalog.pg_class c
  JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
 WHERE c.relkind OPERATOR(pg_catalog.=) ANY ('{r,p,v,m,f}'::pg_catalog.\"char\"[])
   AND (n.nspname::pg_catalog.text OPERATOR(pg_catalog.=) ANY ($1::pg_catalog.text[])
        OR (c.oid OPERATOR(pg_catalog.>=) 16384::pg_catalog.oid
            AND pg_catalog.has_schema_privilege(n.oid, 'USAGE'::pg_catalog.text)))";

/// What reading a relation outside the built-ins runs or reads: through a view's rule, a
/// row-level security policy, a foreign-data wrapper or a virtual generated column. Rows: the
/// relation's oid, how, then the code's columns, or the oid of a relation it reads, or the oid of
/// a type it uses.
pub const RELATION_CODE_SQL: &str = concat!(
    "WITH deps AS (
  SELECT r.ev_class AS rel, 'its view definition'::pg_catalog.text AS via, d.refclassid, d.refobjid
    FROM pg_catalog.pg_rewrite r
    JOIN pg_catalog.pg_class v ON v.oid OPERATOR(pg_catalog.=) r.ev_class
    JOIN pg_catalog.pg_depend d ON d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_rewrite'::pg_catalog.regclass::pg_catalog.oid
                               AND d.objid OPERATOR(pg_catalog.=) r.oid
   WHERE v.relkind OPERATOR(pg_catalog.=) 'v'::pg_catalog.\"char\"
     AND v.oid OPERATOR(pg_catalog.>=) 16384::pg_catalog.oid
     AND d.refobjid OPERATOR(pg_catalog.<>) r.ev_class
  UNION ALL
  SELECT p.polrelid, pg_catalog.concat('its row-level security policy ', p.polname), d.refclassid, d.refobjid
    FROM pg_catalog.pg_policy p
    JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) p.polrelid
    JOIN pg_catalog.pg_depend d ON d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_policy'::pg_catalog.regclass::pg_catalog.oid
                               AND d.objid OPERATOR(pg_catalog.=) p.oid
   WHERE c.relrowsecurity AND d.refobjid OPERATOR(pg_catalog.<>) p.polrelid
  UNION ALL
  SELECT a.attrelid, pg_catalog.concat('its generated column ', a.attname), d.refclassid, d.refobjid
    FROM pg_catalog.pg_attribute a
    JOIN pg_catalog.pg_attrdef ad ON ad.adrelid OPERATOR(pg_catalog.=) a.attrelid AND ad.adnum OPERATOR(pg_catalog.=) a.attnum
    JOIN pg_catalog.pg_depend d ON d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_attrdef'::pg_catalog.regclass::pg_catalog.oid
                               AND d.objid OPERATOR(pg_catalog.=) ad.oid
   WHERE a.attgenerated OPERATOR(pg_catalog.=) 'v'::pg_catalog.\"char\"
  UNION ALL
  SELECT ft.ftrelid, pg_catalog.concat('its foreign-data wrapper ', w.fdwname),
         'pg_catalog.pg_proc'::pg_catalog.regclass::pg_catalog.oid, w.fdwhandler::pg_catalog.oid
    FROM pg_catalog.pg_foreign_table ft
    JOIN pg_catalog.pg_foreign_server s ON s.oid OPERATOR(pg_catalog.=) ft.ftserver
    JOIN pg_catalog.pg_foreign_data_wrapper w ON w.oid OPERATOR(pg_catalog.=) s.srvfdw
)
SELECT deps.rel, deps.via, ",
    code_columns!(),
    ", NULL::pg_catalog.oid, NULL::pg_catalog.oid
  FROM deps
  JOIN pg_catalog.pg_proc f ON f.oid OPERATOR(pg_catalog.=) CASE
         WHEN deps.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_proc'::pg_catalog.regclass::pg_catalog.oid THEN deps.refobjid
         WHEN deps.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_operator'::pg_catalog.regclass::pg_catalog.oid
           THEN (SELECT o.oprcode::pg_catalog.oid FROM pg_catalog.pg_operator o
                  WHERE o.oid OPERATOR(pg_catalog.=) deps.refobjid) END
  JOIN pg_catalog.pg_namespace fn ON fn.oid OPERATOR(pg_catalog.=) f.pronamespace
 WHERE NOT (f.oid OPERATOR(pg_catalog.<) 16384::pg_catalog.oid
            AND fn.nspname OPERATOR(pg_catalog.=) 'pg_catalog'::pg_catalog.name
            AND f.proname::pg_catalog.text OPERATOR(pg_catalog.=) ANY ($1::pg_catalog.text[]))
UNION ALL
SELECT DISTINCT deps.rel, deps.via, NULL::pg_catalog.text, NULL::pg_catalog.text, NULL::pg_catalog.text,
       NULL::pg_catalog.bool, deps.refobjid, NULL::pg_catalog.oid
  FROM deps
 WHERE deps.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass::pg_catalog.oid
UNION ALL
SELECT DISTINCT deps.rel, deps.via, NULL::pg_catalog.text, NULL::pg_catalog.text, NULL::pg_catalog.text,
       NULL::pg_catalog.bool, NULL::pg_catalog.oid, deps.refobjid
  FROM deps
 WHERE deps.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_type'::pg_catalog.regclass::pg_catalog.oid
   AND deps.refobjid OPERATOR(pg_catalog.>=) 16384::pg_catalog.oid
UNION ALL
SELECT i.inhparent, 'its partitions and child tables'::pg_catalog.text, NULL::pg_catalog.text,
       NULL::pg_catalog.text, NULL::pg_catalog.text, NULL::pg_catalog.bool, i.inhrelid, NULL::pg_catalog.oid
  FROM pg_catalog.pg_inherits i
 WHERE i.inhparent OPERATOR(pg_catalog.>=) 16384::pg_catalog.oid"
);

/// The distinct column names of the relations `$1`, for matching against the column rules.
pub const COLUMN_NAMES_SQL: &str = "\
SELECT DISTINCT a.attname::pg_catalog.text
  FROM pg_catalog.pg_attribute a
 WHERE a.attrelid OPERATOR(pg_catalog.=) ANY ($1::pg_catalog.oid[])
   AND a.attnum OPERATOR(pg_catalog.>) 0::pg_catalog.int2 AND NOT a.attisdropped";

/// The columns named `$2` of the relations `$1`: relation, position, name.
pub const NAMED_COLUMNS_SQL: &str = "\
SELECT a.attrelid, a.attnum, a.attname::pg_catalog.text
  FROM pg_catalog.pg_attribute a
 WHERE a.attrelid OPERATOR(pg_catalog.=) ANY ($1::pg_catalog.oid[])
   AND a.attname::pg_catalog.text OPERATOR(pg_catalog.=) ANY ($2::pg_catalog.text[])
   AND a.attnum OPERATOR(pg_catalog.>) 0::pg_catalog.int2 AND NOT a.attisdropped";

/// Views and materialized views reading a column of the relations `$1`: the view, and its
/// definition.
pub const DERIVED_VIEWS_SQL: &str = "\
SELECT DISTINCT r.ev_class, pg_catalog.pg_get_viewdef(r.ev_class, false)
  FROM pg_catalog.pg_rewrite r
  JOIN pg_catalog.pg_class v ON v.oid OPERATOR(pg_catalog.=) r.ev_class
  JOIN pg_catalog.pg_depend d ON d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_rewrite'::pg_catalog.regclass::pg_catalog.oid
                             AND d.objid OPERATOR(pg_catalog.=) r.oid
 WHERE v.relkind OPERATOR(pg_catalog.=) ANY ('{v,m}'::pg_catalog.\"char\"[])
   AND d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass::pg_catalog.oid
   AND d.refobjid OPERATOR(pg_catalog.=) ANY ($1::pg_catalog.oid[])
   AND d.refobjid OPERATOR(pg_catalog.<>) r.ev_class";

/// The columns of the views `$1`: view, position, name.
pub const VIEW_COLUMNS_SQL: &str = "\
SELECT a.attrelid, a.attnum, a.attname::pg_catalog.text
  FROM pg_catalog.pg_attribute a
 WHERE a.attrelid OPERATOR(pg_catalog.=) ANY ($1::pg_catalog.oid[])
   AND a.attnum OPERATOR(pg_catalog.>) 0::pg_catalog.int2 AND NOT a.attisdropped
 ORDER BY a.attrelid, a.attnum";
