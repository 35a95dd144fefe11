//! Tallies of what masking replaced, by pattern or column rule.

use crate::protocol::MaskedCounts;

/// Adds the counts of one part of a result to those of the whole.
pub fn merge_counts(into: &mut MaskedCounts, part: MaskedCounts) {
    into.total += part.total;
    for (name, found) in part.by_pattern {
        *into.by_pattern.entry(name).or_default() += found;
    }
}

/// Counts `found` replacements by `name`, allocating the name only the first time.
pub(super) fn count(counts: &mut MaskedCounts, name: &str, found: u64) {
    counts.total += found;
    match counts.by_pattern.get_mut(name) {
        Some(total) => *total += found,
        None => {
            counts.by_pattern.insert(name.to_owned(), found);
        }
    }
}
