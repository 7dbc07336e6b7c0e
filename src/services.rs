//! The subgraphs this binary can run.

use junction_kit::service::ServiceSpec;

pub fn all() -> [ServiceSpec; 7] {
    [
        junction_accounts::spec(),
        junction_users::spec(),
        junction_products::spec(),
        junction_orders::spec(),
        junction_notifications::spec(),
        junction_search::spec(),
        junction_media::spec(),
    ]
}

pub fn find(name: &str) -> Option<ServiceSpec> {
    all().into_iter().find(|s| s.name == name)
}
