//! Identifiers Maestro derives for nested runs, reproduced exactly so that ids, dedup keys and
//! request uuids match what Maestro would produce (maestro-model.md §6.4–§6.6):
//! `maestro_foreach_<hashKey(internal id)>_<rangeKey(instance id)>_<md5>` inline workflow ids,
//! name-based (version 3) uuids from dedup keys, and the base62 keys they are built from.

use md5::{Digest, Md5};

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Base62 digits, least significant first (Maestro's `IdHelper.hashKey`). `None` for values
/// below 1, which Maestro rejects.
pub fn hash_key(value: i64) -> Option<String> {
    if value <= 0 {
        return None;
    }
    let mut v = value;
    let mut out = String::new();
    while v != 0 {
        out.push(BASE62[(v % 62) as usize] as char);
        v /= 62;
    }
    Some(out)
}

/// Base62 digits, most significant first, after a digit giving their count, so that the text
/// sorts like the number (Maestro's `IdHelper.rangeKey`).
pub fn range_key(value: i64) -> Option<String> {
    let digits = hash_key(value)?;
    let mut out = String::with_capacity(digits.len() + 1);
    out.push(BASE62[digits.len()] as char);
    out.extend(digits.chars().rev());
    Some(out)
}

/// Lower-case hex MD5 of the inputs joined with `@` (Maestro's `HashHelper.md5`).
pub fn md5_hex(inputs: &[&str]) -> String {
    let digest = Md5::digest(inputs.join("@").as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// The name-based uuid Java's `UUID.nameUUIDFromBytes` makes of a dedup key: MD5 of the UTF-8
/// text with the version (3) and variant bits set.
pub fn name_uuid(key: &str) -> uuid::Uuid {
    let digest: [u8; 16] = Md5::digest(key.as_bytes()).into();
    uuid::Builder::from_md5_bytes(digest).into_uuid()
}

/// The kind of loop an inline workflow belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoopKind {
    Foreach,
    While,
}

impl LoopKind {
    fn name(self) -> &'static str {
        match self {
            LoopKind::Foreach => "foreach",
            LoopKind::While => "while",
        }
    }
}

/// The id of the inline workflow a loop step's iterations run as. `internal_id` is the root
/// workflow's internal id (inherited by inline runs), `base_instance_id` the instance id of the
/// closest run that is not itself inline, and `(step_id, instance_id, workflow_id)` identify the
/// loop step in the run that holds it.
pub fn inline_workflow_id(
    kind: LoopKind,
    internal_id: i64,
    base_instance_id: i64,
    step_id: &str,
    instance_id: i64,
    workflow_id: &str,
) -> Option<String> {
    Some(format!(
        "maestro_{}_{}_{}_{}",
        kind.name(),
        hash_key(internal_id)?,
        range_key(base_instance_id)?,
        md5_hex(&[step_id, &instance_id.to_string(), workflow_id])
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_match_maestro() {
        // IdHelperTest.
        assert_eq!(hash_key(1_000_000).as_deref(), Some("29C4"));
        assert_eq!(hash_key(100_000_000_000).as_deref(), Some("o9oZ9l1"));
        assert_eq!(range_key(1_000_000).as_deref(), Some("44C92"));
        assert_eq!(range_key(100_000_000_000).as_deref(), Some("71l9Zo9o"));
        assert_eq!(range_key(i64::MAX).as_deref(), Some("BAzL8n0Y58m7"));
        assert!(range_key(1_000_000) < range_key(100_000_000_000));
        assert_eq!(hash_key(0), None);
        assert_eq!(range_key(-3), None);
    }

    #[test]
    fn name_uuids_match_java() {
        assert_eq!(
            name_uuid("test-uuid1").to_string(),
            "7b92bd31-8478-35db-bb77-dfdb3d7260fc"
        );
        assert_eq!(
            name_uuid("test-uuid2").to_string(),
            "1e98c90b-0adf-3429-9a53-c8620d70fb5d"
        );
    }

    #[test]
    fn inline_ids_are_stable_and_distinct() {
        let a = inline_workflow_id(LoopKind::Foreach, 10001, 3, "loop", 3, "wf").unwrap();
        assert!(a.starts_with("maestro_foreach_"), "{a}");
        assert!(baton_model::instance::is_inline_workflow_id(&a));
        assert_eq!(
            a,
            inline_workflow_id(LoopKind::Foreach, 10001, 3, "loop", 3, "wf").unwrap()
        );
        assert_ne!(
            a,
            inline_workflow_id(LoopKind::Foreach, 10001, 4, "loop", 4, "wf").unwrap()
        );
        let w = inline_workflow_id(LoopKind::While, 10001, 3, "loop", 3, "wf").unwrap();
        assert!(w.starts_with("maestro_while_"));
        // md5("a@1@b") as Java's HashHelper prints it, lower-cased.
        assert_eq!(
            md5_hex(&["a", "1", "b"]),
            format!("{:x}", Md5::digest(b"a@1@b"))
        );
    }
}
