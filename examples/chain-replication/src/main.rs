//! `chainsim`: the whole syncsim command line, with chain replication registered beside the
//! built-in protocol families.

use chain_replication::Chain;
use syncsim::Registry;

fn main() {
    std::process::exit(syncsim::cli::main_with(Registry::builtin().with::<Chain>()));
}
