//! Sets of iteration ids kept as merged ranges, the shape of a foreach overview's `details`
//! (`[[1, 500], 502]`): 100,000 iterations that all succeeded cost one range, not 100,000 ids.

use std::collections::BTreeMap;

use baton_model::instance::Interval;

/// Disjoint, non-adjacent inclusive ranges, by start.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct IntervalSet {
    ranges: BTreeMap<i64, i64>,
}

impl IntervalSet {
    /// Adds one id, merging it with the ranges it touches.
    pub fn insert(&mut self, id: i64) {
        self.insert_range(id, id);
    }

    /// Adds `start..=end`.
    pub fn insert_range(&mut self, start: i64, end: i64) {
        if end < start {
            return;
        }
        let (mut lo, mut hi) = (start, end);
        // A range starting at or before `hi + 1` may overlap or touch.
        let touching: Vec<(i64, i64)> = self
            .ranges
            .range(..=hi.saturating_add(1))
            .rev()
            .take_while(|(_, e)| **e >= lo.saturating_sub(1))
            .map(|(s, e)| (*s, *e))
            .collect();
        for (s, e) in touching {
            self.ranges.remove(&s);
            lo = lo.min(s);
            hi = hi.max(e);
        }
        self.ranges.insert(lo, hi);
    }

    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// Whether `id` is in the set.
    pub fn contains(&self, id: i64) -> bool {
        self.ranges
            .range(..=id)
            .next_back()
            .is_some_and(|(_, e)| *e >= id)
    }

    /// How many ids the set holds.
    pub fn count(&self) -> i64 {
        self.ranges.iter().map(|(s, e)| e - s + 1).sum()
    }

    /// The ranges as the overview writes them.
    pub fn to_intervals(&self) -> Vec<Interval> {
        self.ranges
            .iter()
            .map(|(s, e)| Interval { start: *s, end: *e })
            .collect()
    }

    /// Every id, in order (only for small sets: the ids in flight).
    pub fn ids(&self) -> impl Iterator<Item = i64> + '_ {
        self.ranges.iter().flat_map(|(s, e)| *s..=*e)
    }

    pub fn from_intervals(intervals: &[Interval]) -> Self {
        let mut set = IntervalSet::default();
        for i in intervals {
            set.insert_range(i.start, i.end);
        }
        set
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_and_splits() {
        let mut s = IntervalSet::default();
        for id in [5, 1, 3, 2, 7] {
            s.insert(id);
        }
        assert_eq!(
            s.to_intervals(),
            vec![
                Interval { start: 1, end: 3 },
                Interval { start: 5, end: 5 },
                Interval { start: 7, end: 7 }
            ]
        );
        s.insert(6);
        s.insert(4);
        assert_eq!(s.to_intervals(), vec![Interval { start: 1, end: 7 }]);
        s.insert_range(10, 20);
        s.insert_range(8, 8);
        assert_eq!(
            s.to_intervals(),
            vec![
                Interval { start: 1, end: 8 },
                Interval { start: 10, end: 20 }
            ]
        );
        assert_eq!(IntervalSet::from_intervals(&s.to_intervals()), s);
        assert_eq!(
            s.ids().skip(6).take(4).collect::<Vec<_>>(),
            vec![7, 8, 10, 11]
        );
    }
}
