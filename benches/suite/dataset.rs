//! The benchmark dataset: deterministic, realistic customer rows (Brazilian names, e-mails, formatted
//! CPFs, phones, addresses and free-text notes of which about a third carry an e-mail or a CPF).

use fastrand::Rng;

/// The seed every run uses, so every run measures the same data.
pub const SEED: u64 = 0x5EED_2026;

const FIRST: &[&str] = &[
    "Ana", "Bruno", "Carla", "Diego", "Eduarda", "Felipe", "Gabriela", "Heitor", "Isabela", "João",
    "Larissa", "Marcos", "Natália", "Otávio", "Paula", "Rafael", "Sofia", "Thiago", "Vitória",
    "Yuri",
];
const LAST: &[&str] = &[
    "Silva",
    "Santos",
    "Oliveira",
    "Souza",
    "Lima",
    "Pereira",
    "Costa",
    "Rodrigues",
    "Almeida",
    "Nascimento",
    "Ferreira",
    "Carvalho",
    "Gomes",
    "Martins",
    "Araújo",
    "Ribeiro",
];
const STREETS: &[&str] = &[
    "Rua das Flores",
    "Avenida Paulista",
    "Rua Augusta",
    "Alameda Santos",
    "Rua XV de Novembro",
    "Avenida Brasil",
    "Rua da Consolação",
    "Travessa do Comércio",
];
const CITIES: &[&str] = &[
    "São Paulo - SP",
    "Rio de Janeiro - RJ",
    "Belo Horizonte - MG",
    "Curitiba - PR",
    "Porto Alegre - RS",
    "Recife - PE",
    "Salvador - BA",
    "Florianópolis - SC",
];
const DOMAINS: &[&str] = &[
    "example.com",
    "mail.example.org",
    "empresa.com.br",
    "exemplo.net",
];
const NOTE_WORDS: &[&str] = &[
    "customer",
    "asked",
    "about",
    "the",
    "invoice",
    "delivery",
    "was",
    "late",
    "refund",
    "approved",
    "called",
    "support",
    "twice",
    "order",
    "address",
    "updated",
    "prefers",
    "contact",
    "by",
    "morning",
    "ticket",
    "closed",
    "escalated",
    "to",
    "billing",
    "waiting",
    "for",
    "reply",
];

/// One row of `customers`.
#[derive(Debug, Clone, PartialEq)]
pub struct Customer {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub cpf: String,
    pub phone: String,
    pub address: String,
    /// Seconds since the Unix epoch.
    pub created_at: i64,
    pub notes: String,
}

/// One row of `orders`.
#[derive(Debug, Clone, PartialEq)]
pub struct Order {
    pub id: i64,
    pub customer_id: i64,
    /// In cents; the table stores it as `numeric(12,2)`.
    pub amount_cents: i64,
    pub status: &'static str,
    /// Seconds since the Unix epoch.
    pub created_at: i64,
}

const STATUSES: &[&str] = &[
    "pending",
    "paid",
    "shipped",
    "delivered",
    "delivered",
    "delivered",
    "cancelled",
    "refunded",
];

/// Calls `each` with `count` orders (ids 1..=count) of customers 1..=`customers`, the same for
/// every run; streamed, as a million orders need not sit in memory at once.
pub fn for_each_order(count: usize, customers: usize, mut each: impl FnMut(&Order)) {
    let mut rng = Rng::with_seed(SEED ^ 0x0D0E_2526);
    for id in 1..=count as i64 {
        each(&Order {
            id,
            customer_id: rng.i64(1..=customers.max(1) as i64),
            amount_cents: rng.i64(500..500_000),
            status: STATUSES[rng.usize(..STATUSES.len())],
            created_at: 1_600_000_000 + rng.i64(0..150_000_000),
        });
    }
}

/// `count` customers with ids 1..=count, the same for every run.
pub fn customers(count: usize) -> Vec<Customer> {
    let mut rng = Rng::with_seed(SEED);
    (1..=count as i64)
        .map(|id| customer(&mut rng, id))
        .collect()
}

fn pick<'a>(rng: &mut Rng, items: &[&'a str]) -> &'a str {
    items[rng.usize(..items.len())]
}

fn customer(rng: &mut Rng, id: i64) -> Customer {
    let first = pick(rng, FIRST);
    let last = pick(rng, LAST);
    let email = format!(
        "{}.{}{id}@{}",
        ascii_lower(first),
        ascii_lower(last),
        pick(rng, DOMAINS)
    );
    Customer {
        id,
        name: format!("{first} {last}"),
        cpf: formatted_cpf(rng),
        phone: format!(
            "+55 {} 9{:04}-{:04}",
            rng.u32(11..99),
            rng.u32(..10_000),
            rng.u32(..10_000)
        ),
        address: format!(
            "{}, {} - apto {}, {}",
            pick(rng, STREETS),
            rng.u32(1..3000),
            rng.u32(1..300),
            pick(rng, CITIES)
        ),
        created_at: 1_600_000_000 + rng.i64(0..150_000_000),
        notes: notes(rng, &email),
        email,
    }
}

/// About 100 characters of words; about 35% of notes carry an e-mail or a CPF.
fn notes(rng: &mut Rng, email: &str) -> String {
    let mut text = String::with_capacity(128);
    let planted = match rng.u32(..100) {
        0..=17 => Some(email.to_owned()),
        18..=34 => Some(formatted_cpf(rng)),
        _ => None,
    };
    let plant_at = rng.usize(20..60);
    while text.len() < 100 {
        if !text.is_empty() {
            text.push(' ');
        }
        if text.len() >= plant_at {
            if let Some(value) = &planted {
                if !text.contains(value.as_str()) {
                    text.push_str(value);
                    continue;
                }
            }
        }
        text.push_str(pick(rng, NOTE_WORDS));
    }
    text
}

/// A valid CPF (check digits computed) written as `123.456.789-09`.
pub fn formatted_cpf(rng: &mut Rng) -> String {
    let mut digits: Vec<u32> = (0..9).map(|_| rng.u32(..10)).collect();
    for length in [9usize, 10] {
        let sum: u32 = digits
            .iter()
            .enumerate()
            .map(|(i, d)| d * (length as u32 + 1 - i as u32))
            .sum();
        let rest = sum % 11;
        digits.push(if rest < 2 { 0 } else { 11 - rest });
    }
    let d: String = digits.iter().map(|d| char::from(b'0' + *d as u8)).collect();
    format!("{}.{}.{}-{}", &d[0..3], &d[3..6], &d[6..9], &d[9..11])
}

fn ascii_lower(name: &str) -> String {
    name.chars()
        .map(|c| match c {
            'á' | 'ã' | 'â' => 'a',
            'é' | 'ê' => 'e',
            'í' => 'i',
            'ó' | 'ô' | 'õ' => 'o',
            'ú' => 'u',
            'ç' => 'c',
            other => other.to_ascii_lowercase(),
        })
        .collect()
}
