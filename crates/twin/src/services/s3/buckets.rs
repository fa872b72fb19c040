//! Bucket operations: list, create, delete, head, location, policy, tags.
//! Buckets are part of the model: a change goes through
//! [`crate::state::Twin::update_model`], checked like a model file.

use hyper::Response;
use hyper::body::Incoming;
use orgtwin_model::{Bucket, Tag};
use orgtwin_policy::{Context, PolicyType};

use super::{Body, S3Call, empty_response, iso_time, now_millis, small_body, xml, xml_response};
use crate::reply::ServiceError;

fn bucket_arn(name: &str) -> String {
    format!("arn:aws:s3:::{name}")
}

/// `ListBuckets`: the caller's account's buckets.
pub fn list(call: &S3Call<'_>) -> Result<Response<Body>, ServiceError> {
    call.authorize("s3:ListAllMyBuckets", "*", None, &Context::default())?;
    let model = call.twin().model();
    let account = call.caller().account();
    let mut inner = String::new();
    inner.push_str("<Owner>");
    xml::element(&mut inner, "ID", &S3Call::canonical_id(account));
    let name = model.account(account).map_or(account, |a| a.name.as_str());
    xml::element(&mut inner, "DisplayName", name);
    inner.push_str("</Owner><Buckets>");
    let created_default = now_millis(call.twin());
    if let Some(owner) = model.account(account) {
        let mut buckets: Vec<&Bucket> = owner.buckets.iter().collect();
        buckets.sort_by(|a, b| a.name.cmp(&b.name));
        for bucket in buckets {
            let created = call
                .twin()
                .store
                .bucket_created(&bucket.name)?
                .unwrap_or(created_default);
            inner.push_str("<Bucket>");
            xml::element(&mut inner, "Name", &bucket.name);
            xml::element(&mut inner, "CreationDate", &iso_time(created));
            xml::element(&mut inner, "BucketRegion", &bucket.region);
            inner.push_str("</Bucket>");
        }
    }
    inner.push_str("</Buckets>");
    Ok(xml_response(xml::document(
        "ListAllMyBucketsResult",
        &inner,
    )))
}

/// `CreateBucket`, in the caller's account, in the region of its
/// `LocationConstraint` (us-east-1 without one).
pub async fn create(call: &S3Call<'_>, body: Incoming) -> Result<Response<Body>, ServiceError> {
    let name = call.address.bucket.clone().unwrap_or_default();
    if let Some(rule) = orgtwin_model::naming::bucket_name(&name) {
        return Err(ServiceError::new(
            400,
            "InvalidBucketName",
            format!("The specified bucket is not valid: {rule}."),
        ));
    }
    let body = small_body(call, body).await?;
    let region = if body.iter().all(u8::is_ascii_whitespace) {
        "us-east-1".to_string()
    } else {
        let elements = xml::elements(&body)?;
        xml::text(&elements, "CreateBucketConfiguration/LocationConstraint")
            .unwrap_or("us-east-1")
            .to_string()
    };
    if orgtwin_model::naming::region(&region).is_some() {
        return Err(ServiceError::new(
            400,
            "InvalidLocationConstraint",
            "The specified location-constraint is not valid",
        ));
    }
    let account = call.caller().account().to_string();
    if let Some((owner, _)) = call.twin().model().bucket(&name) {
        return Err(if owner == account {
            ServiceError::new(
                409,
                "BucketAlreadyOwnedByYou",
                "Your previous request to create the named bucket succeeded and you already own it.",
            )
        } else {
            ServiceError::new(
                409,
                "BucketAlreadyExists",
                "The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again.",
            )
        });
    }
    call.authorize(
        "s3:CreateBucket",
        &bucket_arn(&name),
        None,
        &Context::default(),
    )?;
    call.twin().update_model(|model| {
        let Some(owner) = model.accounts.get_mut(&account) else {
            return Err(ServiceError::new(
                403,
                "AccessDenied",
                "Only accounts of the model may own buckets in the twin.",
            ));
        };
        owner.buckets.push(Bucket {
            name: name.clone(),
            region: region.clone(),
            policy: None,
            tags: Vec::new(),
            objects: Vec::new(),
        });
        Ok(())
    })?;
    call.twin()
        .store
        .set_bucket_created(&name, now_millis(call.twin()))?;
    Ok(empty_response(
        200,
        &[("location".into(), format!("/{name}"))],
    ))
}

/// `DeleteBucket`: only an empty bucket (no objects, no uploads).
pub fn delete(call: &S3Call<'_>) -> Result<Response<Body>, ServiceError> {
    let (owner, bucket) = call.bucket()?;
    call.authorize(
        "s3:DeleteBucket",
        &bucket_arn(&bucket.name),
        Some((&owner, &bucket)),
        &Context::default(),
    )?;
    let (objects, uploads) = call.twin().store.bucket_contents(&bucket.name)?;
    if objects > 0 || uploads > 0 {
        return Err(ServiceError::new(
            409,
            "BucketNotEmpty",
            "The bucket you tried to delete is not empty",
        ));
    }
    change_bucket(call, &owner, &bucket.name, |_| None)?;
    call.twin().store.forget_bucket(&bucket.name)?;
    Ok(empty_response(204, &[]))
}

/// Replaces (or, when `change` gives `None`, removes) a bucket in the model.
fn change_bucket(
    call: &S3Call<'_>,
    owner: &str,
    name: &str,
    change: impl FnOnce(Bucket) -> Option<Bucket>,
) -> Result<(), ServiceError> {
    call.twin().update_model(|model| {
        let account = model.accounts.get_mut(owner).ok_or_else(|| {
            ServiceError::new(404, "NoSuchBucket", "The specified bucket does not exist")
        })?;
        let index = account
            .buckets
            .iter()
            .position(|b| b.name == name)
            .ok_or_else(|| {
                ServiceError::new(404, "NoSuchBucket", "The specified bucket does not exist")
            })?;
        let bucket = account.buckets.remove(index);
        if let Some(changed) = change(bucket) {
            account.buckets.insert(index, changed);
        }
        Ok(())
    })
}

/// `HeadBucket`: needs `s3:ListBucket`.
pub fn head(call: &S3Call<'_>) -> Result<Response<Body>, ServiceError> {
    let (owner, bucket) = call.bucket()?;
    call.authorize(
        "s3:ListBucket",
        &bucket_arn(&bucket.name),
        Some((&owner, &bucket)),
        &Context::default(),
    )?;
    Ok(empty_response(
        200,
        &[("x-amz-bucket-region".into(), bucket.region.clone())],
    ))
}

/// `GetBucketLocation`: empty for us-east-1, as S3 answers.
pub fn location(call: &S3Call<'_>) -> Result<Response<Body>, ServiceError> {
    let (owner, bucket) = call.bucket()?;
    call.authorize(
        "s3:GetBucketLocation",
        &bucket_arn(&bucket.name),
        Some((&owner, &bucket)),
        &Context::default(),
    )?;
    let region = if bucket.region == "us-east-1" {
        ""
    } else {
        bucket.region.as_str()
    };
    Ok(xml_response(xml::document(
        "LocationConstraint",
        &xml::escape(region),
    )))
}

pub fn get_policy(call: &S3Call<'_>) -> Result<Response<Body>, ServiceError> {
    let (owner, bucket) = call.bucket()?;
    call.authorize(
        "s3:GetBucketPolicy",
        &bucket_arn(&bucket.name),
        Some((&owner, &bucket)),
        &Context::default(),
    )?;
    let Some(policy) = &bucket.policy else {
        return Err(ServiceError::new(
            404,
            "NoSuchBucketPolicy",
            "The bucket policy does not exist",
        ));
    };
    let mut response = Response::new(super::full(policy.text.to_string()));
    if let Ok(v) = "application/json".parse() {
        response.headers_mut().insert("content-type", v);
    }
    Ok(response)
}

/// `PutBucketPolicy`: a valid resource policy whose resources are this
/// bucket and its objects.
pub async fn put_policy(call: &S3Call<'_>, body: Incoming) -> Result<Response<Body>, ServiceError> {
    let (owner, bucket) = call.bucket()?;
    call.authorize(
        "s3:PutBucketPolicy",
        &bucket_arn(&bucket.name),
        Some((&owner, &bucket)),
        &Context::default(),
    )?;
    let body = small_body(call, body).await?;
    let text = std::str::from_utf8(&body).map_err(|_| {
        malformed_policy("Policies must be valid JSON and the first byte must be '{'")
    })?;
    if let Some(error) = orgtwin_policy::validate_source(text, PolicyType::Resource).first() {
        return Err(malformed_policy(&error.message));
    }
    let document = orgtwin_model::Document::parse(text).map_err(|errors| {
        malformed_policy(
            &errors
                .first()
                .map(|e| e.message.clone())
                .unwrap_or_default(),
        )
    })?;
    if let Some(resource) = foreign_resource(&document.policy, &bucket.name) {
        return Err(malformed_policy(&format!(
            "Policy has invalid resource: `{resource}` is not this bucket or its objects"
        )));
    }
    change_bucket(call, &owner, &bucket.name, |mut b| {
        b.policy = Some(document);
        Some(b)
    })?;
    Ok(empty_response(204, &[]))
}

fn malformed_policy(message: &str) -> ServiceError {
    ServiceError::new(400, "MalformedPolicy", message.to_string())
}

/// A `Resource` of the policy that is neither the bucket nor under it.
fn foreign_resource(policy: &orgtwin_policy::Policy, bucket: &str) -> Option<String> {
    let arn = bucket_arn(bucket);
    let under = format!("{arn}/");
    policy
        .statements
        .iter()
        .filter_map(|s| s.resource.as_ref())
        .flat_map(|block| block.items.iter().map(|item| item.value.clone()))
        .find(|r| *r != arn && !r.starts_with(&under))
}

pub fn delete_policy(call: &S3Call<'_>) -> Result<Response<Body>, ServiceError> {
    let (owner, bucket) = call.bucket()?;
    call.authorize(
        "s3:DeleteBucketPolicy",
        &bucket_arn(&bucket.name),
        Some((&owner, &bucket)),
        &Context::default(),
    )?;
    change_bucket(call, &owner, &bucket.name, |mut b| {
        b.policy = None;
        Some(b)
    })?;
    Ok(empty_response(204, &[]))
}

pub fn get_tagging(call: &S3Call<'_>) -> Result<Response<Body>, ServiceError> {
    let (owner, bucket) = call.bucket()?;
    call.authorize(
        "s3:GetBucketTagging",
        &bucket_arn(&bucket.name),
        Some((&owner, &bucket)),
        &Context::default(),
    )?;
    if bucket.tags.is_empty() {
        return Err(ServiceError::new(
            404,
            "NoSuchTagSet",
            "The TagSet does not exist",
        ));
    }
    let mut inner = String::from("<TagSet>");
    for tag in &bucket.tags {
        inner.push_str("<Tag>");
        xml::element(&mut inner, "Key", &tag.key);
        xml::element(&mut inner, "Value", &tag.value);
        inner.push_str("</Tag>");
    }
    inner.push_str("</TagSet>");
    Ok(xml_response(xml::document("Tagging", &inner)))
}

/// `PutBucketTagging` replaces the whole set (at most 50 tags, unique keys,
/// no `aws:` prefix).
pub async fn put_tagging(
    call: &S3Call<'_>,
    body: Incoming,
) -> Result<Response<Body>, ServiceError> {
    let (owner, bucket) = call.bucket()?;
    let body = small_body(call, body).await?;
    let elements = xml::elements(&body)?;
    let mut tags: Vec<Tag> = Vec::new();
    for item in xml::items(&elements, "Tagging/TagSet/Tag") {
        let field = |name: &str| item.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
        let (Some(key), value) = (field("Key"), field("Value").unwrap_or_default()) else {
            return Err(xml::malformed());
        };
        if key.to_ascii_lowercase().starts_with("aws:")
            || key.is_empty()
            || key.chars().count() > 128
            || value.chars().count() > 256
        {
            return Err(ServiceError::new(
                400,
                "InvalidTag",
                format!(
                    "The tag `{key}` is not valid: keys are 1 to 128 characters and may not start with aws:, values at most 256."
                ),
            ));
        }
        if tags.iter().any(|t| t.key == key) {
            return Err(ServiceError::new(
                400,
                "InvalidTag",
                "Cannot provide multiple Tags with the same key",
            ));
        }
        tags.push(Tag { key, value });
    }
    if tags.len() > 50 {
        return Err(ServiceError::new(
            400,
            "BadRequest",
            "Bucket tag count cannot be greater than 50",
        ));
    }
    let mut context = Context::default();
    for tag in &tags {
        context.insert(&format!("aws:RequestTag/{}", tag.key), &tag.value);
    }
    let keys: Vec<&str> = tags.iter().map(|t| t.key.as_str()).collect();
    context.insert_multi(
        "aws:TagKeys",
        keys.iter().map(|k| (*k).to_string()).collect(),
    );
    call.authorize(
        "s3:PutBucketTagging",
        &bucket_arn(&bucket.name),
        Some((&owner, &bucket)),
        &context,
    )?;
    change_bucket(call, &owner, &bucket.name, |mut b| {
        b.tags = tags;
        Some(b)
    })?;
    Ok(empty_response(204, &[]))
}

pub fn delete_tagging(call: &S3Call<'_>) -> Result<Response<Body>, ServiceError> {
    let (owner, bucket) = call.bucket()?;
    call.authorize(
        "s3:PutBucketTagging",
        &bucket_arn(&bucket.name),
        Some((&owner, &bucket)),
        &Context::default(),
    )?;
    change_bucket(call, &owner, &bucket.name, |mut b| {
        b.tags.clear();
        Some(b)
    })?;
    Ok(empty_response(204, &[]))
}
