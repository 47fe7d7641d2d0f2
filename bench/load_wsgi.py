"""What ``bench/load.py`` serves: the portal, and a bare Flask app at ``/__hello``.

    gunicorn -c gunicorn.conf.py --chdir bench load_wsgi:app

The hello app answers from the same workers, threads and sockets as the portal, so its latency
under the load is the floor: gunicorn, WSGI and Flask with no database, template or search. The
gap between a portal endpoint and it is the portal's own work (or its wait for a free thread).
"""

from __future__ import annotations

import sys
from pathlib import Path

from flask import Flask
from werkzeug.middleware.dispatcher import DispatcherMiddleware

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from wsgi import app as portal  # after the checkout is on the path

hello = Flask("hello")


@hello.get("/", strict_slashes=False)
def say_hello() -> dict[str, str]:
    return {"hello": "world"}


app = DispatcherMiddleware(portal, {"/__hello": hello})
