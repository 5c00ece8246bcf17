"""The pages: wall display, instructor tablet, setup; and the locally served browser libraries."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, abort, redirect, send_from_directory

VENDOR_FILES = {
    # URL name -> path under web/node_modules (installed from web/package-lock.json)
    "socket.io.min.js": "socket.io-client/dist/socket.io.min.js",
    "socket.io.min.js.map": "socket.io-client/dist/socket.io.min.js.map",
}


def pages_blueprint(web_root: Path) -> Blueprint:
    bp = Blueprint("pages", __name__)
    pages = web_root / "pages"
    modules = web_root / "node_modules"

    @bp.get("/")
    def index():
        return send_from_directory(pages, "index.html")

    @bp.get("/display")
    def display():
        return send_from_directory(pages, "display.html")

    @bp.get("/instructor")
    def instructor():
        return send_from_directory(pages, "instructor.html")

    @bp.get("/setup")
    def setup():
        return send_from_directory(pages, "setup.html")

    @bp.get("/tablet")
    def tablet():
        return redirect("/instructor")

    @bp.get("/vendor/<name>")
    def vendor(name: str):
        rel = VENDOR_FILES.get(name)
        if rel is None or not (modules / rel).is_file():
            abort(404, description=f"{name} is not installed: run 'make setup' (npm ci in web/)")
        return send_from_directory(modules, rel)

    return bp
