//! Tags of users and roles: `Tag{Role,User}`, `Untag{Role,User}`,
//! `List{Role,User}Tags`.
//!
//! The request context is IAM's: tagging sets `aws:RequestTag/<key>` for
//! each tag and `aws:TagKeys` to the keys set; untagging sets `aws:TagKeys`
//! to the keys removed. This is what tag-protection SCPs (the example's
//! `ProtectEksSessionTags`) test. Tagging a key the entity has (ignoring
//! case) replaces its value and spelling; an entity holds at most 50 tags;
//! removing an absent key does nothing.

use orgtwin_model::Tag;

use super::checks::{Constraints, MAX_TAGS, read_tags};
use super::entities::{self, Kind};
use super::{Answer, Outcome, Page, authorize, limit_exceeded, request_tags_context, same_name};
use crate::query::{Params, Xml};
use crate::services::Call;

pub(super) fn tag(call: &Call<'_>, params: &Params, kind: Kind) -> Outcome {
    let account = call.caller.account();
    let model = call.twin.model();
    let name = params.required(kind.name_param())?.to_string();
    let tags = read_tags(params);
    if tags.is_empty() {
        params.required("Tags")?;
    }
    let entity = entities::find(&model, account, kind, &name);
    let mut context = entities::resource_context(entity.as_ref());
    request_tags_context(&mut context, &tags);
    let arn = entities::target_arn(entity.as_ref(), account, kind, &name);
    authorize(call, &format!("Tag{}", kind.title()), &arn, &context)?;
    let mut checks = Constraints::default();
    checks.name(kind.name_field(), &name, kind.max_name());
    checks.tags(&tags)?;
    checks.finish()?;
    call.twin.update_model(|model| {
        let entity = entities::find_mut(model, account, kind, &name)?;
        let Some(held) = entity.tags else {
            return Err(kind.not_found(&name));
        };
        for tag in tags {
            match held.iter_mut().find(|t| same_name(&t.key, &tag.key)) {
                Some(existing) => *existing = tag,
                None => held.push(tag),
            }
        }
        if held.len() > MAX_TAGS {
            return Err(limit_exceeded(format!(
                "Cannot exceed quota for TagsPer{}: {MAX_TAGS}",
                kind.title()
            )));
        }
        Ok(())
    })?;
    Ok(Answer::Empty)
}

pub(super) fn untag(call: &Call<'_>, params: &Params, kind: Kind) -> Outcome {
    let account = call.caller.account();
    let model = call.twin.model();
    let name = params.required(kind.name_param())?.to_string();
    let keys = params.list("TagKeys");
    if keys.is_empty() {
        params.required("TagKeys")?;
    }
    let entity = entities::find(&model, account, kind, &name);
    let mut context = entities::resource_context(entity.as_ref());
    context.insert_multi("aws:TagKeys", keys.clone());
    let arn = entities::target_arn(entity.as_ref(), account, kind, &name);
    authorize(call, &format!("Untag{}", kind.title()), &arn, &context)?;
    let mut checks = Constraints::default();
    checks.name(kind.name_field(), &name, kind.max_name());
    for (i, key) in keys.iter().enumerate() {
        checks.tag_key(&format!("tagKeys.{}.member", i + 1), key);
    }
    checks.finish()?;
    call.twin.update_model(|model| {
        let entity = entities::find_mut(model, account, kind, &name)?;
        if let Some(held) = entity.tags {
            held.retain(|t| !keys.iter().any(|k| same_name(k, &t.key)));
        }
        Ok(())
    })?;
    Ok(Answer::Empty)
}

pub(super) fn list(call: &Call<'_>, params: &Params, kind: Kind) -> Outcome {
    let account = call.caller.account();
    let model = call.twin.model();
    let name = params.required(kind.name_param())?;
    let entity = entities::find(&model, account, kind, name);
    let context = entities::resource_context(entity.as_ref());
    let arn = entities::target_arn(entity.as_ref(), account, kind, name);
    authorize(call, &format!("List{}Tags", kind.title()), &arn, &context)?;
    let page = Page::read(params)?;
    let mut checks = Constraints::default();
    checks.name(kind.name_field(), name, kind.max_name());
    checks.finish()?;
    let entity = entity.ok_or_else(|| kind.not_found(name))?;
    let (tags, next) = page.window(entity.tags.iter().collect());
    let mut xml = Xml::default();
    write_tags(&mut xml, tags);
    xml.truncation(next.as_deref());
    Ok(Answer::Result(xml.finish()))
}

/// `<Tags><member><Key/><Value/></member>...</Tags>`.
pub(super) fn write_tags<'t>(xml: &mut Xml, tags: impl IntoIterator<Item = &'t Tag>) {
    xml.list("Tags", tags, |xml, tag| {
        xml.leaf("Key", &tag.key).leaf("Value", &tag.value);
    });
}
