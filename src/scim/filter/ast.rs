//! The syntax tree of an RFC 7644 §3.4.2.2 filter; plain data shared by the evaluator, the PATCH engine and the SQL compiler.

/// `urn` is the schema URN when the path was URN-qualified (as written, without the trailing ':'), else None.
/// `name` is the attribute name as written; `sub` the sub-attribute as written. Compare case-insensitively.
#[derive(Debug, Clone, PartialEq)]
pub struct AttrPath {
    pub urn: Option<String>,
    pub name: String,
    pub sub: Option<String>,
}

/// The comparison operators of RFC 7644 §3.4.2.2, Table 3 (`pr` is [`Filter::Present`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

impl CompareOp {
    /// Recognises an operator word; RFC 7644 §3.4.2.2 makes them case-insensitive.
    pub(crate) fn from_word(word: &str) -> Option<CompareOp> {
        const OPS: [(&str, CompareOp); 9] = [
            ("eq", CompareOp::Eq),
            ("ne", CompareOp::Ne),
            ("co", CompareOp::Co),
            ("sw", CompareOp::Sw),
            ("ew", CompareOp::Ew),
            ("gt", CompareOp::Gt),
            ("ge", CompareOp::Ge),
            ("lt", CompareOp::Lt),
            ("le", CompareOp::Le),
        ];
        OPS.iter().find(|(name, _)| word.eq_ignore_ascii_case(name)).map(|(_, op)| *op)
    }
}

/// A comparison value (`compValue` in the RFC 7644 §3.4.2.2 ABNF).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    String(String),
    Number(serde_json::Number),
    Bool(bool),
    Null,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    Compare {
        path: AttrPath,
        op: CompareOp,
        value: Value,
    },
    Present(AttrPath),
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
    /// `emails[type eq "work" and primary eq true]`: the inner filter's paths name
    /// sub-attributes of `path` (inner AttrPath.name = "type", urn None, sub None).
    ValuePath {
        path: AttrPath,
        filter: Box<Filter>,
    },
}
