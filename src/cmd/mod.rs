//! The commands of the `syncsim` binary, one file each; [`crate::cli`] parses the command line,
//! hands each its arguments, and prints what stopped a command in one place.
//!
//! Every command returns an [`Outcome`]: the [`Exit`] of what it found (a verdict, a
//! regression, nondeterminism), or the [`Error`] that kept it from running (exit 3).

use std::fmt::{self, Display};

use syncsim_reports::Exit;

pub mod anneal;
pub mod check;
pub mod compare;
pub mod host;
pub mod hunt;
pub mod lincheck;
pub mod list;
pub mod run;
pub mod shrink;
pub mod sweep;
pub mod validate;

/// What a command ends with: the exit code of what it found, or the error that stopped it.
pub type Outcome = Result<Exit, Error>;

/// Why a command could not do its job: one or more messages (each printed as `error: ...`,
/// naming the file, line and field where there is one) and the exit code, bad input (3).
#[derive(Debug)]
pub struct Error {
    messages: Vec<String>,
}

impl Error {
    /// Bad input or usage, said in one message.
    pub fn bad_input(message: impl Display) -> Error {
        Error { messages: vec![message.to_string()] }
    }

    /// Bad input found in several places (every bad file of `validate`), each said alone.
    pub fn all(messages: Vec<String>) -> Error {
        Error { messages }
    }

    /// The messages, one per problem.
    pub fn messages(&self) -> &[String] {
        &self.messages
    }

    /// The exit code the process ends with.
    pub fn exit(&self) -> Exit {
        Exit::BadInput
    }
}

impl Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.messages.join("\n"))
    }
}

impl From<String> for Error {
    fn from(message: String) -> Error {
        Error::bad_input(message)
    }
}

impl From<crate::scenario::ScenarioError> for Error {
    fn from(e: crate::scenario::ScenarioError) -> Error {
        Error::bad_input(e)
    }
}

impl From<anyhow::Error> for Error {
    fn from(e: anyhow::Error) -> Error {
        Error::bad_input(format!("{e:#}"))
    }
}

/// Turns any displayable error into a command [`Error`] that says what it concerned first
/// (`--seeds: ...`, `scenarios/x.yaml: ...`).
pub(crate) trait Context<T> {
    /// The error, prefixed with `what` and `: `.
    fn context(self, what: impl Display) -> Result<T, Error>;
}

impl<T, E: Display> Context<T> for Result<T, E> {
    fn context(self, what: impl Display) -> Result<T, Error> {
        self.map_err(|e| Error::bad_input(format!("{what}: {e}")))
    }
}

/// The [`Exit`] of a report's exit code; a code outside the table is a bug in syncsim, said
/// as an error rather than passed on as a success.
pub(crate) fn exit_of(code: i32) -> Outcome {
    Exit::ALL
        .into_iter()
        .find(|e| e.code() == code)
        .ok_or_else(|| Error::bad_input(format!("internal: exit code {code} is not in the table")))
}
