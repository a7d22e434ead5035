//! The `syncsim` binary; everything lives in the library's [`syncsim::cli`].

fn main() {
    std::process::exit(syncsim::cli::main());
}
