//! Demo mode (placeholder while being written).
use crate::server::{respond, Body};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};

/// Demo routes.
#[derive(Debug)]
pub struct Demo;

impl Demo {
    pub async fn handle(&self, _req: Request<Incoming>) -> Response<Body> {
        respond(StatusCode::NOT_FOUND, "text/plain", "not found\n")
    }
}

/// Runs the demo.
pub async fn run(_listen: &str, _db: Option<String>) -> anyhow::Result<()> {
    anyhow::bail!("demo not ready")
}
