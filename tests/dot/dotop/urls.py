"""URL layout of the test provider: DOT under /o (the issuer has a path) and a login page.

RFC 8414 §3.1 puts the metadata of issuer https://host/o at
https://host/.well-known/oauth-authorization-server/o; DOT's include would also serve
https://host/o/.well-known/oauth-authorization-server (the non-standard "issuer + suffix" form
some clients try). Both serve the same document, with the device endpoint added (views.py).
"""

from django.contrib.auth import views as auth_views
from django.urls import include, path

from .views import MetadataWithDevice

urlpatterns = [
    path(".well-known/oauth-authorization-server/o", MetadataWithDevice.as_view()),
    path("o/.well-known/oauth-authorization-server", MetadataWithDevice.as_view()),
    path("o/", include("oauth2_provider.urls")),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
]
