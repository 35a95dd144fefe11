//! Whether a pattern can match a number's whole decimal text at all: the automaton explored in step
//! with the grammar of number texts. Decided once when the engine compiles, so numbers cost no
//! search when no configured pattern can match one.

use regex_automata::hybrid::dfa::DFA as LazyDfa;
use regex_automata::hybrid::LazyStateID;
use regex_automata::{Anchored, Input};
use std::collections::{HashSet, VecDeque};

/// Beyond this many states explored, [`can_match_a_number`] assumes a number may match.
const MAX_EXPLORED: usize = 4096;

/// Whether any configured pattern can match the whole text of some number: the automaton run in
/// step with the grammar of number texts (`-?digits(.digits)?(e[+-]?digits)?`) until a match, or
/// until every path is dead. The seed's patterns (a formatted CPF, an e-mail address) cannot, and
/// then numbers cost no search at all. Unsure answers are yes.
pub fn can_match_a_number(dfa: &LazyDfa) -> bool {
    let mut cache = dfa.create_cache();
    let input = Input::new("").anchored(Anchored::Yes);
    let Ok(start) = dfa.start_state_forward(&mut cache, &input) else {
        return true;
    };
    let mut seen: HashSet<(LazyStateID, u8)> = HashSet::new();
    let mut pending = VecDeque::from([(start, 0u8)]);
    while let Some((state, grammar)) = pending.pop_front() {
        if state.is_match() || state.is_quit() || seen.len() > MAX_EXPLORED {
            return true;
        }
        if state.is_dead() || !seen.insert((state, grammar)) {
            continue;
        }
        if matches!(grammar, 2 | 4 | 7) {
            match dfa.next_eoi_state(&mut cache, state) {
                Ok(end) if end.is_dead() => {}
                _ => return true,
            }
        }
        for byte in b"0123456789-+.e" {
            let Some(next_grammar) = number_grammar(grammar, *byte) else {
                continue;
            };
            match dfa.next_state(&mut cache, state, *byte) {
                Ok(next) => pending.push_back((next, next_grammar)),
                Err(_) => return true,
            }
        }
    }
    // State ids stay valid only while the cache was never cleared.
    cache.clear_count() > 0
}

/// One step of the grammar of number texts; accepting states are 2 (integer), 4 (fraction) and
/// 7 (exponent).
fn number_grammar(state: u8, byte: u8) -> Option<u8> {
    let digit = byte.is_ascii_digit();
    Some(match (state, byte) {
        (0, b'-') => 1,
        (0..=2, _) if digit => 2,
        (2, b'.') => 3,
        (3 | 4, _) if digit => 4,
        (2 | 4, b'e') => 5,
        (5, b'+' | b'-') => 6,
        (5..=7, _) if digit => 7,
        _ => return None,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn whole(patterns: &[&str]) -> LazyDfa {
        let anchored: Vec<String> = patterns.iter().map(|p| format!("^(?:{p})$")).collect();
        LazyDfa::new_many(&anchored).unwrap()
    }

    #[test]
    fn patterns_that_no_number_can_match_are_told_apart() {
        let seed = [
            r"\d{3}\.\d{3}\.\d{3}-\d{2}",
            r"[a-zA-Z0-9._%+-]+@[a-zA-Z0-9.-]+\.[a-zA-Z]{2,}",
        ];
        assert!(!can_match_a_number(&whole(&seed)));
        assert!(!can_match_a_number(&whole(&[
            "[a-z]+",
            r"\d+-\d+",
            r"\d+\.\d+\.\d+"
        ])));
        for could in [
            r"\d{9}", r"[0-9.]+", r"-\d+", r"\d+e\d+", r"1.5", r"\w+", r"(?s:.)+",
        ] {
            assert!(can_match_a_number(&whole(&[could])), "{could}");
        }
    }
}
