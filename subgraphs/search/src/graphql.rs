//! The search subgraph schema: `search(query, filters, first, after)`.

use crate::index::{Filters, ProductIndex};
use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, EmptyMutation, ID, InputObject, Object, Result, SimpleObject};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use junction_kit::errors::{bad_input, internal};
use junction_kit::graphql::page_size;
use std::sync::Arc;

const MAX_PAGE: i32 = 100;
/// Results past this rank are not served (deep paging is what filters are for).
const MAX_OFFSET: usize = 10_000;

/// A product, by key (the products subgraph resolves the rest).
#[derive(SimpleObject, Clone, Debug)]
#[graphql(unresolvable = "id")]
pub struct Product {
    pub id: ID,
}

/// A part of a matching field, with the matched words in `<b>…</b>`.
#[derive(SimpleObject, Clone, Debug)]
pub struct Highlight {
    /// `name` or `description`.
    pub field: String,
    pub snippet: String,
}

#[derive(SimpleObject, Clone, Debug)]
pub struct SearchHit {
    pub product: Product,
    pub score: f64,
    pub highlights: Vec<Highlight>,
}

/// How many matching products fall in one category.
#[derive(SimpleObject, Clone, Debug)]
pub struct FacetValue {
    pub value: String,
    pub count: i32,
}

#[derive(SimpleObject, Clone, Debug)]
pub struct SearchFacets {
    pub category: Vec<FacetValue>,
}

#[derive(SimpleObject, Clone, Debug)]
pub struct SearchExtras {
    /// Matching products, all pages.
    pub total_count: i32,
    pub facets: SearchFacets,
}

#[derive(InputObject, Debug, Default)]
pub struct SearchFilters {
    pub category: Option<String>,
    pub min_price_cents: Option<i32>,
    pub max_price_cents: Option<i32>,
    pub in_stock: Option<bool>,
}

#[derive(Default)]
pub struct Query;

#[Object]
impl Query {
    /// Products matching every word of `query` (typos allowed; empty: every product),
    /// best first. `after` is the `endCursor` of the previous page.
    async fn search(
        &self,
        ctx: &Context<'_>,
        #[graphql(default)] query: String,
        filters: Option<SearchFilters>,
        #[graphql(default = 20)] first: i32,
        after: Option<String>,
    ) -> Result<Connection<String, SearchHit, SearchExtras>> {
        let index = ctx.data::<Arc<ProductIndex>>()?;
        let first = page_size(first, MAX_PAGE)? as usize;
        if query.chars().count() > 500 {
            return Err(bad_input("query", "must be at most 500 characters"));
        }
        let offset = match &after {
            Some(cursor) => decode_cursor(cursor)
                .ok_or_else(|| bad_input("after", "is not a cursor from this search"))?,
            None => 0,
        };
        if offset > MAX_OFFSET {
            return Err(bad_input(
                "after",
                format!("results stop at {MAX_OFFSET}; narrow the search"),
            ));
        }
        let filters = filters.unwrap_or_default();
        let filters = Filters {
            category: filters.category.filter(|c| !c.is_empty()),
            min_price_cents: filters.min_price_cents.map(i64::from),
            max_price_cents: filters.max_price_cents.map(i64::from),
            in_stock: filters.in_stock,
        };
        // tantivy searches synchronously: off the async threads.
        let index = index.clone();
        let results =
            tokio::task::spawn_blocking(move || index.search(&query, &filters, offset, first))
                .await
                .map_err(|e| internal("search", e))?
                .map_err(|e| internal("search", e))?;
        let total = results.total;
        let mut connection = Connection::with_additional_fields(
            offset > 0,
            offset + results.hits.len() < total,
            SearchExtras {
                total_count: i32::try_from(total).unwrap_or(i32::MAX),
                facets: SearchFacets {
                    category: results
                        .categories
                        .into_iter()
                        .map(|(value, count)| FacetValue {
                            value,
                            count: i32::try_from(count).unwrap_or(i32::MAX),
                        })
                        .collect(),
                },
            },
        );
        for (rank, hit) in results.hits.into_iter().enumerate() {
            connection.edges.push(Edge::new(
                encode_cursor(offset + rank + 1),
                SearchHit {
                    product: Product { id: ID(hit.id) },
                    score: f64::from(hit.score),
                    highlights: hit
                        .highlights
                        .into_iter()
                        .map(|(field, snippet)| Highlight {
                            field: field.to_owned(),
                            snippet,
                        })
                        .collect(),
                },
            ));
        }
        Ok(connection)
    }
}

/// The search subgraph has no mutations; the index follows the product events.
pub type Mutation = EmptyMutation;

fn encode_cursor(next_offset: usize) -> String {
    URL_SAFE_NO_PAD.encode(format!("search:{next_offset}"))
}

fn decode_cursor(cursor: &str) -> Option<usize> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    String::from_utf8(bytes)
        .ok()?
        .strip_prefix("search:")?
        .parse()
        .ok()
}
