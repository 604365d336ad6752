"""``cfwatch``: the command line.

``cfwatch [--config PATH] COMMAND``; the config path is a global option, else
``$CFWATCH_CONFIG``, else ``./config.yaml``. Exit 0 on success, 2 on bad config or
input (with file, line and key), 1 on other failures.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from pipeline.config import Config, ConfigError, load_config
from pipeline.durations import format_duration
from pipeline.logfmt import setup_logging
from rules import SourceError

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """Bad input on the command line or in an input file: exit 2."""


def config_path(args: argparse.Namespace) -> Path:
    return Path(args.config or os.environ.get("CFWATCH_CONFIG") or "config.yaml")


def load(args: argparse.Namespace) -> Config:
    from sqlalchemy.engine import make_url

    from pipeline.secrets import secret_values

    config = load_config(config_path(args))
    secrets = secret_values(config.notifiers, os.environ)
    password = make_url(config.database).password if "://" in config.database else None
    setup_logging(args.log_level or config.log_level, [*secrets, *([str(password)] if password else [])])
    return config


def cmd_run(args: argparse.Namespace) -> int:
    from pipeline.app import App
    from pipeline.daemon import AlreadyRunning, cap_malloc_arenas, run_daemon

    cap_malloc_arenas()  # before any thread starts
    app = App.build(load(args))
    try:
        return run_daemon(app)
    except AlreadyRunning as exc:
        print(f"cfwatch: {exc}", file=sys.stderr)
        app.close()
        return EXIT_FAIL


def cmd_poll(args: argparse.Namespace) -> int:
    from pipeline.app import App, database_url
    from pipeline.cycle import run_once
    from pipeline.daemon import AlreadyRunning, lock_database

    if not args.once:
        raise UsageError("poll needs --once (use `cfwatch run` for the daemon)")
    config = load(args)
    try:  # a daemon on the same SQLite file would have its in-flight deliveries sent twice
        lock = lock_database(database_url(config))
    except AlreadyRunning as exc:
        print(f"cfwatch: {exc}", file=sys.stderr)
        return EXIT_FAIL
    app = App.build(config, role="poll-once")
    try:
        report = run_once(app)
    finally:
        app.close()
        if lock is not None:
            lock.close()
    print(report.summary(), file=sys.stderr)
    return EXIT_OK


def cmd_check_config(args: argparse.Namespace) -> int:
    from pipeline.app import load_rules

    config = load_config(config_path(args))
    ruleset = load_rules(config)
    enabled = [f for f in config.feeds if f.enabled]
    print(f"{config.source}: OK")
    print(f"  database:  {_redact_url(config.database)}")
    print(f"  feeds:     {len(enabled)} enabled of {len(config.feeds)}")
    for feed in config.feeds:
        state = "" if feed.enabled else " (disabled)"
        print(f"    - {feed.name}: every {format_duration(feed.every)}, outlet {feed.outlet_name}{state}")
    print(f"  rules:     {len(ruleset)} rules from packs {config.rules.packs} and {len(config.rules.files)} files")
    print(f"  notifiers: {', '.join(f'{n.name} ({n.type})' for n in config.notifiers) or 'none'}")
    print(f"  routes:    {len(config.routes) or 'none (every alert to every notifier)'}")
    for problem in notifier_problems(config):
        print(f"  warning: {problem}")
    return EXIT_OK


def notifier_problems(config: Config) -> list[str]:
    """What would stop a notifier from sending, found without contacting anything."""
    from notifiers import build_notifier
    from pipeline.app import notifier_context
    from pipeline.secrets import secret_env_names

    problems = []
    context = notifier_context(config)
    needs = secret_env_names(config.notifiers)
    for model in config.notifiers:
        check = getattr(build_notifier(model, context), "check", None)
        if check is not None:
            problems.extend(check())
            continue
        problems.extend(f"{model.name}: environment variable {variable} is not set"
                        for variable in needs.get(model.name, []) if not os.environ.get(variable))
    return problems


def cmd_init(args: argparse.Namespace) -> int:
    from pipeline.app import open_database
    from pipeline.starter import STARTER_CONFIG

    path = config_path(args)
    if path.exists():
        print(f"{path} exists; keeping it")
    else:
        path.write_text(STARTER_CONFIG, encoding="utf-8")
        print(f"wrote {path}: edit its feeds and notifiers, then `cfwatch check-config`")
    config = load_config(path)
    engine, _sessions = open_database(config)
    engine.dispose()
    print(f"database ready: {_redact_url(config.database)}")
    return EXIT_OK


def cmd_eval(args: argparse.Namespace) -> int:
    from pipeline import evaluate
    from pipeline.cli_rules import _ruleset

    corpus = Path(args.corpus) if args.corpus else evaluate.default_corpus()
    if not corpus.is_dir():
        raise UsageError(f"corpus folder not found: {corpus}")
    report = evaluate.evaluate(_ruleset(args), corpus)
    print(evaluate.format_report(report))
    if args.examples:
        print(evaluate.format_examples(report, args.examples))
    if args.write:
        evaluate.write_table(report, Path(args.write))
        print(f"\nwrote {args.write}", file=sys.stderr)
    return EXIT_OK


def _redact_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<unparseable database URL>"


def build_parser() -> argparse.ArgumentParser:
    from pipeline import cli_feeds, cli_incidents, cli_notify, cli_rules, cli_serve, cli_show

    parser = argparse.ArgumentParser(prog="cfwatch", description="Alerts on ceasefire violations in news feeds.")
    parser.add_argument("--config", "-c", help="config file (default $CFWATCH_CONFIG or ./config.yaml)")
    parser.add_argument("--log-level", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("run", help="run the daemon until SIGINT/SIGTERM").set_defaults(func=cmd_run)
    poll = sub.add_parser("poll", help="poll every feed now, deliver, exit")
    poll.add_argument("--once", action="store_true", help="one full cycle, then exit")
    poll.set_defaults(func=cmd_poll)
    sub.add_parser("check-config", help="validate the config and print a summary").set_defaults(func=cmd_check_config)
    sub.add_parser("init", help="write a starter config if none exists and create the database"
                   ).set_defaults(func=cmd_init)
    evaluation = sub.add_parser("eval", help="score the rules on the labelled corpus")
    evaluation.add_argument("--corpus", help="corpus folder (default ../shared/corpus)")
    evaluation.add_argument("--examples", type=int, default=0, help="show N errors per measure")
    evaluation.add_argument("--write", metavar="FILE", help="write the results table (e.g. docs/EVAL.md)")
    evaluation.set_defaults(func=cmd_eval)
    cli_rules.add_commands(sub)
    cli_show.add_commands(sub)
    cli_notify.add_commands(sub)
    cli_incidents.add_commands(sub)
    cli_feeds.add_commands(sub)
    cli_serve.add_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except (ConfigError, SourceError, UsageError) as exc:
        print(f"cfwatch: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
