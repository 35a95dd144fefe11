//! Bounds-checked reading of big-endian fields from PostgreSQL binary values.

/// Why a value's bytes could not be decoded; the caller adds the type's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Malformed(pub(super) &'static str);

pub(super) const TRUNCATED: Malformed = Malformed("truncated");
pub(super) const TRAILING_BYTES: Malformed = Malformed("trailing bytes");

/// Reads fields front to back; every read checks the remaining length first.
pub(super) struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(super) fn new(bytes: &'a [u8]) -> Self {
        Self { rest: bytes }
    }

    pub(super) fn take(&mut self, count: usize) -> Result<&'a [u8], Malformed> {
        if count > self.rest.len() {
            return Err(TRUNCATED);
        }
        let (head, tail) = self.rest.split_at(count);
        self.rest = tail;
        Ok(head)
    }

    pub(super) fn array<const N: usize>(&mut self) -> Result<[u8; N], Malformed> {
        exact::<N>(self.take(N)?)
    }

    pub(super) fn u8(&mut self) -> Result<u8, Malformed> {
        Ok(u8::from_be_bytes(self.array()?))
    }

    pub(super) fn i16(&mut self) -> Result<i16, Malformed> {
        Ok(i16::from_be_bytes(self.array()?))
    }

    pub(super) fn u16(&mut self) -> Result<u16, Malformed> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    pub(super) fn i32(&mut self) -> Result<i32, Malformed> {
        Ok(i32::from_be_bytes(self.array()?))
    }

    pub(super) fn i64(&mut self) -> Result<i64, Malformed> {
        Ok(i64::from_be_bytes(self.array()?))
    }

    pub(super) fn remaining(&self) -> usize {
        self.rest.len()
    }

    /// Succeeds only when every byte has been consumed.
    pub(super) fn finish(&self) -> Result<(), Malformed> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(TRAILING_BYTES)
        }
    }
}

/// The whole value as exactly `N` bytes (fixed-size types).
pub(super) fn exact<const N: usize>(raw: &[u8]) -> Result<[u8; N], Malformed> {
    match <[u8; N]>::try_from(raw) {
        Ok(bytes) => Ok(bytes),
        Err(_) if raw.len() < N => Err(TRUNCATED),
        Err(_) => Err(TRAILING_BYTES),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_big_endian_fields_in_order() {
        let mut reader = Reader::new(&[0, 1, 0xff, 0xff, 0xff, 0xfe, 7]);
        assert_eq!(reader.u16(), Ok(1));
        assert_eq!(reader.i32(), Ok(-2));
        assert_eq!(reader.remaining(), 1);
        assert_eq!(reader.finish(), Err(TRAILING_BYTES));
        assert_eq!(reader.u8(), Ok(7));
        assert_eq!(reader.finish(), Ok(()));
    }

    #[test]
    fn short_reads_fail_without_consuming() {
        let mut reader = Reader::new(&[1, 2, 3]);
        assert_eq!(reader.i64(), Err(TRUNCATED));
        assert_eq!(reader.take(4), Err(TRUNCATED));
        assert_eq!(reader.i16(), Ok(0x0102));
    }

    #[test]
    fn exact_distinguishes_short_from_long() {
        assert_eq!(exact::<2>(&[1, 2]), Ok([1, 2]));
        assert_eq!(exact::<2>(&[1]), Err(TRUNCATED));
        assert_eq!(exact::<2>(&[1, 2, 3]), Err(TRAILING_BYTES));
    }
}
