//! Which nodes have direct links, and how a message crosses the graph: a full mesh by default,
//! or a ring, a star or explicit links with multi-hop routing over the lowest-latency path.

use std::collections::BTreeMap;

use petgraph::graph::{NodeIndex, UnGraph};
use petgraph::visit::EdgeRef;
use serde::{Deserialize, Serialize};

use crate::protocol::NodeId;

/// The shape of the cluster's network, as a scenario gives it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TopologySpec {
    /// Every node links directly to every other (the default).
    Mesh,
    /// Node k links to k-1 and k+1, wrapping around.
    Ring,
    /// Every node links to one hub.
    Star {
        /// The hub.
        hub: NodeId,
    },
    /// Exactly these undirected links.
    Links(Vec<(NodeId, NodeId)>),
}

impl TopologySpec {
    /// True if `a` and `b` (of `nodes` nodes) share a direct link.
    pub fn adjacent(&self, nodes: u32, a: NodeId, b: NodeId) -> bool {
        if a == b {
            return false;
        }
        match self {
            TopologySpec::Mesh => true,
            TopologySpec::Ring => (a.0 + 1) % nodes == b.0 || (b.0 + 1) % nodes == a.0,
            TopologySpec::Star { hub } => a == *hub || b == *hub,
            TopologySpec::Links(links) => links.iter().any(|&(x, y)| (x, y) == (a, b) || (x, y) == (b, a)),
        }
    }
}

/// A topology in which this node cannot reach node 0.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Disconnected(pub NodeId);

impl std::fmt::Display for Disconnected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the topology is disconnected: node {} cannot reach node 0", self.0.0)
    }
}

/// The network graph and its routes. A mesh needs no graph: every route is one hop.
#[derive(Clone, Debug)]
pub struct Topology {
    nodes: u32,
    graph: Option<UnGraph<(), u64>>,
    /// Distance of every node to a destination, computed when first routed to.
    dist_to: BTreeMap<u32, Vec<u64>>,
}

impl Topology {
    /// Builds the graph for `spec`; `weight(a, b)` is the cost of the direct link a–b (its
    /// median latency). Fails with the first node that cannot reach node 0.
    pub fn new(spec: &TopologySpec, nodes: u32, weight: impl Fn(NodeId, NodeId) -> u64) -> Result<Self, Disconnected> {
        let edges: Vec<(u32, u32)> = match spec {
            TopologySpec::Mesh => {
                return Ok(Topology { nodes, graph: None, dist_to: BTreeMap::new() });
            }
            TopologySpec::Ring => match nodes {
                0 | 1 => vec![],
                2 => vec![(0, 1)],
                n => (0..n).map(|k| (k, (k + 1) % n)).collect(),
            },
            TopologySpec::Star { hub } => (0..nodes).filter(|&k| k != hub.0).map(|k| (hub.0, k)).collect(),
            TopologySpec::Links(links) => links.iter().map(|(a, b)| (a.0, b.0)).collect(),
        };
        let mut graph = UnGraph::<(), u64>::with_capacity(nodes as usize, edges.len());
        for _ in 0..nodes {
            graph.add_node(());
        }
        for (a, b) in edges {
            // +1 so that among equal latencies the path with fewer hops wins.
            let w = weight(NodeId(a), NodeId(b)).max(weight(NodeId(b), NodeId(a))) + 1;
            graph.add_edge(NodeIndex::new(a as usize), NodeIndex::new(b as usize), w);
        }
        let mut topology = Topology { nodes, graph: Some(graph), dist_to: BTreeMap::new() };
        if nodes > 1 {
            let reach = topology.distances(0);
            if let Some(k) = reach.iter().position(|&d| d == u64::MAX) {
                return Err(Disconnected(NodeId(k as u32)));
            }
        }
        Ok(topology)
    }

    /// True for a full mesh, where every route is a single hop.
    pub fn is_mesh(&self) -> bool {
        self.graph.is_none()
    }

    /// Writes into `hops` the nodes a message from `from` to `to` passes through after
    /// `from`, ending with `to`. Ties between equally short paths go to the lower node id.
    pub fn route(&mut self, from: NodeId, to: NodeId, hops: &mut Vec<NodeId>) {
        hops.clear();
        if self.graph.is_none() || from == to {
            hops.push(to);
            return;
        }
        self.distances(to.0);
        let dist = &self.dist_to[&to.0];
        let g = self.graph.as_ref().expect("routed topology has a graph");
        let mut here = from;
        while here != to {
            let next = g
                .edges(NodeIndex::new(here.index()))
                .filter(|e| {
                    let there = e.target().index();
                    dist[there].saturating_add(*e.weight()) == dist[here.index()]
                })
                .map(|e| e.target().index() as u32)
                .min()
                .expect("a connected graph has a next hop toward every node");
            here = NodeId(next);
            hops.push(here);
        }
    }

    fn distances(&mut self, dest: u32) -> &Vec<u64> {
        let graph = self.graph.as_ref().expect("routed topology has a graph");
        let nodes = self.nodes as usize;
        self.dist_to.entry(dest).or_insert_with(|| {
            let mut dist = vec![u64::MAX; nodes];
            let found = petgraph::algo::dijkstra(graph, NodeIndex::new(dest as usize), None, |e| *e.weight());
            for (node, d) in found {
                dist[node.index()] = d;
            }
            dist
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(t: &mut Topology, a: u32, b: u32) -> Vec<u32> {
        let mut hops = vec![];
        t.route(NodeId(a), NodeId(b), &mut hops);
        hops.into_iter().map(|n| n.0).collect()
    }

    #[test]
    fn ring_routes_the_short_way_round() {
        let mut t = Topology::new(&TopologySpec::Ring, 6, |_, _| 10).unwrap();
        assert_eq!(route(&mut t, 0, 2), vec![1, 2]);
        assert_eq!(route(&mut t, 0, 4), vec![5, 4]);
        assert_eq!(route(&mut t, 0, 3), vec![1, 2, 3], "ties go to the lower id");
    }

    #[test]
    fn star_goes_through_the_hub_and_mesh_is_direct() {
        let mut t = Topology::new(&TopologySpec::Star { hub: NodeId(2) }, 5, |_, _| 1).unwrap();
        assert_eq!(route(&mut t, 0, 4), vec![2, 4]);
        let mut m = Topology::new(&TopologySpec::Mesh, 5, |_, _| 1).unwrap();
        assert_eq!(route(&mut m, 0, 4), vec![4]);
    }

    #[test]
    fn routing_prefers_lower_latency_over_fewer_hops() {
        // 0-1 is slow (100); 0-2-1 is fast (10 + 10).
        let links = vec![(NodeId(0), NodeId(1)), (NodeId(0), NodeId(2)), (NodeId(2), NodeId(1))];
        let weight = |a: NodeId, b: NodeId| {
            if (a.0, b.0) == (0, 1) || (a.0, b.0) == (1, 0) { 100 } else { 10 }
        };
        let mut t = Topology::new(&TopologySpec::Links(links), 3, weight).unwrap();
        assert_eq!(route(&mut t, 0, 1), vec![2, 1]);
    }

    #[test]
    fn adjacency_follows_the_shape() {
        assert!(TopologySpec::Ring.adjacent(5, NodeId(4), NodeId(0)));
        assert!(!TopologySpec::Ring.adjacent(5, NodeId(1), NodeId(3)));
        assert!(TopologySpec::Star { hub: NodeId(2) }.adjacent(5, NodeId(2), NodeId(4)));
        assert!(!TopologySpec::Star { hub: NodeId(2) }.adjacent(5, NodeId(0), NodeId(4)));
        assert!(TopologySpec::Mesh.adjacent(5, NodeId(0), NodeId(4)));
    }

    #[test]
    fn disconnected_graphs_are_rejected() {
        let links = vec![(NodeId(0), NodeId(1))];
        let err = Topology::new(&TopologySpec::Links(links), 3, |_, _| 1).unwrap_err();
        assert_eq!(err, Disconnected(NodeId(2)));
    }
}
