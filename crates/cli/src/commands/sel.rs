//! `baton sel ...`: evaluate SEL expressions from the command line (`eval`) or a stream of
//! corpus-format JSON lines (`batch`, also the SEL throughput benchmark). Results print as
//! `{"type": "LONG", "value": 2}`; failures as `{"error": "message", ...}`.

use anyhow::Context;
use baton_sel::cases::{Outcome, limits_from_json, run_case};
use baton_sel::{Evaluator, Value, Zone};
use std::io::{BufRead, BufWriter, Write};
use std::process::ExitCode;

#[derive(clap::Subcommand)]
pub enum SelCommand {
    /// Evaluate one expression and print its type and value as JSON (exit 1 on an error).
    Eval {
        /// Input parameters as a JSON object (`{"x": 1}`), readable by name and via `params`.
        #[arg(long)]
        params: Option<String>,
        /// Fix the clock to this epoch-millisecond instant.
        #[arg(long)]
        now_millis: Option<i64>,
        /// Default time zone (standing for the JVM default; UTC if not given).
        #[arg(long)]
        tz: Option<String>,
        /// Limits as a JSON object (`{"loop_limit": 10, ...}`); production values otherwise.
        #[arg(long)]
        limits: Option<String>,
        /// Evaluate the text as given, without Maestro's sanitizing (trim, append `;`).
        #[arg(long)]
        raw: bool,
        /// The SEL expression.
        expr: String,
    },
    /// Read JSON lines (corpus fields: expr, params, limits, now_millis, default_tz, ext, op)
    /// from stdin and write one result line per input, in order.
    Batch,
    /// Benchmark: parse one expression once and evaluate it repeatedly (the engine's path);
    /// prints evaluations per second.
    Bench {
        /// Input parameters as a JSON object.
        #[arg(long)]
        params: Option<String>,
        /// Number of evaluations.
        #[arg(long, default_value_t = 1_000_000)]
        iterations: u64,
        /// The SEL expression (sanitized like Maestro's).
        expr: String,
    },
}

pub fn run(cmd: SelCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        SelCommand::Eval {
            params,
            now_millis,
            tz,
            limits,
            raw,
            expr,
        } => {
            let out = eval(params, now_millis, tz, limits, raw, &expr)?;
            let failed = matches!(out, Outcome::Error(_));
            println!("{}", out.to_json());
            Ok(if failed {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            })
        }
        SelCommand::Batch => {
            batch()?;
            Ok(ExitCode::SUCCESS)
        }
        SelCommand::Bench {
            params,
            iterations,
            expr,
        } => {
            bench(params, iterations, &expr)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn bench(params: Option<String>, iterations: u64, expr: &str) -> anyhow::Result<()> {
    let mut ev = Evaluator::new();
    if let Some(text) = params {
        let json: serde_json::Value =
            serde_json::from_str(&text).context("--params is not JSON")?;
        let serde_json::Value::Object(map) = json else {
            anyhow::bail!("--params must be a JSON object");
        };
        for (k, v) in map {
            ev = ev.input(k, Value::from_json(&v).context("--params")?);
        }
    }
    let program = baton_sel::compile(&baton_sel::sanitize(expr), ev.get_limits())
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let first = ev.eval(&program).map_err(|e| anyhow::anyhow!("{e}"))?;
    let started = std::time::Instant::now();
    for _ in 0..iterations {
        let _ = std::hint::black_box(ev.eval(&program));
    }
    let elapsed = started.elapsed();
    println!(
        "{}",
        serde_json::json!({
            "result": first.to_json(),
            "iterations": iterations,
            "seconds": elapsed.as_secs_f64(),
            "evals_per_second": (iterations as f64 / elapsed.as_secs_f64()).round(),
        })
    );
    Ok(())
}

fn eval(
    params: Option<String>,
    now_millis: Option<i64>,
    tz: Option<String>,
    limits: Option<String>,
    raw: bool,
    expr: &str,
) -> anyhow::Result<Outcome> {
    let limits = match limits {
        Some(text) => {
            let json: serde_json::Value =
                serde_json::from_str(&text).context("--limits is not JSON")?;
            limits_from_json(Some(&json))
        }
        None => baton_sel::Limits::default(),
    };
    let mut ev = Evaluator::new().limits(limits);
    if let Some(now) = now_millis {
        ev = ev.now_millis(now);
    }
    if let Some(tz) = tz {
        ev = ev.default_zone(
            Zone::for_id(&tz)
                .map_err(anyhow::Error::msg)
                .context("--tz")?,
        );
    }
    if let Some(text) = params {
        let json: serde_json::Value =
            serde_json::from_str(&text).context("--params is not JSON")?;
        let serde_json::Value::Object(map) = json else {
            anyhow::bail!("--params must be a JSON object");
        };
        for (k, v) in map {
            ev = ev.input(k, Value::from_json(&v).context("--params")?);
        }
    }
    let src = if raw {
        expr.to_string()
    } else {
        baton_sel::sanitize(expr)
    };
    Ok(match ev.eval_source(&src) {
        Ok(v) => Outcome::Value(v),
        Err(e) => Outcome::Error(e),
    })
}

fn batch() -> anyhow::Result<()> {
    let stdin = std::io::stdin();
    let stdout = std::io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    for line in stdin.lock().lines() {
        let line = line.context("reading stdin")?;
        if line.trim().is_empty() {
            continue;
        }
        let result = match serde_json::from_str::<serde_json::Value>(&line) {
            Ok(case) => run_case(&case).to_json(),
            Err(e) => serde_json::json!({"error": format!("invalid JSON line: {e}")}),
        };
        serde_json::to_writer(&mut out, &result).context("writing stdout")?;
        out.write_all(b"\n").context("writing stdout")?;
    }
    out.flush().context("writing stdout")?;
    Ok(())
}
