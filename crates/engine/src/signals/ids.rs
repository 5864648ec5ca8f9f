//! Name-based identities: Java's `UUID.nameUUIDFromBytes` (an MD5, version-3 UUID without a
//! namespace), which Maestro uses for signal instance ids, trigger uuids and the request ids
//! that make trigger starts idempotent.

use std::collections::BTreeMap;

use baton_model::definition::SignalParamValue;
use indexmap::IndexMap;
use md5::{Digest, Md5};

/// `UUID.nameUUIDFromBytes(text.getBytes(UTF_8))`.
pub(crate) fn name_uuid(text: &str) -> uuid::Uuid {
    let digest: [u8; 16] = Md5::digest(text.as_bytes()).into();
    uuid::Builder::from_md5_bytes(digest).into_uuid()
}

/// A signal's instance id when its request has none (maestro-api.md §1.12): the name-based
/// UUID of `{"name": …, "params": {sorted}, "request_time": 0}` as Maestro writes that JSON.
pub(crate) fn signal_instance_id(
    name: &str,
    params: Option<&IndexMap<String, SignalParamValue>>,
) -> String {
    let mut doc = serde_json::Map::new();
    doc.insert("name".into(), name.into());
    if let Some(p) = params.filter(|p| !p.is_empty()) {
        let sorted: BTreeMap<&String, &SignalParamValue> = p.iter().collect();
        doc.insert(
            "params".into(),
            serde_json::to_value(sorted).unwrap_or_default(),
        );
    }
    doc.insert("request_time".into(), 0.into());
    name_uuid(&serde_json::Value::Object(doc).to_string()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_uuids_are_javas() {
        // Java: UUID.nameUUIDFromBytes("hello".getBytes(UTF_8)).
        assert_eq!(
            name_uuid("hello").to_string(),
            "5d41402a-bc4b-3a76-b971-9d911017c592"
        );
    }

    #[test]
    fn instance_ids_ignore_param_order() {
        let mut a = IndexMap::new();
        a.insert("x".to_string(), SignalParamValue::Long(1));
        a.insert("a".to_string(), SignalParamValue::String("v".into()));
        let mut b = IndexMap::new();
        b.insert("a".to_string(), SignalParamValue::String("v".into()));
        b.insert("x".to_string(), SignalParamValue::Long(1));
        assert_eq!(
            signal_instance_id("s", Some(&a)),
            signal_instance_id("s", Some(&b))
        );
        assert_ne!(
            signal_instance_id("s", Some(&a)),
            signal_instance_id("s", None)
        );
        assert_eq!(
            signal_instance_id("s", None),
            name_uuid(r#"{"name":"s","request_time":0}"#).to_string()
        );
    }
}
