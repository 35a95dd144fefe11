//! Decoders for the network address types: `inet`, `cidr`, `macaddr` and `macaddr8`.

use super::bytes::{Malformed, Reader};
use crate::digits::push_hex_byte;
use serde_json::Value;
use std::net::{Ipv4Addr, Ipv6Addr};

/// PostgreSQL's own family codes (not the platform's AF_INET values).
const FAMILY_IPV4: u8 = 2;
const FAMILY_IPV6: u8 = 3;

/// Whether the prefix length is printed: `cidr` always, `inet` only for a partial prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PrefixDisplay {
    Always,
    UnlessFullLength,
}

/// "192.168.0.1", or "192.168.0.0/24" when the prefix is shorter than the address.
pub(super) fn inet(raw: &[u8]) -> Result<Value, Malformed> {
    address(raw, PrefixDisplay::UnlessFullLength)
}

/// "10.0.0.0/8", "10.1.2.3/32": always with the prefix.
pub(super) fn cidr(raw: &[u8]) -> Result<Value, Malformed> {
    address(raw, PrefixDisplay::Always)
}

/// Binary layout: family, prefix bits, is-cidr flag, address length, then the address bytes.
/// The flag is ignored: the column's type decides how the prefix is printed.
fn address(raw: &[u8], prefix: PrefixDisplay) -> Result<Value, Malformed> {
    let mut reader = Reader::new(raw);
    let family = reader.u8()?;
    let bits = reader.u8()?;
    let _is_cidr = reader.u8()?;
    let address_length = reader.u8()?;
    let (address, full_length) = match (family, address_length) {
        (FAMILY_IPV4, 4) => (Ipv4Addr::from(reader.array::<4>()?).to_string(), 32),
        (FAMILY_IPV6, 16) => (Ipv6Addr::from(reader.array::<16>()?).to_string(), 128),
        (FAMILY_IPV4 | FAMILY_IPV6, _) => {
            return Err(Malformed("address length does not match family"))
        }
        _ => return Err(Malformed("unknown address family")),
    };
    reader.finish()?;
    if bits > full_length {
        return Err(Malformed("prefix longer than address"));
    }
    let text = if prefix == PrefixDisplay::UnlessFullLength && bits == full_length {
        address
    } else {
        format!("{address}/{bits}")
    };
    Ok(Value::String(text))
}

/// `macaddr` (6 bytes) and `macaddr8` (8 bytes): lowercase hex pairs joined by colons.
pub(super) fn mac_address<const N: usize>(raw: &[u8]) -> Result<Value, Malformed> {
    let bytes = super::bytes::exact::<N>(raw)?;
    let mut out = String::with_capacity(N * 3);
    for (index, byte) in bytes.into_iter().enumerate() {
        if index > 0 {
            out.push(':');
        }
        push_hex_byte(&mut out, byte);
    }
    Ok(Value::String(out))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn inet_omits_a_full_length_prefix() {
        // inet_send('1.2.3.4/24'), inet_send('::ffff:1.2.3.4'), inet_send('2001:db8::1').
        assert_eq!(
            address(
                b"\x02\x18\x00\x04\x01\x02\x03\x04",
                PrefixDisplay::UnlessFullLength
            ),
            Ok(json!("1.2.3.4/24"))
        );
        assert_eq!(
            address(
                b"\x02\x20\x00\x04\xc0\xa8\x00\x01",
                PrefixDisplay::UnlessFullLength
            ),
            Ok(json!("192.168.0.1"))
        );
        let mapped = b"\x03\x80\x00\x10\0\0\0\0\0\0\0\0\0\0\xff\xff\x01\x02\x03\x04";
        assert_eq!(
            address(mapped, PrefixDisplay::UnlessFullLength),
            Ok(json!("::ffff:1.2.3.4"))
        );
        let v6 = b"\x03\x80\x00\x10\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01";
        assert_eq!(
            address(v6, PrefixDisplay::UnlessFullLength),
            Ok(json!("2001:db8::1"))
        );
    }

    #[test]
    fn cidr_always_prints_the_prefix() {
        assert_eq!(
            address(b"\x02\x08\x01\x04\x0a\x00\x00\x00", PrefixDisplay::Always),
            Ok(json!("10.0.0.0/8"))
        );
        assert_eq!(
            address(b"\x02\x20\x01\x04\x0a\x01\x02\x03", PrefixDisplay::Always),
            Ok(json!("10.1.2.3/32"))
        );
        let v6 = b"\x03\x20\x01\x10\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\0";
        assert_eq!(
            address(v6, PrefixDisplay::Always),
            Ok(json!("2001:db8::/32"))
        );
    }

    #[test]
    fn malformed_addresses_are_errors() {
        let display = PrefixDisplay::UnlessFullLength;
        assert_eq!(
            address(b"\x02\x21\x00\x04\x01\x02\x03\x04", display),
            Err(Malformed("prefix longer than address"))
        );
        assert_eq!(
            address(b"\x07\x08\x00\x04\x01\x02\x03\x04", display),
            Err(Malformed("unknown address family"))
        );
        assert_eq!(
            address(b"\x03\x08\x00\x04\x01\x02\x03\x04", display),
            Err(Malformed("address length does not match family"))
        );
        assert!(address(b"\x02\x08\x00\x04\x01\x02\x03", display).is_err());
        assert!(address(b"\x02\x08\x00\x04\x01\x02\x03\x04\x05", display).is_err());
    }

    #[test]
    fn mac_addresses() {
        assert_eq!(
            mac_address::<6>(b"\x08\x00\x2b\x01\x02\x03"),
            Ok(json!("08:00:2b:01:02:03"))
        );
        assert_eq!(
            mac_address::<8>(b"\x08\x00\x2b\x01\x02\x03\x04\xff"),
            Ok(json!("08:00:2b:01:02:03:04:ff"))
        );
        assert!(mac_address::<6>(b"\x08\x00\x2b\x01\x02").is_err());
    }
}
