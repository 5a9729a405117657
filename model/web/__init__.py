"""The web interface of ``caf serve``: upload a workbook in a browser instead of a terminal.

``app.create_app`` builds the FastAPI application, ``server.serve`` runs it with uvicorn,
``storage`` owns the run directories, and ``jobs`` holds the solves that run in a worker
pool. The pages show exactly what the CLI and the workbooks show, computed by the same
library functions.

May import every package (``workbook``, ``lp``, ``analysis``, ``export``) and the shared
top-level modules, but the app itself (``app``, the routes, ``site``, ``views``) imports no
solver stack: Pyomo, HiGHS and pandas are loaded only inside the worker processes, through
``jobs`` (``tests/test_layers.py`` and ``tests/test_web_imports.py`` hold both rules).
"""
