"""What gunicorn and ``flask --app wsgi`` load."""

from app import create_app

app = create_app()
