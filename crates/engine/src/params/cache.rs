//! A process-wide cache of compiled SEL expressions, keyed by the expression text.
//!
//! The engine evaluates the same expressions over and over: the default workflow params for
//! every instance, the default step params for every step, a workflow's own params for every
//! run. Parsing is most of the cost of a short expression, so each text is sanitized, parsed
//! and scanned for free variables once. The cache is bounded with two generations: lookups
//! that hit the old generation move the entry to the new one, and when the new one is full the
//! old one is dropped. That keeps what is in use without tracking recency on every hit.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use baton_sel::{Error, Limits, Program};

/// Entries per generation (so at most twice this many programs are held).
const GENERATION_CAPACITY: usize = 2048;

/// A sanitized, parsed expression and the names it reads.
#[derive(Debug)]
pub struct Compiled {
    /// The parsed program.
    pub program: Program,
    /// The free variable names (SEL's `validate`), sorted.
    pub referenced: Vec<String>,
    /// Whether the program may read its inputs through `params` (`params.get`, `params[..]`,
    /// `params.x`, `containsKey`), rather than only calling the engine's `params.getFrom…`
    /// methods. In a step, reading `params` binds every workflow param; a program that only
    /// calls methods is spared that.
    pub reads_params_inputs: bool,
    /// Length of the sanitized text in UTF-16 units, for the length limit.
    utf16_len: u64,
}

/// The `params` methods served by the engine's extension; they never read the inputs.
const EXTENSION_METHODS: &[&str] = &[
    "getFromStep",
    "getFromInstance",
    "getFromSignal",
    "getFromSignalOrDefault",
    "getFromSignalDependency",
    "getFromForeach",
    "getFromSubworkflow",
    "nextUniqueId",
    "getExecutionEnvironment",
];

/// Conservative: true unless every occurrence of the word `params` in the text is directly
/// followed by `.` and an extension method name and `(`. Text inside strings or comments can
/// only make it say true, which costs time, never correctness.
fn reads_params_inputs(src: &str) -> bool {
    let is_ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c >= 0x80;
    let b = src.as_bytes();
    let mut from = 0;
    while let Some(pos) = src.get(from..).and_then(|rest| rest.find("params")) {
        let start = from + pos;
        let end = start + "params".len();
        from = end;
        if start > 0 && b.get(start - 1).is_some_and(|c| is_ident(*c)) {
            continue;
        }
        if b.get(end).is_some_and(|c| is_ident(*c)) {
            continue;
        }
        let rest = src.get(end..).unwrap_or_default();
        let calls_extension = rest.strip_prefix('.').is_some_and(|r| {
            EXTENSION_METHODS.iter().any(|m| {
                r.strip_prefix(m)
                    .is_some_and(|after| after.starts_with('('))
            })
        });
        if !calls_extension {
            return true;
        }
    }
    false
}

/// A bounded map from expression text to compiled program.
pub struct ProgramCache {
    capacity: usize,
    generations: Mutex<Generations>,
}

#[derive(Default)]
struct Generations {
    new: HashMap<String, Arc<Compiled>>,
    old: HashMap<String, Arc<Compiled>>,
}

/// The process-wide cache.
pub fn global() -> &'static ProgramCache {
    static CACHE: OnceLock<ProgramCache> = OnceLock::new();
    CACHE.get_or_init(|| ProgramCache::new(GENERATION_CAPACITY))
}

/// [`ProgramCache::compile`] on the process-wide cache.
pub fn compile(expression: &str, limits: &Limits) -> Result<Arc<Compiled>, Error> {
    global().compile(expression, limits)
}

impl ProgramCache {
    /// A cache holding up to `capacity` programs per generation.
    pub fn new(capacity: usize) -> Self {
        ProgramCache {
            capacity: capacity.max(1),
            generations: Mutex::new(Generations::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Generations> {
        // A panic while holding the lock cannot leave the maps inconsistent (every update is
        // a single insert or swap), so a poisoned lock is still usable.
        self.generations.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Compiles `expression` as Maestro does (sanitize, then parse), or returns the cached
    /// result. The length limit of `limits` is checked on every call, so a cached program never
    /// escapes a stricter limit. Failures are not cached.
    pub fn compile(&self, expression: &str, limits: &Limits) -> Result<Arc<Compiled>, Error> {
        let found = {
            let mut g = self.lock();
            match g.new.get(expression) {
                Some(c) => Some(Arc::clone(c)),
                None => match g.old.remove_entry(expression) {
                    Some((k, c)) => {
                        self.insert(&mut g, k, Arc::clone(&c));
                        Some(c)
                    }
                    None => None,
                },
            }
        };
        if let Some(c) = found {
            check_length(&c, limits)?;
            return Ok(c);
        }
        let sanitized = baton_sel::sanitize(expression);
        let program = baton_sel::compile(&sanitized, limits)?;
        let referenced = program.referenced_names();
        let compiled = Arc::new(Compiled {
            reads_params_inputs: referenced.iter().any(|n| n == "params")
                && reads_params_inputs(&sanitized),
            referenced,
            program,
            utf16_len: baton_sel::java::text::utf16_len(&sanitized) as u64,
        });
        let mut g = self.lock();
        self.insert(&mut g, expression.to_string(), Arc::clone(&compiled));
        Ok(compiled)
    }

    fn insert(&self, g: &mut Generations, key: String, value: Arc<Compiled>) {
        if g.new.len() >= self.capacity {
            g.old = std::mem::take(&mut g.new);
        }
        g.new.insert(key, value);
    }

    /// How many programs the cache holds.
    pub fn len(&self) -> usize {
        let g = self.lock();
        g.new.len() + g.old.len()
    }

    /// True when nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn check_length(c: &Compiled, limits: &Limits) -> Result<(), Error> {
    if c.utf16_len >= limits.length {
        return Err(Error::Limit {
            limit: baton_sel::LimitKind::Length,
            message: format!(
                "Expression length is over the limit: {} vs length: {}",
                limits.length, c.utf16_len
            ),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compiles_once_and_reports_free_names() {
        let text = "cache_test_a + cache_test_b";
        let cache = ProgramCache::new(8);
        let a = cache.compile(text, &Limits::default()).unwrap();
        let b = cache.compile(text, &Limits::default()).unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(a.referenced, vec!["cache_test_a", "cache_test_b"]);
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn tells_input_reads_from_extension_calls() {
        for (src, reads) in [
            ("params.getFromStep('step_id')", false),
            (
                "params.getFromInstance('owner') + params.nextUniqueId()",
                false,
            ),
            ("params.get('x')", true),
            ("params['x']", true),
            ("params.x", true),
            ("params.containsKey('x')", true),
            ("params . getFromStep('a')", true),
            ("params.getFromStepX('a')", true),
            ("myparams.get('a') + params.getFromStep('a')", false),
            ("1 + 1", false),
        ] {
            assert_eq!(reads_params_inputs(src), reads, "{src}");
        }
        let c = ProgramCache::new(4)
            .compile("params.getFromStep('step_id')", &Limits::default())
            .unwrap();
        assert!(!c.reads_params_inputs);
    }

    #[test]
    fn the_length_limit_applies_to_cached_programs() {
        let text = "1 + 2 + 3 + 4 + 5";
        compile(text, &Limits::default()).unwrap();
        let err = compile(text, &Limits::default().with_length(5)).unwrap_err();
        assert!(err.to_string().contains("over the limit"), "{err}");
    }

    #[test]
    fn parse_errors_are_not_cached() {
        let cache = ProgramCache::new(8);
        assert!(cache.compile("1 +", &Limits::default()).is_err());
        assert!(cache.is_empty());
    }

    #[test]
    fn stays_bounded() {
        let cache = ProgramCache::new(4);
        let keep = "keep + 1";
        let first = cache.compile(keep, &Limits::default()).unwrap();
        for i in 0..20 {
            cache
                .compile(&format!("{i} + 1"), &Limits::default())
                .unwrap();
            // A program in use is promoted on every hit and survives the rotations.
            let again = cache.compile(keep, &Limits::default()).unwrap();
            assert!(Arc::ptr_eq(&first, &again));
            assert!(cache.len() <= 8);
        }
    }
}
