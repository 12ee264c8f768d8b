//! SCIM filters (RFC 7644 §3.4.2.2): syntax tree, parser and in-memory evaluator; depends only on the attribute schema trait.

mod ast;
mod bind;
mod eval;
mod parser;

pub use ast::{AttrPath, CompareOp, Filter, Value};
pub use bind::bind;
pub use eval::matches;
pub use parser::{FilterError, parse, parse_attr_path};

// The PATCH engine reuses the tokenizer for its paths and the evaluator for value filters.
pub(crate) use bind::check_element;
pub(crate) use eval::matches_element;
pub(crate) use parser::Parser;

#[cfg(test)]
pub(crate) use eval::test_schema;
