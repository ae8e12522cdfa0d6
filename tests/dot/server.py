#!/usr/bin/env python3
"""Starts the django-oauth-toolkit test provider: a second, independent OAuth2/OIDC server for
tok's integration tests (the first is node-oidc-provider in tests/provider).

Run with tests/dot/.venv/bin/python. Environment:
  DOT_STATE_DIR  a private, empty directory: SQLite database and the OIDC signing key go there
  TLS_CERT, TLS_KEY  PEM files of the HTTPS certificate (the tests' CA leaf for 127.0.0.1)
  PORT           port on 127.0.0.1 (0 or unset: a free one)
  AT_TTL, RT_TTL, ROTATE, REUSE_PROTECTION, RT_GRACE, DEVICE_INTERVAL: see dotop/settings.py

Prints one JSON line on stdout once it accepts connections: {"issuer": ..., "port": ...}.
Everything else (gunicorn, Django, the access log) goes to stderr.
"""

import json
import os
import socket
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

PUBLIC_CLIENT = "tok-dot"
CONFIDENTIAL_CLIENT = ("tok-dot-conf", "dot-secret")
CODE_CLIENT = "tok-dot-code"
USER = ("alice", "pw")


def bind(port):
    # Bound here, not by gunicorn, so that the issuer (which contains the port) is known before
    # Django reads its settings; gunicorn adopts the socket through fd://.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def write_signing_key(path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)


def seed():
    from django.contrib.auth import get_user_model
    from oauth2_provider.models import get_application_model

    Application = get_application_model()
    get_user_model().objects.create_user(USER[0], password=USER[1])
    common = dict(
        authorization_grant_type=Application.GRANT_DEVICE_CODE,
        algorithm=Application.RS256_ALGORITHM,
        redirect_uris="",
    )
    Application.objects.create(
        name="tok (public)",
        client_id=PUBLIC_CLIENT,
        client_type=Application.CLIENT_PUBLIC,
        client_secret="",
        **common,
    )
    # Issue 20: an administrator's code-flow client, public (PKCE), loopback redirect on any
    # port (RFC 8252; DOT ignores the port of a 127.0.0.1 redirect URI).
    Application.objects.create(
        name="tok (code)",
        client_id=CODE_CLIENT,
        client_type=Application.CLIENT_PUBLIC,
        client_secret="",
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        algorithm=Application.RS256_ALGORITHM,
        redirect_uris="http://127.0.0.1/callback",
    )
    Application.objects.create(
        name="tok (confidential)",
        client_id=CONFIDENTIAL_CLIENT[0],
        client_type=Application.CLIENT_CONFIDENTIAL,
        client_secret=CONFIDENTIAL_CLIENT[1],
        **common,
    )


def main():
    state = os.environ["DOT_STATE_DIR"]
    sock = bind(int(os.environ.get("PORT") or 0))
    port = sock.getsockname()[1]
    issuer = f"https://127.0.0.1:{port}/o"
    os.environ["DOT_ISSUER"] = issuer
    os.environ["DJANGO_SETTINGS_MODULE"] = "dotop.settings"
    write_signing_key(os.path.join(state, "oidc.key"))

    # The ready line must be the only thing on stdout: keep stdout for it, send the rest (the
    # access log included) to stderr.
    ready = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connections

    call_command("migrate", verbosity=0, interactive=False, run_syncdb=True)
    seed()
    # SQLite connections must not cross the fork into the worker.
    connections.close_all()

    from gunicorn.app.base import BaseApplication

    def when_ready(_arbiter):
        ready.write(json.dumps({"issuer": issuer, "port": port}) + "\n")
        ready.flush()
        ready.close()

    class Server(BaseApplication):
        def load_config(self):
            options = {
                "bind": [f"fd://{sock.fileno()}"],
                # One process, several threads: the approving browser, tok's token polls and
                # a test's own requests overlap, and SQLite prefers one process.
                "workers": 1,
                "worker_class": "gthread",
                "threads": 8,
                "certfile": os.environ["TLS_CERT"],
                "keyfile": os.environ["TLS_KEY"],
                "preload_app": True,
                "accesslog": "-",
                "errorlog": "-",
                "loglevel": "info",
                "when_ready": when_ready,
                "graceful_timeout": 1,
                # gunicorn 27 would open a control socket in $XDG_RUNTIME_DIR or ~/.gunicorn,
                # shared by every instance and outside the sealed state directory.
                "control_socket_disable": True,
            }
            for k, v in options.items():
                self.cfg.set(k, v)

        def load(self):
            from dotop.wsgi import application

            return application

    Server().run()


if __name__ == "__main__":
    main()
