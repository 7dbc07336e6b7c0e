//! Junction's schema crate: the supergraph model the router plans with
//! ([`Supergraph`]) and the composition of Federation 2 subgraphs into a supergraph
//! ([`compose()`]).

mod field_set;
mod link;
mod supergraph;

pub use field_set::{FieldSelection, FieldSet, InlineFragmentSelection, Selection};
pub use supergraph::{
    FieldInGraph, FieldInfo, Graph, GraphId, Key, Supergraph, SupergraphError, TypeInGraph,
};

pub mod check;
pub mod compose;
pub mod diff;
pub mod persisted;
pub use compose::{CompositionError, SourceLocation, SubgraphInput, compose};
