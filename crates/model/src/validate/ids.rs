//! Maestro's identifier and name rules (§1.7), with Maestro's messages. Each check returns the
//! first problem found, or `None`.

/// Longest id (workflow ids, step ids, param names).
pub const ID_LENGTH_LIMIT: usize = 128;
/// Longest name (workflow/step names, tag names).
pub const NAME_LENGTH_LIMIT: usize = 256;
/// Longest description.
pub const FIELD_SIZE_LIMIT: usize = 16384;
/// Separator between a step id and a param name (`job1__param`).
pub const STEP_PARAM_SEPARATOR: &str = "__";
const PREFIX: &str = "maestro_";
const SUFFIX: &str = "_maestro";

fn chars(s: &str) -> usize {
    // Java measures UTF-16 code units; for the ASCII ids that pass the pattern they agree.
    s.encode_utf16().count()
}

/// `MaestroIdConstraint`: workflow ids. Non-empty, ≤ 128, `[_a-zA-Z0-9][.\-_a-zA-Z0-9]*`, no
/// `maestro_` prefix, no `_maestro` suffix (case-insensitive).
pub fn check_workflow_id(id: &str) -> Option<String> {
    if id.is_empty() {
        return Some("[maestro id] cannot be null or empty".into());
    }
    if chars(id) > ID_LENGTH_LIMIT {
        return Some(format!(
            "[maestro id] cannot be more than id length limit {ID_LENGTH_LIMIT} - rejected length is [{}] for value [{id}]",
            chars(id)
        ));
    }
    let mut it = id.chars();
    let first_ok = it
        .next()
        .is_some_and(|c| c == '_' || c.is_ascii_alphanumeric());
    if !first_ok || !it.all(|c| c == '.' || c == '-' || c == '_' || c.is_ascii_alphanumeric()) {
        return Some(format!(
            "[maestro id] does not follow the regex rule: [_a-zA-Z0-9][.\\-_a-zA-Z0-9]*+ - rejected value is [{id}]"
        ));
    }
    let lower = id.to_ascii_lowercase();
    if lower.starts_with(PREFIX) {
        return Some(format!(
            "[maestro id] cannot start with reserved prefix: {PREFIX} - rejected value is [{id}]"
        ));
    }
    if lower.ends_with(SUFFIX) {
        return Some(format!(
            "[maestro id] cannot end with reserved suffix: {SUFFIX} - rejected value is [{id}]"
        ));
    }
    None
}

/// `MaestroReferenceIdConstraint`: step ids, param names, job types and versions. Non-empty,
/// ≤ 128, `[_a-zA-Z][.\-_a-zA-Z0-9]*` (no leading digit), no `__`, no `maestro_` prefix.
pub fn check_reference_id(id: &str) -> Option<String> {
    const WHAT: &str = "[maestro id or name reference]";
    if id.is_empty() {
        return Some(format!("{WHAT} cannot be null or empty"));
    }
    if chars(id) > ID_LENGTH_LIMIT {
        return Some(format!(
            "{WHAT} cannot be more than id length limit {ID_LENGTH_LIMIT} - rejected length is [{}] for value [{id}]",
            chars(id)
        ));
    }
    let mut it = id.chars();
    let first_ok = it
        .next()
        .is_some_and(|c| c == '_' || c.is_ascii_alphabetic());
    if !first_ok || !it.all(|c| c == '.' || c == '-' || c == '_' || c.is_ascii_alphanumeric()) {
        return Some(format!(
            "{WHAT} does not follow the regex rule: [_a-zA-Z][.\\-_a-zA-Z0-9]*+ - rejected value is [{id}]"
        ));
    }
    if id.contains(STEP_PARAM_SEPARATOR) {
        return Some(format!(
            "{WHAT} cannot contain the step param separator '{STEP_PARAM_SEPARATOR}' - rejected value is [{id}]"
        ));
    }
    if id.to_ascii_lowercase().starts_with(PREFIX) {
        return Some(format!(
            "{WHAT} cannot start with reserved prefix: {PREFIX} - rejected value is [{id}]"
        ));
    }
    None
}

fn is_name_char(c: char) -> bool {
    // `[\w \.,:@&='(){}$+\[\]\-\/\\]` with Java's ASCII `\w`.
    c.is_ascii_alphanumeric() || "_ .,:@&='(){}$+[]-/\\".contains(c)
}

/// `MaestroNameConstraint`: tag names. Not blank, ≤ 256, only word characters and
/// `` .,:@&='(){}$+[]-/\``, no `maestro_` prefix, no `_maestro` suffix.
pub fn check_name(name: &str) -> Option<String> {
    if name.trim().is_empty() {
        return Some("[maestro name] cannot be null or empty or blank spaces".into());
    }
    if chars(name) > NAME_LENGTH_LIMIT {
        return Some(format!(
            "[maestro name] cannot be more than name length limit {NAME_LENGTH_LIMIT} - rejected length is [{}] for value [{name}]",
            chars(name)
        ));
    }
    if !name.chars().all(is_name_char) {
        return Some(format!(
            "[maestro name] does not follow the regex rule: [\\w \\.,:@&='(){{}}$+\\[\\]\\-\\/\\\\]+ - rejected value is [{name}]"
        ));
    }
    let lower = name.to_ascii_lowercase();
    if lower.starts_with(PREFIX) {
        return Some(format!(
            "[maestro name] cannot start with reserved prefix: {PREFIX} - rejected value is [{name}]"
        ));
    }
    if lower.ends_with(SUFFIX) {
        return Some(format!(
            "[maestro name] cannot end with reserved suffix: {SUFFIX} - rejected value is [{name}]"
        ));
    }
    None
}

/// `MaestroNameSizeConstraint`: workflow and step display names, ≤ 256.
pub fn check_name_size(name: &str) -> Option<String> {
    (chars(name) > NAME_LENGTH_LIMIT).then(|| {
        format!(
            "[maestro name] cannot be more than name length limit {NAME_LENGTH_LIMIT} - rejected length is [{}] for value [{name}]",
            chars(name)
        )
    })
}

/// Descriptions, ≤ 16384.
pub fn check_description(text: &str) -> Option<String> {
    (chars(text) > FIELD_SIZE_LIMIT).then(|| {
        format!(
            "description is too long: [{}] characters, at most {FIELD_SIZE_LIMIT}",
            chars(text)
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workflow_ids() {
        for ok in ["sample-dag-test-1", "9lives", "_x.y-z", "a"] {
            assert_eq!(check_workflow_id(ok), None, "{ok}");
        }
        assert!(check_workflow_id("").unwrap().contains("null or empty"));
        assert!(check_workflow_id("a b").unwrap().contains("regex"));
        assert!(check_workflow_id("-a").unwrap().contains("regex"));
        assert!(check_workflow_id("Maestro_x").unwrap().contains("prefix"));
        assert!(check_workflow_id("x_MAESTRO").unwrap().contains("suffix"));
        assert!(
            check_workflow_id(&"a".repeat(129))
                .unwrap()
                .contains("length limit 128")
        );
        assert_eq!(check_workflow_id(&"a".repeat(128)), None);
    }

    #[test]
    fn reference_ids() {
        for ok in [
            "job.1",
            "_step_dependency_sub_type",
            "sleep_seconds",
            "errorRetries",
        ] {
            assert_eq!(check_reference_id(ok), None, "{ok}");
        }
        assert!(check_reference_id("1job").unwrap().contains("regex"));
        assert!(check_reference_id("$foo").unwrap().contains("regex"));
        assert!(check_reference_id("job__x").unwrap().contains("separator"));
        assert!(check_reference_id("maestro_x").unwrap().contains("prefix"));
        assert_eq!(
            check_reference_id("x_maestro"),
            None,
            "no suffix rule for references"
        );
    }

    #[test]
    fn names() {
        for ok in ["tester", "Sleep", "a b/c:d@e (f) [g] {h} $i+j=k&l'm,n.o\\p"] {
            assert_eq!(check_name(ok), None, "{ok}");
        }
        assert!(check_name("   ").unwrap().contains("blank"));
        assert!(check_name("a#b").unwrap().contains("regex"));
        assert!(check_name("maestro_tag").unwrap().contains("prefix"));
        assert!(check_name("tag_maestro").unwrap().contains("suffix"));
        assert!(check_name_size(&"n".repeat(257)).is_some());
        assert!(check_name_size(&"n".repeat(256)).is_none());
        assert!(check_description(&"d".repeat(16385)).is_some());
    }
}
