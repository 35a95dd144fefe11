//! The running byte budget of one result: every decoded value is charged before (or as) it is
//! built, so a result stops at `maxResultBytes` without ever being materialised past it.

/// The least a value is counted, whatever its JSON text (`0`, `null`): so the number of decoded
/// values of a result, and with it the memory they take (`size_of::<Value>()` bytes each, plus
/// their text), is bounded by the budget however small each value is.
pub const VALUE_FLOOR: u64 = 8;

/// The bytes a result may still take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Budget {
    limit: u64,
    used: u64,
}

/// The budget would be exceeded: the result is refused as too large.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OverBudget {
    pub limit: u64,
}

impl Budget {
    pub fn new(limit: u64) -> Self {
        Budget { limit, used: 0 }
    }

    /// A budget no result can exceed (for decoding a single value on its own).
    pub fn unlimited() -> Self {
        Budget::new(u64::MAX)
    }

    pub fn limit(&self) -> u64 {
        self.limit
    }

    pub fn used(&self) -> u64 {
        self.used
    }

    pub fn remaining(&self) -> u64 {
        self.limit - self.used
    }

    /// Takes `bytes` from the budget, or refuses (taking nothing) when they do not fit.
    pub fn charge(&mut self, bytes: u64) -> Result<(), OverBudget> {
        if bytes > self.remaining() {
            return Err(OverBudget { limit: self.limit });
        }
        self.used += bytes;
        Ok(())
    }

    /// [`Budget::charge`] for a count of bytes in memory.
    pub fn charge_len(&mut self, bytes: usize) -> Result<(), OverBudget> {
        self.charge(u64::try_from(bytes).unwrap_or(u64::MAX))
    }

    /// Charges one value of `json_bytes` bytes of JSON text, counted at least [`VALUE_FLOOR`].
    pub fn charge_value(&mut self, json_bytes: usize) -> Result<(), OverBudget> {
        let bytes = u64::try_from(json_bytes).unwrap_or(u64::MAX);
        self.charge(bytes.max(VALUE_FLOOR))
    }

    /// Whether `count` more values of at least [`VALUE_FLOOR`] bytes each (plus a separator) could
    /// still fit: checked before allocating room for them.
    pub fn fits_values(&self, count: usize) -> bool {
        let count = u64::try_from(count).unwrap_or(u64::MAX);
        count
            .checked_mul(VALUE_FLOOR + 1)
            .is_some_and(|bytes| bytes <= self.remaining())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charges_until_the_limit_and_refuses_without_taking() {
        let mut budget = Budget::new(20);
        assert_eq!(budget.charge(15), Ok(()));
        assert_eq!(budget.charge(6), Err(OverBudget { limit: 20 }));
        assert_eq!(budget.used(), 15);
        assert_eq!(budget.charge(5), Ok(()));
        assert_eq!(budget.remaining(), 0);
        assert_eq!(budget.charge(1), Err(OverBudget { limit: 20 }));
    }

    #[test]
    fn small_values_count_at_least_the_floor() {
        let mut budget = Budget::new(100);
        assert_eq!(budget.charge_value(1), Ok(()));
        assert_eq!(budget.used(), VALUE_FLOOR);
        assert_eq!(budget.charge_value(50), Ok(()));
        assert_eq!(budget.used(), VALUE_FLOOR + 50);
    }

    #[test]
    fn counts_are_checked_before_room_is_made() {
        let budget = Budget::new(9 * 1000);
        assert!(budget.fits_values(1000));
        assert!(!budget.fits_values(1001));
        assert!(!budget.fits_values(usize::MAX));
        assert!(Budget::unlimited().fits_values(20_000_000));
    }
}
