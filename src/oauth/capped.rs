//! The HTTP client the oauth2 crate's flows (device authorization and polling) run on: reqwest,
//! but reading at most [`MAX_RESPONSE_BYTES`] of an answer, so a provider that sends 400 MB
//! cannot swell the agent.

use oauth2::{AsyncHttpClient, HttpClientError, HttpRequest, HttpResponse};
use std::future::Future;
use std::pin::Pin;

/// Nothing a provider legitimately answers comes near this.
pub const MAX_RESPONSE_BYTES: usize = 256 * 1024;

pub struct CappedHttp<'a>(pub &'a reqwest::Client);

impl<'c> AsyncHttpClient<'c> for CappedHttp<'_> {
    type Error = HttpClientError<reqwest::Error>;
    type Future =
        Pin<Box<dyn Future<Output = Result<HttpResponse, Self::Error>> + Send + Sync + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(async move {
            let mut response = self
                .0
                .execute(request.try_into().map_err(Box::new)?)
                .await
                .map_err(Box::new)?;
            let mut builder = oauth2::http::Response::builder().status(response.status());
            for (name, value) in response.headers() {
                builder = builder.header(name, value);
            }
            let mut body = Vec::new();
            while let Some(chunk) = response.chunk().await.map_err(Box::new)? {
                if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
                    return Err(HttpClientError::Other(format!(
                        "the provider's answer is larger than {MAX_RESPONSE_BYTES} bytes"
                    )));
                }
                body.extend_from_slice(&chunk);
            }
            builder.body(body).map_err(HttpClientError::Http)
        })
    }
}
