//! Property test: random rows with PII seeded in random positions and encodings — a string value,
//! an object key, a number, bytes (bytea cells and `$binary`), nested in arrays and objects — and
//! nothing seeded may leave.

use super::*;
use base64::Engine as _;

/// One piece of PII: how it is written in text, and as a number when it is one.
#[derive(Debug, Clone)]
struct Seeded {
    text: String,
    number: Option<u64>,
}

/// How a seeded value is placed in a row.
#[derive(Debug, Clone, Copy)]
enum Encoding {
    Value,
    Key,
    Number,
    Bytea,
    Binary,
}

fn cpf_digits(nine: &[u32]) -> String {
    let check = |d: &[u32]| {
        let weight = d.len() as u32 + 1;
        let sum: u32 = d
            .iter()
            .enumerate()
            .map(|(i, v)| v * (weight - i as u32))
            .sum();
        if sum % 11 < 2 {
            0
        } else {
            11 - sum % 11
        }
    };
    let mut d = nine.to_vec();
    d.push(check(&d));
    d.push(check(&d));
    d.iter()
        .map(|v| char::from_digit(*v, 10).unwrap_or('0'))
        .collect()
}

fn card_digits(fifteen: &[u32]) -> String {
    // A Visa prefix keeps it in an issuer range; the last digit makes it pass Luhn.
    let mut d = vec![4];
    d.extend_from_slice(&fifteen[1..]);
    let sum: u32 = d
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &v)| {
            if i % 2 == 0 {
                if v * 2 > 9 {
                    v * 2 - 9
                } else {
                    v * 2
                }
            } else {
                v
            }
        })
        .sum();
    d.push((10 - sum % 10) % 10);
    d.iter()
        .map(|v| char::from_digit(*v, 10).unwrap_or('0'))
        .collect()
}

fn seeded() -> impl Strategy<Value = Seeded> {
    let email = ("[a-z]{1,8}", "(ã|é|ü|)", "[a-z]{2,8}", "(com|com.br|org)").prop_map(
        |(user, accent, domain, tld)| Seeded {
            text: format!("{user}{accent}@{domain}.{tld}"),
            number: None,
        },
    );
    let cpf = (proptest::collection::vec(0u32..10, 9), 0usize..3).prop_map(|(nine, style)| {
        let d = cpf_digits(&nine);
        let text = match style {
            0 => d.clone(),
            1 => format!("{}.{}.{}-{}", &d[0..3], &d[3..6], &d[6..9], &d[9..]),
            _ => format!("{} {} {} {}", &d[0..3], &d[3..6], &d[6..9], &d[9..]),
        };
        // A CPF with a leading zero is no 11-digit number.
        let number = (!d.starts_with('0')).then(|| d.parse().unwrap_or(0));
        Seeded { text, number }
    });
    let card = (proptest::collection::vec(0u32..10, 15), 0usize..3).prop_map(|(digits, style)| {
        let d = card_digits(&digits);
        let grouped = |sep: &str| {
            format!(
                "{}{sep}{}{sep}{}{sep}{}",
                &d[0..4],
                &d[4..8],
                &d[8..12],
                &d[12..]
            )
        };
        let text = match style {
            0 => d.clone(),
            1 => grouped("."),
            _ => grouped(" "),
        };
        Seeded {
            text,
            number: d.parse().ok(),
        }
    });
    prop_oneof![email, cpf, card]
}

fn placed(seed: &Seeded, encoding: Encoding) -> (Value, Option<&'static str>) {
    let b64 = |text: &str| base64::engine::general_purpose::STANDARD.encode(text);
    match (encoding, seed.number) {
        (Encoding::Value, _) => (json!(format!("see {} now", seed.text)), None),
        (Encoding::Key, _) => (json!({ seed.text.clone(): "primary" }), None),
        (Encoding::Number, Some(number)) => (json!(number), None),
        (Encoding::Number, None) => (json!(seed.text), None),
        (Encoding::Bytea, _) => (
            json!(b64(&format!("\u{1}{}\u{0}", seed.text))),
            Some("bytea"),
        ),
        (Encoding::Binary, _) => (
            json!({"$binary": {"base64": b64(&seed.text), "subType": "00"}}),
            None,
        ),
    }
}

fn encoding() -> impl Strategy<Value = Encoding> {
    prop_oneof![
        Just(Encoding::Value),
        Just(Encoding::Key),
        Just(Encoding::Number),
        Just(Encoding::Bytea),
        Just(Encoding::Binary),
    ]
}

/// Wraps a value `depth` times in arrays and objects.
fn nested(mut value: Value, depth: usize) -> Value {
    for level in 0..depth {
        value = if level % 2 == 0 {
            json!([1, value])
        } else {
            json!({"k": value, "n": 2})
        };
    }
    value
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn nothing_seeded_leaves(
        cells in proptest::collection::vec((seeded(), encoding(), 0usize..3), 1..6),
        filler in "[a-z ]{0,20}",
    ) {
        let engine = shared_engine();
        let mut columns = Vec::new();
        let mut row = Vec::new();
        for (index, (seed, encoding, depth)) in cells.iter().enumerate() {
            let (value, binary_type) = placed(seed, *encoding);
            // bytea cells are top-level in their column; the rest may be nested.
            let value = if binary_type.is_some() { value } else { nested(value, *depth) };
            columns.push(Column { name: format!("c{index}"), type_name: binary_type.unwrap_or("jsonb").into() });
            row.push(value);
        }
        columns.push(Column { name: "filler".into(), type_name: "text".into() });
        row.push(json!(filler));
        let mut rows = vec![row];
        let original = serde_json::to_string(&rows).unwrap();
        let mut counts = MaskedCounts::default();
        engine.mask_rows(&columns, &mut rows, &mut counts);
        let out = serde_json::to_string(&rows).unwrap();
        for (seed, encoding, _) in &cells {
            prop_assert!(!out.contains(&seed.text), "{:?} {encoding:?} left in {out}", seed.text);
            if let Some(number) = seed.number {
                prop_assert!(!out.contains(&number.to_string()), "{number} left in {out}");
            }
        }
        for (index, (_, encoding, _)) in cells.iter().enumerate() {
            if matches!(encoding, Encoding::Bytea | Encoding::Binary) {
                let before: Vec<Value> = serde_json::from_str(&original).unwrap();
                prop_assert_ne!(&rows[0][index], &before[0][index], "bytes left in {}", out);
            }
        }
        prop_assert!(counts.total >= cells.len() as u64);
    }
}
