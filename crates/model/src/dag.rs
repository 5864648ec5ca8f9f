//! The step graph of one level of a workflow (§6.1), and the tree of such graphs for the bodies of
//! foreach and while steps.
//!
//! Nodes are the steps of one level; edges are their `transition.successors`, each carrying its
//! condition text. There is no implicit ordering: a step nobody names as successor is a root, a
//! step naming no successor is a sink, and N steps without transitions run in parallel.
//!
//! Maestro checks the top-level graph when a workflow is created and a loop body's graph only when
//! an iteration is started. Baton builds and checks every level up front (see
//! [`DagTree::build`]); that is stricter than Maestro, but a mistake in a loop body is better
//! found by `baton validate` than hours into a run.

use crate::definition::Step;
use indexmap::IndexMap;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::fmt;

/// An edge as seen from one end: the node at the other end and the condition of the edge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edge {
    /// Index of the other node.
    pub node: usize,
    /// The SEL condition (`"true"` when unconditional).
    pub condition: String,
}

/// Why a graph could not be built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DagError {
    /// Two nodes share an id (the indexes of the first and the repeated one).
    DuplicateId {
        /// The id.
        id: String,
        /// First node with it.
        first: usize,
        /// The repeat.
        second: usize,
    },
    /// An edge names a node that does not exist at this level.
    UnknownSuccessor {
        /// The node the edge leaves.
        from: usize,
        /// The missing id.
        to: String,
    },
    /// The edges form a cycle (ids in order, the first repeated at the end).
    Cycle(Vec<String>),
}

impl fmt::Display for DagError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DagError::DuplicateId { id, .. } => write!(f, "duplicate step id [{id}]"),
            DagError::UnknownSuccessor { to, .. } => write!(
                f,
                "successor step id [{to}] does not exist among the steps of the same level"
            ),
            DagError::Cycle(ids) => write!(
                f,
                "the steps form a cycle: {} (repeat work with a while or foreach step instead)",
                ids.join(" -> ")
            ),
        }
    }
}

/// The graph of one level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dag {
    ids: Vec<String>,
    index: HashMap<String, usize>,
    successors: Vec<Vec<Edge>>,
    predecessors: Vec<Vec<Edge>>,
    order: Vec<usize>,
    levels: Vec<usize>,
}

impl Dag {
    /// Builds the graph of one level of steps.
    pub fn from_steps(steps: &[Step]) -> Result<Dag, Vec<DagError>> {
        let ids: Vec<String> = steps.iter().map(|s| s.id.clone()).collect();
        let edges = steps.iter().flat_map(|s| {
            s.transition
                .successors
                .iter()
                .map(move |(to, cond)| (s.id.clone(), to.clone(), cond.clone()))
        });
        Dag::from_edges(ids, edges)
    }

    /// Builds a graph from node ids (in order) and `(from, to, condition)` edges. Reports every
    /// duplicate id and unknown successor, and a cycle if there is one.
    pub fn from_edges(
        ids: Vec<String>,
        edges: impl IntoIterator<Item = (String, String, String)>,
    ) -> Result<Dag, Vec<DagError>> {
        let mut errors = Vec::new();
        let mut index = HashMap::with_capacity(ids.len());
        for (i, id) in ids.iter().enumerate() {
            if let Some(&first) = index.get(id) {
                errors.push(DagError::DuplicateId {
                    id: id.clone(),
                    first,
                    second: i,
                });
            } else {
                index.insert(id.clone(), i);
            }
        }
        let n = ids.len();
        let mut successors = vec![Vec::new(); n];
        let mut predecessors = vec![Vec::new(); n];
        for (from, to, condition) in edges {
            let Some(&f) = index.get(&from) else {
                continue;
            };
            match index.get(&to) {
                Some(&t) => {
                    successors[f].push(Edge {
                        node: t,
                        condition: condition.clone(),
                    });
                    predecessors[t].push(Edge { node: f, condition });
                }
                None => errors.push(DagError::UnknownSuccessor { from: f, to }),
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let mut dag = Dag {
            ids,
            index,
            successors,
            predecessors,
            order: Vec::new(),
            levels: Vec::new(),
        };
        dag.sort().map_err(|cycle| vec![DagError::Cycle(cycle)])?;
        Ok(dag)
    }

    /// Kahn's algorithm, taking ready nodes in definition order so the order is deterministic.
    /// Also computes each node's level (longest distance from a root).
    fn sort(&mut self) -> Result<(), Vec<String>> {
        let n = self.ids.len();
        let mut indegree: Vec<usize> = self.predecessors.iter().map(Vec::len).collect();
        let mut ready: BinaryHeap<Reverse<usize>> =
            (0..n).filter(|&i| indegree[i] == 0).map(Reverse).collect();
        let mut levels = vec![0; n];
        let mut order = Vec::with_capacity(n);
        while let Some(Reverse(i)) = ready.pop() {
            order.push(i);
            for e in &self.successors[i] {
                levels[e.node] = levels[e.node].max(levels[i] + 1);
                indegree[e.node] -= 1;
                if indegree[e.node] == 0 {
                    ready.push(Reverse(e.node));
                }
            }
        }
        if order.len() < n {
            return Err(self.find_cycle(&indegree));
        }
        self.order = order;
        self.levels = levels;
        Ok(())
    }

    /// Every node left with a positive in-degree has a predecessor also left, so walking
    /// predecessors from one of them must come back to a node already seen.
    fn find_cycle(&self, indegree: &[usize]) -> Vec<String> {
        let Some(start) = (0..self.ids.len()).find(|&i| indegree[i] > 0) else {
            return Vec::new();
        };
        let mut seen: HashMap<usize, usize> = HashMap::new();
        let mut path = vec![start];
        let mut cur = start;
        seen.insert(start, 0);
        loop {
            let Some(prev) = self.predecessors[cur]
                .iter()
                .map(|e| e.node)
                .find(|&p| indegree[p] > 0)
            else {
                return Vec::new();
            };
            if let Some(&pos) = seen.get(&prev) {
                let mut cycle: Vec<String> = path[pos..]
                    .iter()
                    .rev()
                    .map(|&i| self.ids[i].clone())
                    .collect();
                // Walking predecessors gives the cycle backwards; rotate so it starts at `prev`.
                cycle.rotate_right(1);
                let first = cycle[0].clone();
                cycle.push(first);
                return cycle;
            }
            seen.insert(prev, path.len());
            path.push(prev);
            cur = prev;
        }
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// True when there are no nodes.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The id of a node.
    pub fn id(&self, node: usize) -> &str {
        &self.ids[node]
    }

    /// Node ids in definition order.
    pub fn ids(&self) -> &[String] {
        &self.ids
    }

    /// The node of a step id.
    pub fn index_of(&self, id: &str) -> Option<usize> {
        self.index.get(id).copied()
    }

    /// Outgoing edges of a node, in the order written.
    pub fn successors(&self, node: usize) -> &[Edge] {
        &self.successors[node]
    }

    /// Incoming edges of a node, in definition order of their sources.
    pub fn predecessors(&self, node: usize) -> &[Edge] {
        &self.predecessors[node]
    }

    /// Nodes without predecessors, in definition order.
    pub fn roots(&self) -> Vec<usize> {
        (0..self.len())
            .filter(|&i| self.predecessors[i].is_empty())
            .collect()
    }

    /// Nodes without successors, in definition order.
    pub fn sinks(&self) -> Vec<usize> {
        (0..self.len())
            .filter(|&i| self.successors[i].is_empty())
            .collect()
    }

    /// A topological order (each node after all its predecessors; ties in definition order).
    pub fn topological_order(&self) -> &[usize] {
        &self.order
    }

    /// A node's level: the longest distance from a root (roots are 0).
    pub fn level(&self, node: usize) -> usize {
        self.levels[node]
    }

    /// Number of levels: the longest path counted in nodes (0 for an empty graph).
    pub fn depth(&self) -> usize {
        self.levels.iter().max().map_or(0, |l| l + 1)
    }

    /// Predecessor ids of every step, as Maestro derives `transition.predecessors`.
    pub fn predecessor_ids(&self, node: usize) -> Vec<&str> {
        self.predecessors[node]
            .iter()
            .map(|e| self.ids[e.node].as_str())
            .collect()
    }
}

/// The graphs of a workflow: the top level and, recursively, every loop body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DagTree {
    /// This level's graph.
    pub dag: Dag,
    /// Loop step id → the graph of its body.
    pub bodies: IndexMap<String, DagTree>,
}

impl DagTree {
    /// Builds the graph of `steps` and of every foreach/while body below them. Errors are
    /// returned with the step-id path of the level they belong to (empty for the top level).
    pub fn build(steps: &[Step]) -> Result<DagTree, Vec<(Vec<String>, DagError)>> {
        let mut errors = Vec::new();
        let tree = build_level(steps, &mut Vec::new(), &mut errors);
        match tree {
            Some(t) if errors.is_empty() => Ok(t),
            _ => Err(errors),
        }
    }

    /// Total steps on all levels.
    pub fn total_steps(&self) -> usize {
        self.dag.len()
            + self
                .bodies
                .values()
                .map(DagTree::total_steps)
                .sum::<usize>()
    }

    /// Deepest nesting of loop bodies below this level (0 when there is none).
    pub fn nesting_depth(&self) -> usize {
        self.bodies
            .values()
            .map(|b| 1 + b.nesting_depth())
            .max()
            .unwrap_or(0)
    }
}

fn build_level(
    steps: &[Step],
    level: &mut Vec<String>,
    errors: &mut Vec<(Vec<String>, DagError)>,
) -> Option<DagTree> {
    let dag = match Dag::from_steps(steps) {
        Ok(d) => Some(d),
        Err(es) => {
            errors.extend(es.into_iter().map(|e| (level.clone(), e)));
            None
        }
    };
    let mut bodies = IndexMap::new();
    for s in steps {
        if let Some(body) = s.body() {
            level.push(s.id.clone());
            if let Some(t) = build_level(body, level, errors) {
                bodies.insert(s.id.clone(), t);
            }
            level.pop();
        }
    }
    dag.map(|dag| DagTree { dag, bodies })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dag(ids: &[&str], edges: &[(&str, &str)]) -> Result<Dag, Vec<DagError>> {
        Dag::from_edges(
            ids.iter().map(|s| s.to_string()).collect(),
            edges
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string(), "true".to_string())),
        )
    }

    #[test]
    fn diamond() {
        let d = dag(
            &["a", "b", "c", "d"],
            &[("a", "b"), ("a", "c"), ("b", "d"), ("c", "d")],
        )
        .unwrap();
        assert_eq!(d.roots(), [0]);
        assert_eq!(d.sinks(), [3]);
        assert_eq!(d.topological_order(), [0, 1, 2, 3]);
        assert_eq!(d.depth(), 3);
        assert_eq!(d.predecessor_ids(3), ["b", "c"]);
        assert_eq!(d.level(3), 2);
    }

    #[test]
    fn no_transitions_means_parallel() {
        let d = dag(&["x", "y", "z"], &[]).unwrap();
        assert_eq!(d.roots(), [0, 1, 2]);
        assert_eq!(d.sinks(), [0, 1, 2]);
        assert_eq!(d.depth(), 1);
    }

    #[test]
    fn cycle_is_named() {
        let err = dag(
            &["a", "b", "c", "d"],
            &[("a", "b"), ("b", "c"), ("c", "b"), ("c", "d")],
        )
        .unwrap_err();
        let [DagError::Cycle(ids)] = err.as_slice() else {
            panic!("{err:?}")
        };
        assert_eq!(ids.first(), ids.last());
        assert_eq!(ids.len(), 3);
        assert!(ids.contains(&"b".to_string()) && ids.contains(&"c".to_string()));
        let err = dag(&["a"], &[("a", "a")]).unwrap_err();
        assert_eq!(err, [DagError::Cycle(vec!["a".into(), "a".into()])]);
    }

    #[test]
    fn unknown_and_duplicate() {
        let err = dag(&["a", "b", "a"], &[("a", "zz")]).unwrap_err();
        assert!(err.contains(&DagError::DuplicateId {
            id: "a".into(),
            first: 0,
            second: 2
        }));
        assert!(err.contains(&DagError::UnknownSuccessor {
            from: 0,
            to: "zz".into()
        }));
    }
}
