//! A small least-recently-used map from text to a value, for caches keyed by SQL or statement text.

use std::collections::HashMap;

/// At most `capacity` entries; inserting into a full map evicts the entry used longest ago. Keys
/// longer than `max_key_len` are never kept (long texts are rarely repeated and would hold memory).
#[derive(Debug)]
pub struct Lru<V> {
    entries: HashMap<String, (V, u64)>,
    clock: u64,
    capacity: usize,
    max_key_len: usize,
}

impl<V: Clone> Lru<V> {
    pub fn new(capacity: usize, max_key_len: usize) -> Self {
        Lru {
            entries: HashMap::new(),
            clock: 0,
            capacity,
            max_key_len,
        }
    }

    /// The value for `key`, marked as just used.
    pub fn get(&mut self, key: &str) -> Option<V> {
        self.clock += 1;
        let clock = self.clock;
        self.entries.get_mut(key).map(|(value, used)| {
            *used = clock;
            value.clone()
        })
    }

    /// Keeps `value` for `key`, evicting the least recently used entry when full.
    pub fn insert(&mut self, key: &str, value: V) {
        if key.len() > self.max_key_len || self.capacity == 0 {
            return;
        }
        if self.entries.len() >= self.capacity && !self.entries.contains_key(key) {
            let oldest = self
                .entries
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(key, _)| key.clone());
            if let Some(oldest) = oldest {
                self.entries.remove(&oldest);
            }
        }
        self.clock += 1;
        self.entries.insert(key.to_owned(), (value, self.clock));
    }

    pub fn clear(&mut self) {
        self.entries.clear();
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_least_recently_used_entry_is_evicted_first() {
        let mut lru = Lru::new(2, 100);
        lru.insert("a", 1);
        lru.insert("b", 2);
        assert_eq!(lru.get("a"), Some(1));
        lru.insert("c", 3);
        assert_eq!(
            (lru.get("a"), lru.get("b"), lru.get("c")),
            (Some(1), None, Some(3))
        );
        lru.insert("c", 4);
        assert_eq!((lru.len(), lru.get("c")), (2, Some(4)));
    }

    #[test]
    fn long_keys_are_not_kept_and_entries_can_be_forgotten() {
        let mut lru = Lru::new(4, 3);
        lru.insert("long", 1);
        assert!(lru.is_empty());
        lru.insert("abc", 2);
        assert_eq!(lru.get("abc"), Some(2));
        lru.insert("x", 3);
        lru.clear();
        assert!(lru.is_empty());
    }
}
