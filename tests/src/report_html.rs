//! Reading back what `rollout report` wrote, by the classes and ids it gives what it shows
//! (the integration test of the report and the demo read it the same way).

/// The values of `attribute` on the elements with `class`, in document order.
pub fn attribute_values(html: &str, class: &str, attribute: &str) -> Vec<String> {
    html.split(&format!("class=\"{class}\""))
        .skip(1)
        .filter_map(|rest| {
            let tag = rest.split('>').next()?;
            let value = tag.split(&format!("{attribute}=\"")).nth(1)?;
            Some(value.split('"').next()?.to_string())
        })
        .collect()
}

/// The text of the outcome's `<dd id="{id}">` (`by`, `why`), unescaped; `None` when the
/// report does not show it.
pub fn outcome_field(html: &str, id: &str) -> Option<String> {
    let text = html
        .split(&format!("<dd id=\"{id}\">"))
        .nth(1)?
        .split("</dd>")
        .next()?;
    Some(
        text.replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&amp;", "&"),
    )
}
