use std::fmt;

/// A place in a subgraph's SDL (1-based line and column).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceLocation {
    pub subgraph: String,
    pub line: usize,
    pub column: usize,
}

/// Why composition failed. `code` uses the names of Apollo's composition error codes
/// (`INVALID_FIELD_SHARING`, `FIELD_TYPE_MISMATCH`, …) so that tooling and docs carry over.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct CompositionError {
    pub code: &'static str,
    /// Names the subgraphs and schema coordinates involved.
    pub message: String,
    pub locations: Vec<SourceLocation>,
}

impl fmt::Display for CompositionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}] {}", self.code, self.message)?;
        for location in &self.locations {
            write!(
                f,
                " ({}:{}:{})",
                location.subgraph, location.line, location.column
            )?;
        }
        Ok(())
    }
}

impl CompositionError {
    pub(crate) fn new(code: &'static str, message: impl Into<String>) -> Self {
        CompositionError {
            code,
            message: message.into(),
            locations: Vec::new(),
        }
    }

    pub(crate) fn at(
        mut self,
        locations: impl IntoIterator<Item = Option<SourceLocation>>,
    ) -> Self {
        self.locations.extend(locations.into_iter().flatten());
        self
    }
}

/// The error codes this composition reports (Apollo's names).
pub(crate) mod code {
    pub const INVALID_GRAPHQL: &str = "INVALID_GRAPHQL";
    pub const INVALID_SUBGRAPH_NAME: &str = "INVALID_SUBGRAPH_NAME";
    pub const UNSUPPORTED_FEATURE: &str = "UNSUPPORTED_FEATURE";
    pub const UNKNOWN_FEDERATION_LINK_VERSION: &str = "UNKNOWN_FEDERATION_LINK_VERSION";
    pub const INVALID_SHAREABLE_USAGE: &str = "INVALID_SHAREABLE_USAGE";
    pub const EXTERNAL_TYPE_MISMATCH: &str = "EXTERNAL_TYPE_MISMATCH";
    pub const EXTERNAL_ARGUMENT_MISSING: &str = "EXTERNAL_ARGUMENT_MISSING";
    pub const EXTERNAL_ARGUMENT_TYPE_MISMATCH: &str = "EXTERNAL_ARGUMENT_TYPE_MISMATCH";
    pub const EXTERNAL_ARGUMENT_DEFAULT_MISMATCH: &str = "EXTERNAL_ARGUMENT_DEFAULT_MISMATCH";
    pub const SHAREABLE_HAS_MISMATCHED_RUNTIME_TYPES: &str =
        "SHAREABLE_HAS_MISMATCHED_RUNTIME_TYPES";
    pub const SATISFIABILITY_ERROR: &str = "SATISFIABILITY_ERROR";
    pub const EXTENSION_WITH_NO_BASE: &str = "EXTENSION_WITH_NO_BASE";
    pub const TYPE_WITH_ONLY_UNUSED_EXTERNAL: &str = "TYPE_WITH_ONLY_UNUSED_EXTERNAL";
    pub const INVALID_LINK_DIRECTIVE_USAGE: &str = "INVALID_LINK_DIRECTIVE_USAGE";
    pub const ROOT_QUERY_USED: &str = "ROOT_QUERY_USED";
    pub const ROOT_MUTATION_USED: &str = "ROOT_MUTATION_USED";
    pub const ROOT_SUBSCRIPTION_USED: &str = "ROOT_SUBSCRIPTION_USED";
    pub const KEY_INVALID_FIELDS: &str = "KEY_INVALID_FIELDS";
    pub const KEY_FIELDS_HAS_ARGS: &str = "KEY_FIELDS_HAS_ARGS";
    pub const KEY_FIELDS_SELECT_INVALID_TYPE: &str = "KEY_FIELDS_SELECT_INVALID_TYPE";
    pub const INTERFACE_KEY_NOT_ON_IMPLEMENTATION: &str = "INTERFACE_KEY_NOT_ON_IMPLEMENTATION";
    pub const INTERFACE_KEY_MISSING_IMPLEMENTATION_TYPE: &str =
        "INTERFACE_KEY_MISSING_IMPLEMENTATION_TYPE";
    pub const KEY_UNSUPPORTED_ON_INTERFACE: &str = "KEY_UNSUPPORTED_ON_INTERFACE";
    pub const INTERFACE_OBJECT_USAGE_ERROR: &str = "INTERFACE_OBJECT_USAGE_ERROR";
    pub const REQUIRES_INVALID_FIELDS: &str = "REQUIRES_INVALID_FIELDS";
    pub const REQUIRES_FIELDS_MISSING_EXTERNAL: &str = "REQUIRES_FIELDS_MISSING_EXTERNAL";
    pub const REQUIRES_UNSUPPORTED_ON_INTERFACE: &str = "REQUIRES_UNSUPPORTED_ON_INTERFACE";
    pub const PROVIDES_INVALID_FIELDS: &str = "PROVIDES_INVALID_FIELDS";
    pub const PROVIDES_FIELDS_MISSING_EXTERNAL: &str = "PROVIDES_FIELDS_MISSING_EXTERNAL";
    pub const PROVIDES_ON_NON_OBJECT_FIELD: &str = "PROVIDES_ON_NON_OBJECT_FIELD";
    pub const PROVIDES_UNSUPPORTED_ON_INTERFACE: &str = "PROVIDES_UNSUPPORTED_ON_INTERFACE";
    pub const EXTERNAL_UNUSED: &str = "EXTERNAL_UNUSED";
    pub const EXTERNAL_ON_INTERFACE: &str = "EXTERNAL_ON_INTERFACE";
    pub const EXTERNAL_MISSING_ON_BASE: &str = "EXTERNAL_MISSING_ON_BASE";
    pub const OVERRIDE_FROM_SELF_ERROR: &str = "OVERRIDE_FROM_SELF_ERROR";
    pub const OVERRIDE_SOURCE_HAS_OVERRIDE: &str = "OVERRIDE_SOURCE_HAS_OVERRIDE";
    pub const OVERRIDE_COLLISION_WITH_ANOTHER_DIRECTIVE: &str =
        "OVERRIDE_COLLISION_WITH_ANOTHER_DIRECTIVE";
    pub const OVERRIDE_ON_INTERFACE: &str = "OVERRIDE_ON_INTERFACE";
    pub const OVERRIDE_LABEL_INVALID: &str = "OVERRIDE_LABEL_INVALID";
    pub const TYPE_KIND_MISMATCH: &str = "TYPE_KIND_MISMATCH";
    pub const INVALID_FIELD_SHARING: &str = "INVALID_FIELD_SHARING";
    pub const FIELD_TYPE_MISMATCH: &str = "FIELD_TYPE_MISMATCH";
    pub const FIELD_ARGUMENT_TYPE_MISMATCH: &str = "FIELD_ARGUMENT_TYPE_MISMATCH";
    pub const FIELD_ARGUMENT_DEFAULT_MISMATCH: &str = "FIELD_ARGUMENT_DEFAULT_MISMATCH";
    pub const REQUIRED_ARGUMENT_MISSING_IN_SOME_SUBGRAPH: &str =
        "REQUIRED_ARGUMENT_MISSING_IN_SOME_SUBGRAPH";
    pub const INPUT_FIELD_DEFAULT_MISMATCH: &str = "INPUT_FIELD_DEFAULT_MISMATCH";
    pub const REQUIRED_INPUT_FIELD_MISSING_IN_SOME_SUBGRAPH: &str =
        "REQUIRED_INPUT_FIELD_MISSING_IN_SOME_SUBGRAPH";
    pub const EMPTY_MERGED_INPUT_TYPE: &str = "EMPTY_MERGED_INPUT_TYPE";
    pub const ENUM_VALUE_MISMATCH: &str = "ENUM_VALUE_MISMATCH";
    pub const EMPTY_MERGED_ENUM_TYPE: &str = "EMPTY_MERGED_ENUM_TYPE";
    pub const INTERFACE_FIELD_NO_IMPLEM: &str = "INTERFACE_FIELD_NO_IMPLEM";
    pub const NO_QUERIES: &str = "NO_QUERIES";
    pub const REFERENCED_INACCESSIBLE: &str = "REFERENCED_INACCESSIBLE";
    pub const REQUIRED_INACCESSIBLE: &str = "REQUIRED_INACCESSIBLE";
    pub const QUERY_ROOT_TYPE_INACCESSIBLE: &str = "QUERY_ROOT_TYPE_INACCESSIBLE";
    pub const ONLY_INACCESSIBLE_CHILDREN: &str = "ONLY_INACCESSIBLE_CHILDREN";
    pub const DIRECTIVE_COMPOSITION_ERROR: &str = "DIRECTIVE_COMPOSITION_ERROR";
}
