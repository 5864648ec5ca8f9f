//! Maestro's cursor pagination over id ranges (maestro-api.md §1.4, `PaginationHelper`): the
//! page size comes from `first` (towards older ids) or `last` (towards newer ids), a cursor is
//! an id, and the page lists ids newest first.

use serde::Serialize;

use crate::error::ApiError;
use crate::extract::QueryParams;

/// Largest page.
pub const MAX_PAGE: i64 = 200;

/// Which way a page walks from the cursor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// `first`: towards older (lower) ids.
    Next,
    /// `last`: towards newer (higher) ids.
    Prev,
}

/// A page request read from `first`/`last`/`cursor`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    pub direction: Direction,
    pub limit: i64,
    pub cursor: Option<i64>,
}

impl PageRequest {
    /// Reads the page parameters: exactly one of `first`/`last` (1..=200), an optional numeric
    /// cursor.
    pub fn from_query(q: &QueryParams) -> Result<PageRequest, ApiError> {
        let first = q.int("first", 1, MAX_PAGE)?;
        let last = q.int("last", 1, MAX_PAGE)?;
        let (direction, limit) = match (first, last) {
            (Some(_), Some(_)) => {
                return Err(ApiError::bad_request(
                    "Either first or last need to be provided, but not both",
                ));
            }
            (None, None) => {
                return Err(ApiError::bad_request(
                    "Either first or last need to be provided, both cannot be null",
                ));
            }
            (Some(n), None) => (Direction::Next, n),
            (None, Some(n)) => (Direction::Prev, n),
        };
        let cursor = match q.get("cursor").filter(|c| !c.is_empty()) {
            None => None,
            Some(c) => Some(c.parse::<i64>().map_err(|_| {
                ApiError::bad_request(format!(
                    "query parameter [cursor] must be a number, got [{c}]"
                ))
            })?),
        };
        Ok(PageRequest {
            direction,
            limit,
            cursor,
        })
    }

    /// The inclusive id range `(low, high)` to fetch, given the ids that exist.
    pub fn range(&self, earliest: i64, latest: i64) -> (i64, i64) {
        let limit = self.limit;
        let (mut low, high) = match (self.cursor, self.direction) {
            (None, Direction::Next) => {
                let high = latest;
                (
                    earliest.max(high.saturating_add(1).saturating_sub(limit)),
                    high,
                )
            }
            (None, Direction::Prev) => {
                let low = earliest;
                (low, latest.min(low.saturating_sub(1).saturating_add(limit)))
            }
            (Some(c), Direction::Next) => {
                let high = c.saturating_sub(1);
                (
                    earliest.max(high.saturating_add(1).saturating_sub(limit)),
                    high,
                )
            }
            (Some(c), Direction::Prev) => {
                let low = c.saturating_add(1);
                (low, latest.min(low.saturating_sub(1).saturating_add(limit)))
            }
        };
        if low > high {
            low = high;
        }
        (low, high)
    }
}

/// `page_info` of a page.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PageInfo {
    pub start_cursor: Option<String>,
    pub end_cursor: Option<String>,
    pub has_previous_page: bool,
    pub has_next_page: bool,
    pub start_index: Option<i64>,
}

/// Maestro's `PaginationResult`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Page<T> {
    pub page_info: PageInfo,
    pub total_count: i64,
    pub elements: Vec<T>,
}

impl<T> Page<T> {
    /// A page of `elements` whose ids span `high..=low`, among ids `earliest..=latest`.
    pub fn new(
        elements: Vec<T>,
        ids: impl Iterator<Item = i64>,
        earliest: i64,
        latest: i64,
    ) -> Self {
        let ids: Vec<i64> = ids.collect();
        let (Some(high), Some(low)) = (ids.iter().max().copied(), ids.iter().min().copied()) else {
            return Page::empty(latest);
        };
        Page {
            page_info: PageInfo {
                start_cursor: Some(high.to_string()),
                end_cursor: Some(low.to_string()),
                has_previous_page: high < latest,
                has_next_page: low > earliest,
                start_index: Some(latest + 1 - high),
            },
            total_count: latest - earliest + 1,
            elements,
        }
    }

    /// A page with nothing on it (`total_count` is `latest`, as in Maestro).
    pub fn empty(latest: i64) -> Self {
        Page {
            page_info: PageInfo {
                start_cursor: None,
                end_cursor: None,
                has_previous_page: false,
                has_next_page: false,
                start_index: None,
            },
            total_count: latest,
            elements: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(direction: Direction, limit: i64, cursor: Option<i64>) -> PageRequest {
        PageRequest {
            direction,
            limit,
            cursor,
        }
    }

    #[test]
    fn ranges_follow_maestro() {
        // 15 instances, pages of 10.
        assert_eq!(req(Direction::Next, 10, None).range(1, 15), (6, 15));
        assert_eq!(req(Direction::Next, 10, Some(6)).range(1, 15), (1, 5));
        assert_eq!(req(Direction::Prev, 10, None).range(1, 15), (1, 10));
        assert_eq!(req(Direction::Prev, 10, Some(10)).range(1, 15), (11, 15));
        // Past the ends: an empty range collapses to one id.
        assert_eq!(req(Direction::Next, 10, Some(1)).range(1, 15), (0, 0));
        assert_eq!(req(Direction::Prev, 10, Some(15)).range(1, 15), (15, 15));
    }

    #[test]
    fn page_info_matches_the_reference_example() {
        let page = Page::new(vec![(); 10], (6..=15).rev(), 1, 15);
        assert_eq!(page.page_info.start_cursor.as_deref(), Some("15"));
        assert_eq!(page.page_info.end_cursor.as_deref(), Some("6"));
        assert!(!page.page_info.has_previous_page && page.page_info.has_next_page);
        assert_eq!(page.page_info.start_index, Some(1));
        assert_eq!(page.total_count, 15);
        let empty: Page<()> = Page::new(Vec::new(), std::iter::empty(), 1, 15);
        assert_eq!(empty.total_count, 15);
        assert_eq!(empty.page_info.start_index, None);
    }
}
