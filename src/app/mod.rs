//! The job's wiring, between the components and the command line: a [`Session`] opens the
//! cluster (or reaches an external one), the database pool (migrated once), the LLM executor and
//! the handler server, registers the handlers, and runs classifications; [`database`] decides
//! which database a command uses. `cli` only parses, calls these and prints.

pub(crate) mod classify;
pub(crate) mod database;
pub(crate) mod error;
pub(crate) mod session;

pub(crate) use classify::ClassifyOptions;
pub(crate) use database::database;
pub(crate) use error::AppError;
pub(crate) use session::{External, Nodes, Session, SessionOptions};
