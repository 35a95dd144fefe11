//! Check-digit validators run on regex candidates, so random numbers that merely look like a CPF or a
//! card number are not masked.

/// Longer numbers than this are none of the identifiers validated here.
const MAX_DIGITS: usize = 19;

/// The ASCII digits of `text`, as numbers, on the stack: validators run on every regex candidate
/// from every masking worker at once, so they must not allocate. `None` past `MAX_DIGITS`.
fn digits(text: &str) -> Option<([u32; MAX_DIGITS], usize)> {
    let mut found = [0u32; MAX_DIGITS];
    let mut len = 0;
    for digit in text.chars().filter_map(|c| c.to_digit(10)) {
        *found.get_mut(len)? = digit;
        len += 1;
    }
    Some((found, len))
}

fn all_same(digits: &[u32]) -> bool {
    digits.windows(2).all(|pair| pair[0] == pair[1])
}

/// A mod-11 check digit as CPF and CNPJ compute it.
fn mod11_digit(digits: &[u32], weights: &[u32]) -> u32 {
    let sum: u32 = digits.iter().zip(weights).map(|(d, w)| d * w).sum();
    let rest = sum % 11;
    if rest < 2 {
        0
    } else {
        11 - rest
    }
}

/// Brazilian CPF: 11 digits, two mod-11 check digits, not all equal.
pub fn is_cpf(text: &str) -> bool {
    let Some((found, len)) = digits(text) else {
        return false;
    };
    let d = &found[..len];
    if d.len() != 11 || all_same(d) {
        return false;
    }
    let first = mod11_digit(&d[..9], &[10, 9, 8, 7, 6, 5, 4, 3, 2]);
    let second = mod11_digit(&d[..10], &[11, 10, 9, 8, 7, 6, 5, 4, 3, 2]);
    d[9] == first && d[10] == second
}

/// Brazilian CNPJ: 14 digits, two mod-11 check digits, not all equal.
pub fn is_cnpj(text: &str) -> bool {
    let Some((found, len)) = digits(text) else {
        return false;
    };
    let d = &found[..len];
    if d.len() != 14 || all_same(d) {
        return false;
    }
    let first = mod11_digit(&d[..12], &[5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2]);
    let second = mod11_digit(&d[..13], &[6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2]);
    d[12] == first && d[13] == second
}

/// A payment card number: 13 to 19 digits in an issuer's range, passing the Luhn check.
pub fn is_card_number(text: &str) -> bool {
    let Some((found, len)) = digits(text) else {
        return false;
    };
    let d = &found[..len];
    if !(13..=19).contains(&d.len()) || all_same(d) || !in_issuer_range(d) {
        return false;
    }
    let sum: u32 = d
        .iter()
        .rev()
        .enumerate()
        .map(|(index, &digit)| {
            if index % 2 == 1 {
                let doubled = digit * 2;
                if doubled > 9 {
                    doubled - 9
                } else {
                    doubled
                }
            } else {
                digit
            }
        })
        .sum();
    sum % 10 == 0
}

/// Whether 13 to 19 digits start like a card of a network that issues that length: Visa (and
/// Elo) 4; Mastercard 51-55 and 2221-2720 (16); Mir 2200-2204; Maestro, Elo and Hipercard 50 and
/// 56-59; Discover, UnionPay, Maestro, Elo, Hipercard and RuPay 6; Amex 34, 37 (15); JCB
/// 3528-3589; Diners 30, 36, 38-39 (14+); UnionPay and RuPay 81-82; Troy 9792. Epoch times in
/// milliseconds or microseconds (13 or 16 digits from 1) and snowflake ids fall outside.
fn in_issuer_range(d: &[u32]) -> bool {
    let prefix = |n: usize| d.iter().take(n).fold(0, |acc, digit| acc * 10 + digit);
    let len = d.len();
    match d.first() {
        Some(4 | 6) => true,
        Some(5) => !(51..=55).contains(&prefix(2)) || len == 16,
        Some(2) => {
            let four = prefix(4);
            ((2221..=2720).contains(&four) && len == 16) || (2200..=2204).contains(&four)
        }
        Some(3) => match prefix(2) {
            34 | 37 => len == 15,
            35 => (3528..=3589).contains(&prefix(4)),
            30 | 36 | 38 | 39 => len >= 14,
            _ => false,
        },
        Some(8) => matches!(prefix(2), 81 | 82),
        Some(9) => prefix(4) == 9792,
        _ => false,
    }
}

/// A `Bearer ...` or `Authorization: ...` credential that is not a JWT (those are reported as
/// JWTs: the `jwt` detector finds them next).
pub fn is_bearer_credential(text: &str) -> bool {
    let credential = text
        .rsplit(|c: char| c.is_ascii_whitespace())
        .next()
        .unwrap_or_default();
    !(credential.starts_with("eyJ") && is_jwt(credential))
}

/// Base64url as JWTs write it: no padding, trailing bits tolerated.
const BASE64URL: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    base64::engine::GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// Headers longer than this (in base64) are not decoded: a token with such a header is long
/// enough that `eyJ` and three dotted parts say it all.
const MAX_DECODED_HEADER: usize = 512;

/// A JSON Web Token: its header (`eyJ...`, base64url of `{"`) decodes to JSON naming an `alg`.
/// Decoded on the stack, like the digit validators.
pub fn is_jwt(text: &str) -> bool {
    let header = text.split('.').next().unwrap_or_default();
    if header.len() > MAX_DECODED_HEADER / 3 * 4 {
        return true;
    }
    let mut decoded = [0u8; MAX_DECODED_HEADER];
    let Ok(len) = base64::Engine::decode_slice(&BASE64URL, header, &mut decoded) else {
        return false;
    };
    let json = &decoded[..len];
    json.starts_with(b"{") && json.windows(5).any(|window| window == b"\"alg\"")
}

/// An IBAN: country code, check digits and account, 15 to 34 characters, mod-97 equal to 1.
pub fn is_iban(text: &str) -> bool {
    let mut compact = [0u8; 34];
    let mut len = 0;
    for byte in text.bytes().filter(|b| !b.is_ascii_whitespace()) {
        match compact.get_mut(len) {
            Some(slot) => *slot = byte,
            None => return false,
        }
        len += 1;
    }
    if len < 15 {
        return false;
    }
    let rearranged = compact[4..len].iter().chain(&compact[..4]);
    let mut remainder: u32 = 0;
    for c in rearranged {
        let value = match char::from(*c).to_digit(36) {
            Some(v) => v,
            None => return false,
        };
        // Letters count as two digits (A = 10 ... Z = 35).
        remainder = if value >= 10 {
            (remainder * 100 + value) % 97
        } else {
            (remainder * 10 + value) % 97
        };
    }
    remainder == 1
}

/// An IPv6 address with at least two groups (so `a:b` times are not taken for one).
pub fn is_ipv6(text: &str) -> bool {
    text.matches(':').count() >= 2 && text.parse::<std::net::Ipv6Addr>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpf_check_digits() {
        assert!(is_cpf("123.456.789-09"));
        assert!(is_cpf("52998224725"));
        assert!(!is_cpf("123.456.789-00"));
        assert!(!is_cpf("111.111.111-11"));
        assert!(!is_cpf("12345678901"));
    }

    #[test]
    fn cnpj_check_digits() {
        assert!(is_cnpj("11.222.333/0001-81"));
        assert!(is_cnpj("11222333000181"));
        assert!(!is_cnpj("11.222.333/0001-80"));
        assert!(!is_cnpj("00000000000000"));
    }

    #[test]
    fn luhn() {
        assert!(is_card_number("4111 1111 1111 1111"));
        assert!(is_card_number("5500-0000-0000-0004"));
        assert!(!is_card_number("4111 1111 1111 1112"));
        assert!(!is_card_number("1234"));
    }

    #[test]
    fn cards_must_fall_in_an_issuer_range() {
        for card in [
            "4111111111111111",
            "4222222222222",
            "5555555555554444",
            "2223003122003222",
            "378282246310005",
            "30569309025904",
            "3530111333300000",
            "6011111111111117",
            "6362970000457013",
        ] {
            assert!(is_card_number(card), "{card}");
        }
        // Luhn-valid, but no network issues them: epoch milliseconds and microseconds, a
        // snowflake id, a 15-digit Mastercard, a 16-digit Amex, a 7 prefix.
        for prefix in [
            "170000000000",
            "170000000000000",
            "154181560360603648",
            "55555555555555",
            "378282246310005",
            "700000000000000",
        ] {
            let look_alike = with_luhn_digit(prefix);
            assert!(!is_card_number(&look_alike), "{look_alike}");
        }
        assert!(is_card_number(&with_luhn_digit("411111111111111")));
    }

    /// `prefix` and the check digit that makes it pass Luhn.
    fn with_luhn_digit(prefix: &str) -> String {
        let sum: u32 = prefix
            .chars()
            .rev()
            .filter_map(|c| c.to_digit(10))
            .enumerate()
            .map(|(i, d)| {
                if i % 2 == 0 {
                    if d * 2 > 9 {
                        d * 2 - 9
                    } else {
                        d * 2
                    }
                } else {
                    d
                }
            })
            .sum();
        format!("{prefix}{}", (10 - sum % 10) % 10)
    }

    #[test]
    fn jwt_headers_must_decode_to_json_with_an_alg() {
        assert!(is_jwt("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"));
        // Unsigned (alg none), with an empty payload object and no signature.
        assert!(is_jwt("eyJhbGciOiJub25lIn0.e30."));
        assert!(!is_jwt("eyJfoo.bar.baz"));
        assert!(!is_jwt("eyJ0eXAiOiJ4In0.e30.x"));
        assert!(!is_jwt("eyJ!!.e30."));
    }

    #[test]
    fn iban_mod97() {
        assert!(is_iban("GB82 WEST 1234 5698 7654 32"));
        assert!(is_iban("DE89370400440532013000"));
        assert!(!is_iban("GB82 WEST 1234 5698 7654 33"));
    }

    #[test]
    fn ipv6_needs_two_colons() {
        assert!(is_ipv6("2001:db8::1"));
        assert!(!is_ipv6("10:30"));
        assert!(!is_ipv6("gggg::1"));
    }
}
