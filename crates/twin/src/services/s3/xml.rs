//! S3's XML: the documents it answers with, and the few it reads
//! (`Tagging`, `CompleteMultipartUpload`, `Delete`, `CreateBucketConfiguration`).

use quick_xml::Reader;
use quick_xml::events::Event;

use crate::reply::ServiceError;

pub const NAMESPACE: &str = "http://s3.amazonaws.com/doc/2006-03-01/";

pub fn escape(text: &str) -> String {
    crate::query::escape(text)
}

/// `<Name>text</Name>`, escaped.
pub fn element(out: &mut String, name: &str, text: &str) {
    out.push('<');
    out.push_str(name);
    out.push('>');
    out.push_str(&escape(text));
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

/// A document with S3's declaration and namespace on its root.
pub fn document(root: &str, inner: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<{root} xmlns=\"{NAMESPACE}\">{inner}</{root}>"
    )
}

pub fn malformed() -> ServiceError {
    ServiceError::new(
        400,
        "MalformedXML",
        "The XML you provided was not well-formed or did not validate against our published schema",
    )
}

/// The text of every element, in document order, as `(path, text)` where
/// `path` is the element names joined by `/` from the root (`Tagging/TagSet/Tag/Key`),
/// with an empty `(path, "")` marking the end of each element, so callers
/// can group repeated elements.
pub fn elements(body: &[u8]) -> Result<Vec<(String, String)>, ServiceError> {
    let text = std::str::from_utf8(body).map_err(|_| malformed())?;
    let mut reader = Reader::from_str(text);
    reader.config_mut().trim_text(true);
    let mut path: Vec<String> = Vec::new();
    let mut out = Vec::new();
    let mut events = 0usize;
    loop {
        events += 1;
        if events > 100_000 || path.len() > 32 {
            return Err(malformed());
        }
        match reader.read_event().map_err(|_| malformed())? {
            Event::Start(e) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                path.push(name);
            }
            Event::Empty(e) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                path.push(name);
                out.push((path.join("/"), String::new()));
                out.push((format!("{}/", path.join("/")), String::new()));
                path.pop();
            }
            Event::Text(t) => {
                let value = t.unescape().map_err(|_| malformed())?.into_owned();
                out.push((path.join("/"), value));
            }
            Event::CData(t) => {
                out.push((path.join("/"), String::from_utf8_lossy(&t).into_owned()));
            }
            Event::End(_) => {
                out.push((format!("{}/", path.join("/")), String::new()));
                path.pop();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !path.is_empty() {
        return Err(malformed());
    }
    Ok(out)
}

/// The repeated elements at `item` (`Tagging/TagSet/Tag`), each as its
/// children's `(name, text)`.
pub fn items(elements: &[(String, String)], item: &str) -> Vec<Vec<(String, String)>> {
    let mut out = Vec::new();
    let mut current: Option<Vec<(String, String)>> = None;
    let prefix = format!("{item}/");
    let end = format!("{item}/");
    for (path, text) in elements {
        if *path == end {
            if let Some(done) = current.take() {
                out.push(done);
            }
            continue;
        }
        if let Some(child) = path.strip_prefix(&prefix) {
            if child.ends_with('/') {
                continue;
            }
            current
                .get_or_insert_with(Vec::new)
                .push((child.to_string(), text.clone()));
        } else if path == item {
            current.get_or_insert_with(Vec::new);
        }
    }
    out
}

/// The text of the first element at `path`.
pub fn text<'e>(elements: &'e [(String, String)], path: &str) -> Option<&'e str> {
    elements
        .iter()
        .find(|(p, t)| p == path && !t.is_empty())
        .map(|(_, t)| t.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_elements_are_grouped() {
        let body = br#"<?xml version="1.0"?><Tagging xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><TagSet><Tag><Key>a</Key><Value>1 &amp; 2</Value></Tag><Tag><Key>b</Key><Value></Value></Tag></TagSet></Tagging>"#;
        let elements = elements(body).unwrap();
        let tags = items(&elements, "Tagging/TagSet/Tag");
        assert_eq!(tags.len(), 2);
        assert_eq!(
            tags[0],
            [
                ("Key".to_string(), "a".to_string()),
                ("Value".to_string(), "1 & 2".to_string())
            ]
        );
        assert_eq!(tags[1][0], ("Key".to_string(), "b".to_string()));
    }

    #[test]
    fn broken_xml_is_malformed() {
        for body in [&b"<a><b></a>"[..], b"<a>", b"\xff"] {
            assert_eq!(elements(body).unwrap_err().code, "MalformedXML");
        }
    }
}
