//! The tokenizer. It reproduces the reference's JavaCC token manager: Java Unicode escapes are
//! decoded over the whole source first, numeric literals take the longest of Java's forms,
//! strings may use either quote and keep their escapes raw (they are decoded by the parser),
//! all 50 Java reserved words are reserved, and operators that the grammar never accepts
//! (`++`, `<<=`, `~`, ...) still lex, so that they fail as parse errors, like there.

use crate::error::{JavaClass, ParseError};
use std::sync::Arc;

/// Reserved words (all of Java's; only some are used by the grammar).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kw {
    Boolean,
    Break,
    Continue,
    Double,
    Else,
    False,
    Float,
    For,
    If,
    Import,
    Int,
    Long,
    New,
    Null,
    Return,
    Static,
    True,
    Throw,
    While,
    /// A reserved word the grammar never uses (`class`, `try`, ...).
    Other,
}

const RESERVED: &[(&str, Kw)] = &[
    ("abstract", Kw::Other),
    ("boolean", Kw::Boolean),
    ("break", Kw::Break),
    ("byte", Kw::Other),
    ("case", Kw::Other),
    ("catch", Kw::Other),
    ("char", Kw::Other),
    ("class", Kw::Other),
    ("const", Kw::Other),
    ("continue", Kw::Continue),
    ("default", Kw::Other),
    ("do", Kw::Other),
    ("double", Kw::Double),
    ("else", Kw::Else),
    ("extends", Kw::Other),
    ("false", Kw::False),
    ("final", Kw::Other),
    ("finally", Kw::Other),
    ("float", Kw::Float),
    ("for", Kw::For),
    ("goto", Kw::Other),
    ("if", Kw::If),
    ("implements", Kw::Other),
    ("import", Kw::Import),
    ("instanceof", Kw::Other),
    ("int", Kw::Int),
    ("interface", Kw::Other),
    ("long", Kw::Long),
    ("native", Kw::Other),
    ("new", Kw::New),
    ("null", Kw::Null),
    ("package", Kw::Other),
    ("private", Kw::Other),
    ("protected", Kw::Other),
    ("public", Kw::Other),
    ("return", Kw::Return),
    ("short", Kw::Other),
    ("static", Kw::Static),
    ("super", Kw::Other),
    ("switch", Kw::Other),
    ("synchronized", Kw::Other),
    ("this", Kw::Other),
    ("throw", Kw::Throw),
    ("throws", Kw::Other),
    ("transient", Kw::Other),
    ("true", Kw::True),
    ("try", Kw::Other),
    ("void", Kw::Other),
    ("volatile", Kw::Other),
    ("while", Kw::While),
];

/// Operators and separators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    LParen,
    RParen,
    LBrace,
    RBrace,
    LBracket,
    RBracket,
    Semi,
    Comma,
    Dot,
    Assign,
    Gt,
    Lt,
    Bang,
    Tilde,
    Hook,
    Colon,
    EqEq,
    Le,
    Ge,
    Ne,
    OrOr,
    AndAnd,
    Incr,
    Decr,
    Plus,
    Minus,
    Star,
    Slash,
    BitAnd,
    BitOr,
    Xor,
    Rem,
    LShift,
    RShift,
    URShift,
    PlusAssign,
    MinusAssign,
    StarAssign,
    SlashAssign,
    AndAssign,
    OrAssign,
    XorAssign,
    RemAssign,
    LShiftAssign,
    RShiftAssign,
    URShiftAssign,
}

/// Longest first, so that a linear scan finds the longest match.
const OPERATORS: &[(&str, Op)] = &[
    (">>>=", Op::URShiftAssign),
    ("<<=", Op::LShiftAssign),
    (">>=", Op::RShiftAssign),
    (">>>", Op::URShift),
    ("==", Op::EqEq),
    ("<=", Op::Le),
    (">=", Op::Ge),
    ("!=", Op::Ne),
    ("||", Op::OrOr),
    ("&&", Op::AndAnd),
    ("++", Op::Incr),
    ("--", Op::Decr),
    ("<<", Op::LShift),
    (">>", Op::RShift),
    ("+=", Op::PlusAssign),
    ("-=", Op::MinusAssign),
    ("*=", Op::StarAssign),
    ("/=", Op::SlashAssign),
    ("&=", Op::AndAssign),
    ("|=", Op::OrAssign),
    ("^=", Op::XorAssign),
    ("%=", Op::RemAssign),
    ("(", Op::LParen),
    (")", Op::RParen),
    ("{", Op::LBrace),
    ("}", Op::RBrace),
    ("[", Op::LBracket),
    ("]", Op::RBracket),
    (";", Op::Semi),
    (",", Op::Comma),
    (".", Op::Dot),
    ("=", Op::Assign),
    (">", Op::Gt),
    ("<", Op::Lt),
    ("!", Op::Bang),
    ("~", Op::Tilde),
    ("?", Op::Hook),
    (":", Op::Colon),
    ("+", Op::Plus),
    ("-", Op::Minus),
    ("*", Op::Star),
    ("/", Op::Slash),
    ("&", Op::BitAnd),
    ("|", Op::BitOr),
    ("^", Op::Xor),
    ("%", Op::Rem),
];

impl Op {
    /// The operator's source text.
    pub(crate) fn text(self) -> &'static str {
        OPERATORS
            .iter()
            .find(|(_, op)| *op == self)
            .map(|(t, _)| *t)
            .unwrap_or("?")
    }
}

/// What a token is.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    Ident(Arc<str>),
    Kw(Kw),
    /// An integer literal, as written (suffix included).
    Int,
    /// A floating-point literal, as written.
    Float,
    /// A string literal, as written (quotes and escapes included).
    Str,
    Op(Op),
    Eof,
}

/// One token with its source position and image.
#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub tok: Tok,
    pub image: String,
    pub line: u32,
    pub column: u32,
}

/// One decoded source character and where it came from.
#[derive(Clone, Copy)]
struct SrcChar {
    c: char,
    line: u32,
    column: u32,
}

fn lexical_error(line: u32, column: u32, found: &str, after: &str) -> ParseError {
    ParseError {
        line,
        column,
        found: found.to_string(),
        expected: Vec::new(),
        class: JavaClass::TokenMgrError,
        message: format!(
            "Lexical error at line {line}, column {column}.  Encountered: {found} after : \"{after}\""
        ),
    }
}

fn describe_char(c: Option<char>) -> String {
    match c {
        None => "<EOF>".to_string(),
        Some(c) => format!("\"{}\" ({})", c.escape_default(), c as u32),
    }
}

/// Decodes Java Unicode escapes (`\uXXXX`, any number of `u`s) and assigns line/column numbers.
/// A backslash escapes a following `\u` only when it is itself not escaped (an odd run of
/// backslashes before `u`).
fn decode(src: &str) -> Result<Vec<SrcChar>, ParseError> {
    let raw: Vec<char> = src.chars().collect();
    let mut out = Vec::with_capacity(raw.len());
    let (mut line, mut column) = (1u32, 0u32);
    let mut i = 0;
    let mut backslashes = 0usize;
    let mut prev_cr = false;
    while i < raw.len() {
        let c = raw[i];
        // Position of this char.
        if prev_cr && c != '\n' {
            line += 1;
            column = 0;
        }
        column += 1;
        let (start_line, start_col) = (line, column);
        if c == '\\' && backslashes.is_multiple_of(2) && raw.get(i + 1) == Some(&'u') {
            let mut j = i + 1;
            while raw.get(j) == Some(&'u') {
                j += 1;
            }
            let hex: String = raw
                .get(j..j + 4)
                .map(|s| s.iter().collect())
                .unwrap_or_default();
            let code = if hex.len() == 4 {
                u32::from_str_radix(&hex, 16).ok()
            } else {
                None
            };
            let Some(code) = code else {
                return Err(lexical_error(
                    start_line,
                    start_col,
                    "invalid Unicode escape",
                    &raw[i..(j + 4).min(raw.len())].iter().collect::<String>(),
                ));
            };
            // A lone surrogate cannot be a Rust char; it becomes the replacement character.
            let decoded = char::from_u32(code).unwrap_or('\u{FFFD}');
            column += (j + 4 - i - 1) as u32;
            out.push(SrcChar {
                c: decoded,
                line: start_line,
                column: start_col,
            });
            backslashes = if decoded == '\\' { 1 } else { 0 };
            prev_cr = false;
            i = j + 4;
            continue;
        }
        backslashes = if c == '\\' { backslashes + 1 } else { 0 };
        out.push(SrcChar {
            c,
            line: start_line,
            column: start_col,
        });
        if c == '\n' {
            line += 1;
            column = 0;
            prev_cr = false;
        } else {
            prev_cr = c == '\r';
        }
        i += 1;
    }
    // Surrogate pairs written as two escapes decode into two replacement characters above;
    // join them back when they form a valid pair in the original text.
    Ok(out)
}

fn is_letter(c: char) -> bool {
    matches!(c,
        '$' | 'A'..='Z' | '_' | 'a'..='z'
        | '\u{00c0}'..='\u{00d6}' | '\u{00d8}'..='\u{00f6}' | '\u{00f8}'..='\u{00ff}'
        | '\u{0100}'..='\u{1fff}' | '\u{3040}'..='\u{318f}' | '\u{3300}'..='\u{337f}'
        | '\u{3400}'..='\u{3d2d}' | '\u{4e00}'..='\u{9fff}' | '\u{f900}'..='\u{faff}')
}

fn is_ident_part(c: char) -> bool {
    is_letter(c)
        || matches!(c,
            '0'..='9' | '\u{0660}'..='\u{0669}' | '\u{06f0}'..='\u{06f9}' | '\u{0966}'..='\u{096f}'
            | '\u{09e6}'..='\u{09ef}' | '\u{0a66}'..='\u{0a6f}' | '\u{0ae6}'..='\u{0aef}'
            | '\u{0b66}'..='\u{0b6f}' | '\u{0be7}'..='\u{0bef}' | '\u{0c66}'..='\u{0c6f}'
            | '\u{0ce6}'..='\u{0cef}' | '\u{0d66}'..='\u{0d6f}' | '\u{0e50}'..='\u{0e59}'
            | '\u{0ed0}'..='\u{0ed9}' | '\u{1040}'..='\u{1049}')
}

struct Lexer {
    chars: Vec<SrcChar>,
    pos: usize,
}

impl Lexer {
    fn peek(&self, off: usize) -> Option<char> {
        self.chars.get(self.pos + off).map(|s| s.c)
    }

    fn position(&self, at: usize) -> (u32, u32) {
        match self.chars.get(at) {
            Some(s) => (s.line, s.column),
            None => match self.chars.last() {
                Some(s) if s.c == '\n' || s.c == '\r' => (s.line + 1, 0),
                Some(s) => (s.line, s.column),
                None => (1, 0),
            },
        }
    }

    fn text(&self, from: usize, to: usize) -> String {
        self.chars[from..to].iter().map(|s| s.c).collect()
    }

    /// Skips whitespace and comments; errors on an unterminated block comment.
    fn skip_trivia(&mut self) -> Result<(), ParseError> {
        loop {
            match self.peek(0) {
                Some(' ' | '\t' | '\n' | '\r' | '\u{000c}') => self.pos += 1,
                Some('/') if self.peek(1) == Some('/') => {
                    while let Some(c) = self.peek(0) {
                        if c == '\n' || c == '\r' {
                            break;
                        }
                        self.pos += 1;
                    }
                }
                Some('/') if self.peek(1) == Some('*') => {
                    let start = self.pos;
                    self.pos += 2;
                    loop {
                        match self.peek(0) {
                            None => {
                                let (line, column) = self.position(self.pos);
                                return Err(lexical_error(
                                    line,
                                    column,
                                    "<EOF>",
                                    &self.text(start, self.pos),
                                ));
                            }
                            Some('*') if self.peek(1) == Some('/') => {
                                self.pos += 2;
                                break;
                            }
                            Some(_) => self.pos += 1,
                        }
                    }
                }
                _ => return Ok(()),
            }
        }
    }

    /// Length of an exponent (`e`, optional sign, digits) at `at`, or 0.
    fn exponent_len(&self, at: usize) -> usize {
        let c = self.chars.get(at).map(|s| s.c);
        if !matches!(c, Some('e' | 'E')) {
            return 0;
        }
        let mut j = at + 1;
        if matches!(self.chars.get(j).map(|s| s.c), Some('+' | '-')) {
            j += 1;
        }
        let digits_start = j;
        while self.chars.get(j).is_some_and(|s| s.c.is_ascii_digit()) {
            j += 1;
        }
        if j == digits_start { 0 } else { j - at }
    }

    /// Scans a numeric literal starting at the current position (a digit, or `.` then digit),
    /// taking the longest of the integer and floating forms.
    fn number(&mut self) -> Tok {
        let start = self.pos;
        let c0 = self.peek(0);
        // Floating form candidates.
        let mut float_end = None;
        let mut j = start;
        if c0 == Some('.') {
            j += 1;
            while self.chars.get(j).is_some_and(|s| s.c.is_ascii_digit()) {
                j += 1;
            }
            j += self.exponent_len(j);
            if matches!(self.chars.get(j).map(|s| s.c), Some('f' | 'F' | 'd' | 'D')) {
                j += 1;
            }
            float_end = Some(j);
        } else {
            while self.chars.get(j).is_some_and(|s| s.c.is_ascii_digit()) {
                j += 1;
            }
            let int_digits_end = j;
            if self.chars.get(j).map(|s| s.c) == Some('.') {
                j += 1;
                while self.chars.get(j).is_some_and(|s| s.c.is_ascii_digit()) {
                    j += 1;
                }
                j += self.exponent_len(j);
                if matches!(self.chars.get(j).map(|s| s.c), Some('f' | 'F' | 'd' | 'D')) {
                    j += 1;
                }
                float_end = Some(j);
            } else {
                let exp = self.exponent_len(j);
                let mut k = j + exp;
                let suffix = matches!(self.chars.get(k).map(|s| s.c), Some('f' | 'F' | 'd' | 'D'));
                if suffix {
                    k += 1;
                }
                if exp > 0 || suffix {
                    float_end = Some(k);
                }
            }
            let _ = int_digits_end;
        }
        // Integer form.
        let int_end = if c0 == Some('.') {
            None
        } else if c0 == Some('0')
            && matches!(self.peek(1), Some('x' | 'X'))
            && self.peek(2).is_some_and(|c| c.is_ascii_hexdigit())
        {
            let mut k = start + 2;
            while self.chars.get(k).is_some_and(|s| s.c.is_ascii_hexdigit()) {
                k += 1;
            }
            Some(k)
        } else if c0 == Some('0') {
            let mut k = start + 1;
            while self.chars.get(k).is_some_and(|s| matches!(s.c, '0'..='7')) {
                k += 1;
            }
            Some(k)
        } else {
            let mut k = start;
            while self.chars.get(k).is_some_and(|s| s.c.is_ascii_digit()) {
                k += 1;
            }
            Some(k)
        };
        let int_end = int_end.map(|k| {
            if matches!(self.chars.get(k).map(|s| s.c), Some('l' | 'L')) {
                k + 1
            } else {
                k
            }
        });
        match (int_end, float_end) {
            (Some(i), Some(f)) if f > i => {
                self.pos = f;
                Tok::Float
            }
            (Some(i), _) => {
                self.pos = i;
                Tok::Int
            }
            (None, Some(f)) => {
                self.pos = f;
                Tok::Float
            }
            (None, None) => {
                self.pos += 1;
                Tok::Op(Op::Dot)
            }
        }
    }

    fn string(&mut self, quote: char) -> Result<(), ParseError> {
        let start = self.pos;
        self.pos += 1;
        loop {
            let at = self.pos;
            match self.peek(0) {
                None | Some('\n' | '\r') => {
                    let (line, column) = self.position(at);
                    return Err(lexical_error(
                        line,
                        column,
                        &describe_char(self.peek(0)),
                        &self.text(start, at),
                    ));
                }
                Some(c) if c == quote => {
                    self.pos += 1;
                    return Ok(());
                }
                Some('\\') => {
                    let next = self.peek(1);
                    match next {
                        Some('n' | 't' | 'b' | 'r' | 'f' | '\\' | '\'' | '"') => self.pos += 2,
                        Some(d @ '0'..='7') => {
                            self.pos += 2;
                            let max_more = if d <= '3' { 2 } else { 1 };
                            let mut more = 0;
                            while more < max_more && matches!(self.peek(0), Some('0'..='7')) {
                                self.pos += 1;
                                more += 1;
                            }
                        }
                        _ => {
                            let (line, column) = self.position(at + 1);
                            return Err(lexical_error(
                                line,
                                column,
                                &describe_char(next),
                                &self.text(start, at + 1),
                            ));
                        }
                    }
                }
                Some(_) => self.pos += 1,
            }
        }
    }

    fn next(&mut self) -> Result<Token, ParseError> {
        self.skip_trivia()?;
        let start = self.pos;
        let (line, column) = self.position(start);
        let Some(c) = self.peek(0) else {
            return Ok(Token {
                tok: Tok::Eof,
                image: "<EOF>".into(),
                line,
                column,
            });
        };
        let tok = if is_letter(c) {
            while self.peek(0).is_some_and(is_ident_part) {
                self.pos += 1;
            }
            let word = self.text(start, self.pos);
            match RESERVED.iter().find(|(w, _)| *w == word) {
                Some((_, kw)) => Tok::Kw(*kw),
                None => Tok::Ident(Arc::from(word.as_str())),
            }
        } else if c.is_ascii_digit()
            || (c == '.' && self.peek(1).is_some_and(|d| d.is_ascii_digit()))
        {
            self.number()
        } else if c == '"' || c == '\'' {
            self.string(c)?;
            Tok::Str
        } else {
            let mut found = None;
            for (text, op) in OPERATORS {
                let n = text.chars().count();
                if text
                    .chars()
                    .enumerate()
                    .all(|(k, tc)| self.peek(k) == Some(tc))
                {
                    found = Some((*op, n));
                    break;
                }
            }
            match found {
                Some((op, n)) => {
                    self.pos += n;
                    Tok::Op(op)
                }
                None => return Err(lexical_error(line, column, &describe_char(Some(c)), "")),
            }
        };
        Ok(Token {
            tok,
            image: self.text(start, self.pos),
            line,
            column,
        })
    }
}

/// Splits SEL source into tokens (the last one is `Eof`).
pub(crate) fn tokenize(src: &str) -> Result<Vec<Token>, ParseError> {
    let chars = decode(src)?;
    let mut lexer = Lexer { chars, pos: 0 };
    let mut out = Vec::new();
    loop {
        let t = lexer.next()?;
        let eof = t.tok == Tok::Eof;
        out.push(t);
        if eof {
            return Ok(out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<(Tok, String)> {
        tokenize(src)
            .unwrap()
            .into_iter()
            .map(|t| (t.tok, t.image))
            .collect()
    }

    #[test]
    fn numbers_take_the_longest_java_form() {
        let k = kinds("1. .5 1e5 2d 010 08 0x1F 1L 1.toString");
        let images: Vec<_> = k.iter().map(|(_, i)| i.as_str()).collect();
        assert_eq!(
            images,
            [
                "1.", ".5", "1e5", "2d", "010", "0", "8", "0x1F", "1L", "1.", "toString", "<EOF>"
            ]
        );
        assert_eq!(k[0].0, Tok::Float);
        assert_eq!(k[4].0, Tok::Int);
        assert_eq!(k[7].0, Tok::Int);
    }

    #[test]
    fn operators_that_do_not_parse_still_lex() {
        let k = kinds("a >>>= b ++ ~c");
        assert_eq!(k[1].0, Tok::Op(Op::URShiftAssign));
        assert_eq!(k[3].0, Tok::Op(Op::Incr));
        assert_eq!(k[4].0, Tok::Op(Op::Tilde));
    }

    #[test]
    fn unicode_escapes_are_decoded_before_tokenizing() {
        let k = kinds("\\u0078 = 5; '\\u0041'");
        assert_eq!(k[0].0, Tok::Ident(Arc::from("x")));
        assert_eq!(k[4].1, "'A'");
    }

    #[test]
    fn reserved_words_are_not_identifiers() {
        assert_eq!(kinds("class")[0].0, Tok::Kw(Kw::Other));
        assert_eq!(
            kinds("step1__foo")[0].0,
            Tok::Ident(Arc::from("step1__foo"))
        );
    }

    #[test]
    fn lexical_errors_have_positions() {
        let e = tokenize("x = 1;\n  #").unwrap_err();
        assert_eq!((e.line, e.column), (2, 3));
        assert_eq!(e.class, JavaClass::TokenMgrError);
        assert!(tokenize("'abc").is_err());
        assert!(tokenize("'\\q'").is_err());
        assert!(tokenize("/* open").is_err());
        assert!(
            tokenize("'\\101'").is_ok(),
            "octal escapes lex (the parser rejects them)"
        );
    }

    #[test]
    fn comments_are_skipped() {
        let k = kinds("x=1; // c\n /* d */ /** e */ y");
        assert_eq!(k.last().map(|t| t.1.as_str()), Some("<EOF>"));
        assert_eq!(k[4].0, Tok::Ident(Arc::from("y")));
    }
}
