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

/// The longest element name S3's documents use is under 40 bytes.
const MAX_NAME_BYTES: usize = 64;
/// What the paths of one document may add up to: each event repeats its
/// path, so a deep document of long names would otherwise cost far more
/// memory than its body's size.
const MAX_PATH_BYTES: usize = 8 << 20;

/// The text of every element, in document order, as `(path, text)` where
/// `path` is the element names joined by `/` from the root (`Tagging/TagSet/Tag/Key`),
/// with an empty `(path, "")` marking the end of each element, so callers
/// can group repeated elements. Element names over [`MAX_NAME_BYTES`],
/// more than 32 levels, 100,000 events or [`MAX_PATH_BYTES`] of paths are
/// `MalformedXML`.
pub fn elements(body: &[u8]) -> Result<Vec<(String, String)>, ServiceError> {
    let text = std::str::from_utf8(body).map_err(|_| malformed())?;
    let mut reader = Reader::from_str(text);
    reader.config_mut().trim_text(true);
    let mut path: Vec<String> = Vec::new();
    let mut out: Vec<(String, String)> = Vec::new();
    let mut events = 0usize;
    let mut path_bytes = 0usize;
    let name = |local: &[u8]| {
        (local.len() <= MAX_NAME_BYTES)
            .then(|| String::from_utf8_lossy(local).into_owned())
            .ok_or_else(malformed)
    };
    loop {
        events += 1;
        if events > 100_000 || path.len() > 32 || path_bytes > MAX_PATH_BYTES {
            return Err(malformed());
        }
        let before = out.len();
        match reader.read_event().map_err(|_| malformed())? {
            Event::Start(e) => {
                path.push(name(e.local_name().as_ref())?);
            }
            Event::Empty(e) => {
                path.push(name(e.local_name().as_ref())?);
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
        path_bytes += out.iter().skip(before).map(|(p, _)| p.len()).sum::<usize>();
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
    fn documents_that_would_cost_more_than_their_size_are_malformed() {
        let long = "A".repeat(65);
        let body = format!("<{long}></{long}>");
        assert!(elements(body.as_bytes()).is_err());
        // Names within the limit, but each of 90,000 events repeats a
        // 2 KiB path: 180 MB of paths from a 1 MiB body.
        let name = "B".repeat(64);
        let mut body = String::new();
        for _ in 0..31 {
            body.push_str(&format!("<{name}>"));
        }
        for _ in 0..90_000 {
            body.push_str("<c/>");
        }
        for _ in 0..31 {
            body.push_str(&format!("</{name}>"));
        }
        assert!(elements(body.as_bytes()).is_err());
        // What S3 clients send stays well inside.
        let mut delete = String::from("<Delete>");
        for i in 0..1000 {
            delete.push_str(&format!("<Object><Key>logs/{i:04}.txt</Key></Object>"));
        }
        delete.push_str("</Delete>");
        assert_eq!(
            items(&elements(delete.as_bytes()).unwrap(), "Delete/Object").len(),
            1000
        );
    }

    #[test]
    fn broken_xml_is_malformed() {
        for body in [&b"<a><b></a>"[..], b"<a>", b"\xff"] {
            assert_eq!(elements(body).unwrap_err().code, "MalformedXML");
        }
    }
}
