//! Chain tests: canonical form, sealing, and verification of intact and tampered chains.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use serde_json::json;

fn body(kind: &str, n: u64) -> Map<String, Value> {
    let Value::Object(map) = json!({"kind": kind, "n": n, "nested": {"b": 1, "a": [2, "x"]}})
    else {
        unreachable!()
    };
    map
}

fn chain_lines(id: &str, count: u64) -> Vec<String> {
    let mut chain = Chain::new(id.into());
    let mut lines = vec![Value::Object(chain.seal(body(GENESIS_KIND, 0))).to_string()];
    for n in 1..count {
        lines.push(Value::Object(chain.seal(body("operation", n))).to_string());
    }
    lines
}

#[test]
fn canonical_form_sorts_keys_at_every_depth() {
    let value = json!({"b": {"z": 1, "a": [true, null]}, "a": "é\""});
    assert_eq!(
        canonical(&value),
        r#"{"a":"é\"","b":{"a":[true,null],"z":1}}"#
    );
    let scalars = json!({"k\n": [-1, 0.5, 1e300, "\u{1}\t"], "": u64::MAX});
    assert_eq!(
        canonical(&scalars),
        r#"{"":18446744073709551615,"k\n":[-1,0.5,1e+300,"\u0001\t"]}"#
    );
}

#[test]
fn an_intact_chain_verifies_whatever_the_surrounding_lines() {
    let mut lines = vec![
        "{\"level\":\"info\",\"msg\":\"Relay starting\"}".to_owned(),
        "not json".to_owned(),
    ];
    for line in chain_lines("c1", 5) {
        let record: Value = serde_json::from_str(&line).unwrap();
        lines.push(json!({"level": "info", "time": "t", "msg": "Audit record", "log": "audit", "record": record}).to_string());
    }
    assert_eq!(
        verify(&lines),
        Verdict::Intact {
            records: 5,
            chains: 1
        }
    );
    assert_eq!(
        verify(chain_lines("c1", 5)),
        Verdict::Intact {
            records: 5,
            chains: 1
        }
    );
}

#[test]
fn two_interleaved_chains_verify() {
    let (a, b) = (chain_lines("a", 3), chain_lines("b", 3));
    let lines = vec![&a[0], &b[0], &a[1], &b[1], &b[2], &a[2]];
    assert_eq!(
        verify(lines),
        Verdict::Intact {
            records: 6,
            chains: 2
        }
    );
}

fn broken_seq(verdict: Verdict) -> (u64, String) {
    match verdict {
        Verdict::Broken { seq, reason, .. } => (seq, reason),
        intact => panic!("expected a broken chain, got {intact:?}"),
    }
}

#[test]
fn an_edited_record_is_pinpointed() {
    let mut lines = chain_lines("c", 5);
    lines[3] = lines[3].replace("\"n\":3", "\"n\":4");
    let (seq, reason) = broken_seq(verify(&lines));
    assert_eq!(seq, 3);
    assert!(reason.starts_with("edited"), "{reason}");
}

#[test]
fn a_deleted_record_is_pinpointed() {
    let mut lines = chain_lines("c", 5);
    lines.remove(2);
    let (seq, reason) = broken_seq(verify(&lines));
    assert_eq!((seq, reason.as_str()), (3, "records 2 to 2 are missing"));
    let (seq, _) = broken_seq(verify(&chain_lines("c", 5)[1..]));
    assert_eq!(seq, 1, "a chain without its genesis record is broken");
}

#[test]
fn reordered_records_are_pinpointed() {
    let mut lines = chain_lines("c", 5);
    lines.swap(2, 3);
    let (seq, reason) = broken_seq(verify(&lines));
    assert_eq!(seq, 3);
    assert!(reason.contains("missing"), "{reason}");
}

#[test]
fn a_rehashed_forgery_breaks_the_link() {
    // Editing a record and recomputing its own hash still breaks the next record's prev.
    let mut lines = chain_lines("c", 4);
    let mut forged: Map<String, Value> = serde_json::from_str(&lines[1]).unwrap();
    forged.insert("n".into(), json!(99));
    forged.remove("hash");
    let hash = record_hash(&forged);
    forged.insert("hash".into(), json!(hash));
    lines[1] = Value::Object(forged).to_string();
    let (seq, reason) = broken_seq(verify(&lines));
    assert_eq!(seq, 2);
    assert!(reason.starts_with("prev does not match"), "{reason}");
}

#[test]
fn a_record_that_writes_its_own_canonical_form_seals_as_its_map_would() {
    let mut by_map = Chain::new("c".into());
    let mut written = Chain::new("c".into());
    for n in 0..3 {
        let kind = if n == 0 { GENESIS_KIND } else { "operation" };
        let sealed = by_map.seal(body(kind, n));
        let canonical_of = |link: &Link<'_>, out: &mut Vec<u8>| {
            let mut fields = body(kind, n);
            fields.insert("chainId".into(), Value::from(link.chain_id));
            fields.insert("seq".into(), Value::from(link.seq));
            fields.insert("prev".into(), Value::from(link.prev));
            out.extend_from_slice(canonical(&Value::Object(fields)).as_bytes());
            Ok::<(), &str>(())
        };
        // Neither a canonical form nor a line that fails moves the chain.
        let refused = written.seal_written(
            |_, out| {
                out.extend_from_slice(b"{\"half");
                Err("cannot write")
            },
            |_, _| Ok(()),
        );
        assert_eq!(refused, Err("cannot write"));
        let unwritten = written.seal_written(canonical_of, |_, _| Err::<(), _>("no line"));
        assert_eq!(unwritten, Err("no line"));
        let (seq, (prev, hash)) = written
            .seal_written(canonical_of, |link, hash| {
                Ok((link.prev.to_owned(), hash.to_owned()))
            })
            .unwrap();
        assert_eq!(Some(&Value::from(seq)), sealed.get("seq"));
        assert_eq!(Some(&Value::from(prev)), sealed.get("prev"));
        assert_eq!(Some(&Value::from(hash)), sealed.get("hash"));
    }
}
