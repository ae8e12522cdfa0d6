//! The HTTP client the oauth2 crate's flows (device authorization and polling) run on: reqwest,
//! but reading at most [`MAX_RESPONSE_BYTES`] of an answer, so a provider that sends 400 MB
//! cannot swell the agent, into wiped memory ([`net::capped`]). The oauth2 crate takes the
//! finished body as a plain `Vec`; only that one buffer is out of tok's hands.

use super::form::MAX_RESPONSE_BYTES;
use crate::net::{self, CappedRead};
use oauth2::{AsyncHttpClient, HttpClientError, HttpRequest, HttpResponse};
use std::future::Future;
use std::pin::Pin;

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
            let mut body = match net::read_capped(&mut response, MAX_RESPONSE_BYTES).await {
                Ok(body) => body,
                Err(CappedRead::Transport(e)) => return Err(HttpClientError::Reqwest(Box::new(e))),
                Err(CappedRead::TooLarge) => {
                    return Err(HttpClientError::Other(format!(
                        "the provider's answer is larger than {MAX_RESPONSE_BYTES} bytes"
                    )))
                }
            };
            builder
                .body(std::mem::take(&mut *body))
                .map_err(HttpClientError::Http)
        })
    }
}
