//! The upload form models and apps share: a file input per part of the API's multipart upload,
//! each with the place where the API's error about that file appears (the error body's `field`
//! names the part), a progress bar, and a place for errors about no file in particular. The
//! sending is `assets/uploads.js`'s, which sends only the files chosen.

use maud::{Markup, html};

/// One file the upload takes: its part name (the file name the API expects), the file types the
/// picker offers, and what it is, in the uploader's words.
pub struct FilePart {
    pub name: &'static str,
    pub accept: &'static str,
    pub hint: &'static str,
}

/// The input for `part`, labelled, with its error place.
pub fn file_input(form: &str, part: &FilePart) -> Markup {
    let id = format!("{form}-{}", part.name.replace('.', "-"));
    html! {
        div.file-part {
            label for=(id) { (part.name) }
            span.muted { (part.hint) }
            input type="file" id=(id) name=(part.name) accept=(part.accept)
                aria-describedby={ (id) "-error" };
            p.error id={ (id) "-error" } data-error-for=(part.name) role="alert" {}
        }
    }
}

/// An upload form posting to `path` (an API path, `/api/v1/...`), going to `then` (with `{name}`
/// replaced by the uploaded name) once it succeeds. `content` holds its file inputs.
pub fn form(id: &str, path: &str, then: &str, button: &str, content: Markup) -> Markup {
    html! {
        form.stack #(id) data-upload-files=(format!("POST {path}")) data-then=(format!("go:{then}")) {
            (content)
            progress hidden max="1" value="0" aria-label="Upload progress" {}
            p.error data-error-for="" role="alert" {}
            div.actions { button type="submit" { (button) } }
        }
    }
}

/// Whether `name` can be a model's or an app's name (the API's rule), so a typed URL with
/// anything else is simply not found rather than sent on to the API.
pub fn is_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.".contains(&b))
}
