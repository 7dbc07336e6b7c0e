//! Checks the supergraph's `@link`s and works out the local names of the spec elements.

use super::SupergraphError;
use crate::link::{
    self, INACCESSIBLE_IDENTITY, JOIN_IDENTITY, LINK_IDENTITY, Link, TAG_IDENTITY, Version,
};
use apollo_compiler::Schema;

const SUPPORTED_JOIN: [Version; 3] = [
    Version { major: 0, minor: 3 },
    Version { major: 0, minor: 4 },
    Version { major: 0, minor: 5 },
];

/// The specs the supergraph links and the names their elements have in it.
#[derive(Debug, Clone)]
pub(crate) struct SpecNames {
    link: Link,
    join: Link,
    inaccessible: Option<Link>,
    tag: Option<Link>,
    /// Other linked specs (demand control, access control, …): their elements are not part
    /// of the API schema.
    others: Vec<Link>,
    /// Linked features with a purpose (`SECURITY`, `EXECUTION`) this model does not
    /// implement: a router must refuse them.
    pub unimplemented: Vec<Link>,
    pub join_graph: String,
    pub join_type: String,
    pub join_field: String,
    pub join_implements: String,
    pub join_union_member: String,
    pub join_enum_value: String,
    pub graph_enum: String,
    pub inaccessible_directive: Option<String>,
}

impl SpecNames {
    pub fn from_schema(schema: &Schema) -> Result<SpecNames, SupergraphError> {
        let links = link::collect_links(schema.schema_definition.directives.iter().map(|d| &***d))
            .map_err(SupergraphError::InvalidLink)?;

        let mut link_spec = None;
        let mut join = None;
        let mut inaccessible = None;
        let mut tag = None;
        let mut others = Vec::new();
        let mut unimplemented = Vec::new();
        for link in links {
            let slot = match link.spec.identity.as_str() {
                LINK_IDENTITY => &mut link_spec,
                JOIN_IDENTITY => &mut join,
                INACCESSIBLE_IDENTITY => &mut inaccessible,
                TAG_IDENTITY => &mut tag,
                _ => {
                    if link.purpose.is_some() {
                        unimplemented.push(link.clone());
                    }
                    // Specs without a purpose are metadata a router may ignore.
                    others.push(link);
                    continue;
                }
            };
            if slot.is_some() {
                return Err(SupergraphError::DuplicateLink {
                    identity: link.spec.identity,
                });
            }
            *slot = Some(link);
        }

        let link_spec = link_spec.ok_or(SupergraphError::MissingLinkSpec)?;
        if link_spec.spec.version != (Version { major: 1, minor: 0 }) {
            return Err(SupergraphError::UnsupportedLinkVersion { url: link_spec.url });
        }
        let join = join.ok_or(SupergraphError::MissingJoinSpec)?;
        if !SUPPORTED_JOIN.contains(&join.spec.version) {
            return Err(SupergraphError::UnsupportedJoinVersion { url: join.url });
        }
        if let Some(link) = &inaccessible
            && link.spec.version.major != 0
        {
            // @inaccessible decides what clients may see: an unknown version cannot be ignored.
            return Err(SupergraphError::UnsupportedFeature {
                url: link.url.clone(),
                purpose: "SECURITY".to_string(),
            });
        }

        Ok(SpecNames {
            join_graph: join.directive_name("graph"),
            join_type: join.directive_name("type"),
            join_field: join.directive_name("field"),
            join_implements: join.directive_name("implements"),
            join_union_member: join.directive_name("unionMember"),
            join_enum_value: join.directive_name("enumValue"),
            graph_enum: join.type_name("Graph"),
            inaccessible_directive: inaccessible
                .as_ref()
                .map(|l| l.directive_name("inaccessible")),
            link: link_spec,
            join,
            inaccessible,
            tag,
            others,
            unimplemented,
        })
    }

    /// The join spec's version (`v0.3` …).
    pub fn join_version(&self) -> crate::link::Version {
        self.join.spec.version
    }

    /// The linked specs other than link, join, inaccessible and tag.
    pub fn other_links(&self) -> &[Link] {
        &self.others
    }

    /// What the supergraph calls `@tag`, when it links the tag spec.
    pub fn tag_directive(&self) -> Option<String> {
        self.tag.as_ref().map(|l| l.directive_name("tag"))
    }

    fn spec_links(&self) -> impl Iterator<Item = &Link> {
        [Some(&self.link), Some(&self.join)]
            .into_iter()
            .chain([self.inaccessible.as_ref(), self.tag.as_ref()])
            .flatten()
            .chain(self.others.iter())
    }

    /// Directives of the linked specs: not part of the API schema.
    pub fn is_spec_directive(&self, name: &str) -> bool {
        self.spec_links().any(|l| l.owns_directive(name))
    }

    /// Types of the linked specs (`join__Graph`, `link__Import`, …): not part of the API
    /// schema.
    pub fn is_spec_type(&self, name: &str) -> bool {
        self.spec_links().any(|l| l.owns_type(name))
    }
}
