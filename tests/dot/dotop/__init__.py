"""The django-oauth-toolkit test provider for tok's integration tests (see ../server.py)."""
