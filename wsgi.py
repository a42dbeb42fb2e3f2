"""Entry point for gunicorn: gunicorn wsgi:app"""

import gc

from web import create_app

app = create_app()

# What the app loaded lives as long as the process: it is kept out of the collector's full
# passes, which otherwise held the GIL for about 80 ms (180,000 objects) every few seconds
# under load, stopping every thread of the web process (POST /plans p99 100 ms at 200/s).
gc.collect()
gc.freeze()
