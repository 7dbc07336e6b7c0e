//! The media subgraph schema: `Product.images`, and uploading an image in two steps
//! (`createImageUpload` gives a URL to `PUT` the bytes to; `confirmImageUpload` checks
//! them and publishes the image).

use crate::store::{self, ImageRow, PENDING};
use crate::urls;
use async_graphql::{ComplexObject, Context, ID, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use junction_kit::blobs::BlobAccess;
use junction_kit::errors::{bad_input, internal, not_found};
use junction_kit::graphql::{deps, require_scope};
use std::time::Duration;

/// How long an upload URL works.
const UPLOAD_TTL: Duration = Duration::from_secs(15 * 60);
/// How long a download URL works.
const DOWNLOAD_TTL: Duration = Duration::from_secs(60 * 60);
const CONTENT_TYPES: &[&str] = &["image/png", "image/jpeg", "image/gif", "image/webp"];

/// A product, as media knows it: its images.
#[derive(SimpleObject, Clone, Debug)]
#[graphql(complex)]
pub struct Product {
    pub id: ID,
}

#[ComplexObject]
impl Product {
    /// The product's images, oldest first.
    async fn images(&self, ctx: &Context<'_>) -> Result<Vec<Image>> {
        let deps = deps(ctx)?;
        let rows = store::of_product(&deps.db, &self.id)
            .await
            .map_err(|e| internal(deps.service, e))?;
        Ok(rows.into_iter().map(Image::from).collect())
    }
}

#[derive(SimpleObject, Clone, Debug)]
#[graphql(complex)]
pub struct Image {
    pub id: ID,
    pub content_type: String,
    pub filename: String,
    pub size_bytes: Option<i64>,
    pub width: Option<i32>,
    pub height: Option<i32>,
    pub created_at: DateTime<Utc>,
    #[graphql(skip)]
    pub blob_key: String,
}

impl From<ImageRow> for Image {
    fn from(row: ImageRow) -> Self {
        Image {
            id: ID(row.id),
            content_type: row.content_type,
            filename: row.filename,
            size_bytes: row.size_bytes,
            width: row.width,
            height: row.height,
            created_at: row.created_at.and_utc(),
            blob_key: row.blob_key,
        }
    }
}

#[ComplexObject]
impl Image {
    /// Where to download it; works for an hour.
    async fn url(&self, ctx: &Context<'_>) -> Result<String> {
        let deps = deps(ctx)?;
        urls::presign(
            deps,
            BlobAccess::Download,
            &self.blob_key,
            DOWNLOAD_TTL,
            None,
        )
        .await
        .map_err(|e| internal(deps.service, e))
    }
}

/// Where to `PUT` an image's bytes (with its `Content-Type`), until `expiresAt`.
#[derive(SimpleObject, Clone, Debug)]
pub struct ImageUpload {
    pub image: Image,
    pub upload_url: String,
    pub expires_at: DateTime<Utc>,
}

#[derive(Default)]
pub struct Query;

#[Object]
impl Query {
    #[graphql(entity)]
    async fn find_product_by_id(&self, id: ID) -> Product {
        Product { id }
    }
}

#[derive(Default)]
pub struct Mutation;

#[Object]
impl Mutation {
    /// Starts adding an image to a product (scope `admin`): `PUT` the bytes to
    /// `uploadUrl`, then call `confirmImageUpload`.
    async fn create_image_upload(
        &self,
        ctx: &Context<'_>,
        product_id: ID,
        content_type: String,
        filename: String,
    ) -> Result<ImageUpload> {
        require_scope(ctx, "admin", "managing images")?;
        let deps = deps(ctx)?;
        if !CONTENT_TYPES.contains(&content_type.as_str()) {
            return Err(bad_input(
                "contentType",
                format!("must be one of {}", CONTENT_TYPES.join(", ")),
            ));
        }
        let filename = filename.trim().to_owned();
        if filename.is_empty() || filename.len() > 200 {
            return Err(bad_input("filename", "must be 1 to 200 characters"));
        }
        let id = uuid::Uuid::now_v7().to_string();
        let row = ImageRow {
            blob_key: format!("products/{}/{id}", product_id.0),
            id,
            product_id: product_id.0,
            content_type,
            filename,
            state: PENDING.to_owned(),
            size_bytes: None,
            width: None,
            height: None,
            created_at: Utc::now().naive_utc(),
        };
        let upload_url = urls::presign(
            deps,
            BlobAccess::Upload,
            &row.blob_key,
            UPLOAD_TTL,
            Some(&row.content_type),
        )
        .await
        .map_err(|e| internal(deps.service, e))?;
        store::insert(&deps.db, &row)
            .await
            .map_err(|e| internal(deps.service, e))?;
        Ok(ImageUpload {
            image: Image::from(row),
            upload_url,
            expires_at: Utc::now() + UPLOAD_TTL,
        })
    }

    /// Publishes an uploaded image: checks the bytes are an image and records its size
    /// and dimensions (scope `admin`).
    async fn confirm_image_upload(&self, ctx: &Context<'_>, id: ID) -> Result<Image> {
        require_scope(ctx, "admin", "managing images")?;
        let deps = deps(ctx)?;
        let Some(row) = store::find(&deps.db, &id)
            .await
            .map_err(|e| internal(deps.service, e))?
        else {
            return Err(not_found(format_args!("image {}", id.0)));
        };
        let Some(bytes) = deps
            .blobs
            .get(&row.blob_key)
            .await
            .map_err(|e| internal(deps.service, e))?
        else {
            return Err(bad_input("id", "nothing was uploaded for this image yet"));
        };
        let dimensions = imagesize::blob_size(&bytes)
            .map_err(|_| bad_input("id", "the uploaded bytes are not an image"))?;
        let dimensions = (
            i32::try_from(dimensions.width).unwrap_or(i32::MAX),
            i32::try_from(dimensions.height).unwrap_or(i32::MAX),
        );
        store::mark_ready(&deps.db, &id, bytes.len() as i64, Some(dimensions))
            .await
            .map_err(|e| internal(deps.service, e))?;
        let row = store::find(&deps.db, &id)
            .await
            .map_err(|e| internal(deps.service, e))?
            .ok_or_else(|| not_found(format_args!("image {}", id.0)))?;
        Ok(Image::from(row))
    }
}
