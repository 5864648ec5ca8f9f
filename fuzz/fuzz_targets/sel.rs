//! Fuzzes the SEL parser and interpreter: any input must end in a value or an error, within the
//! limits, without a panic, a hang or unbounded allocation.

#![no_main]

use baton_sel::{Evaluator, Limits, Value};
use libfuzzer_sys::fuzz_target;
use std::time::Duration;

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else { return };
    let limits = Limits {
        stack: 128,
        loop_: 5_000,
        array: 5_000,
        length: 10_000,
        visit: 2_000_000,
        memory: 20_000_000,
        time: Some(Duration::from_secs(2)),
    };
    let _ = baton_sel::referenced_names_with_limits(src, &limits);
    let Ok(program) = baton_sel::compile(src, &limits) else { return };
    let ev = Evaluator::new()
        .limits(limits)
        .now_millis(1_625_619_600_000)
        .input("x", Value::Long(7))
        .input("s", Value::string("a,b"))
        .input("d", Value::Double(1.5))
        .input("a", Value::LongArray(vec![1, 2, 3]))
        .input("m", Value::map([("k", Value::Long(1)), ("t", Value::string("v"))]));
    if let Ok(v) = ev.eval(&program) {
        let _ = v.to_json();
    }
});
