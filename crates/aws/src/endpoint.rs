//! The SDK's HTTP client, unchanged except that a failed connection says which endpoint it
//! was for (the SDK's own error does not), so "connection refused" can name
//! `http://127.0.0.1:4566` or `https://lambda.eu-west-1.amazonaws.com`.

use aws_config::{BehaviorVersion, SdkConfig};
use aws_smithy_runtime::client::defaults::default_http_client_plugin_v2;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::{
    RuntimeComponents, RuntimeComponentsBuilder,
};
use aws_smithy_runtime_api::client::runtime_plugin::RuntimePlugin;
use aws_smithy_types::config_bag::ConfigBag;

use crate::cause::UnreachableEndpoint;

/// Wraps the configured client; everything but connection errors passes through.
#[derive(Debug)]
pub(crate) struct NamingEndpoints(SharedHttpClient);

impl NamingEndpoints {
    /// Around the configured client, or else the very one the SDK would pick by default
    /// (taken from the SDK's own default plugin, not rebuilt here).
    pub(crate) fn around(config: &SdkConfig) -> Option<SharedHttpClient> {
        let client = config.http_client().or_else(|| {
            let version = config
                .behavior_version()
                .unwrap_or_else(BehaviorVersion::latest);
            default_http_client_plugin_v2(version)?
                .runtime_components(&RuntimeComponentsBuilder::new("default client"))
                .http_client()
        })?;
        Some(SharedHttpClient::new(NamingEndpoints(client)))
    }
}

impl HttpClient for NamingEndpoints {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(NamingConnector(self.0.http_connector(settings, components)))
    }

    fn validate_base_client_config(
        &self,
        components: &RuntimeComponentsBuilder,
        cfg: &ConfigBag,
    ) -> Result<(), BoxError> {
        self.0.validate_base_client_config(components, cfg)
    }

    fn validate_final_config(
        &self,
        components: &RuntimeComponents,
        cfg: &ConfigBag,
    ) -> Result<(), BoxError> {
        self.0.validate_final_config(components, cfg)
    }

    fn connector_metadata(&self) -> Option<ConnectorMetadata> {
        self.0.connector_metadata()
    }
}

#[derive(Debug)]
struct NamingConnector(SharedHttpConnector);

impl HttpConnector for NamingConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let endpoint = origin(request.uri()).to_string();
        let sent = self.0.call(request);
        HttpConnectorFuture::new(async move { sent.await.map_err(|e| named(e, endpoint)) })
    }
}

/// The same kind of error (io stays io, so it is retried as before) with the endpoint added.
fn named(err: ConnectorError, endpoint: String) -> ConnectorError {
    let (io, timeout) = (err.is_io(), err.is_timeout());
    if !io && !timeout {
        return err;
    }
    let connection = err.connection_metadata().cloned();
    let wrapped = Box::new(UnreachableEndpoint {
        endpoint,
        source: err,
    });
    let named = match io {
        true => ConnectorError::io(wrapped),
        false => ConnectorError::timeout(wrapped),
    };
    match connection {
        Some(metadata) => named.with_connection(metadata),
        None => named,
    }
}

/// `scheme://host:port` of a request URI: where it went, without the path (which names
/// functions and aliases, and is no help in finding a network problem).
fn origin(uri: &str) -> &str {
    let after_scheme = uri.find("://").map_or(0, |i| i + 3);
    let end = uri[after_scheme..]
        .find(['/', '?'])
        .map_or(uri.len(), |i| after_scheme + i);
    &uri[..end]
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_origin_keeps_scheme_host_and_port() {
        assert_eq!(
            super::origin("http://127.0.0.1:4566/2015-03-31/functions/f/aliases/live"),
            "http://127.0.0.1:4566"
        );
        assert_eq!(
            super::origin("https://lambda.eu-west-1.amazonaws.com"),
            "https://lambda.eu-west-1.amazonaws.com"
        );
        assert_eq!(
            super::origin("https://monitoring.eu-west-1.amazonaws.com?Action=x"),
            "https://monitoring.eu-west-1.amazonaws.com"
        );
    }
}
