//! The commands of the `syncsim` binary, one file each; [`crate::cli`] parses the command line
//! and hands each its arguments. Every command returns its exit code ([`syncsim_reports::Exit`]).

pub mod compare;
pub mod host;
pub mod hunt;
pub mod lincheck;
pub mod list;
pub mod run;
pub mod shrink;
pub mod sweep;
pub mod validate;
