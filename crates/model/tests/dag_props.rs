//! Property tests of DAG building: random DAGs always give a valid topological order with the
//! right roots, sinks and depth; random graphs with a cycle are always rejected with a real cycle.

use baton_model::dag::{Dag, DagError};
use proptest::prelude::*;

/// Node ids in a shuffled order, so definition order is not topological order.
fn ids(n: usize, shuffle: &[usize]) -> Vec<String> {
    let mut order: Vec<usize> = (0..n).collect();
    for (i, s) in shuffle.iter().enumerate().take(n) {
        order.swap(i, s % n);
    }
    order.into_iter().map(|i| format!("s{i}")).collect()
}

/// Edges `s{i} -> s{j}` only for i < j: acyclic whatever the ids' order.
fn dag_edges(n: usize, picks: &[(usize, usize)]) -> Vec<(usize, usize)> {
    let mut edges: Vec<(usize, usize)> = picks
        .iter()
        .map(|(a, b)| (a % n, b % n))
        .filter(|(a, b)| a < b)
        .collect();
    edges.sort_unstable();
    edges.dedup();
    edges
}

fn build(n: usize, shuffle: &[usize], edges: &[(usize, usize)]) -> Result<Dag, Vec<DagError>> {
    Dag::from_edges(
        ids(n, shuffle),
        edges
            .iter()
            .map(|(a, b)| (format!("s{a}"), format!("s{b}"), format!("c{a}_{b}"))),
    )
}

/// Longest path in nodes, by dynamic programming over 0..n (a topological order for i < j edges).
fn longest_path(n: usize, edges: &[(usize, usize)]) -> usize {
    let mut best = vec![1usize; n];
    for j in 0..n {
        for (a, b) in edges {
            if *b == j {
                best[j] = best[j].max(best[*a] + 1);
            }
        }
    }
    best.into_iter().max().unwrap_or(0)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_dags_sort(
        n in 1usize..40,
        shuffle in prop::collection::vec(0usize..40, 40),
        picks in prop::collection::vec((0usize..40, 0usize..40), 0..120),
    ) {
        let edges = dag_edges(n, &picks);
        let dag = build(n, &shuffle, &edges).expect("a DAG builds");
        let order = dag.topological_order();
        prop_assert_eq!(order.len(), n);
        let mut pos = vec![usize::MAX; n];
        for (p, &node) in order.iter().enumerate() {
            prop_assert_eq!(pos[node], usize::MAX, "node listed twice");
            pos[node] = p;
        }
        for (a, b) in &edges {
            let ia = dag.index_of(&format!("s{a}")).expect("node");
            let ib = dag.index_of(&format!("s{b}")).expect("node");
            prop_assert!(pos[ia] < pos[ib], "edge s{} -> s{} out of order", a, b);
            let cond = format!("c{a}_{b}");
            prop_assert!(dag.successors(ia).iter().any(|e| e.node == ib && e.condition == cond));
            prop_assert!(dag.predecessors(ib).iter().any(|e| e.node == ia));
            prop_assert!(dag.level(ib) > dag.level(ia));
        }
        for r in dag.roots() {
            prop_assert!(dag.predecessors(r).is_empty());
            prop_assert_eq!(dag.level(r), 0);
        }
        for s in dag.sinks() {
            prop_assert!(dag.successors(s).is_empty());
        }
        let no_pred = (0..n).filter(|&i| dag.predecessors(i).is_empty()).count();
        prop_assert_eq!(dag.roots().len(), no_pred);
        prop_assert_eq!(dag.depth(), longest_path(n, &edges));
    }

    #[test]
    fn graphs_with_a_cycle_are_rejected(
        n in 1usize..40,
        shuffle in prop::collection::vec(0usize..40, 40),
        picks in prop::collection::vec((0usize..40, 0usize..40), 0..80),
        chain in prop::collection::btree_set(0usize..40, 1..6),
    ) {
        let mut edges = dag_edges(n, &picks);
        // A chain c0 -> c1 -> … -> ck plus the back edge ck -> c0 (a self-loop when k = 0).
        let chain: Vec<usize> = chain.into_iter().map(|c| c % n).collect::<std::collections::BTreeSet<_>>().into_iter().collect();
        for w in chain.windows(2) {
            edges.push((w[0], w[1]));
        }
        let first = chain[0];
        let last = *chain.last().expect("non-empty chain");
        edges.push((last, first));
        edges.sort_unstable();
        edges.dedup();

        let err = build(n, &shuffle, &edges).expect_err("a cycle is rejected");
        prop_assert_eq!(err.len(), 1);
        let DagError::Cycle(cycle) = &err[0] else {
            return Err(TestCaseError::fail(format!("expected a cycle, got {err:?}")));
        };
        prop_assert!(cycle.len() >= 2);
        prop_assert_eq!(cycle.first(), cycle.last());
        for w in cycle.windows(2) {
            let a: usize = w[0][1..].parse().expect("id");
            let b: usize = w[1][1..].parse().expect("id");
            prop_assert!(edges.contains(&(a, b)), "{} -> {} is not an edge", w[0], w[1]);
        }
    }
}
