//! Selection trees the planner builds for each subgraph request, and their printing
//! as GraphQL text.

use apollo_compiler::executable::Argument;
use apollo_compiler::{Name, Node};
use std::fmt::Write;

/// Index of a node in [`Arena`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct NodeId(usize);

/// A selection set under construction.
#[derive(Debug, Default)]
pub(crate) struct SelNode {
    pub items: Vec<SelItem>,
}

#[derive(Debug)]
pub(crate) enum SelItem {
    Field {
        response_key: Name,
        name: Name,
        arguments: Vec<Node<Argument>>,
        /// Present for composite fields.
        child: Option<NodeId>,
    },
    Fragment {
        type_condition: Name,
        child: NodeId,
    },
}

/// Two fields want the same response key in one subgraph selection.
#[derive(Debug)]
pub(crate) struct KeyConflict {
    pub response_key: Name,
}

/// All selection nodes of one plan; groups refer to their root node by id.
#[derive(Debug, Default)]
pub(crate) struct Arena {
    nodes: Vec<SelNode>,
}

impl Arena {
    pub fn new_node(&mut self) -> NodeId {
        self.nodes.push(SelNode::default());
        NodeId(self.nodes.len() - 1)
    }

    /// Adds a field to `node` unless the same field is already there; returns its child
    /// node (created when `composite`).
    pub fn ensure_field(
        &mut self,
        node: NodeId,
        response_key: &Name,
        name: &Name,
        arguments: &[Node<Argument>],
        composite: bool,
    ) -> Result<Option<NodeId>, KeyConflict> {
        for item in &self.nodes[node.0].items {
            if let SelItem::Field {
                response_key: key,
                name: existing,
                arguments: args,
                child,
            } = item
                && key == response_key
            {
                if existing != name || args.as_slice() != arguments {
                    return Err(KeyConflict {
                        response_key: response_key.clone(),
                    });
                }
                return Ok(*child);
            }
        }
        let child = composite.then(|| self.new_node());
        self.nodes[node.0].items.push(SelItem::Field {
            response_key: response_key.clone(),
            name: name.clone(),
            arguments: arguments.to_vec(),
            child,
        });
        Ok(child)
    }

    /// Adds `... on type_condition` to `node` unless present; returns its child node.
    pub fn ensure_fragment(&mut self, node: NodeId, type_condition: &Name) -> NodeId {
        for item in &self.nodes[node.0].items {
            if let SelItem::Fragment {
                type_condition: existing,
                child,
            } = item
                && existing == type_condition
            {
                return *child;
            }
        }
        let child = self.new_node();
        self.nodes[node.0].items.push(SelItem::Fragment {
            type_condition: type_condition.clone(),
            child,
        });
        child
    }

    /// The response keys of the fields directly in `node`.
    pub fn response_keys(&self, node: NodeId) -> Vec<Name> {
        self.nodes[node.0]
            .items
            .iter()
            .filter_map(|item| match item {
                SelItem::Field { response_key, .. } => Some(response_key.clone()),
                SelItem::Fragment { .. } => None,
            })
            .collect()
    }

    /// Prints `{ … }` for `node`, collecting the variables its arguments use.
    pub fn print(&self, node: NodeId, out: &mut String, variables: &mut Vec<Name>) {
        out.push('{');
        for (i, item) in self.nodes[node.0].items.iter().enumerate() {
            if i > 0 {
                out.push(' ');
            }
            match item {
                SelItem::Field {
                    response_key,
                    name,
                    arguments,
                    child,
                } => {
                    if response_key != name {
                        let _ = write!(out, "{response_key}:");
                    }
                    out.push_str(name);
                    if !arguments.is_empty() {
                        out.push('(');
                        for (j, argument) in arguments.iter().enumerate() {
                            if j > 0 {
                                out.push(',');
                            }
                            let _ = write!(out, "{}:{}", argument.name, argument.value);
                            collect_variables(&argument.value, variables);
                        }
                        out.push(')');
                    }
                    if let Some(child) = child {
                        self.print_nonempty(*child, out, variables);
                    }
                }
                SelItem::Fragment {
                    type_condition,
                    child,
                } => {
                    let _ = write!(out, "...on {type_condition}");
                    self.print_nonempty(*child, out, variables);
                }
            }
        }
        out.push('}');
    }
}

impl Arena {
    /// A selection that ended up empty (everything skipped, or only `__typename` of a
    /// concrete type, which the projection writes itself) still needs one field.
    fn print_nonempty(&self, node: NodeId, out: &mut String, variables: &mut Vec<Name>) {
        if self.nodes[node.0].items.is_empty() {
            out.push_str("{__typename}");
        } else {
            self.print(node, out, variables);
        }
    }
}

fn collect_variables(value: &apollo_compiler::ast::Value, out: &mut Vec<Name>) {
    use apollo_compiler::ast::Value;
    match value {
        Value::Variable(name) if !out.contains(name) => out.push(name.clone()),
        Value::List(items) => items.iter().for_each(|v| collect_variables(v, out)),
        Value::Object(fields) => fields.iter().for_each(|(_, v)| collect_variables(v, out)),
        _ => {}
    }
}

/// A field of a representation: key and `@requires` fields, possibly nested.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepField {
    /// The field's name in the representation.
    pub name: Name,
    /// The response key it was fetched under (an alias when the client uses the name).
    pub source: Name,
    pub children: Vec<RepField>,
}

/// Adds `fields` to `into`, merging nested selections.
pub(crate) fn merge_rep_fields(into: &mut Vec<RepField>, fields: &[RepField]) {
    for field in fields {
        match into.iter_mut().find(|f| f.name == field.name) {
            Some(existing) => merge_rep_fields(&mut existing.children, &field.children),
            None => into.push(field.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use apollo_compiler::name;

    #[test]
    fn prints_and_deduplicates() {
        let mut arena = Arena::default();
        let root = arena.new_node();
        let users = arena
            .ensure_field(root, &name!("people"), &name!("users"), &[], true)
            .unwrap()
            .unwrap();
        arena
            .ensure_field(users, &name!("id"), &name!("id"), &[], false)
            .unwrap();
        arena
            .ensure_field(users, &name!("id"), &name!("id"), &[], false)
            .unwrap();
        let frag = arena.ensure_fragment(users, &name!("Admin"));
        arena
            .ensure_field(frag, &name!("level"), &name!("level"), &[], false)
            .unwrap();
        assert!(
            arena
                .ensure_field(users, &name!("id"), &name!("name"), &[], false)
                .is_err()
        );
        let mut out = String::new();
        let mut vars = Vec::new();
        arena.print(root, &mut out, &mut vars);
        assert_eq!(out, "{people:users{id ...on Admin{level}}}");
    }

    #[test]
    fn merges_rep_fields() {
        let leaf = |n: Name| RepField {
            source: n.clone(),
            name: n,
            children: vec![],
        };
        let mut into = vec![leaf(name!("id"))];
        merge_rep_fields(
            &mut into,
            &[
                leaf(name!("id")),
                RepField {
                    name: name!("author"),
                    source: name!("author"),
                    children: vec![leaf(name!("id"))],
                },
            ],
        );
        assert_eq!(into.len(), 2);
        assert_eq!(into[1].children.len(), 1);
    }
}
