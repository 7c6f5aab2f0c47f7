//! The statuses a route answers because of what stands in front of its handler, added to each
//! operation from those facts instead of repeated in every annotation: a route that takes a
//! token answers 401 (no token, or one not valid) and 403 (the policy table refuses the role);
//! a route that takes a body answers 400 (not well formed), 413 (over the route's body limit),
//! 415 (not the content type it takes) and 422 (fields not what it takes); and every route
//! answers 408 (not received and answered in time) and 503 (the server at its concurrency
//! limit), from the request limits in front of all of them. A status a handler documents itself
//! keeps its own description.

use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::path::Operation;
use utoipa::openapi::{OpenApi, Ref, RefOr, Response, ResponseBuilder};

const WITH_TOKEN: &[(&str, &str)] = &[
    ("401", "no token, or one that is not valid"),
    ("403", "the caller may not do this"),
];

const EVERY_ROUTE: &[(&str, &str)] = &[
    (
        "408",
        "not received and answered within the request timeout",
    ),
    ("503", "the server is serving as many requests as it may"),
];

const WITH_BODY: &[(&str, &str)] = &[
    ("400", "the body is not well formed"),
    ("413", "the body is larger than this route accepts"),
    ("415", "not the content type this route takes"),
    ("422", "the body's fields are not what this route takes"),
];

/// Adds the statuses above to every operation of `document` they apply to.
pub fn add(document: &mut OpenApi) {
    for item in document.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.patch,
            &mut item.delete,
        ];
        for operation in operations.into_iter().flatten() {
            add_to(operation);
        }
    }
}

fn add_to(operation: &mut Operation) {
    let takes_token = operation.security.as_ref().is_some_and(|s| !s.is_empty());
    let takes_body = operation.request_body.is_some();
    let statuses = [
        (true, EVERY_ROUTE),
        (takes_token, WITH_TOKEN),
        (takes_body, WITH_BODY),
    ];
    for (_, list) in statuses.into_iter().filter(|(applies, _)| *applies) {
        for (status, why) in list {
            operation
                .responses
                .responses
                .entry(status.to_string())
                .or_insert_with(|| error_response(why));
        }
    }
}

fn error_response(description: &str) -> RefOr<Response> {
    let body = ContentBuilder::new()
        .schema(Some(Ref::from_schema_name("ErrorBody")))
        .build();
    RefOr::T(
        ResponseBuilder::new()
            .description(description)
            .content("application/json", body)
            .build(),
    )
}
