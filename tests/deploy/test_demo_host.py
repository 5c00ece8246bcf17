"""``sledhub demo`` signs anyone in with the published PIN 1234, so it listens on loopback unless
``--host`` asks for more, and it says where it listens."""

from __future__ import annotations

from server.cli import _parser, banner


def test_the_demo_listens_on_loopback_by_default():
    assert _parser().parse_args(["demo"]).host == "127.0.0.1"
    assert _parser().parse_args(["demo", "--host", "0.0.0.0"]).host == "0.0.0.0"


def test_the_banner_names_the_bind_address():
    assert banner("127.0.0.1", 8080).startswith("listening on 127.0.0.1:8080 (this address only)\n")
    lan = banner("0.0.0.0", 8081)
    assert lan.startswith("listening on 0.0.0.0:8081 (every interface (the whole LAN))\n")
    assert "http://localhost:8081/instructor" in lan
