//! Run-time values. Every SEL value is a mutable object with reference semantics, as in the
//! reference: variables, map entries and array slots hold shared boxes (`Rc<RefCell<Obj>>`),
//! reads and declarations share the box, plain assignment copies into the target box, and arrays
//! and maps share their storage after `=`. These types never leave one evaluation (they are not
//! `Send`); `value.rs` converts to and from the public, thread-safe [`crate::Value`].

use crate::joda::{DateTime, Formatter, Property, Zone};
use indexmap::IndexMap;
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;

/// A shared, mutable SEL object.
pub(crate) type Val = Rc<RefCell<Obj>>;

/// Element types of SEL arrays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Elem {
    Str,
    Long,
    Double,
    Bool,
}

impl Elem {
    pub(crate) fn array_type_name(self) -> &'static str {
        match self {
            Elem::Str => "STRING_ARRAY",
            Elem::Long => "LONG_ARRAY",
            Elem::Double => "DOUBLE_ARRAY",
            Elem::Bool => "BOOLEAN_ARRAY",
        }
    }

    /// The JVM class name of the reference's element array (for identity strings).
    pub(crate) fn java_array_class(self) -> &'static str {
        match self {
            Elem::Str => "[Lcom.netflix.sel.type.SelString;",
            Elem::Long => "[Lcom.netflix.sel.type.SelLong;",
            Elem::Double => "[Lcom.netflix.sel.type.SelDouble;",
            Elem::Bool => "[Lcom.netflix.sel.type.SelBoolean;",
        }
    }

    /// The default element (`null` string, 0, 0.0, false).
    pub(crate) fn default_obj(self) -> Obj {
        match self {
            Elem::Str => Obj::Str(None),
            Elem::Long => Obj::Long(0),
            Elem::Double => Obj::Double(0.0),
            Elem::Bool => Obj::Bool(false),
        }
    }
}

/// Shared array storage.
pub(crate) type Items = Rc<RefCell<Vec<Val>>>;

/// Map keys: Java strings, possibly null.
pub(crate) type Key = Option<Arc<str>>;

/// Shared map storage (insertion-ordered; Java's hash order is computed when displayed).
pub(crate) type MapData = Rc<RefCell<IndexMap<Key, Val>>>;

/// One SEL object.
#[derive(Debug, Clone)]
pub(crate) enum Obj {
    Null,
    Void,
    Str(Option<Arc<str>>),
    Long(i64),
    Double(f64),
    Bool(bool),
    Array(Elem, Items),
    Map(Option<MapData>),
    DateTime(Option<DateTime>),
    Zone(Option<Zone>),
    Formatter(Option<Rc<Formatter>>),
    Property(Option<Property>),
    Days(Option<i64>),
    Uuid(Option<u128>),
    Error(Arc<str>),
    Params,
    Util,
    Misc,
    Math,
}

impl Obj {
    /// The reference's type name.
    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            Obj::Null => "NULL",
            Obj::Void => "VOID",
            Obj::Str(_) => "STRING",
            Obj::Long(_) => "LONG",
            Obj::Double(_) => "DOUBLE",
            Obj::Bool(_) => "BOOLEAN",
            Obj::Array(e, _) => e.array_type_name(),
            Obj::Map(_) => "MAP",
            Obj::DateTime(_) => "DATETIME",
            Obj::Zone(_) => "DATETIME_ZONE",
            Obj::Formatter(_) => "DATETIME_FORMATTER",
            Obj::Property(_) => "DATETIME_PROPERTY",
            Obj::Days(_) => "DATETIME_DAYS",
            Obj::Uuid(_) => "UUID",
            Obj::Error(_) => "ERROR",
            Obj::Params => "PRESET_PARAMS",
            Obj::Util => "PRESET_UTIL_FUNCTION",
            Obj::Misc => "PRESET_MISC_FUNC_FIELDS",
            Obj::Math => "MATH",
        }
    }

    /// The JVM class of the reference object (for `ClassCastException` messages).
    pub(crate) fn java_class(&self) -> &'static str {
        match self {
            Obj::Null | Obj::Void => "com.netflix.sel.type.SelType$1",
            Obj::Str(_) => "com.netflix.sel.type.SelString",
            Obj::Long(_) => "com.netflix.sel.type.SelLong",
            Obj::Double(_) => "com.netflix.sel.type.SelDouble",
            Obj::Bool(_) => "com.netflix.sel.type.SelBoolean",
            Obj::Array(..) => "com.netflix.sel.type.SelArray",
            Obj::Map(_) => "com.netflix.sel.type.SelMap",
            Obj::DateTime(_) => "com.netflix.sel.type.SelJodaDateTime",
            Obj::Zone(_) => "com.netflix.sel.type.SelJodaDateTimeZone",
            Obj::Formatter(_) => "com.netflix.sel.type.SelJodaDateTimeFormatter",
            Obj::Property(_) => "com.netflix.sel.type.SelJodaDateTimeProperty",
            Obj::Days(_) => "com.netflix.sel.type.SelJodaDateTimeDays",
            Obj::Uuid(_) => "com.netflix.sel.type.SelJavaUUID",
            Obj::Error(_) => "com.netflix.sel.type.SelError",
            Obj::Params => "com.netflix.sel.type.SelParams",
            Obj::Util => "com.netflix.sel.type.SelUtilFunc",
            Obj::Misc => "com.netflix.sel.type.SelMiscFunc",
            Obj::Math => "com.netflix.sel.type.SelJavaMath",
        }
    }
}

/// Wraps an object in a fresh box.
pub(crate) fn new_val(obj: Obj) -> Val {
    Rc::new(RefCell::new(obj))
}

/// A stable pseudo identity hash for JVM-style `Class@hash` strings.
pub(crate) fn identity_hash<T: ?Sized>(ptr: *const T) -> u32 {
    let addr = ptr as *const u8 as usize as u64;
    let mixed = addr.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (mixed >> 33) as u32
}
