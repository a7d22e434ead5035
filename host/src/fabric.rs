//! The little that differs between madsim and the live host: where a node's endpoint lives,
//! how a node is started, killed and restarted, and how a link is cut. Everything else (the
//! node loop, clients, faults, the history) is one code path in `world`.

use std::future::Future;
use std::pin::Pin;

/// A node's body: started at the beginning and at every restart.
pub type NodeInit = Box<dyn Fn() -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

#[cfg(madsim)]
pub use sim::{Fabric, madsim_config};

#[cfg(not(madsim))]
pub use live::Fabric;

#[cfg(madsim)]
mod sim {
    use std::net::{IpAddr, Ipv4Addr, SocketAddr};
    use std::sync::Mutex;
    use std::time::Duration;

    use madsim::net::{Endpoint, NetSim};
    use madsim::runtime::Handle;
    use syncsim_sim::dist::Latency;
    use syncsim_sim::{NodeId, SimConfig};

    use super::NodeInit;

    /// The port every simulated node listens on (each node has its own address).
    const PORT: u16 = 7000;

    /// Nodes are madsim nodes with addresses of their own; cuts are madsim clogs.
    pub struct Fabric {
        ids: Mutex<Vec<Option<madsim::task::NodeId>>>,
    }

    impl Fabric {
        /// madsim's network drops a clogged link's messages itself.
        pub const FILTERS_CUTS: bool = false;
        /// A killed madsim node loses its sockets, so each incarnation binds its own endpoint
        /// and runs its own receive loop.
        pub const PUMP_PER_INCARNATION: bool = true;
        /// Clients pay the scenario's client latency in virtual time (draws of a millisecond or
        /// more: madsim sleeps no less).
        pub const CLIENT_LATENCY: bool = true;
        /// Receive loops per node: madsim holds each received message for at least 1 ms.
        pub const RECEIVERS: usize = 8;

        /// Room for `nodes` nodes, created by [`Fabric::start`].
        pub fn new(nodes: u32) -> Fabric {
            Fabric { ids: Mutex::new(vec![None; nodes as usize]) }
        }

        fn ip(k: NodeId) -> IpAddr {
            let n = k.0 + 1;
            IpAddr::V4(Ipv4Addr::new(10, (n >> 16) as u8, (n >> 8) as u8, n as u8))
        }

        fn id(&self, k: NodeId) -> madsim::task::NodeId {
            self.ids.lock().unwrap()[k.index()].expect("node started")
        }

        /// Node `k`'s address.
        pub fn addr(&self, k: NodeId) -> SocketAddr {
            SocketAddr::new(Self::ip(k), PORT)
        }

        /// Node `k`'s endpoint, bound from inside the node.
        pub async fn endpoint(&self, _k: NodeId) -> std::io::Result<Endpoint> {
            Endpoint::bind(SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), PORT)).await
        }

        /// Creates node `k` as a madsim node running `init` (again at every restart).
        pub fn start(&self, k: NodeId, init: NodeInit) {
            let node = Handle::current().create_node().name(format!("n{}", k.0)).ip(Self::ip(k)).init(init).build();
            self.ids.lock().unwrap()[k.index()] = Some(node.id());
        }

        /// Kills node `k`: its tasks and sockets are gone.
        pub fn kill(&self, k: NodeId) {
            Handle::current().kill(self.id(k));
        }

        /// Restarts node `k`, which runs its `init` again.
        pub fn restart(&self, k: NodeId) {
            Handle::current().restart(self.id(k));
        }

        /// Cuts the link from `a` to `b` (one direction).
        pub fn cut(&self, a: NodeId, b: NodeId) {
            NetSim::current().clog_link(self.id(a), self.id(b));
        }

        /// Restores the link from `a` to `b`.
        pub fn uncut(&self, a: NodeId, b: NodeId) {
            NetSim::current().unclog_link(self.id(a), self.id(b));
        }
    }

    /// madsim's configuration for a scenario the support check accepted: its latency as one
    /// uniform range, and its loss.
    pub fn madsim_config(config: &SimConfig) -> madsim::Config {
        let link = &config.network.default;
        let nanos = |d: syncsim_sim::SimDuration| Duration::from_nanos(d.as_nanos());
        let (low, high) = match link.latency {
            Latency::Constant(d) => (nanos(d), nanos(d)),
            Latency::Uniform { min, max } => (nanos(min), nanos(max)),
            _ => unreachable!("the support check accepts only constant and uniform latencies"),
        };
        // madsim's range excludes its end; an empty range would not draw.
        let high = high.max(low + Duration::from_nanos(1));
        let mut out = madsim::Config::default();
        out.net.send_latency = low..high;
        out.net.packet_loss_rate = link.loss.get();
        out
    }
}

#[cfg(not(madsim))]
mod live {
    use std::net::SocketAddr;
    use std::sync::Mutex;

    use madsim::net::Endpoint;
    use syncsim_sim::NodeId;
    use tokio::task::JoinHandle;

    use super::NodeInit;

    /// Every node's TCP endpoint is bound for the whole run (a node's "machine" stays up when
    /// its process crashes); a node is a tokio task, stopped by aborting it.
    pub struct Fabric {
        endpoints: Vec<Endpoint>,
        nodes: Mutex<Vec<LiveNode>>,
    }

    /// A node's body and its running task.
    type LiveNode = (Option<NodeInit>, Option<JoinHandle<()>>);

    impl Fabric {
        /// The live host drops a cut link's messages itself, where they arrive.
        pub const FILTERS_CUTS: bool = true;
        /// One receive loop per node for the whole run: it drops what arrives while the node
        /// is down, as a crashed process's socket would.
        pub const PUMP_PER_INCARNATION: bool = false;
        /// Clients reach their node in-process: tokio's timers tick in whole milliseconds, so
        /// sleeping out a sub-millisecond client latency would add a millisecond or two.
        pub const CLIENT_LATENCY: bool = false;
        /// One receive loop per node: TCP delivers in order, without holding messages.
        pub const RECEIVERS: usize = 1;

        /// Binds one loopback endpoint per node.
        pub async fn bind(nodes: u32) -> std::io::Result<Fabric> {
            let mut endpoints = Vec::with_capacity(nodes as usize);
            for _ in 0..nodes {
                endpoints.push(Endpoint::bind("127.0.0.1:0").await?);
            }
            let nodes = Mutex::new((0..nodes).map(|_| (None, None)).collect());
            Ok(Fabric { endpoints, nodes })
        }

        /// Node `k`'s address.
        pub fn addr(&self, k: NodeId) -> SocketAddr {
            self.endpoints[k.index()].local_addr().expect("bound")
        }

        /// Node `k`'s endpoint.
        pub async fn endpoint(&self, k: NodeId) -> std::io::Result<Endpoint> {
            Ok(self.endpoints[k.index()].clone())
        }

        /// Starts node `k`'s task running `init` (again at every restart).
        pub fn start(&self, k: NodeId, init: NodeInit) {
            let task = tokio::spawn(init());
            self.nodes.lock().unwrap()[k.index()] = (Some(init), Some(task));
        }

        /// Stops node `k`'s task.
        pub fn kill(&self, k: NodeId) {
            if let Some(task) = self.nodes.lock().unwrap()[k.index()].1.take() {
                task.abort();
            }
        }

        /// Starts node `k`'s task again.
        pub fn restart(&self, k: NodeId) {
            let mut nodes = self.nodes.lock().unwrap();
            let (init, task) = &mut nodes[k.index()];
            if let Some(init) = init {
                *task = Some(tokio::spawn(init()));
            }
        }

        /// Cuts are applied where messages arrive (see [`Fabric::FILTERS_CUTS`]).
        pub fn cut(&self, _a: NodeId, _b: NodeId) {}

        /// See [`Fabric::cut`].
        pub fn uncut(&self, _a: NodeId, _b: NodeId) {}
    }
}
