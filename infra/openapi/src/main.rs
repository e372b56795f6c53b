//! `make openapi`: writes openapi.yaml from the routes' handlers, infra/openapi/document.yaml and the wire types.

fn main() {
    let path = licensing_openapi::root().join("openapi.yaml");
    std::fs::write(&path, licensing_openapi::document())
        .unwrap_or_else(|err| panic!("writing {}: {err}", path.display()));
    println!("wrote openapi.yaml");
}
