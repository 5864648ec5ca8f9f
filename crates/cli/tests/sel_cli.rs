//! `baton sel eval` and `baton sel batch`, run as a user would run the binary.

use std::io::Write;
use std::process::{Command, Stdio};

fn baton() -> Command {
    Command::new(env!("CARGO_BIN_EXE_baton"))
}

fn json(bytes: &[u8]) -> serde_json::Value {
    serde_json::from_slice(bytes).expect("output is one JSON object")
}

#[test]
fn eval_prints_type_and_value() {
    let out = baton().args(["sel", "eval", "1 + 1"]).output().unwrap();
    assert!(out.status.success());
    assert_eq!(
        json(&out.stdout),
        serde_json::json!({"type": "LONG", "value": 2})
    );
}

#[test]
fn eval_uses_params_clock_and_zone() {
    let out = baton()
        .args([
            "sel",
            "eval",
            "--params",
            r#"{"x": "a"}"#,
            "--now-millis",
            "0",
            "--tz",
            "America/Los_Angeles",
            "x + new DateTime().getHourOfDay()",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        json(&out.stdout),
        serde_json::json!({"type": "STRING", "value": "a16"})
    );
}

#[test]
fn eval_errors_exit_1_with_the_message() {
    let out = baton()
        .args(["sel", "eval", "--raw", "1 +"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v = json(&out.stdout);
    assert!(
        v["error"].as_str().unwrap().contains("line 1, column"),
        "{v}"
    );
    let out = baton()
        .args(["sel", "eval", "throw 'nope'"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json(&out.stdout)["thrown"], "nope");
}

#[test]
fn batch_answers_each_line_in_order() {
    let mut child = baton()
        .args(["sel", "batch"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let input = concat!(
        r#"{"expr": "x=1+1;", "limits": {"loop_limit": 10}}"#,
        "\n",
        r#"{"expr": "while(true) 1;", "limits": {"loop_limit": 10}}"#,
        "\n",
        r#"{"expr": "params.getFromStep('a', 'b');", "ext": {"getFromStep(a,b)": "hello"}}"#,
        "\n",
        r#"{"expr": "System.currentTimeMillis();", "now_millis": 12345}"#,
        "\n",
        r#"{"expr": "new DateTime(0).getHourOfDay();", "default_tz": "Asia/Kolkata"}"#,
        "\n",
        r#"{"op": "validate", "expr": "x = 1; x + y;"}"#,
        "\n",
        r#"{"expr": "foo + 1;", "params": {"foo": 6}}"#,
        "\n",
    );
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| json(l.as_bytes()))
        .collect();
    assert_eq!(lines.len(), 7);
    assert_eq!(lines[0], serde_json::json!({"type": "LONG", "value": 2}));
    assert!(
        lines[1]["error"]
            .as_str()
            .unwrap()
            .contains("loop limit 10")
    );
    assert_eq!(
        lines[2],
        serde_json::json!({"type": "STRING", "value": "hello"})
    );
    assert_eq!(
        lines[3],
        serde_json::json!({"type": "LONG", "value": 12345})
    );
    assert_eq!(lines[4], serde_json::json!({"type": "LONG", "value": 5}));
    assert_eq!(
        lines[5],
        serde_json::json!({"type": "VALIDATE", "value": ["y"]})
    );
    assert_eq!(lines[6], serde_json::json!({"type": "LONG", "value": 7}));
}
