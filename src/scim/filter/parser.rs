//! Tokenizer and recursive-descent parser for the RFC 7644 §3.4.2.2 filter grammar; pure text to syntax tree.

use std::fmt;

use super::ast::{AttrPath, CompareOp, Filter, Value};

/// Filters arrive in URLs and request bodies from untrusted clients; bounding the input
/// bounds the parse time and the size of the tree that the evaluator and SQL compiler walk.
pub(crate) const MAX_INPUT_LEN: usize = 4096;

/// Parentheses and brackets recurse in the parser; the cap keeps a hostile filter from
/// exhausting the stack.
pub(crate) const MAX_DEPTH: usize = 64;

/// Why a filter or path did not parse, with the byte offset where the problem was seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterError {
    pub message: String,
    pub position: usize,
}

impl FilterError {
    pub(crate) fn new(message: impl Into<String>, position: usize) -> FilterError {
        FilterError { message: message.into(), position }
    }
}

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (at byte {})", self.message, self.position)
    }
}

impl std::error::Error for FilterError {}

/// Parses a whole filter expression, e.g. `userName eq "bjensen" and not (emails pr)`.
pub fn parse(input: &str) -> Result<Filter, FilterError> {
    let mut parser = Parser::new(input, "filter")?;
    let filter = parser.parse_or()?;
    parser.expect_end()?;
    Ok(filter)
}

/// Parses a lone attribute path (`attrPath` in the RFC 7644 §3.4.2.2 ABNF), as used by
/// `sortBy`, `attributes` and `excludedAttributes`.
pub fn parse_attr_path(input: &str) -> Result<AttrPath, FilterError> {
    let mut parser = Parser::new(input, "attribute path")?;
    let path = parser.attr_path()?;
    parser.expect_end()?;
    Ok(path)
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum TokenKind<'a> {
    /// An attribute path or a keyword; which one depends on where it stands.
    Word(&'a str),
    Str(String),
    Number(serde_json::Number),
    LParen,
    RParen,
    LBracket,
    RBracket,
    /// Only meaningful after `]` in a PATCH path (`emails[type eq "work"].value`).
    Dot,
    Eof,
}

impl TokenKind<'_> {
    fn describe(&self) -> String {
        match self {
            TokenKind::Word(word) => format!("'{word}'"),
            TokenKind::Str(_) => "a string".to_owned(),
            TokenKind::Number(_) => "a number".to_owned(),
            TokenKind::LParen => "'('".to_owned(),
            TokenKind::RParen => "')'".to_owned(),
            TokenKind::LBracket => "'['".to_owned(),
            TokenKind::RBracket => "']'".to_owned(),
            TokenKind::Dot => "'.'".to_owned(),
            TokenKind::Eof => "the end of the input".to_owned(),
        }
    }

    /// `true`, `false` and `null` are words to the lexer but values to the grammar.
    fn is_value(&self) -> bool {
        match self {
            TokenKind::Str(_) | TokenKind::Number(_) => true,
            TokenKind::Word(word) => ["true", "false", "null"].iter().any(|literal| word.eq_ignore_ascii_case(literal)),
            _ => false,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token<'a> {
    pub(crate) kind: TokenKind<'a>,
    pub(crate) start: usize,
    pub(crate) end: usize,
}

pub(crate) struct Lexer<'a> {
    src: &'a str,
    pos: usize,
}

/// Characters of an attribute path after its first one. ':' and '.' are included so that a
/// URN-qualified path such as `urn:…:2.0:User:name.givenName` is one token.
fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':' | '$')
}

impl<'a> Lexer<'a> {
    pub(crate) fn new(src: &'a str) -> Lexer<'a> {
        Lexer { src, pos: 0 }
    }

    fn rest(&self) -> &'a str {
        &self.src[self.pos..]
    }

    pub(crate) fn next_token(&mut self) -> Result<Token<'a>, FilterError> {
        let skipped = self.rest().len() - self.rest().trim_start_matches([' ', '\t', '\r', '\n']).len();
        self.pos += skipped;
        let start = self.pos;
        let Some(c) = self.rest().chars().next() else {
            return Ok(Token { kind: TokenKind::Eof, start, end: start });
        };
        let single = match c {
            '(' => Some(TokenKind::LParen),
            ')' => Some(TokenKind::RParen),
            '[' => Some(TokenKind::LBracket),
            ']' => Some(TokenKind::RBracket),
            '.' => Some(TokenKind::Dot),
            _ => None,
        };
        let kind = if let Some(kind) = single {
            self.pos += 1;
            kind
        } else if c == '"' {
            TokenKind::Str(self.string()?)
        } else if c == '-' || c.is_ascii_digit() {
            TokenKind::Number(self.number()?)
        } else if c.is_ascii_alphabetic() || c == '$' {
            let len = self.rest().find(|c: char| !is_word_char(c)).unwrap_or(self.rest().len());
            self.pos += len;
            TokenKind::Word(&self.src[start..self.pos])
        } else {
            return Err(FilterError::new(format!("unexpected character '{c}'"), start));
        };
        Ok(Token { kind, start, end: self.pos })
    }

    /// A JSON string (RFC 8259 §7), which is what RFC 7644 §3.4.2.2 prescribes for values.
    fn string(&mut self) -> Result<String, FilterError> {
        let open = self.pos;
        let mut out = String::new();
        let mut chars = self.src[open + 1..].char_indices();
        while let Some((offset, c)) = chars.next() {
            let at = open + 1 + offset;
            match c {
                '"' => {
                    self.pos = at + 1;
                    return Ok(out);
                }
                '\\' => {
                    let Some((_, escape)) = chars.next() else {
                        break;
                    };
                    match escape {
                        '"' => out.push('"'),
                        '\\' => out.push('\\'),
                        '/' => out.push('/'),
                        'b' => out.push('\u{8}'),
                        'f' => out.push('\u{c}'),
                        'n' => out.push('\n'),
                        'r' => out.push('\r'),
                        't' => out.push('\t'),
                        'u' => {
                            let high = hex4(&mut chars, at)?;
                            let code = if (0xD800..0xDC00).contains(&high) {
                                // RFC 8259 §7: characters outside the BMP are a surrogate pair.
                                let paired =
                                    matches!(chars.next(), Some((_, '\\'))) && matches!(chars.next(), Some((_, 'u')));
                                let low = if paired { hex4(&mut chars, at)? } else { 0 };
                                if !(0xDC00..0xE000).contains(&low) {
                                    return Err(FilterError::new(
                                        "a \\u escape of a high surrogate must be followed by a \\u escape of a low surrogate",
                                        at,
                                    ));
                                }
                                0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
                            } else {
                                high
                            };
                            let decoded = char::from_u32(code)
                                .ok_or_else(|| FilterError::new("a \\u escape names an unpaired surrogate", at))?;
                            out.push(decoded);
                        }
                        other => {
                            return Err(FilterError::new(format!("invalid escape '\\{other}' in string"), at));
                        }
                    }
                }
                c if u32::from(c) < 0x20 => {
                    return Err(FilterError::new("control characters must be escaped in strings", at));
                }
                c => out.push(c),
            }
        }
        Err(FilterError::new("unterminated string", open))
    }

    /// A JSON number (RFC 8259 §6); the run of number-like characters is taken whole so
    /// that `12abc` or `1.2.3` is reported as one bad number rather than two tokens.
    fn number(&mut self) -> Result<serde_json::Number, FilterError> {
        let start = self.pos;
        let len = self
            .rest()
            .find(|c: char| !(c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E')))
            .unwrap_or(self.rest().len());
        let text = &self.src[start..start + len];
        self.pos += len;
        if !is_json_number(text) {
            return Err(FilterError::new(format!("invalid number '{text}'"), start));
        }
        text.parse::<serde_json::Number>()
            .map_err(|_| FilterError::new(format!("number '{text}' is out of range"), start))
    }
}

fn hex4(chars: &mut std::str::CharIndices<'_>, at: usize) -> Result<u32, FilterError> {
    let mut code = 0;
    for _ in 0..4 {
        let digit = chars
            .next()
            .and_then(|(_, c)| c.to_digit(16))
            .ok_or_else(|| FilterError::new("a \\u escape needs four hex digits", at))?;
        code = code * 16 + digit;
    }
    Ok(code)
}

/// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`
fn is_json_number(text: &str) -> bool {
    fn digits(s: &[u8]) -> usize {
        s.iter().take_while(|b| b.is_ascii_digit()).count()
    }
    let bytes = text.as_bytes();
    let mut i = usize::from(bytes.first() == Some(&b'-'));
    let int = digits(&bytes[i..]);
    if int == 0 || (int > 1 && bytes[i] == b'0') {
        return false;
    }
    i += int;
    if bytes.get(i) == Some(&b'.') {
        let frac = digits(&bytes[i + 1..]);
        if frac == 0 {
            return false;
        }
        i += 1 + frac;
    }
    if matches!(bytes.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(bytes.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let exp = digits(&bytes[i..]);
        if exp == 0 {
            return false;
        }
        i += exp;
    }
    i == bytes.len()
}

/// `ATTRNAME = ALPHA *(nameChar)`; `$ref` is the one name RFC 7643 §2.3.7 lets start otherwise.
fn check_name(name: &str, position: usize) -> Result<(), FilterError> {
    if name.eq_ignore_ascii_case("$ref") {
        return Ok(());
    }
    let mut chars = name.char_indices();
    match chars.next() {
        None => return Err(FilterError::new("missing attribute name", position)),
        Some((_, c)) if !c.is_ascii_alphabetic() => {
            return Err(FilterError::new(format!("attribute name '{name}' must start with a letter"), position));
        }
        Some(_) => {}
    }
    if let Some((offset, c)) = chars.find(|&(_, c)| !(c.is_ascii_alphanumeric() || c == '-' || c == '_')) {
        return Err(FilterError::new(format!("invalid character '{c}' in attribute name '{name}'"), position + offset));
    }
    Ok(())
}

/// Splits one word into URN, name and sub-attribute. The URN ends at the last ':', because
/// URNs contain dots of their own (`…:2.0:User`) while attribute names contain no ':'.
fn split_attr_path(word: &str, start: usize) -> Result<AttrPath, FilterError> {
    let (urn, rest, rest_at) = match word.rfind(':') {
        Some(colon) => (Some(&word[..colon]), &word[colon + 1..], start + colon + 1),
        None => (None, word, start),
    };
    if let Some(urn) = urn
        && !urn.starts_with(|c: char| c.is_ascii_alphabetic())
    {
        return Err(FilterError::new(format!("invalid schema URN '{urn}'"), start));
    }
    if urn.is_some() && rest.is_empty() {
        return Err(FilterError::new("expected an attribute name after the schema URN", rest_at));
    }
    let (name, sub) = match rest.split_once('.') {
        Some((name, sub)) => (name, Some(sub)),
        None => (rest, None),
    };
    check_name(name, rest_at)?;
    if let Some(sub) = sub {
        let sub_at = rest_at + name.len() + 1;
        if let Some(dot) = sub.find('.') {
            return Err(FilterError::new("an attribute path has at most one sub-attribute", sub_at + dot));
        }
        check_name(sub, sub_at)?;
    }
    Ok(AttrPath { urn: urn.map(str::to_owned), name: name.to_owned(), sub: sub.map(str::to_owned) })
}

/// The recursive-descent parser. `pub(crate)` so that the PATCH path parser can drive it.
pub(crate) struct Parser<'a> {
    lexer: Lexer<'a>,
    peeked: Option<Token<'a>>,
    depth: usize,
    /// Set while parsing `attr[...]`: paths there name sub-attributes and cannot nest.
    in_value_path: bool,
    /// What is being parsed ("filter", "path", …), for messages.
    what: &'static str,
}

impl<'a> Parser<'a> {
    /// `what` names the input in the messages for an empty or oversized one.
    pub(crate) fn new(input: &'a str, what: &'static str) -> Result<Parser<'a>, FilterError> {
        if input.len() > MAX_INPUT_LEN {
            return Err(FilterError::new(format!("{what} is longer than {MAX_INPUT_LEN} bytes"), MAX_INPUT_LEN));
        }
        if input.trim().is_empty() {
            return Err(FilterError::new(format!("empty {what}"), 0));
        }
        Ok(Parser { lexer: Lexer::new(input), peeked: None, depth: 0, in_value_path: false, what })
    }

    fn peek(&mut self) -> Result<&Token<'a>, FilterError> {
        let token = match self.peeked.take() {
            Some(token) => token,
            None => self.lexer.next_token()?,
        };
        Ok(self.peeked.insert(token))
    }

    fn bump(&mut self) -> Result<Token<'a>, FilterError> {
        match self.peeked.take() {
            Some(token) => Ok(token),
            None => self.lexer.next_token(),
        }
    }

    fn peek_is_keyword(&mut self, keyword: &str) -> Result<bool, FilterError> {
        Ok(matches!(self.peek()?.kind, TokenKind::Word(word) if word.eq_ignore_ascii_case(keyword)))
    }

    /// Whether the next token is `[`.
    pub(crate) fn at_bracket(&mut self) -> Result<bool, FilterError> {
        Ok(self.peek()?.kind == TokenKind::LBracket)
    }

    /// Whether the next token is `.`.
    pub(crate) fn at_dot(&mut self) -> Result<bool, FilterError> {
        Ok(self.peek()?.kind == TokenKind::Dot)
    }

    fn enter(&mut self, at: usize) -> Result<(), FilterError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(FilterError::new(format!("nesting deeper than {MAX_DEPTH} levels"), at));
        }
        Ok(())
    }

    /// Fails unless the input is used up, naming what was left over.
    pub(crate) fn expect_end(&mut self) -> Result<(), FilterError> {
        let what = self.what;
        let token = self.peek()?;
        let message = match &token.kind {
            TokenKind::Eof => return Ok(()),
            TokenKind::RParen => "unbalanced ')'".to_owned(),
            TokenKind::RBracket => "unbalanced ']'".to_owned(),
            other if what == "filter" => {
                format!("expected 'and' or 'or', found {}", other.describe())
            }
            other => format!("unexpected {} after the {what}", other.describe()),
        };
        Err(FilterError::new(message, token.start))
    }

    /// `or` binds loosest (RFC 7644 §3.4.2.2, Table 5 lists the precedence), left-associative.
    pub(crate) fn parse_or(&mut self) -> Result<Filter, FilterError> {
        let mut left = self.parse_and()?;
        while self.peek_is_keyword("or")? {
            self.bump()?;
            let right = self.parse_and()?;
            left = Filter::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn parse_and(&mut self) -> Result<Filter, FilterError> {
        let mut left = self.parse_unary()?;
        while self.peek_is_keyword("and")? {
            self.bump()?;
            let right = self.parse_unary()?;
            left = Filter::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn parse_unary(&mut self) -> Result<Filter, FilterError> {
        let token = self.bump()?;
        match token.kind {
            TokenKind::LParen => self.group(token.start),
            TokenKind::Word(word) if word.eq_ignore_ascii_case("not") => {
                let next = self.peek()?;
                match &next.kind {
                    TokenKind::LParen => {
                        let open = next.start;
                        self.bump()?;
                        Ok(Filter::Not(Box::new(self.group(open)?)))
                    }
                    // `not eq "x"`: an attribute that happens to be called "not".
                    TokenKind::Word(op) if op.eq_ignore_ascii_case("pr") || CompareOp::from_word(op).is_some() => {
                        self.attr_expr(word, token.start)
                    }
                    other => Err(FilterError::new(
                        format!("'not' must be followed by a filter in parentheses, found {}", other.describe()),
                        next.start,
                    )),
                }
            }
            TokenKind::Word(word) => self.attr_expr(word, token.start),
            TokenKind::Eof => Err(FilterError::new(
                "expected an attribute path, '(' or 'not', found the end of the input",
                token.start,
            )),
            TokenKind::RParen => Err(FilterError::new("unbalanced ')' or empty parentheses", token.start)),
            other => Err(FilterError::new(
                format!("expected an attribute path, '(' or 'not', found {}", other.describe()),
                token.start,
            )),
        }
    }

    /// The rest of `( filter )` after its `(` at byte `open`.
    fn group(&mut self, open: usize) -> Result<Filter, FilterError> {
        self.enter(open)?;
        let inner = self.parse_or()?;
        let close = self.bump()?;
        match close.kind {
            TokenKind::RParen => {
                self.depth -= 1;
                Ok(inner)
            }
            TokenKind::Eof => {
                Err(FilterError::new(format!("missing ')' to close the '(' at byte {open}"), close.start))
            }
            other => {
                Err(FilterError::new(format!("expected 'and', 'or' or ')', found {}", other.describe()), close.start))
            }
        }
    }

    /// Reads one attribute path token.
    pub(crate) fn attr_path(&mut self) -> Result<AttrPath, FilterError> {
        let token = self.bump()?;
        match token.kind {
            TokenKind::Word(word) => split_attr_path(word, token.start),
            other => {
                Err(FilterError::new(format!("expected an attribute path, found {}", other.describe()), token.start))
            }
        }
    }

    fn attr_expr(&mut self, word: &'a str, start: usize) -> Result<Filter, FilterError> {
        let path = split_attr_path(word, start)?;
        if self.in_value_path && (path.urn.is_some() || path.sub.is_some()) {
            return Err(FilterError::new(
                "inside a value filter, name a sub-attribute directly (no URN and no '.')",
                start,
            ));
        }
        if !self.at_bracket()? {
            return self.condition(path, word);
        }
        let filter = self.value_filter(&path)?;
        if !self.at_dot()? {
            return Ok(Filter::ValuePath { path, filter: Box::new(filter) });
        }
        // `emails[type eq "work"].value eq "a@b.c"` (Entra ID matching on the work email) is
        // not RFC 7644 filter grammar, whose value paths end at `]`; it is read as
        // `emails[type eq "work" and value eq "a@b.c"]`, which says the same of one value.
        let sub = self.sub_attr()?;
        let label = format!("{word}[…].{sub}");
        let term = self.condition(AttrPath { urn: None, name: sub, sub: None }, &label)?;
        Ok(Filter::ValuePath { path, filter: Box::new(Filter::And(Box::new(filter), Box::new(term))) })
    }

    /// The `pr` or `op value` that follows the attribute `path` (written as `word`).
    fn condition(&mut self, path: AttrPath, word: &str) -> Result<Filter, FilterError> {
        let next = self.peek()?;
        let at = next.start;
        match &next.kind {
            TokenKind::Word(op) if op.eq_ignore_ascii_case("pr") => {
                self.bump()?;
                let after = self.peek()?;
                if after.kind.is_value() {
                    return Err(FilterError::new("'pr' takes no value", after.start));
                }
                Ok(Filter::Present(path))
            }
            TokenKind::Word(op) => {
                let op_word = *op;
                let Some(op) = CompareOp::from_word(op_word) else {
                    return Err(FilterError::new(format!("unknown operator '{op_word}'"), at));
                };
                self.bump()?;
                let value = self.value(op_word)?;
                Ok(Filter::Compare { path, op, value })
            }
            TokenKind::Eof => Err(FilterError::new(format!("expected an operator after '{word}'"), at)),
            other => {
                Err(FilterError::new(format!("expected an operator after '{word}', found {}", other.describe()), at))
            }
        }
    }

    fn value(&mut self, op: &str) -> Result<Value, FilterError> {
        let token = self.bump()?;
        match token.kind {
            TokenKind::Str(text) => Ok(Value::String(text)),
            TokenKind::Number(number) => Ok(Value::Number(number)),
            TokenKind::Word(word) if word.eq_ignore_ascii_case("true") => Ok(Value::Bool(true)),
            TokenKind::Word(word) if word.eq_ignore_ascii_case("false") => Ok(Value::Bool(false)),
            TokenKind::Word(word) if word.eq_ignore_ascii_case("null") => Ok(Value::Null),
            TokenKind::Word(word) => Err(FilterError::new(
                format!("expected a value after '{op}', found '{word}' (strings must be in double quotes)"),
                token.start,
            )),
            _ => Err(FilterError::new(format!("missing value after '{op}'"), token.start)),
        }
    }

    /// Parses `[ valFilter ]` after the attribute `path` of a value path.
    pub(crate) fn value_filter(&mut self, path: &AttrPath) -> Result<Filter, FilterError> {
        let open = self.bump()?;
        if open.kind != TokenKind::LBracket {
            return Err(FilterError::new(format!("expected '[', found {}", open.kind.describe()), open.start));
        }
        if self.in_value_path {
            return Err(FilterError::new("value paths cannot be nested", open.start));
        }
        if path.sub.is_some() {
            return Err(FilterError::new(
                "a value filter applies to a multi-valued attribute, not to a sub-attribute",
                open.start,
            ));
        }
        self.enter(open.start)?;
        self.in_value_path = true;
        let inner = self.parse_or()?;
        let close = self.bump()?;
        match close.kind {
            TokenKind::RBracket => {
                self.in_value_path = false;
                self.depth -= 1;
                Ok(inner)
            }
            TokenKind::Eof => {
                Err(FilterError::new(format!("missing ']' to close the '[' at byte {}", open.start), close.start))
            }
            other => {
                Err(FilterError::new(format!("expected 'and', 'or' or ']', found {}", other.describe()), close.start))
            }
        }
    }

    /// Parses the `.subAttr` that may follow a PATCH value path (RFC 7644 §3.5.2).
    pub(crate) fn sub_attr(&mut self) -> Result<String, FilterError> {
        let dot = self.bump()?;
        if dot.kind != TokenKind::Dot {
            return Err(FilterError::new(format!("expected '.', found {}", dot.kind.describe()), dot.start));
        }
        let token = self.bump()?;
        match token.kind {
            // The word must directly follow the dot: `].value`, not `]. value`.
            TokenKind::Word(word) if token.start == dot.end => {
                check_name(word, token.start)?;
                Ok(word.to_owned())
            }
            other => Err(FilterError::new(
                format!("expected a sub-attribute name after '.', found {}", other.describe()),
                dot.end,
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(name: &str) -> AttrPath {
        AttrPath { urn: None, name: name.to_owned(), sub: None }
    }

    fn num(n: i64) -> Value {
        Value::Number(n.into())
    }

    fn cmp(name: &str, op: CompareOp, value: Value) -> Filter {
        Filter::Compare { path: path(name), op, value }
    }

    fn and(a: Filter, b: Filter) -> Filter {
        Filter::And(Box::new(a), Box::new(b))
    }

    fn or(a: Filter, b: Filter) -> Filter {
        Filter::Or(Box::new(a), Box::new(b))
    }

    fn not(a: Filter) -> Filter {
        Filter::Not(Box::new(a))
    }

    fn err(input: &str) -> FilterError {
        match parse(input) {
            Ok(filter) => panic!("{input:?} parsed as {filter:?}"),
            Err(error) => error,
        }
    }

    fn assert_err(input: &str, fragment: &str, position: usize) {
        let error = err(input);
        assert!(error.message.contains(fragment), "{input:?}: message {:?} lacks {fragment:?}", error.message);
        assert_eq!(error.position, position, "{input:?}: {error}");
    }

    #[test]
    fn simple_comparison_parses() {
        assert_eq!(
            parse(r#"userName eq "bjensen""#).unwrap(),
            cmp("userName", CompareOp::Eq, Value::String("bjensen".into()))
        );
    }

    #[test]
    fn every_operator_parses_in_any_case() {
        let ops = [
            ("eq", CompareOp::Eq),
            ("NE", CompareOp::Ne),
            ("Co", CompareOp::Co),
            ("sW", CompareOp::Sw),
            ("ew", CompareOp::Ew),
            ("GT", CompareOp::Gt),
            ("ge", CompareOp::Ge),
            ("Lt", CompareOp::Lt),
            ("le", CompareOp::Le),
        ];
        for (word, op) in ops {
            assert_eq!(parse(&format!("a {word} 1")).unwrap(), cmp("a", op, num(1)));
        }
        assert_eq!(parse("title PR").unwrap(), Filter::Present(path("title")));
    }

    #[test]
    fn and_binds_tighter_than_or() {
        assert_eq!(
            parse("a eq 1 or b eq 2 and c eq 3").unwrap(),
            or(cmp("a", CompareOp::Eq, num(1)), and(cmp("b", CompareOp::Eq, num(2)), cmp("c", CompareOp::Eq, num(3))))
        );
        assert_eq!(
            parse("a eq 1 and b eq 2 or c eq 3").unwrap(),
            or(and(cmp("a", CompareOp::Eq, num(1)), cmp("b", CompareOp::Eq, num(2))), cmp("c", CompareOp::Eq, num(3)))
        );
    }

    #[test]
    fn and_and_or_are_left_associative() {
        let a = cmp("a", CompareOp::Eq, num(1));
        let b = cmp("b", CompareOp::Eq, num(2));
        let c = cmp("c", CompareOp::Eq, num(3));
        assert_eq!(parse("a eq 1 and b eq 2 and c eq 3").unwrap(), and(and(a.clone(), b.clone()), c.clone()));
        assert_eq!(parse("a eq 1 or b eq 2 or c eq 3").unwrap(), or(or(a, b), c));
    }

    #[test]
    fn not_binds_tighter_than_and() {
        assert_eq!(
            parse("not (a eq 1) and b eq 2").unwrap(),
            and(not(cmp("a", CompareOp::Eq, num(1))), cmp("b", CompareOp::Eq, num(2)))
        );
        assert_eq!(parse("NOT(a pr)").unwrap(), not(Filter::Present(path("a"))));
    }

    #[test]
    fn parentheses_group() {
        assert_eq!(
            parse("(a eq 1 or b eq 2) and c eq 3").unwrap(),
            and(or(cmp("a", CompareOp::Eq, num(1)), cmp("b", CompareOp::Eq, num(2))), cmp("c", CompareOp::Eq, num(3)))
        );
        assert_eq!(parse("((a pr))").unwrap(), Filter::Present(path("a")));
    }

    #[test]
    fn logical_words_are_case_insensitive() {
        assert_eq!(
            parse("a pr AND b pr Or c pr").unwrap(),
            or(and(Filter::Present(path("a")), Filter::Present(path("b"))), Filter::Present(path("c")))
        );
    }

    #[test]
    fn attribute_names_keep_their_spelling() {
        assert_eq!(parse(r#"USERNAME Eq "x""#).unwrap(), cmp("USERNAME", CompareOp::Eq, Value::String("x".into())));
    }

    #[test]
    fn an_attribute_called_not_is_still_an_attribute() {
        assert_eq!(parse("not pr").unwrap(), Filter::Present(path("not")));
    }

    #[test]
    fn string_escapes_decode() {
        let filter = parse(r#"a eq "q\" b\\ s\/ \b\f\n\r\t \u00e9 \uD83D\uDE00 ü""#).unwrap();
        assert_eq!(filter, cmp("a", CompareOp::Eq, Value::String("q\" b\\ s/ \u{8}\u{c}\n\r\t é 😀 ü".into())));
    }

    #[test]
    fn numbers_and_literals_parse() {
        let value = |input: &str| match parse(&format!("a eq {input}")).unwrap() {
            Filter::Compare { value, .. } => value,
            other => panic!("{other:?}"),
        };
        assert_eq!(value("42"), num(42));
        assert_eq!(value("-7"), num(-7));
        assert_eq!(value("0"), num(0));
        assert_eq!(value("1.5"), Value::Number(serde_json::Number::from_f64(1.5).unwrap()));
        assert_eq!(value("2E3"), Value::Number(serde_json::Number::from_f64(2000.0).unwrap()));
        assert_eq!(value("-1.25e-2"), Value::Number(serde_json::Number::from_f64(-0.0125).unwrap()));
        assert_eq!(value("TRUE"), Value::Bool(true));
        assert_eq!(value("False"), Value::Bool(false));
        assert_eq!(value("NULL"), Value::Null);
    }

    #[test]
    fn sub_attributes_and_ref_parse() {
        assert_eq!(
            parse(r#"name.givenName sw "B""#).unwrap(),
            Filter::Compare {
                path: AttrPath { urn: None, name: "name".into(), sub: Some("givenName".into()) },
                op: CompareOp::Sw,
                value: Value::String("B".into())
            }
        );
        assert_eq!(
            parse("members.$ref pr").unwrap(),
            Filter::Present(AttrPath { urn: None, name: "members".into(), sub: Some("$ref".into()) })
        );
    }

    #[test]
    fn urn_qualified_paths_split_at_the_last_colon() {
        assert_eq!(
            parse(r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "7""#).unwrap(),
            Filter::Compare {
                path: AttrPath {
                    urn: Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User".into()),
                    name: "employeeNumber".into(),
                    sub: None
                },
                op: CompareOp::Eq,
                value: Value::String("7".into())
            }
        );
        assert_eq!(
            parse_attr_path("urn:ietf:params:scim:schemas:core:2.0:User:name.givenName").unwrap(),
            AttrPath {
                urn: Some("urn:ietf:params:scim:schemas:core:2.0:User".into()),
                name: "name".into(),
                sub: Some("givenName".into())
            }
        );
    }

    #[test]
    fn value_paths_hold_logical_expressions() {
        assert_eq!(
            parse(r#"emails[type eq "work" and primary eq true or not (value co "x")]"#).unwrap(),
            Filter::ValuePath {
                path: path("emails"),
                filter: Box::new(or(
                    and(
                        cmp("type", CompareOp::Eq, Value::String("work".into())),
                        cmp("primary", CompareOp::Eq, Value::Bool(true))
                    ),
                    not(cmp("value", CompareOp::Co, Value::String("x".into())))
                ))
            }
        );
        assert_eq!(
            parse(r#"userType eq "Employee" and emails[type eq "work"]"#).unwrap(),
            and(
                cmp("userType", CompareOp::Eq, Value::String("Employee".into())),
                Filter::ValuePath {
                    path: path("emails"),
                    filter: Box::new(cmp("type", CompareOp::Eq, Value::String("work".into())))
                }
            )
        );
    }

    #[test]
    fn parse_attr_path_accepts_plain_paths_only() {
        assert_eq!(parse_attr_path(" emails ").unwrap(), path("emails"));
        assert_eq!(parse_attr_path("").unwrap_err().message, "empty attribute path");
        assert!(parse_attr_path(r#"emails[type eq "w"]"#).is_err());
        assert!(parse_attr_path("a b").is_err());
    }

    #[test]
    fn unterminated_string_is_reported_at_its_quote() {
        assert_err(r#"a eq "abc"#, "unterminated string", 5);
        assert_err(r#"a eq "abc\"#, "unterminated string", 5);
    }

    #[test]
    fn bad_escapes_are_reported() {
        assert_err(r#"a eq "\x""#, "invalid escape", 6);
        assert_err(r#"a eq "\u12G4""#, "four hex digits", 6);
        assert_err(r#"a eq "\uD83D""#, "low surrogate", 6);
        assert_err(r#"a eq "\uDE00""#, "unpaired surrogate", 6);
        assert_err("a eq \"x\ny\"", "control characters", 7);
    }

    #[test]
    fn missing_value_is_reported() {
        assert_err("a eq", "missing value after 'eq'", 4);
        assert_err("a eq )", "missing value after 'eq'", 5);
        assert_err("a eq bob", "strings must be in double quotes", 5);
    }

    #[test]
    fn bad_numbers_are_reported() {
        assert_err("a eq 01", "invalid number", 5);
        assert_err("a eq 1.", "invalid number", 5);
        assert_err("a eq 1.2.3", "invalid number", 5);
        assert_err("a eq -", "invalid number", 5);
        assert_err("a eq 1e999", "out of range", 5);
    }

    #[test]
    fn unknown_operator_is_reported() {
        assert_err(r#"a like "x""#, "unknown operator 'like'", 2);
        assert_err("a", "expected an operator after 'a'", 1);
        assert_err(r#"a "x""#, "expected an operator", 2);
    }

    #[test]
    fn pr_with_a_value_is_rejected() {
        assert_err(r#"a pr "x""#, "'pr' takes no value", 5);
        assert_err("a pr true", "'pr' takes no value", 5);
        assert_err("a pr 1", "'pr' takes no value", 5);
    }

    #[test]
    fn unbalanced_parentheses_are_reported() {
        assert_err("(a pr", "missing ')'", 5);
        assert_err("a pr)", "unbalanced ')'", 4);
        assert_err("()", "empty parentheses", 1);
        assert_err("(a pr b pr)", "expected 'and', 'or' or ')'", 6);
    }

    #[test]
    fn unbalanced_brackets_are_reported() {
        assert_err(r#"emails[type eq "w""#, "missing ']'", 18);
        assert_err("a pr]", "unbalanced ']'", 4);
        assert_err(r#"emails[type eq "w")"#, "expected 'and', 'or' or ']'", 18);
    }

    #[test]
    fn not_requires_parentheses() {
        assert_err("not a eq 1", "'not' must be followed by a filter in parentheses", 4);
        assert_err("not", "'not' must be followed", 3);
    }

    #[test]
    fn trailing_garbage_is_reported() {
        assert_err("a pr b", "expected 'and' or 'or', found 'b'", 5);
        assert_err(r#"a eq 1 "x""#, "expected 'and' or 'or', found a string", 7);
        assert_err("a pr =", "unexpected character '='", 5);
    }

    #[test]
    fn empty_filters_are_rejected() {
        assert_err("", "empty filter", 0);
        assert_err("  \t", "empty filter", 0);
        assert_err("a pr and", "found the end of the input", 8);
    }

    #[test]
    fn nested_value_paths_are_rejected() {
        assert_err(r#"emails[type[value eq "x"]]"#, "cannot be nested", 11);
    }

    #[test]
    fn paths_inside_value_paths_name_sub_attributes() {
        assert_err(r#"emails[emails.type eq "x"]"#, "name a sub-attribute directly", 7);
        assert_err(r#"emails[urn:x:type eq "x"]"#, "name a sub-attribute directly", 7);
    }

    #[test]
    fn a_sub_attribute_after_a_value_path_joins_the_value_filter() {
        let inner = |term: Filter| Filter::ValuePath {
            path: path("emails"),
            filter: Box::new(and(cmp("type", CompareOp::Eq, Value::String("work".into())), term)),
        };
        assert_eq!(
            parse(r#"emails[type eq "work"].value eq "a@b.c""#).unwrap(),
            inner(cmp("value", CompareOp::Eq, Value::String("a@b.c".into())))
        );
        assert_eq!(parse(r#"emails[type eq "work"].value pr"#).unwrap(), inner(Filter::Present(path("value"))));
        // It is one term: `and` and `or` go on after it.
        assert_eq!(
            parse(r#"emails[type eq "work"].value eq "x" and a eq 1"#).unwrap(),
            and(inner(cmp("value", CompareOp::Eq, Value::String("x".into()))), cmp("a", CompareOp::Eq, num(1)))
        );
        assert_err(r#"emails[type eq "work"].value"#, "expected an operator after 'emails[…].value'", 28);
        assert_err(r#"emails[type eq "work"]. value eq "x""#, "expected a sub-attribute name", 23);
    }

    #[test]
    fn value_path_on_a_sub_attribute_is_rejected() {
        assert_err(r#"name.givenName[value eq "x"]"#, "not to a sub-attribute", 14);
    }

    #[test]
    fn bad_attribute_names_are_reported() {
        assert_err(r#"a_b.c.d eq "x""#, "at most one sub-attribute", 5);
        assert_err(r#"$foo eq "x""#, "must start with a letter", 0);
        assert_err(r#"urn:x: eq "x""#, "expected an attribute name after the schema URN", 6);
        assert_err(r#"a. eq "x""#, "missing attribute name", 2);
        assert_err(r#"a.1b eq "x""#, "must start with a letter", 2);
        assert_err(r#"a$b eq "x""#, "invalid character '$'", 1);
        assert_err(r#"é eq "x""#, "unexpected character", 0);
    }

    #[test]
    fn nesting_is_capped() {
        let deep_ok = format!("{}a pr{}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
        assert!(parse(&deep_ok).is_ok());
        let too_deep = format!("{}a pr{}", "(".repeat(MAX_DEPTH + 1), ")".repeat(MAX_DEPTH + 1));
        assert_err(&too_deep, "nesting deeper than 64", MAX_DEPTH);
        let nots = format!("{}a pr{}", "not (".repeat(MAX_DEPTH + 1), ")".repeat(MAX_DEPTH + 1));
        assert!(err(&nots).message.contains("nesting deeper"));
    }

    #[test]
    fn input_length_is_capped() {
        let long = format!("a eq \"{}\"", "x".repeat(MAX_INPUT_LEN));
        assert_err(&long, "longer than 4096 bytes", MAX_INPUT_LEN);
        let fits = format!("a eq \"{}\"", "x".repeat(MAX_INPUT_LEN - 7));
        assert!(parse(&fits).is_ok());
    }

    #[test]
    fn errors_display_message_and_position() {
        assert_eq!(err("a pr)").to_string(), "unbalanced ')' (at byte 4)");
    }
}
