"""The WSGI entry point for gunicorn: ``gunicorn helpdesk.wsgi:app``."""
import sys

from helpdesk import create_app
from helpdesk.config import ConfigError

try:
    app = create_app()
except ConfigError as error:
    sys.exit(f"Error: configuration: {error}")
