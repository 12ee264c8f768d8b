//! SCIM PATCH (RFC 7644 §3.5.2): path parsing and applying operations to a resource's JSON; depends on the filter module and the attribute schema trait only.

mod apply;
mod path;

pub use apply::{OpKind, PatchError, PatchOp, apply};
pub use path::{PatchPath, parse_path};
