//! Where an instance should run: a score per live node from what it last reported, as a pure
//! function of its inputs so the same inputs always choose the same node.
//!
//! ```text
//! score = performance × (3 × free CPU + free memory) / 4 / (1 + instances already there)
//! ```
//!
//! Free CPU and free memory are fractions (0 to 1); CPU weighs three times memory, as in the
//! seed's AI-on-the-edge placement. `performance` is the node's figure from its start-up
//! benchmark divided by the best live node's, so a faster machine gets more. Dividing by the
//! instances it already runs spreads work across nodes that report the same load (they cannot
//! report the cost of instances placed a moment ago). A node at or above [`TOO_HOT_C`] scores 0,
//! as does one without the memory the app needs or without the labels the deployment asks for.
//! Ties go to the node whose name sorts first.

use std::collections::BTreeMap;

/// A CPU temperature at which a node takes no new work.
pub const TOO_HOT_C: f64 = 85.0;

/// What placement knows of a live node.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeLoad {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    /// CPU use, 0 to 100.
    pub cpu_percent: f64,
    pub memory_free_mb: f64,
    pub memory_total_mb: f64,
    pub temperature_c: Option<f64>,
    /// The node's benchmark figure (higher is faster).
    pub performance: f64,
    /// Instances placed on it.
    pub instances: u32,
}

/// What an instance needs of a node.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Needs {
    pub memory_mb: f64,
    /// Labels the node must carry, e.g. `site=north`.
    pub labels: BTreeMap<String, String>,
}

/// The node's score for an instance with `needs`; 0 when it cannot take it. `best_performance`
/// is the highest performance figure among the live nodes.
pub fn score(node: &NodeLoad, needs: &Needs, best_performance: f64) -> f64 {
    let fits = node.memory_free_mb >= needs.memory_mb
        && needs
            .labels
            .iter()
            .all(|(k, v)| node.labels.get(k) == Some(v))
        && node.temperature_c.is_none_or(|t| t < TOO_HOT_C);
    if !fits || node.memory_total_mb <= 0.0 {
        return 0.0;
    }
    let free_cpu = (1.0 - node.cpu_percent / 100.0).clamp(0.0, 1.0);
    let free_memory = (node.memory_free_mb / node.memory_total_mb).clamp(0.0, 1.0);
    let performance = if best_performance > 0.0 {
        (node.performance / best_performance).clamp(0.0, 1.0)
    } else {
        1.0
    };
    // A node with no headroom left still scores a little, so work goes somewhere.
    let headroom = ((3.0 * free_cpu + free_memory) / 4.0).max(0.01);
    performance * headroom / (1.0 + f64::from(node.instances))
}

/// The index of the node to place an instance with `needs` on, or `None` if none can take it.
pub fn choose(nodes: &[NodeLoad], needs: &Needs) -> Option<usize> {
    let best = nodes.iter().map(|n| n.performance).fold(0.0, f64::max);
    nodes
        .iter()
        .enumerate()
        .map(|(i, node)| (i, score(node, needs, best)))
        .filter(|(_, score)| *score > 0.0)
        .max_by(|(a, sa), (b, sb)| {
            sa.total_cmp(sb)
                .then_with(|| nodes[*b].name.cmp(&nodes[*a].name))
        })
        .map(|(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(name: &str, cpu: f64, free_mb: f64) -> NodeLoad {
        NodeLoad {
            name: name.into(),
            labels: BTreeMap::new(),
            cpu_percent: cpu,
            memory_free_mb: free_mb,
            memory_total_mb: 1000.0,
            temperature_c: Some(50.0),
            performance: 100.0,
            instances: 0,
        }
    }

    #[test]
    fn free_cpu_weighs_three_times_free_memory() {
        // a: half its CPU and all its memory free; b: all its CPU and a tenth of its memory
        // free. b wins: 3 × 1.0 + 0.1 > 3 × 0.5 + 1.0.
        let nodes = [node("a", 50.0, 1000.0), node("b", 0.0, 100.0)];
        assert_eq!(choose(&nodes, &Needs::default()), Some(1));
        let a = score(&nodes[0], &Needs::default(), 100.0);
        assert!((a - (3.0 * 0.5 + 1.0) / 4.0).abs() < 1e-9, "{a}");
    }

    #[test]
    fn instances_already_placed_spread_equal_nodes() {
        let mut nodes = vec![
            node("a", 10.0, 800.0),
            node("b", 10.0, 800.0),
            node("c", 10.0, 800.0),
        ];
        let mut counts = [0; 3];
        for _ in 0..30 {
            let i = choose(&nodes, &Needs::default()).unwrap();
            nodes[i].instances += 1;
            counts[i] += 1;
        }
        assert_eq!(counts, [10, 10, 10]);
    }

    #[test]
    fn hot_small_or_unlabelled_nodes_take_nothing() {
        let mut hot = node("hot", 0.0, 1000.0);
        hot.temperature_c = Some(TOO_HOT_C + 1.0);
        let small = node("small", 0.0, 10.0);
        let mut north = node("north", 90.0, 500.0);
        north.labels.insert("site".into(), "north".into());
        let needs = Needs {
            memory_mb: 64.0,
            labels: [("site".to_string(), "north".to_string())].into(),
        };
        let nodes = [hot.clone(), small.clone(), north];
        assert_eq!(choose(&nodes, &needs), Some(2));
        // Without needs, the small node can take work; the hot one never can.
        assert_eq!(choose(&[hot, small], &Needs::default()), Some(1));
        assert_eq!(choose(&nodes[..2], &needs), None);
    }

    #[test]
    fn the_faster_node_wins_and_ties_go_by_name() {
        let mut slow = node("a", 0.0, 1000.0);
        slow.performance = 50.0;
        let fast = node("b", 0.0, 1000.0);
        assert_eq!(choose(&[slow, fast.clone()], &Needs::default()), Some(1));
        let twin = NodeLoad {
            name: "c".into(),
            ..fast.clone()
        };
        assert_eq!(choose(&[twin, fast], &Needs::default()), Some(1));
    }
}
