//! The job's wiring, between the components and the command line: a [`Session`] opens the
//! cluster (or reaches an external one), the database pool (migrated once), the LLM executor and
//! the handler server, registers the handlers, and runs classifications; [`database`] decides
//! which database a command uses. `cli` only parses, calls these and prints.

pub mod classify;
pub mod database;
pub mod error;
pub mod session;

pub use classify::{ClassifyOptions, Profile};
pub use database::database;
pub use error::AppError;
pub use session::{External, Nodes, Session, SessionOptions};
