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

use super::checks::{MAX_TAGS, read_tags};
use super::entities::{self, Kind, Target};
use super::{Answer, Outcome, Page, limit_exceeded, request_tags_context, same_name};
use crate::query::{Params, Xml};
use crate::services::Call;

pub(super) fn tag(call: &Call<'_>, params: &Params, kind: Kind) -> Outcome {
    let account = call.caller.account();
    let model = call.twin.model();
    let mut target = Target::named(call, &model, params, kind)?;
    let tags = read_tags(params);
    if tags.is_empty() {
        params.required("Tags")?;
    }
    request_tags_context(&mut target.context, &tags);
    target.authorize(call, &format!("Tag{}", kind.title()))?;
    let mut checks = target.checks();
    checks.tags(&tags)?;
    checks.finish()?;
    call.twin.update_model(|model| {
        let entity = entities::find_mut(model, account, kind, &target.name)?;
        let Some(held) = entity.tags else {
            return Err(kind.not_found(&target.name));
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
    let mut target = Target::named(call, &model, params, kind)?;
    let keys = params.list("TagKeys");
    if keys.is_empty() {
        params.required("TagKeys")?;
    }
    target.context.insert_multi("aws:TagKeys", keys.clone());
    target.authorize(call, &format!("Untag{}", kind.title()))?;
    let mut checks = target.checks();
    for (i, key) in keys.iter().enumerate() {
        checks.tag_key(&format!("tagKeys.{}.member", i + 1), key);
    }
    checks.finish()?;
    call.twin.update_model(|model| {
        let entity = entities::find_mut(model, account, kind, &target.name)?;
        if let Some(held) = entity.tags {
            held.retain(|t| !keys.iter().any(|k| same_name(k, &t.key)));
        }
        Ok(())
    })?;
    Ok(Answer::Empty)
}

pub(super) fn list(call: &Call<'_>, params: &Params, kind: Kind) -> Outcome {
    let model = call.twin.model();
    let target = Target::named(call, &model, params, kind)?;
    target.authorize(call, &format!("List{}Tags", kind.title()))?;
    let page = Page::read(params)?;
    target.checks().finish()?;
    let entity = target.existing()?;
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
