//! Behaviour the reference pins down (sel.md §2–§7), checked end to end through the public API:
//! lexical forms, statement values, aliasing, typing, operators, the library, Joda time and DST,
//! limits, validation and Maestro's default workflow parameters.

use baton_sel::{
    Error, Evaluator, JavaClass, LimitKind, Limits, Value, Zone, referenced_names, sanitize,
};

fn ev() -> Evaluator<'static> {
    Evaluator::new().now_millis(1_625_619_600_000) // 2021-07-07T01:00:00Z
}

fn run(src: &str) -> Result<Value, Error> {
    ev().eval_source(src)
}

fn ok(src: &str) -> Value {
    match run(src) {
        Ok(v) => v,
        Err(e) => panic!("{src}: {e}"),
    }
}

fn long(src: &str) -> i64 {
    match ok(src) {
        Value::Long(v) => v,
        other => panic!("{src}: expected LONG, got {other:?}"),
    }
}

fn string(src: &str) -> String {
    match ok(src) {
        Value::String(Some(s)) => s,
        other => panic!("{src}: expected STRING, got {other:?}"),
    }
}

fn boolean(src: &str) -> bool {
    match ok(src) {
        Value::Boolean(b) => b,
        other => panic!("{src}: expected BOOLEAN, got {other:?}"),
    }
}

fn datetime(src: &str) -> String {
    match ok(src) {
        Value::DateTime(Some(d)) => d.to_iso_string(),
        other => panic!("{src}: expected DATETIME, got {other:?}"),
    }
}

fn fails(src: &str) -> Error {
    match run(src) {
        Ok(v) => panic!("{src}: expected an error, got {v:?}"),
        Err(e) => e,
    }
}

fn fails_with(src: &str, class: JavaClass) {
    let e = fails(src);
    assert_eq!(e.java_class(), Some(class), "{src}: {e}");
}

#[test]
fn lexical_forms() {
    assert_eq!(long("\\u0078 = 5; x;"), 5);
    assert_eq!(string("'\\u0041';"), "A");
    assert_eq!(long("010;"), 10);
    assert_eq!(ok("1.5f;"), Value::Double(1.5));
    assert_eq!(ok("1.;"), Value::Double(1.0));
    assert_eq!(ok("2d;"), Value::Double(2.0));
    assert_eq!(long("- -1;"), 1);
    assert_eq!(long("1L + 2l;"), 3);
    assert_eq!(string("\"a\\tb\";"), "a\tb");
    fails_with("08;", JavaClass::ParseException);
    fails_with("0x10;", JavaClass::NumberFormatException);
    fails_with("-9223372036854775808;", JavaClass::NumberFormatException);
    fails_with("--1;", JavaClass::ParseException);
    fails_with("x = 1 # 2;", JavaClass::TokenMgrError);
    fails_with("'\\7';", JavaClass::IllegalArgumentException);
    assert_eq!(long("/* c */ 1; // d"), 1);
}

#[test]
fn statement_values() {
    assert_eq!(long("{ 1; 2; }"), 2);
    assert_eq!(ok("if (true) 5;"), Value::Void);
    assert_eq!(ok("x = 1; if (x > 0) x = 2;"), Value::Void);
    assert_eq!(ok("int x = 1;"), Value::Void);
    assert_eq!(ok(""), Value::Void);
    assert_eq!(long("for (int i = 0; i < 3; i += 1) {} return i;"), 3);
    assert_eq!(ok("zzzzz;"), Value::Null);
    assert_eq!(long("import java.util.*; 1;"), 1);
    assert_eq!(
        long("x = 0; while (true) { x += 1; if (x == 3) break; } x;"),
        3
    );
    assert_eq!(
        long("x = 0; for (i = 0; i < 5; i += 1) { if (i % 2 == 0) continue; x += i; } x;"),
        4
    );
    assert_eq!(long("break; 1;"), 1);
    fails_with("1; break;", JavaClass::RuntimeException);
    match fails("throw 'boom'; 1;") {
        Error::Thrown { message } => assert_eq!(message, "boom"),
        other => panic!("{other}"),
    }
    fails_with("throw 1;", JavaClass::IllegalArgumentException);
}

#[test]
fn typing_and_assignment() {
    fails_with("double d = 1;", JavaClass::IllegalArgumentException);
    fails_with("long l = 2.0;", JavaClass::IllegalArgumentException);
    fails_with("String s = null;", JavaClass::IllegalArgumentException);
    fails_with("x = 1; x = 'a';", JavaClass::IllegalArgumentException);
    fails_with("x = 1; x = 2.5;", JavaClass::IllegalArgumentException);
    fails_with("x = null;", JavaClass::UnsupportedOperationException);
    assert_eq!(string("x = x + 1;"), "null1");
    fails_with("d = 1.5; d += 1;", JavaClass::IllegalArgumentException);
    assert_eq!(long("a = b = 3; a + b;"), 6);
    fails_with("y += 1;", JavaClass::UnsupportedOperationException);
    fails_with("x y;", JavaClass::UnsupportedOperationException);
    fails_with("Map[] m;", JavaClass::IllegalArgumentException);
    assert_eq!(string("s = 'a'; s += 1; s += null; s;"), "a1null");
    fails_with(
        "UUID u = UUID.randomUUID(); u = UUID.randomUUID();",
        JavaClass::UnsupportedOperationException,
    );
    fails_with("x = params;", JavaClass::UnsupportedOperationException);
}

#[test]
fn reference_semantics() {
    assert_eq!(long("int y = 1; int x = y; x += 1; return y;"), 2);
    assert_eq!(long("y = 1; x = y; x += 1; return y;"), 1);
    assert_eq!(
        ok("x = new Map(); y = 123; x.put('foo', y); y = 111; return x;"),
        Value::map([("foo", Value::Long(111))])
    );
    assert_eq!(
        ok("a = new int[]{1, 2}; b = a; b[0] = 9; a;"),
        Value::LongArray(vec![9, 2])
    );
    assert_eq!(long("m = new Map(); n = m; n.put('k', 1); m.size();"), 1);
    // A literal is one mutable object per AST node (the reference's behaviour).
    assert_eq!(
        long(
            "total = 0; for (j = 0; j < 2; j += 1) { for (int i = 0; i < 3; i += 1) { total += 1; } } total;"
        ),
        3
    );
    assert_eq!(
        long("int[] a = new int[]{5}; int e = a[0]; e += 1; a[0];"),
        6
    );
}

#[test]
fn operators() {
    assert_eq!(string("1 + '2';"), "12");
    assert!(boolean("1 == '1';"));
    fails_with("1 < '2';", JavaClass::UnsupportedOperationException);
    fails_with("'1' == 1;", JavaClass::IllegalArgumentException);
    assert_eq!(string("1.1 + '2';"), "1.12");
    assert_eq!(string("'a' + true;"), "atrue");
    assert_eq!(string("'a' + null;"), "anull");
    assert_eq!(string("null + 'x';"), "nullx");
    assert!(!boolean("null < 1;"));
    assert!(!boolean("null > 1;"));
    fails_with("null <= 1;", JavaClass::UnsupportedOperationException);
    assert!(boolean("null == null;"));
    assert!(boolean("String s; s == null;"));
    assert!(boolean("Map m; null == m;"));
    fails_with(
        "Map m; m == null;",
        JavaClass::UnsupportedOperationException,
    );
    fails_with("!1;", JavaClass::UnsupportedOperationException);
    fails_with("-'a';", JavaClass::UnsupportedOperationException);
    fails_with("-true;", JavaClass::UnsupportedOperationException);
    fails_with("false && 1/0 == 0;", JavaClass::ArithmeticException);
    fails_with(
        "String s; s != null && s.isEmpty();",
        JavaClass::IllegalArgumentException,
    );
    assert_eq!(long("true ? 1 : 1/0;"), 1);
    assert_eq!(long("7 / 2;"), 3);
    assert_eq!(long("-7 % 3;"), -1);
    assert_eq!(ok("1.0 / 0;"), Value::Double(f64::INFINITY));
    assert_eq!(long("9223372036854775807 + 1;"), i64::MIN);
    fails_with("1 % 0;", JavaClass::ArithmeticException);
    fails_with("1.1 == true;", JavaClass::ClassCastException);
    fails_with("1 < 2 < 3;", JavaClass::IllegalArgumentException);
    fails_with("while (1) {}", JavaClass::ClassCastException);
    assert_eq!(string("'' + 1.0E10;"), "1.0E10");
    assert_eq!(
        string("'' + 0.001 + ' ' + 1.0E-4 + ' ' + 1234567.0 + ' ' + 12345678.9;"),
        "0.001 1.0E-4 1234567.0 1.23456789E7"
    );
    assert_eq!(
        string("m = new Map(); m.put('k', new long[]{1}); m.put('s', 'x'); '' + m;"),
        "{s=x, k=[1]}"
    );
}

#[test]
fn members_and_new() {
    fails_with("'abc'.length;", JavaClass::UnsupportedOperationException);
    fails_with("Long.MAX_VALUE;", JavaClass::UnsupportedOperationException);
    fails_with("m = new Map(); m['k'];", JavaClass::ClassCastException);
    fails_with("m = new Map(); m['k'] = 1;", JavaClass::ClassCastException);
    fails_with("new int[2][3];", JavaClass::ArrayIndexOutOfBoundsException);
    assert_eq!(long("new int[]{1,2}[0];"), 1);
    assert_eq!(long("new int[2].length;"), 2);
    assert_eq!(string("(1).toString();"), "1");
    fails_with(
        "new DateTimeZone();",
        JavaClass::UnsupportedOperationException,
    );
    fails_with("new Foo();", JavaClass::UnsupportedOperationException);
    fails_with("new double[]{1.0, 2};", JavaClass::IllegalArgumentException);
    fails_with("new DateTime[3];", JavaClass::UnsupportedOperationException);
    fails_with("new int[-1];", JavaClass::NegativeArraySizeException);
    assert_eq!(ok("new String[2];"), Value::StringArray(vec![None, None]));
    fails_with(
        "java.lang.Runtime.getRuntime();",
        JavaClass::UnsupportedOperationException,
    );
    fails_with(
        "'abc'.getClass();",
        JavaClass::UnsupportedOperationException,
    );
    fails_with("System.exit(0);", JavaClass::UnsupportedOperationException);
    fails_with("Math.abs(1);", JavaClass::UnsupportedOperationException);
}

#[test]
fn string_library() {
    assert_eq!(long("'日本😀'.length();"), 4);
    assert_eq!(long("'FooBar '.compareTo('oBa');"), -41);
    assert_eq!(
        ok("'a,b,,c,,'.split(',');"),
        Value::string_array(["a", "b", "", "c"])
    );
    assert_eq!(ok("'a.b'.split('.');"), Value::StringArray(vec![]));
    assert_eq!(
        ok("'a1b2c'.split('\\\\d', 2);"),
        Value::string_array(["a", "b2c"])
    );
    assert_eq!(
        string("'john smith'.replaceAll('(\\\\w+) (\\\\w+)', '$2 $1');"),
        "smith john"
    );
    assert_eq!(string("'aaa'.replace('a', 'b');"), "bbb");
    assert_eq!(string("String.valueOf(1.1);"), "1.1");
    assert_eq!(string("String.valueOf(true);"), "true");
    assert_eq!(string("String.valueOf(null);"), "null");
    fails_with("'abc'.valueOf(1);", JavaClass::IllegalArgumentException);
    fails_with("String.length();", JavaClass::IllegalArgumentException);
    assert_eq!(string("String.join(',');"), "");
    assert_eq!(string("String.join('-', new String[]{'a', 'b'});"), "a-b");
    fails_with("String.join(',', 'a', 1);", JavaClass::ClassCastException);
    assert_eq!(
        string("String.format('%s-%s', new String[]{'a', 'b'});"),
        "a-b"
    );
    fails_with(
        "String.format('%s-%s', new long[]{1, 2});",
        JavaClass::IllegalArgumentException,
    );
    assert_eq!(
        string("String.format('%05.2f|%x|%,d', 3.14159, 255, 1234567);"),
        "03.14|ff|1,234,567"
    );
    fails_with(
        "String.format('%c', 'a');",
        JavaClass::IllegalArgumentException,
    );
    fails_with("String.format();", JavaClass::IllegalArgumentException);
    assert_eq!(string("'a\"b\\n'.escape();"), "a\\\"b\\n");
    assert_eq!(string("'  x '.trim();"), "x");
    assert!(!boolean("'  '.isEmpty();"));
    assert_eq!(string("'ß'.toUpperCase();"), "SS");
    fails_with("'abc'.substring(4);", JavaClass::IllegalArgumentException);
    fails_with(
        "'abc'.indexOf('b');",
        JavaClass::UnsupportedOperationException,
    );
    assert!(boolean("'abc'.equals('abc');"));
    assert!(!boolean("'1'.equals(1);"));
    assert_eq!(string("new String(12);"), "12");
}

#[test]
fn number_and_map_library() {
    assert_eq!(long("Long.valueOf('-12');"), -12);
    fails_with("Long.valueOf(' 1');", JavaClass::NumberFormatException);
    fails_with(
        "Long.valueOf(2.5);",
        JavaClass::UnsupportedOperationException,
    );
    assert_eq!(long("x = 3000000000; x.intValue();"), 3_000_000_000);
    assert_eq!(long("new Integer('7');"), 7);
    assert_eq!(ok("Double.valueOf(' 1e3 ');"), Value::Double(1000.0));
    assert!(matches!(ok("Double.parseDouble('NaN');"), Value::Double(v) if v.is_nan()));
    assert_eq!(long("Double d = -2.7; d.intValue();"), -2);
    assert_eq!(long("Double.valueOf('NaN').longValue();"), 0);
    fails_with("new Double(1);", JavaClass::IllegalArgumentException);
    assert!(boolean("new Boolean('TRUE');"));
    assert_eq!(long("Map m; m.size();"), 0);
    assert!(!boolean("Map m; m.containsKey('a');"));
    fails_with("Map m; m.get('a');", JavaClass::NullPointerException);
    fails_with("m = new Map(); m.get(1);", JavaClass::ClassCastException);
    assert_eq!(long("m = new HashMap(); m.put('a', 1); m.put('a', 2);"), 1);
    assert_eq!(long("m = new LinkedHashMap(); m.getOrDefault('a', 5);"), 5);
    fails_with("new Map(1);", JavaClass::IllegalArgumentException);
    assert_eq!(long("Math.max(3, Math.min(1, 2));"), 3);
    assert_eq!(ok("Math.pow(2, 10);"), Value::Double(1024.0));
    fails_with("Math.min(1, 2.5);", JavaClass::ClassCastException);
    assert!(boolean("r = Math.random(); r >= 0.0 && r < 1.0;"));
    assert_eq!(long("Arrays.SUNDAY;"), 7);
    assert_eq!(
        long("DateTimeConstants.currentTimeMillis();"),
        1_625_619_600_000
    );
    let uuid = string("UUID.randomUUID().toString();");
    assert_eq!(uuid.len(), 36);
    assert_eq!(uuid.matches('-').count(), 4);
    fails_with(
        "'a' + UUID.randomUUID();",
        JavaClass::UnsupportedOperationException,
    );
}

#[test]
fn datetime_library() {
    assert_eq!(
        datetime("new DateTime('2019-01-01T10:00:00+05:00');"),
        "2019-01-01T05:00:00.000Z"
    );
    assert_eq!(long("new DateTime('20190101').getYear();"), 20_190_101);
    assert_eq!(datetime("new DateTime(null);"), "2021-07-07T01:00:00.000Z");
    fails_with("new DateTime(1.5);", JavaClass::IllegalArgumentException);
    fails_with(
        "new DateTime(2021, 1, 1, 0, 0, 0, 0);",
        JavaClass::IllegalArgumentException,
    );
    let la = "DateTimeZone.forID('America/Los_Angeles')";
    fails_with(
        &format!("new DateTime(2021, 3, 14, 2, 30, 0, 0, {la});"),
        JavaClass::IllegalInstantException,
    );
    assert_eq!(
        datetime(&format!("new DateTime(2021, 11, 7, 1, 30, 0, 0, {la});")),
        "2021-11-07T01:30:00.000-07:00"
    );
    fails_with(
        &format!("new DateTime(2021, 2, 30, 0, 0, 0, 0, {la});"),
        JavaClass::IllegalFieldValueException,
    );
    assert_eq!(
        datetime(&format!(
            "new DateTime(2021, 3, 13, 12, 0, 0, 0, {la}).plusDays(1);"
        )),
        "2021-03-14T12:00:00.000-07:00"
    );
    assert_eq!(
        datetime(&format!(
            "new DateTime(2021, 3, 13, 12, 0, 0, 0, {la}).plusHours(24);"
        )),
        "2021-03-14T13:00:00.000-07:00"
    );
    assert_eq!(
        datetime(&format!(
            "new DateTime(2021, 3, 13, 2, 30, 0, 0, {la}).plusDays(1);"
        )),
        "2021-03-14T03:30:00.000-07:00"
    );
    assert_eq!(
        datetime("new DateTime('2021-01-31').plusMonths(1);"),
        "2021-02-28T00:00:00.000Z"
    );
    fails_with(
        "new DateTime('2021-02-01').withDayOfMonth(31);",
        JavaClass::IllegalArgumentException,
    );
    assert_eq!(
        datetime(&format!(
            "new DateTime(2021, 11, 7, 1, 0, 0, 0, {la}).plusHours(1).withMinuteOfHour(30);"
        )),
        "2021-11-07T01:30:00.000-08:00"
    );
    assert_eq!(long("new DateTime('2021-01-01').getWeekyear();"), 2020);
    assert_eq!(long("new DateTime('2021-01-01').getWeekOfWeekyear();"), 53);
    assert!(boolean("new DateTime(0).isBefore(null);"));
    assert_eq!(
        datetime("new DateTime(253402300800000);"),
        "10000-01-01T00:00:00.000Z"
    );
    assert_eq!(
        string(&format!(
            "new DateTime(1625619600000, {la}).toString('yyyy-MM-dd hh:mm a z zzzz ZZ Z ZZZ');"
        )),
        "2021-07-06 06:00 PM PDT Pacific Daylight Time -07:00 -0700 America/Los_Angeles"
    );
    assert_eq!(
        string("new DateTime(1625619600000).toString('G C YYYY yy xxxx ww e E D S SSS');"),
        "AD 20 2021 21 2021 27 3 Wed 188 0 000"
    );
    fails_with(
        "new DateTime(0).toString('q');",
        JavaClass::IllegalArgumentException,
    );
    fails_with("DateTime.plusDays(1);", JavaClass::IllegalArgumentException);
    fails_with(
        "new DateTime(0).parse('2019', DateTimeFormat.forPattern('yyyy'));",
        JavaClass::IllegalArgumentException,
    );
    fails_with(
        "new DateTime(0).plusDays(3000000000);",
        JavaClass::IllegalArgumentException,
    );
    assert_eq!(
        string("'' + DateTimeZone.forID('US/Pacific');"),
        "America/Los_Angeles"
    );
    fails_with(
        "DateTimeZone.forID('utc');",
        JavaClass::IllegalArgumentException,
    );
    fails_with(
        "DateTimeZone.forID('PST');",
        JavaClass::IllegalArgumentException,
    );
    fails_with("DateTimeZone.forID(null);", JavaClass::ClassCastException);
    fails_with(
        "DateTimeZone.forID('../../etc/passwd');",
        JavaClass::IllegalArgumentException,
    );
    assert_eq!(
        ok("DateTimeZone.forID('+05:30');"),
        Value::DateTimeZone(Zone::for_id("+05:30").ok())
    );
    assert_eq!(
        long(&format!("{la}.getOffset(new DateTime(0));")),
        -28_800_000
    );
    fails_with(
        "DateTimeZone.getOffset(new DateTime(0));",
        JavaClass::NullPointerException,
    );
    assert_eq!(
        datetime("DateTimeFormat.forPattern('yyyyMMdd').parseDateTime(20190101);"),
        "2019-01-01T00:00:00.000Z"
    );
    assert_eq!(
        long("DateTimeFormat.forPattern('yyyy-MM-dd').parseMillis('2019-1-5');"),
        1_546_646_400_000
    );
    fails_with(
        &format!(
            "DateTimeFormat.forPattern('yyyy-MM-dd HH:mm').withZone({la}).parseDateTime('2021-03-14 02:30');"
        ),
        JavaClass::IllegalInstantException,
    );
    assert_eq!(
        string(&format!(
            "DateTimeFormat.forPattern('HH:mm').withZone({la}).print(new DateTime(0));"
        )),
        "16:00"
    );
    assert_eq!(
        string("new DateTime(0).monthOfYear().getAsText();"),
        "January"
    );
    assert_eq!(
        datetime("new DateTime(0).dayOfMonth().withMaximumValue();"),
        "1970-01-31T00:00:00.000Z"
    );
    assert_eq!(
        ok(&format!(
            "Days.daysBetween(new DateTime(2021, 3, 14, 0, 0, 0, 0, {la}), new DateTime(2021, 3, 13, 0, 0, 0, 0, {la}));"
        )),
        Value::DateTimeDays(Some(-1))
    );
    fails_with(
        "Days.daysBetween(new DateTime(0), DateTime);",
        JavaClass::IllegalArgumentException,
    );
}

#[test]
fn util_library() {
    assert_eq!(long("Util.dateIntToTs(20190101);"), 1_546_300_800_000);
    assert_eq!(
        long("Util.dateIntHourToTs('20190101', '01', 'UTC', '01', '01');"),
        1_546_214_400_000
    );
    assert_eq!(
        ok("Util.dateIntsBetween(20190303, 20190226, -1);"),
        Value::LongArray(vec![20190302, 20190301, 20190228, 20190227, 20190226])
    );
    assert_eq!(
        ok("Util.dateIntsBetween(20190303, 20190226, -2);"),
        Value::LongArray(vec![20190302, 20190228, 20190226])
    );
    fails_with(
        "Util.dateIntsBetween(20190303, 20190226, 0);",
        JavaClass::IllegalArgumentException,
    );
    assert_eq!(
        ok("Util.intsBetween(5, '1', '-2');"),
        Value::LongArray(vec![5, 3])
    );
    fails_with(
        "Util.tsToDateInt('123.45');",
        JavaClass::NumberFormatException,
    );
    fails_with(
        "Util.incrementDateInt(20190101, '1');",
        JavaClass::ClassCastException,
    );
    assert_eq!(string("Util.incrementDateInt('20190228', 1);"), "20190301");
    assert_eq!(string("Util.tsToDateInt(1546300800000);"), "20190101");
    assert_eq!(
        string("Util.timeoutForDateIntDeadline(20210707, '1 day and 2 hours');"),
        format!(
            "{} milliseconds",
            1_625_616_000_000i64 + 26 * 3_600_000 - 1_625_619_600_000
        )
    );
    fails_with(
        "Util.timeoutForDateIntDeadline(20210707, '1 month');",
        JavaClass::UnsupportedOperationException,
    );
    // The reference loops forever here; the memory limit ends it.
    let e = Evaluator::new()
        .limits(Limits::default().with_memory(1_000_000))
        .eval_source("Util.intsBetween(5, 1, 0);")
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::Limit {
                limit: LimitKind::Memory,
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(
        string("m = new Map(); m.put('a', new long[]{1, 2}); Util.toJson(m);"),
        "{\"a\":[1,2]}"
    );
}

#[test]
fn params_and_inputs() {
    let e = Evaluator::new()
        .input("foo", Value::string("123"))
        .input("nothing", Value::Null)
        .input("m", Value::map([("k", Value::Long(1))]));
    let r = |src: &str| e.eval_source(src);
    assert_eq!(
        r("params.foo + params['foo'] + params.get('foo');").unwrap(),
        Value::string("123123123")
    );
    assert_eq!(
        r("params.containsKey('nothing');").unwrap(),
        Value::Boolean(true)
    );
    assert_eq!(r("params.get('nothing');").unwrap(), Value::Null);
    fails_with_ev(&e, "params.get(1);", JavaClass::ClassCastException);
    fails_with_ev(
        &e,
        "params.getFromStep('a');",
        JavaClass::UnsupportedOperationException,
    );
    // params.get boxes a fresh copy every time; the bare name is boxed once.
    assert_eq!(
        r("params.get('m').put('k', 2); params.get('m').get('k');").unwrap(),
        Value::Long(1)
    );
    assert_eq!(r("m.put('k', 2); m.get('k');").unwrap(), Value::Long(2));
    // Locals and built-ins shadow inputs.
    let shadow = Evaluator::new()
        .input("Util", Value::Long(1))
        .input("x", Value::Long(1));
    assert_eq!(shadow.eval_source("x = 5; x;").unwrap(), Value::Long(5));
    assert!(shadow.eval_source("Util + 1;").is_err());
    let bad = Evaluator::new().input("m", Value::map([("k", Value::Null)]));
    assert!(bad.eval_source("1;").is_ok());
    assert_eq!(
        bad.eval_source("m;").unwrap_err().java_class(),
        Some(JavaClass::IllegalArgumentException)
    );
}

fn fails_with_ev(e: &Evaluator<'_>, src: &str, class: JavaClass) {
    let err = e.eval_source(src).unwrap_err();
    assert_eq!(err.java_class(), Some(class), "{src}: {err}");
}

#[test]
fn limits() {
    let small = Limits {
        stack: 10,
        loop_: 10,
        array: 10,
        length: 10_000,
        visit: 1000,
        memory: 1_048_576,
        time: None,
    };
    let e = Evaluator::new().limits(small);
    assert!(e.eval_source("for (i = 0; i < 9; i += 1) {}").is_ok());
    let err = e.eval_source("for (i = 0; i < 10; i += 1) {}").unwrap_err();
    assert!(
        matches!(
            err,
            Error::Limit {
                limit: LimitKind::Loop,
                ..
            }
        ),
        "{err}"
    );
    assert!(
        e.eval_source("for (i = 0; i < 5; i += 1) { for (j = 0; j < 5; j += 1) {} }")
            .is_ok()
    );
    assert!(e.eval_source("new int[]{1,2,3,4,5,6,7,8,9};").is_ok());
    let err = e
        .eval_source("int[] x = new int[]{1,2,3,4,5,6,7,8,9};")
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Limit {
                limit: LimitKind::Stack,
                ..
            }
        ),
        "{err}"
    );
    // The evaluator is not poisoned by a stack overflow.
    assert_eq!(e.eval_source("1+1;").unwrap(), Value::Long(2));
    assert!(e.eval_source("new int[9];").is_ok());
    let err = e.eval_source("new int[10];").unwrap_err();
    assert!(
        matches!(
            err,
            Error::Limit {
                limit: LimitKind::Array,
                ..
            }
        ),
        "{err}"
    );
    let err = Evaluator::new()
        .limits(Limits::default().with_visit(10))
        .eval_source("j=0; for (i = 0; i < 100; i += 1) j+=1; return j;")
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Limit {
                limit: LimitKind::Visit,
                ..
            }
        ),
        "{err}"
    );
    let err = Evaluator::new()
        .limits(Limits::default().with_length(16))
        .eval_source("Integer.valueOf(new int[1, 2]);")
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Limit {
                limit: LimitKind::Length,
                ..
            }
        ),
        "{err}"
    );
    let err = Evaluator::new()
        .limits(Limits::default().with_memory(100))
        .eval_source("m = new HashMap(); for (i = 0; i < 100; i += 1) m.put(String.valueOf(i), String.valueOf(i)); return m;")
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Limit {
                limit: LimitKind::Memory,
                ..
            }
        ),
        "{err}"
    );
    // Doubling a string is bounded by the memory limit, not by the host's memory.
    let err = Evaluator::new()
        .eval_source("s = 'x'; while (true) { s += s; }")
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Limit {
                limit: LimitKind::Memory,
                ..
            }
        ),
        "{err}"
    );
    // A runaway loop ends with the time limit.
    let err = Evaluator::new()
        .limits(
            Limits::default()
                .with_time(Some(std::time::Duration::from_millis(50)))
                .with_loop(u64::MAX)
                .with_visit(u64::MAX),
        )
        .eval_source("while (true) {}")
        .unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err}");
}

#[test]
fn self_referencing_map_does_not_crash() {
    assert!(run("m = new Map(); m.put('a', m); '' + m;").is_err());
    assert!(run("m = new Map(); m.put('a', m); Util.toJson(m);").is_err());
    assert!(run("m = new Map(); m.put('a', m); m;").is_err());
    // Shared sub-maps (a DAG with 2^40 paths) cannot blow up copying or printing.
    let dag = "Map m = new Map(); for (i = 0; i < 40; i += 1) { Map n = new Map(); n.put('a', m); n.put('b', m); Map m = n; }";
    for tail in [
        "return m;",
        "return '' + m;",
        "return Util.toJson(m);",
        "return String.format('%s', m);",
        "return String.valueOf(m);",
    ] {
        let src = format!("{dag} {tail}");
        let started = std::time::Instant::now();
        let small = Evaluator::new().limits(Limits::default().with_memory(10_000_000));
        assert!(small.eval_source(&src).is_err(), "{tail}");
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "{tail}"
        );
    }
}

#[test]
fn validate_finds_free_variables() {
    let names = |s: &str| referenced_names(s).unwrap();
    assert_eq!(names("x = 1; x + y;"), ["y"]);
    assert_eq!(names("x + 1; x = 1;"), ["x"]);
    assert_eq!(names("int x = y;"), ["y"]);
    assert!(names("x = x + 1;").is_empty());
    assert_eq!(names("Foo.bar();"), ["Foo"]);
    assert!(names("new Foo();").is_empty());
    assert_eq!(names("params.get('a');"), ["params"]);
    assert!(names("String.valueOf(Math.max(1, 2));").is_empty());
    assert_eq!(names("a[i] = b.c(d);"), ["b", "d", "i"]);
    assert!(referenced_names("x").is_err());
    assert_eq!(sanitize("x"), "x;");
}

#[test]
fn maestro_default_params() {
    let la_tz = Value::string("America/Los_Angeles");
    let e = Evaluator::new()
        .now_millis(1_625_619_600_000)
        .input("RUN_TS", Value::Long(1_625_619_600_000))
        .input("WORKFLOW_CRON_TIMEZONE", la_tz.clone())
        .input("DSL_DEFAULT_TZ", Value::string("UTC"))
        .input("TARGET_RUN_DATE", Value::string("20210706"))
        .input("TARGET_RUN_HOUR", Value::string("18"));
    let cases = [
        (
            "System.currentTimeMillis();",
            Value::Long(1_625_619_600_000),
        ),
        (
            "DateTime utcNow = new DateTime(RUN_TS); DateTime localNow = utcNow.withZone(DateTimeZone.forID(WORKFLOW_CRON_TIMEZONE)); localNow.toString(\"yyyyMMdd\");",
            Value::string("20210706"),
        ),
        (
            "DateTime utcNow = new DateTime(RUN_TS); DateTime localNow = utcNow.withZone(DateTimeZone.forID(WORKFLOW_CRON_TIMEZONE)); localNow.toString(\"HH\");",
            Value::string("18"),
        ),
        (
            "DateTimeFormatter f = DateTimeFormat.forPattern(\"yyyyMMddHH\").withZone(DateTimeZone.forID(WORKFLOW_CRON_TIMEZONE)); DateTime dt = f.parseDateTime(TARGET_RUN_DATE + TARGET_RUN_HOUR); return dt.getMillis();",
            Value::Long(1_625_619_600_000),
        ),
        (
            "DateTime utcNow = new DateTime(RUN_TS).minusDays(7); DateTime localNow = utcNow.withZone(DateTimeZone.forID(\"UTC\")); localNow.toString(\"yyyyMMdd\");",
            Value::string("20210630"),
        ),
        (
            "String INITIATOR_TIMEZONE = params.getFromInstance(\"INITIATOR_TIMEZONE\"); return INITIATOR_TIMEZONE != null && !INITIATOR_TIMEZONE.isEmpty() ? INITIATOR_TIMEZONE : DSL_DEFAULT_TZ;",
            Value::string("UTC"),
        ),
    ];
    struct Ext;
    impl baton_sel::ParamsExtension for Ext {
        fn call(&self, method: &str, args: &[&str]) -> Result<Value, baton_sel::ExtensionError> {
            match (method, args) {
                ("getFromInstance", ["INITIATOR_TIMEZONE"]) => Ok(Value::string("")),
                _ => Err(baton_sel::ExtensionError::unsupported(format!(
                    "no {method}"
                ))),
            }
        }
    }
    let ext = Ext;
    let e = e.extension(&ext);
    for (src, want) in cases {
        assert_eq!(e.eval_source(&sanitize(src)).unwrap(), want, "{src}");
    }
    let err = e.eval_source("params.getFromStep('x');").unwrap_err();
    assert!(matches!(err, Error::Extension(_)), "{err}");
}
