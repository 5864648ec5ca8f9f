//! Param types, modes, internal modes and sources (maestro-model.md §3.2, §3.4).

use crate::maestro_enum;

maestro_enum! {
    /// The ten param types; the `type` discriminator of a param.
    pub enum ParamType {
        /// A string.
        String => "STRING",
        /// A 64-bit integer.
        Long => "LONG",
        /// A decimal number.
        Double => "DOUBLE",
        /// A boolean.
        Boolean => "BOOLEAN",
        /// A flat map of strings.
        StringMap => "STRING_MAP",
        /// An array of strings.
        StringArray => "STRING_ARRAY",
        /// An array of integers.
        LongArray => "LONG_ARRAY",
        /// An array of decimals.
        DoubleArray => "DOUBLE_ARRAY",
        /// An array of booleans.
        BooleanArray => "BOOLEAN_ARRAY",
        /// A map of nested, typed params.
        Map => "MAP",
    }
}

impl ParamType {
    /// True for the four scalar types (STRING, LONG, DOUBLE, BOOLEAN).
    pub fn is_scalar(self) -> bool {
        matches!(
            self,
            ParamType::String | ParamType::Long | ParamType::Double | ParamType::Boolean
        )
    }

    /// True for the four array types.
    pub fn is_array(self) -> bool {
        matches!(
            self,
            ParamType::StringArray
                | ParamType::LongArray
                | ParamType::DoubleArray
                | ParamType::BooleanArray
        )
    }
}

maestro_enum! {
    /// Who may change a param after it is defined, from least to most strict (§3.4).
    pub enum ParamMode {
        /// Anyone, including output params (the default).
        Mutable => "MUTABLE",
        /// Definition, start and restart.
        MutableOnStartRestart => "MUTABLE_ON_START_RESTART",
        /// Definition and start.
        MutableOnStart => "MUTABLE_ON_START",
        /// Nobody after definition; re-evaluated on restart.
        Immutable => "IMMUTABLE",
        /// Nobody; frozen.
        Constant => "CONSTANT",
    }
}

impl ParamMode {
    /// Strictness rank: `MUTABLE` 0 … `CONSTANT` 4. A merge may not lower it.
    pub fn strictness(self) -> u8 {
        match self {
            ParamMode::Mutable => 0,
            ParamMode::MutableOnStartRestart => 1,
            ParamMode::MutableOnStart => 2,
            ParamMode::Immutable => 3,
            ParamMode::Constant => 4,
        }
    }

    /// The stricter of two modes.
    pub fn stricter(self, other: ParamMode) -> ParamMode {
        if other.strictness() > self.strictness() {
            other
        } else {
            self
        }
    }
}

maestro_enum! {
    /// System-only param mode carried in the `internal_mode` meta key of default params.
    pub enum InternalParamMode {
        /// Must end with a value or expression.
        Required => "REQUIRED",
        /// Dropped if unset.
        Optional => "OPTIONAL",
        /// The system supplies a default the user may override.
        Provided => "PROVIDED",
        /// System-only; any user change is rejected.
        Reserved => "RESERVED",
    }
}

impl InternalParamMode {
    /// The least strict [`ParamMode`] this internal mode implies.
    pub fn implied_mode(self) -> ParamMode {
        match self {
            InternalParamMode::Reserved => ParamMode::Constant,
            _ => ParamMode::Mutable,
        }
    }
}

maestro_enum! {
    /// Where a param's current value came from (the `source` meta key).
    pub enum ParamSource {
        /// System.
        System => "SYSTEM",
        /// A job template schema.
        TemplateSchema => "TEMPLATE_SCHEMA",
        /// Injected by the system.
        SystemInjected => "SYSTEM_INJECTED",
        /// A default param file.
        SystemDefault => "SYSTEM_DEFAULT",
        /// The workflow or step definition.
        Definition => "DEFINITION",
        /// A signal trigger.
        Signal => "SIGNAL",
        /// A time trigger.
        TimeTrigger => "TIME_TRIGGER",
        /// A step's output.
        OutputParameter => "OUTPUT_PARAMETER",
        /// Start request run params.
        Launch => "LAUNCH",
        /// Restart request params.
        Restart => "RESTART",
        /// A parent subworkflow step.
        Subworkflow => "SUBWORKFLOW",
        /// A template step.
        Template => "TEMPLATE",
        /// A parent foreach step.
        Foreach => "FOREACH",
        /// A parent while step.
        While => "WHILE",
        /// A workflow param.
        WorkflowParameter => "WORKFLOW_PARAMETER",
    }
}

impl ParamSource {
    /// True for the system stages (SYSTEM, TEMPLATE_SCHEMA, SYSTEM_INJECTED, SYSTEM_DEFAULT).
    pub fn is_system_stage(self) -> bool {
        matches!(
            self,
            ParamSource::System
                | ParamSource::TemplateSchema
                | ParamSource::SystemInjected
                | ParamSource::SystemDefault
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_parsing_is_case_insensitive() {
        for (text, t) in [
            ("lonG", ParamType::Long),
            ("String_array", ParamType::StringArray),
            ("map", ParamType::Map),
        ] {
            assert_eq!(ParamType::parse(text), Some(t));
        }
        assert_eq!(ParamType::parse("pmap"), None);
    }

    #[test]
    fn mode_strictness_orders_as_maestro() {
        let order = [
            ParamMode::Mutable,
            ParamMode::MutableOnStartRestart,
            ParamMode::MutableOnStart,
            ParamMode::Immutable,
            ParamMode::Constant,
        ];
        for w in order.windows(2) {
            assert!(w[0].strictness() < w[1].strictness());
            assert_eq!(w[0].stricter(w[1]), w[1]);
        }
        assert_eq!(
            InternalParamMode::Reserved.implied_mode(),
            ParamMode::Constant
        );
        assert!(ParamSource::SystemDefault.is_system_stage());
        assert!(!ParamSource::Definition.is_system_stage());
    }
}
