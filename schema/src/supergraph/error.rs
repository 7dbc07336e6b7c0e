/// Why a supergraph SDL was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SupergraphError {
    #[error("the supergraph SDL is not a valid GraphQL schema: {0}")]
    InvalidGraphql(String),

    #[error("invalid @link on the schema: {0}")]
    InvalidLink(String),

    #[error(
        "the supergraph does not @link `https://specs.apollo.dev/link/v1.0` on its `schema` \
         definition (Federation 1 supergraphs using @core are not supported)"
    )]
    MissingLinkSpec,

    #[error(
        "unsupported link spec `{url}`: only `https://specs.apollo.dev/link/v1.0` is supported"
    )]
    UnsupportedLinkVersion { url: String },

    #[error(
        "the supergraph does not @link the join spec (`https://specs.apollo.dev/join/v0.3`, \
         `v0.4` or `v0.5`): it does not look like a composed supergraph"
    )]
    MissingJoinSpec,

    #[error(
        "unsupported join spec `{url}`: supported versions are \
         `https://specs.apollo.dev/join/v0.3`, `v0.4` and `v0.5` (recompose with Federation 2)"
    )]
    UnsupportedJoinVersion { url: String },

    #[error(
        "`@link(url: \"{url}\", for: {purpose})` links a feature this router does not \
         implement; the link spec requires refusing unknown {purpose} features"
    )]
    UnsupportedFeature { url: String, purpose: String },

    #[error("the spec `{identity}` is linked more than once")]
    DuplicateLink { identity: String },

    #[error("the supergraph has no `enum {name}` listing its subgraphs")]
    MissingGraphEnum { name: String },

    #[error("invalid subgraph `{value}` in `enum {enum_name}`: {message}")]
    InvalidGraph {
        enum_name: String,
        value: String,
        message: String,
    },

    #[error("invalid @{directive} on `{coordinate}`: {message}")]
    InvalidDirective {
        directive: String,
        coordinate: String,
        message: String,
    },

    #[error(
        "invalid field set \"{field_set}\" in @{directive}({argument}:) on `{coordinate}`: {message}"
    )]
    InvalidFieldSet {
        directive: String,
        argument: &'static str,
        coordinate: String,
        field_set: String,
        message: String,
    },

    #[error(
        "`{coordinate}` is in the API schema but references `{referenced}`, which is \
         @inaccessible (mark `{coordinate}` @inaccessible too)"
    )]
    ReferencedInaccessible {
        coordinate: String,
        referenced: String,
    },

    #[error("`{coordinate}` is required (non-null without default) and cannot be @inaccessible")]
    RequiredInaccessible { coordinate: String },

    #[error("the query root type `{type_name}` is @inaccessible")]
    QueryRootInaccessible { type_name: String },

    #[error(
        "every {children} of `{type_name}` is @inaccessible: the type would be empty in the API schema"
    )]
    OnlyInaccessibleChildren {
        type_name: String,
        children: &'static str,
    },

    #[error("the API schema derived from the supergraph is invalid: {0}")]
    InvalidApiSchema(String),
}
