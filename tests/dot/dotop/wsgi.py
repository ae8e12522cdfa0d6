"""The WSGI entry point gunicorn serves (server.py loads it before forking its worker)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dotop.settings")
application = get_wsgi_application()
