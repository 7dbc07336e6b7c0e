//! Merging type references across subgraphs.

use super::Merger;
use apollo_compiler::ast::Type;

/// Whether a position reads values (output) or receives them (input).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Position {
    Output,
    Input,
}

impl Merger<'_> {
    /// `sub` can stand where `sup` is expected: same shape, possibly non-null where `sup` is
    /// nullable, and (outputs only) an implementation/member where `sup` is abstract.
    pub(super) fn is_subtype(&self, sub: &Type, sup: &Type, position: Position) -> bool {
        match (sub, sup) {
            (_, Type::NonNullNamed(_) | Type::NonNullList(_)) => {
                sub.is_non_null()
                    && self.is_subtype(&sub.clone().nullable(), &sup.clone().nullable(), position)
            }
            (Type::NonNullNamed(_) | Type::NonNullList(_), _) => {
                self.is_subtype(&sub.clone().nullable(), sup, position)
            }
            (Type::List(a), Type::List(b)) => self.is_subtype(a, b, position),
            (Type::Named(a), Type::Named(b)) => {
                a == b
                    || (position == Position::Output
                        && self.supertypes.get(a).is_some_and(|s| s.contains(b)))
            }
            _ => false,
        }
    }

    /// The supergraph type for a field/argument typed differently across subgraphs: the most
    /// general one for outputs, the most restrictive one for inputs. `None` if incompatible.
    pub(super) fn merge_types<'t>(
        &self,
        types: impl IntoIterator<Item = &'t Type>,
        position: Position,
    ) -> Option<Type> {
        let mut types = types.into_iter();
        let mut merged = types.next()?.clone();
        for ty in types {
            let (general, specific) = if self.is_subtype(ty, &merged, position) {
                (merged.clone(), ty.clone())
            } else if self.is_subtype(&merged, ty, position) {
                (ty.clone(), merged.clone())
            } else {
                return None;
            };
            merged = match position {
                Position::Output => general,
                Position::Input => specific,
            };
        }
        Some(merged)
    }
}

/// `"String" in subgraph "a" but "Int" in subgraph "b"`: each distinct type with where it is.
pub(super) fn describe_types<'t>(types: impl IntoIterator<Item = (&'t str, &'t Type)>) -> String {
    let mut groups: Vec<(String, Vec<&str>)> = Vec::new();
    for (subgraph, ty) in types {
        let ty = ty.to_string();
        match groups.iter_mut().find(|(t, _)| *t == ty) {
            Some((_, subgraphs)) => subgraphs.push(subgraph),
            None => groups.push((ty, vec![subgraph])),
        }
    }
    groups
        .iter()
        .map(|(ty, subgraphs)| format!("type \"{ty}\" in {}", super::subgraph_list(subgraphs)))
        .collect::<Vec<_>>()
        .join(" but ")
}
