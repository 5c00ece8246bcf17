"""``sledhub user add NAME [--role admin|instructor|display] [--config FILE | --db FILE] [--pin-stdin]``.

Creates a hub user (``--reset-pin``: give an existing user a new PIN). Without ``--pin-stdin`` a
random 6-digit PIN is generated and printed once — it is stored only as a scrypt hash, so write it
down. ``--pin-stdin`` reads the PIN (4–12 digits) from the first line of standard input, for scripts:
``echo 4821 | sledhub user add dana --role instructor --pin-stdin``.

This is how the first admin of a fresh hub is made (the API can only be used by signed-in admins to
add more users): ``sudo -u sledhub sledhub user add owner --role admin --config /etc/sledhub/sledhub.toml``.
"""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

from server.auth.pins import check_pin_format, generate_pin
from server.auth.roles import Role
from server.auth.sessions import SessionStore
from server.auth.users import UserStore
from server.errors import DomainError
from server.store.db import Database


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="sledhub user add", description="Create a hub user who signs in with a PIN.")
    p.add_argument("name", help="user name (1-40 letters, digits, spaces, '.', '_', '-')")
    p.add_argument("--role", choices=[r.value for r in Role],
                   help="admin (setup), instructor (runs classes; default) or display (read-only)")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--config", help="hub TOML config (its [store] path is the database)")
    where.add_argument("--db", help="SQLite database file (instead of --config)")
    p.add_argument("--pin-stdin", action="store_true", help="read the PIN from standard input instead of generating one")
    p.add_argument("--reset-pin", action="store_true", help="the user exists: set a new PIN (and --role if given)")
    return p


def _db_path(args: argparse.Namespace) -> str:
    if args.db:
        return args.db
    from server.config import load_config
    return load_config(args.config).store.path


def main_user_add(argv: list[str], stdin: TextIO | None = None, stdout: TextIO | None = None) -> int:
    """Entry point for ``sledhub user add``; returns the exit status."""
    args = _parser().parse_args(argv)
    stdin, stdout = stdin or sys.stdin, stdout or sys.stdout
    if args.pin_stdin:
        pin = (stdin.readline() or "").strip()
        error = check_pin_format(pin)
        if error:
            print(f"sledhub: {error}", file=sys.stderr)
            return 2
    else:
        pin = generate_pin()
    try:
        db = Database(_db_path(args))
    except Exception as exc:  # config errors, unreadable file
        print(f"sledhub: {exc}", file=sys.stderr)
        return 2
    try:
        users = UserStore(db)
        existing = next((u for u in users.all() if u.name.casefold() == args.name.casefold()), None)
        if args.reset_pin:
            if existing is None:
                print(f"sledhub: no user named {args.name!r}", file=sys.stderr)
                return 1
            user = users.update(existing.id, role=args.role, pin=pin)
            SessionStore(db).end_user(user.id)  # a new PIN ends every session of the user at once
        else:
            user = users.create(args.name, args.role or Role.INSTRUCTOR.value, pin)
    except DomainError as exc:
        print(f"sledhub: {exc.message}", file=sys.stderr)
        return 1
    finally:
        db.close()
    print(f"user {user.name!r} ({user.role.value}) saved in {db.path}", file=stdout)
    if not args.pin_stdin:
        print(f"PIN: {pin}   (shown once; it is stored hashed)", file=stdout)
    return 0
