//! Reading `@link` applications (<https://specs.apollo.dev/link/v1.0>), shared by supergraph
//! loading and subgraph composition.

use apollo_compiler::ast;
use std::fmt;

pub(crate) const LINK_IDENTITY: &str = "https://specs.apollo.dev/link";
pub(crate) const JOIN_IDENTITY: &str = "https://specs.apollo.dev/join";
pub(crate) const INACCESSIBLE_IDENTITY: &str = "https://specs.apollo.dev/inaccessible";
pub(crate) const TAG_IDENTITY: &str = "https://specs.apollo.dev/tag";
pub(crate) const FEDERATION_IDENTITY: &str = "https://specs.apollo.dev/federation";

/// A `vMAJOR.MINOR` spec version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Version {
    pub major: u32,
    pub minor: u32,
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{}.{}", self.major, self.minor)
    }
}

/// A spec URL split as the link spec describes: `{identity}/{version}`, where the last
/// segment of the identity is the spec's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SpecUrl {
    pub identity: String,
    pub name: String,
    pub version: Version,
}

impl SpecUrl {
    pub fn parse(url: &str) -> Result<SpecUrl, String> {
        // Query strings and fragments carry no meaning for spec identity.
        let trimmed = url.split(['?', '#']).next().unwrap_or(url);
        let trimmed = trimmed.trim_end_matches('/');
        let (identity, version) = trimmed
            .rsplit_once('/')
            .ok_or_else(|| format!("`{url}` is not a spec URL (expected `.../name/vX.Y`)"))?;
        let version = parse_version(version)
            .ok_or_else(|| format!("`{url}` does not end with a version like `v1.0`"))?;
        let name = identity.rsplit('/').next().unwrap_or_default().to_string();
        if name.is_empty() || !identity.contains("://") {
            return Err(format!(
                "`{url}` is not a spec URL (expected `.../name/vX.Y`)"
            ));
        }
        Ok(SpecUrl {
            identity: identity.to_string(),
            name,
            version,
        })
    }
}

fn parse_version(text: &str) -> Option<Version> {
    let (major, minor) = text.strip_prefix('v')?.split_once('.')?;
    Some(Version {
        major: major.parse().ok()?,
        minor: minor.parse().ok()?,
    })
}

/// The `for:` argument of `@link`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Purpose {
    Security,
    Execution,
}

impl fmt::Display for Purpose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Purpose::Security => "SECURITY",
            Purpose::Execution => "EXECUTION",
        })
    }
}

/// One entry of `import:`; directive names keep their `@`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Import {
    pub element: String,
    pub alias: String,
}

/// One `@link` application.
#[derive(Debug, Clone)]
pub(crate) struct Link {
    pub url: String,
    pub spec: SpecUrl,
    pub alias: Option<String>,
    pub purpose: Option<Purpose>,
    pub imports: Vec<Import>,
}

impl Link {
    /// Reads a `@link(url:, as:, for:, import:)` application.
    pub fn from_directive(directive: &ast::Directive) -> Result<Link, String> {
        let url = directive
            .specified_argument_by_name("url")
            .and_then(|v| v.as_str())
            .ok_or_else(|| format!("@{} without a string `url:` argument", directive.name))?
            .to_string();
        let spec = SpecUrl::parse(&url)?;
        let alias = match directive.specified_argument_by_name("as") {
            None => None,
            Some(v) if v.is_null() => None,
            Some(v) => Some(
                v.as_str()
                    .ok_or_else(|| format!("@link(url: \"{url}\"): `as:` must be a string"))?
                    .to_string(),
            ),
        };
        let purpose = match directive.specified_argument_by_name("for") {
            None => None,
            Some(v) if v.is_null() => None,
            Some(v) => match v.as_enum().map(|n| n.as_str()) {
                Some("SECURITY") => Some(Purpose::Security),
                Some("EXECUTION") => Some(Purpose::Execution),
                _ => {
                    return Err(format!(
                        "@link(url: \"{url}\"): `for:` must be SECURITY or EXECUTION"
                    ));
                }
            },
        };
        let mut imports = Vec::new();
        if let Some(list) = directive.specified_argument_by_name("import") {
            let items: Vec<&ast::Value> = match list.as_list() {
                Some(items) => items.iter().map(|n| &**n).collect(),
                None if list.is_null() => Vec::new(),
                None => vec![&**list],
            };
            for item in items {
                imports.push(parse_import(&url, item)?);
            }
        }
        Ok(Link {
            url,
            spec,
            alias,
            purpose,
            imports,
        })
    }

    /// The prefix of this spec's elements in the schema (`as:` or the spec name).
    pub fn prefix(&self) -> &str {
        self.alias.as_deref().unwrap_or(&self.spec.name)
    }

    /// Local name (without `@`) of the spec directive `name`.
    pub fn directive_name(&self, name: &str) -> String {
        let element = format!("@{name}");
        if let Some(import) = self.imports.iter().find(|i| i.element == element) {
            return import.alias.trim_start_matches('@').to_string();
        }
        if name == self.spec.name {
            self.prefix().to_string()
        } else {
            format!("{}__{name}", self.prefix())
        }
    }

    /// Local name of the spec type `name`.
    pub fn type_name(&self, name: &str) -> String {
        if let Some(import) = self.imports.iter().find(|i| i.element == name) {
            return import.alias.clone();
        }
        format!("{}__{name}", self.prefix())
    }

    /// Whether `local` (a directive name without `@`) belongs to this spec.
    pub fn owns_directive(&self, local: &str) -> bool {
        local == self.prefix()
            || local
                .strip_prefix(self.prefix())
                .is_some_and(|rest| rest.starts_with("__"))
            || self
                .imports
                .iter()
                .any(|i| i.alias.strip_prefix('@') == Some(local))
    }

    /// The name in this spec of the local directive `local` (without `@`), when the spec
    /// owns it.
    pub fn directive_in_spec(&self, local: &str) -> Option<String> {
        if let Some(import) = self
            .imports
            .iter()
            .find(|i| i.alias.strip_prefix('@') == Some(local))
        {
            return Some(import.element.trim_start_matches('@').to_string());
        }
        if local == self.prefix() {
            return Some(self.spec.name.clone());
        }
        local
            .strip_prefix(self.prefix())
            .and_then(|rest| rest.strip_prefix("__"))
            .map(str::to_string)
    }

    /// Whether `local` (a type name) belongs to this spec.
    pub fn owns_type(&self, local: &str) -> bool {
        local
            .strip_prefix(self.prefix())
            .is_some_and(|rest| rest.starts_with("__"))
            || self
                .imports
                .iter()
                .any(|i| !i.alias.starts_with('@') && i.alias == local)
    }
}

fn parse_import(url: &str, value: &ast::Value) -> Result<Import, String> {
    if let Some(name) = value.as_str() {
        return Ok(Import {
            element: name.to_string(),
            alias: name.to_string(),
        });
    }
    let Some(fields) = value.as_object() else {
        return Err(format!(
            "@link(url: \"{url}\"): each import must be a string or {{ name:, as: }}"
        ));
    };
    let field = |key: &str| {
        fields
            .iter()
            .find(|(k, _)| k == key)
            .and_then(|(_, v)| v.as_str())
    };
    let name = field("name")
        .ok_or_else(|| format!("@link(url: \"{url}\"): an import object needs a string `name:`"))?;
    let alias = field("as").unwrap_or(name);
    if name.starts_with('@') != alias.starts_with('@') {
        return Err(format!(
            "@link(url: \"{url}\"): import `{name}` renamed to `{alias}`: a directive must be \
             renamed to a directive (both with `@`) and a type to a type"
        ));
    }
    Ok(Import {
        element: name.to_string(),
        alias: alias.to_string(),
    })
}

/// Finds the local name of `@link` itself (the link spec may be imported under another
/// name through `@link(url: ".../link/v1.0", as: "...")`) and reads every application.
pub(crate) fn collect_links<'a>(
    schema_directives: impl Iterator<Item = &'a ast::Directive> + Clone,
) -> Result<Vec<Link>, String> {
    let link_name = schema_directives
        .clone()
        .find_map(|d| {
            let url = d.specified_argument_by_name("url")?.as_str()?;
            let spec = SpecUrl::parse(url).ok()?;
            (spec.identity == LINK_IDENTITY).then(|| {
                d.specified_argument_by_name("as")
                    .and_then(|v| v.as_str())
                    .map(str::to_string)
                    .unwrap_or_else(|| d.name.to_string())
            })
        })
        .unwrap_or_else(|| "link".to_string());
    schema_directives
        .filter(|d| d.name == link_name.as_str())
        .map(Link::from_directive)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_url_splits_identity_name_and_version() {
        let url = SpecUrl::parse("https://specs.apollo.dev/join/v0.3").expect("valid url");
        assert_eq!(url.identity, JOIN_IDENTITY);
        assert_eq!(url.name, "join");
        assert_eq!(url.version, Version { major: 0, minor: 3 });
        assert!(SpecUrl::parse("https://specs.apollo.dev/join").is_err());
        assert!(SpecUrl::parse("join/v0.3").is_err());
    }

    #[test]
    fn names_follow_prefix_and_imports() {
        let doc = ast::Document::parse(
            r#"extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", as: "fed",
                 import: ["@key", { name: "@shareable", as: "@share" }, "FieldSet"])"#,
            "test.graphql",
        )
        .expect("parses");
        let directive = doc.definitions[0].directives()[0].clone();
        let link = Link::from_directive(&directive).expect("valid link");
        assert_eq!(link.directive_name("key"), "key");
        assert_eq!(link.directive_name("shareable"), "share");
        assert_eq!(link.directive_name("external"), "fed__external");
        assert_eq!(link.directive_name("federation"), "fed");
        assert_eq!(link.type_name("FieldSet"), "FieldSet");
        assert_eq!(link.type_name("Scope"), "fed__Scope");
        assert!(link.owns_directive("share"));
        assert!(link.owns_directive("fed__requires"));
        assert!(!link.owns_directive("federation__requires"));
    }
}
