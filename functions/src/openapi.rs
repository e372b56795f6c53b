//! What the API document (infra/openapi) takes from each route: the operation
//! `#[utoipa::path]` states on its handler, and the `Access` and `ErrorStyle`
//! its `serve()` uses, from which the generator derives what every route of
//! that kind answers (401/403, 413, 503, the error form). Not linked into the
//! binaries: nothing they run calls it.

use licensing::{Access, ErrorStyle};
use utoipa::openapi::path::{HttpMethod, Operation};
use utoipa::openapi::{Ref, RefOr, Response};

/// One function of template.yaml, by its module's name.
pub struct Route {
    pub name: &'static str,
    /// `None` while its operation is still written in infra/openapi/document.yaml.
    pub documented: Option<Documented>,
}

/// A route's operation as its code states it, before the generator finishes it.
pub struct Documented {
    pub access: Access,
    pub errors: ErrorStyle,
    pub path: String,
    pub methods: Vec<HttpMethod>,
    pub operation: Operation,
}

impl Documented {
    /// `P` is the `__path_handle` that `#[utoipa::path]` on a handler generates.
    /// Its `tag` is not in `operation()`: utoipa's own `OpenApi` derive adds
    /// it from `__dev::Tags`, and so does this.
    pub fn of<P: utoipa::Path + for<'t> utoipa::__dev::Tags<'t>>(access: Access, errors: ErrorStyle) -> Self {
        let mut operation = P::operation();
        let tags: Vec<String> = P::tags().into_iter().map(String::from).collect();
        if !tags.is_empty() {
            operation.tags = Some(tags);
        }
        Self {
            access,
            errors,
            path: P::path(),
            methods: P::methods(),
            operation,
        }
    }
}

/// Names of `components.responses` of document.yaml, for
/// `(status = 404, response = GoogleNotFound)`: utoipa refers to a response
/// component by a type, and only its name is used.
macro_rules! response_components {
    ($($name:ident),* $(,)?) => {
        $(
            pub struct $name;

            impl utoipa::ToResponse<'static> for $name {
                fn response() -> (&'static str, RefOr<Response>) {
                    let name = stringify!($name);
                    (name, RefOr::Ref(Ref::from_response_name(name)))
                }
            }
        )*
    };
}

response_components!(GoogleNotFound);
