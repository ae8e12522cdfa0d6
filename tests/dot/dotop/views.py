"""The one view DOT lacks: RFC 8414 metadata that also names the device authorization endpoint.

DOT 3.4.1's OAuthServerMetadataView lists authorization, token, revocation and introspection
endpoints but not `device_authorization_endpoint` (RFC 8628 §4), although DOT serves one; a
WLCG issuer advertises it, and a client that discovers the device flow needs it.
"""

import json

from oauth2_provider.views import OAuthServerMetadataView


class MetadataWithDevice(OAuthServerMetadataView):
    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        url = self._get_endpoint_url(request, "device-authorization", required=True)
        # JsonResponse keeps only the encoded body: decode, add, re-encode.
        data = json.loads(response.content)
        data["device_authorization_endpoint"] = url
        response.content = json.dumps(data).encode()
        return response
