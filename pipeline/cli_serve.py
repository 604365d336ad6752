"""``cfwatch serve [--host 127.0.0.1] [--port 8080]``: the desk's web pages (pipeline/web).

Reads the config's database read-only, next to a running daemon or ``poll --once``
from cron. Beyond a loopback address it refuses to start without a token in
``CFWATCH_WEB_TOKEN``: the pages show every source and delivery error, and a
careless ``--host 0.0.0.0`` must not publish them.
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import os
import sys
from typing import Any

TOKEN_ENV = "CFWATCH_WEB_TOKEN"


def add_commands(sub: Any) -> None:
    serve = sub.add_parser("serve", help="web pages, Atom feed, JSON API, /healthz and /metrics (read-only)")
    serve.add_argument("--host", default="127.0.0.1",
                       help=f"address to listen on (default 127.0.0.1; any other needs ${TOKEN_ENV})")
    serve.add_argument("--port", type=int, default=8080, help="port (default 8080)")
    serve.set_defaults(func=cmd_serve)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:  # a host name: it may resolve to anything
        return False


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from pipeline.app import database_url
    from pipeline.cli import UsageError, load
    from pipeline.logfmt import setup_logging
    from pipeline.web.app import create_app
    from pipeline.web.readonly import readonly_engine

    token = os.environ.get(TOKEN_ENV) or None
    if not is_loopback(args.host) and token is None:
        raise UsageError(f"--host {args.host} is reachable from other machines: set {TOKEN_ENV} to an access "
                         f"token (e.g. `openssl rand -hex 32`), or listen on 127.0.0.1")
    if token is not None and len(token) < 16:
        raise UsageError(f"{TOKEN_ENV} is too short: use at least 16 characters (e.g. `openssl rand -hex 32`)")
    if not 0 < args.port < 65536:
        raise UsageError(f"--port {args.port}: expected 1 to 65535")
    config = load(args)
    if token is not None:  # the token must never reach a log line either, nor the notifiers' secrets
        from pipeline.secrets import secret_values

        setup_logging(args.log_level or config.log_level, [*secret_values(config.notifiers, os.environ), token])
    try:
        engine = readonly_engine(database_url(config))
    except ValueError as exc:
        raise UsageError(f"{config.source}: database: {exc}") from None
    app = create_app(config, database_url=database_url(config), token=token, engine=engine)
    where = f"http://{args.host}:{args.port}/"
    print(f"cfwatch: serving {where} ({'token required' if token else 'no token: loopback only'})", file=sys.stderr)
    try:
        # uvicorn's access log prints query strings (?token=...): ours logs the path only.
        uvicorn.run(app, host=args.host, port=args.port, access_log=False, log_config=None,
                    log_level=logging.getLevelName(logging.getLogger().level).lower(), server_header=False)
    finally:
        engine.dispose()
    return 0
