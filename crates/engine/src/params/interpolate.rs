//! `$name` / `${name}` string interpolation (maestro-model.md §3.9).
//!
//! Literal STRING params (and STRING_ARRAY elements, STRING_MAP keys and values) are not SEL:
//! they are text with references. Maestro finds them with a regex whose look-behind decides
//! whether a `$` is escaped; this scanner makes the same decisions by hand so that the
//! reference set and the replacement agree, and so nothing allocates for text without `$`.
//!
//! At a `$` that is preceded by the start of the text, a character other than `$`, or `$$`:
//! `${name}` (name `[a-zA-Z][-_./a-zA-Z0-9]*`) and `$name` (name `[a-zA-Z][_a-zA-Z0-9]*`) are
//! references; `$${name}` and `$$name` are the literal `${name}` / `$name`. Anywhere, `$$` is a
//! literal `$`. Any other `$` is kept.

/// One piece of interpolated text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Piece<'a> {
    /// Text copied as is.
    Text(&'a str),
    /// A reference to the param with this name.
    Ref(&'a str),
}

/// Splits `text` into literal text and references, in order.
pub fn pieces(text: &str) -> Vec<Piece<'_>> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut start = 0; // start of pending literal text
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'$' {
            i += 1;
            continue;
        }
        let free = i == 0 || b[i - 1] != b'$' || (i >= 2 && b[i - 2] == b'$');
        if free {
            if let Some((name, end)) = reference_at(text, i + 1) {
                push_text(&mut out, &text[start..i]);
                out.push(Piece::Ref(name));
                i = end;
                start = end;
                continue;
            }
            if b.get(i + 1) == Some(&b'$')
                && let Some((_, end)) = reference_at(text, i + 2)
            {
                // `$$name` / `$${name}`: drop one `$`, keep the rest as text.
                push_text(&mut out, &text[start..i]);
                push_text(&mut out, &text[i + 1..end]);
                i = end;
                start = end;
                continue;
            }
        }
        if b.get(i + 1) == Some(&b'$') {
            push_text(&mut out, &text[start..i]);
            push_text(&mut out, "$");
            i += 2;
            start = i;
            continue;
        }
        i += 1;
    }
    push_text(&mut out, &text[start..]);
    out
}

fn push_text<'a>(out: &mut Vec<Piece<'a>>, s: &'a str) {
    if !s.is_empty() {
        out.push(Piece::Text(s));
    }
}

/// A reference starting at `at` (just after a `$`): `{name}` or `name`. Returns the name and
/// the index after the reference.
fn reference_at(text: &str, at: usize) -> Option<(&str, usize)> {
    let b = text.as_bytes();
    let first = *b.get(at)?;
    if first == b'{' {
        let name_start = at + 1;
        if !b.get(name_start)?.is_ascii_alphabetic() {
            return None;
        }
        let mut j = name_start + 1;
        while let Some(&c) = b.get(j) {
            if c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.' | b'/') {
                j += 1;
            } else {
                break;
            }
        }
        if b.get(j) == Some(&b'}') {
            return Some((&text[name_start..j], j + 1));
        }
        return None;
    }
    if !first.is_ascii_alphabetic() {
        return None;
    }
    let mut j = at + 1;
    while let Some(&c) = b.get(j) {
        if c.is_ascii_alphanumeric() || c == b'_' {
            j += 1;
        } else {
            break;
        }
    }
    Some((&text[at..j], j))
}

/// The names `text` references, in order of first appearance.
pub fn referenced_names(text: &str) -> Vec<&str> {
    if !text.contains('$') {
        return Vec::new();
    }
    let mut names: Vec<&str> = Vec::new();
    for p in pieces(text) {
        if let Piece::Ref(n) = p
            && !names.contains(&n)
        {
            names.push(n);
        }
    }
    names
}

/// Replaces references with what `lookup` returns for them and resolves escapes.
pub fn interpolate_with<E>(
    text: &str,
    mut lookup: impl FnMut(&str) -> Result<String, E>,
) -> Result<String, E> {
    if !text.contains('$') {
        return Ok(text.to_string());
    }
    let mut out = String::with_capacity(text.len());
    for p in pieces(text) {
        match p {
            Piece::Text(t) => out.push_str(t),
            Piece::Ref(n) => out.push_str(&lookup(n)?),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str) -> String {
        interpolate_with::<()>(text, |n| Ok(format!("<{n}>"))).unwrap()
    }

    #[test]
    fn references_in_both_forms() {
        assert_eq!(run("a $foo b"), "a <foo> b");
        assert_eq!(run("${job.1__out}x"), "<job.1__out>x");
        assert_eq!(run("$foo.bar"), "<foo>.bar");
        assert_eq!(run("${a-b/c_d}"), "<a-b/c_d>");
        assert_eq!(run("$a$b"), "<a><b>");
    }

    #[test]
    fn escapes() {
        assert_eq!(run("$$"), "$");
        assert_eq!(run("cost: $$5"), "cost: $5");
        assert_eq!(run("$$foo"), "$foo");
        assert_eq!(run("$${foo}"), "${foo}");
        assert_eq!(run("$$$foo"), "$<foo>");
        assert_eq!(run("$$$$foo"), "$$foo");
        assert_eq!(
            run("echo $$MAESTRO_OUTPUT_START"),
            "echo $MAESTRO_OUTPUT_START"
        );
    }

    #[test]
    fn dollars_that_are_not_references_stay() {
        assert_eq!(run("$"), "$");
        assert_eq!(run("a $ b"), "a $ b");
        assert_eq!(run("$1"), "$1");
        assert_eq!(run("${1}"), "${1}");
        assert_eq!(run("${foo"), "${foo");
        assert_eq!(run("${}"), "${}");
        assert_eq!(run("no dollars"), "no dollars");
        assert_eq!(run("é$fooé"), "é<foo>é");
    }

    #[test]
    fn names_in_order_without_duplicates() {
        assert_eq!(referenced_names("$b ${a} $b $$c"), vec!["b", "a"]);
        assert!(referenced_names("plain").is_empty());
    }

    #[test]
    fn lookup_errors_propagate() {
        let r = interpolate_with("x $missing", |n| Err(n.to_string()));
        assert_eq!(r, Err("missing".to_string()));
    }
}
