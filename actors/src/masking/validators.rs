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

/// A payment card number: 13 to 19 digits passing the Luhn check.
pub fn is_card_number(text: &str) -> bool {
    let Some((found, len)) = digits(text) else {
        return false;
    };
    let d = &found[..len];
    if !(13..=19).contains(&d.len()) || all_same(d) {
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
