//! The name of a task's copy: "<name> (copy)", else "<name> (copy 2)", "(copy 3)"... the first
//! one not taken in the task's domain, the original name shortened where the suffix would not
//! fit the name limit.

use std::collections::BTreeSet;

/// The first free copy name of `source` among `taken`, at most `max` characters long.
pub(super) fn copy_name(source: &str, taken: &BTreeSet<String>, max: usize) -> String {
    // One more candidate than there are names: one of them is free.
    let last = taken.len().saturating_add(1);
    let mut candidate = String::new();
    for n in 1..=last {
        let suffix = if n == 1 {
            " (copy)".to_owned()
        } else {
            format!(" (copy {n})")
        };
        let room = max.saturating_sub(suffix.chars().count());
        candidate = source.chars().take(room).collect::<String>() + &suffix;
        if !taken.contains(&candidate) {
            break;
        }
    }
    candidate
}

#[cfg(test)]
mod tests {
    use super::copy_name;
    use std::collections::BTreeSet;

    fn taken(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|n| (*n).to_owned()).collect()
    }

    #[test]
    fn the_first_copy_is_copy_then_numbers_count_up_and_fill_gaps() {
        assert_eq!(copy_name("X", &taken(&["X"]), 128), "X (copy)");
        assert_eq!(
            copy_name("X", &taken(&["X", "X (copy)"]), 128),
            "X (copy 2)"
        );
        assert_eq!(
            copy_name("X", &taken(&["X", "X (copy)", "X (copy 2)"]), 128),
            "X (copy 3)"
        );
        assert_eq!(
            copy_name("X", &taken(&["X", "X (copy)", "X (copy 3)"]), 128),
            "X (copy 2)"
        );
    }

    #[test]
    fn a_long_name_is_shortened_so_the_suffix_fits() {
        let long = "n".repeat(128);
        let first = copy_name(&long, &taken(&[&long]), 128);
        assert_eq!(first.chars().count(), 128);
        assert!(first.ends_with(" (copy)"));
        let second = copy_name(&long, &taken(&[&long, &first]), 128);
        assert_eq!(second.chars().count(), 128);
        assert!(second.ends_with(" (copy 2)"), "{second}");
    }
}
