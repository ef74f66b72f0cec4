"""`edumix serve`: a small HTTP service that queues, runs and shows curate runs on one machine.

    storage.py   the job table (SQLite now; one narrow class, so PostgreSQL can replace it)
    jobs.py      supervised `edumix curate` child processes: FIFO queue, limit, cancel, restart
    security.py  the bearer token, request-size bound and input-path confinement
    api.py       the JSON API under /api
    pages.py     the server-rendered web UI
    app.py       the FastAPI application and the uvicorn entry point

It stands above edumix.launch/report/demo/core (tests/test_layers.py); nothing imports it but the CLI.
"""
