//! `sfn-agent serve`: a local AWS Step Functions endpoint. It speaks the service's API (AWS JSON
//! 1.0, `X-Amz-Target: AWSStepFunctions.<Action>`) to the AWS SDKs and the AWS CLI, runs the
//! executions on the local engine (`sfn-local`), keeps them and their histories in SQLite, and
//! serves a console at `/` that draws an execution's graph with the path it took.
//!
//! ```no_run
//! use sfn_agent_serve::{Config, Server};
//!
//! # async fn example() -> Result<(), sfn_agent_serve::ServeError> {
//! let server = Server::new(Config::default(), Vec::new())?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8083").await?;
//! server.serve(listener).await
//! # }
//! ```
//!
//! The team's state machines ([`Machine`], each with the task handlers of its agent) are
//! created under their names at start; other machines are created through the API, their Lambda
//! functions invoked at a Lambda emulator's URL ([`Config::lambda_endpoint`]).

mod arn;
mod console;
mod error;
mod executions;
mod graph;
mod machines;
mod protocol;
mod router;
mod service;
mod store;
mod tasks;
mod test_state;

use std::future::Future;
use std::sync::Arc;

pub use arn::Arns;
pub use error::{ApiError, ServeError};
pub use service::{Config, DEFAULT_ROLE, Machine, RegistryFactory, Service};
pub use store::{STOPPED_CAUSE, STOPPED_ERROR};

/// The server: the service and its routes.
#[derive(Debug, Clone)]
pub struct Server {
    service: Arc<Service>,
}

impl Server {
    /// Opens the store and registers `machines`.
    pub fn new(config: Config, machines: Vec<Machine>) -> Result<Self, ServeError> {
        Ok(Self {
            service: Service::new(config, machines)?,
        })
    }

    /// The service behind the routes.
    pub fn service(&self) -> &Arc<Service> {
        &self.service
    }

    /// The routes (the API at `POST /`, the console at `GET /`).
    pub fn router(&self) -> axum::Router {
        router::router(Arc::clone(&self.service))
    }

    /// Serves on `listener` until the process ends.
    pub async fn serve(self, listener: tokio::net::TcpListener) -> Result<(), ServeError> {
        self.serve_until(listener, std::future::pending()).await
    }

    /// Serves on `listener` until `shutdown` completes.
    pub async fn serve_until(
        self,
        listener: tokio::net::TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServeError> {
        axum::serve(listener, self.router())
            .with_graceful_shutdown(shutdown)
            .await?;
        Ok(())
    }
}
