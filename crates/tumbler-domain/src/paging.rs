//! The page size of every list, in the API, the console and the services alike.

/// The largest page a list returns.
pub const MAX_PAGE: i64 = 1000;

/// The page size when the caller names none.
pub const DEFAULT_PAGE: i64 = 50;

/// A requested page size within bounds: 1 to [`MAX_PAGE`], [`DEFAULT_PAGE`] when absent.
pub fn page_limit(limit: Option<i64>) -> i64 {
    limit.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE)
}

/// A requested offset, from 0.
pub fn page_offset(offset: Option<i64>) -> i64 {
    offset.unwrap_or(0).max(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_sizes_are_clamped_to_one_bound() {
        assert_eq!(page_limit(None), DEFAULT_PAGE);
        assert_eq!(page_limit(Some(0)), 1);
        assert_eq!(page_limit(Some(-5)), 1);
        assert_eq!(page_limit(Some(MAX_PAGE + 1)), MAX_PAGE);
        assert_eq!(page_offset(Some(-1)), 0);
        assert_eq!(page_offset(Some(7)), 7);
    }
}
