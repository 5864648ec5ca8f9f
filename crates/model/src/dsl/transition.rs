//! DSL transitions: `"job_id"` (unconditional), `"IF <sel> THEN job_id"` and, last,
//! `"OTHERWISE job_id"` (taken when none of the IF conditions holds). Keywords are
//! case-insensitive.

use crate::definition::StepTransition;

const NO_CONDITION: &str = "true";

/// A job id: `[_a-zA-Z][.\-_a-zA-Z0-9]*`.
fn is_job_id(s: &str) -> bool {
    let mut it = s.chars();
    it.next()
        .is_some_and(|c| c == '_' || c.is_ascii_alphabetic())
        && it.all(|c| c == '.' || c == '-' || c == '_' || c.is_ascii_alphanumeric())
}

/// `^\s*(id)\s*$`
fn simple(line: &str) -> Option<&str> {
    let t = line.trim();
    is_job_id(t).then_some(t)
}

/// Strips a case-insensitive keyword followed by at least one whitespace character.
fn keyword<'a>(s: &'a str, kw: &str) -> Option<&'a str> {
    let head = s.get(..kw.len())?;
    if !head.eq_ignore_ascii_case(kw) {
        return None;
    }
    let rest = &s[kw.len()..];
    let trimmed = rest.trim_start();
    (trimmed.len() < rest.len()).then_some(trimmed)
}

/// `^\s*IF\s+(.+?)\s+THEN\s+(id)\s*$`, case-insensitive; the condition is the shortest that lets
/// the rest match, and (like Java's `.`) holds no line break.
fn conditional(line: &str) -> Option<(&str, &str)> {
    let body = keyword(line.trim_start(), "IF")?;
    for (j, c) in body.char_indices() {
        if j == 0 || !c.is_whitespace() {
            continue;
        }
        let cond = &body[..j];
        if cond.contains(['\n', '\r']) {
            return None;
        }
        let after = body[j..].trim_start();
        if let Some(rest) = keyword(after, "THEN") {
            let id = rest.trim_end();
            if is_job_id(id) {
                return Some((cond, id));
            }
        }
    }
    None
}

/// `^\s*OTHERWISE\s+(id)\s*$`, case-insensitive.
fn otherwise(line: &str) -> Option<&str> {
    let rest = keyword(line.trim_start(), "OTHERWISE")?;
    let id = rest.trim_end();
    is_job_id(id).then_some(id)
}

/// Parses a job's transition lines. Errors name the line index.
pub(crate) fn parse(lines: &[String]) -> Result<StepTransition, Vec<(usize, String)>> {
    let mut t = StepTransition::default();
    let mut ifs: Vec<&str> = Vec::new();
    let mut errors = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if line.is_empty() {
            continue;
        }
        if let Some(id) = simple(line) {
            t.successors
                .insert(id.to_string(), NO_CONDITION.to_string());
        } else if let Some((cond, id)) = conditional(line) {
            t.successors.insert(id.to_string(), cond.to_string());
            ifs.push(cond);
        } else if let Some(id) = otherwise(line) {
            if i != lines.len() - 1 {
                errors.push((
                    i,
                    format!("'OTHERWISE' must be the last row in the transition list: {lines:?}"),
                ));
                continue;
            }
            let cond = if ifs.is_empty() {
                NO_CONDITION.to_string()
            } else {
                format!("!(({}))", ifs.join(") || ("))
            };
            t.successors.insert(id.to_string(), cond);
        } else {
            errors.push((
                i,
                format!(
                    "Invalid transition: [{line}]. Expected formats: 'job_id', 'IF condition THEN job_id', or 'OTHERWISE job_id'"
                ),
            ));
        }
    }
    if errors.is_empty() {
        Ok(t)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(lines: &[&str]) -> Result<StepTransition, Vec<(usize, String)>> {
        parse(&lines.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn sample_transitions() {
        let t = p(&["IF param2 < 0 THEN job.4", "OTHERWISE job.6"]).unwrap();
        assert_eq!(t.successors["job.4"], "param2 < 0");
        assert_eq!(t.successors["job.6"], "!((param2 < 0))");
        let t = p(&["if params.getFromStep('job.4', 'param3') > 0 THEN job.6"]).unwrap();
        assert_eq!(
            t.successors["job.6"],
            "params.getFromStep('job.4', 'param3') > 0"
        );
        let t = p(&["IF partition_count > 0 Then process_partitions"]).unwrap();
        assert_eq!(t.successors["process_partitions"], "partition_count > 0");
        let t = p(&["  job.2  "]).unwrap();
        assert_eq!(t.successors["job.2"], "true");
    }

    #[test]
    fn otherwise_combines_all_ifs() {
        let t = p(&["IF a THEN x", "IF b > 1 THEN y", "OTHERWISE z"]).unwrap();
        assert_eq!(t.successors["z"], "!((a) || (b > 1))");
        let t = p(&["OTHERWISE z"]).unwrap();
        assert_eq!(t.successors["z"], "true");
    }

    #[test]
    fn shortest_condition_wins() {
        let t = p(&["IF a THEN b THEN c"]).unwrap();
        assert_eq!(t.successors["c"], "a THEN b");
    }

    #[test]
    fn errors() {
        let e = p(&["OTHERWISE z", "x"]).unwrap_err();
        assert_eq!(e[0].0, 0);
        assert!(e[0].1.contains("must be the last row"));
        let e = p(&["GOTO x"]).unwrap_err();
        assert!(e[0].1.contains("Invalid transition"));
        let e = p(&["IF THEN x"]).unwrap_err();
        assert_eq!(e.len(), 1);
        assert!(p(&["1job"]).is_err());
    }
}
