"""A hub's part in a chain of gyms, over HTTP (``docs/api.md``, "Chain"; :mod:`server.chain`).

- ``GET /api/chain`` (public): this hub's gym id and club, what it published, received, refused and
  reconciled, and how many results it holds per gym; 404 on a hub not in a chain.
- ``GET /api/chain/drills`` (public): the drills chain boards can show (``"sled:10 m"``).

The reconciliation feed is ``GET /api/results?since=`` (:mod:`server.web.api`); chain boards are
``GET /api/leaderboards?board=chain&drill=&period=`` (:mod:`server.web.display_api`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Blueprint, jsonify

from server.web.errors import ApiError

if TYPE_CHECKING:
    from server.chain.service import ChainService

NOT_IN_CHAIN = "this hub is not in a chain ([chain] gym_id is not set)"


def chain_blueprint(chain: "ChainService | None") -> Blueprint:
    bp = Blueprint("chain_api", __name__, url_prefix="/api/chain")

    def service() -> "ChainService":
        if chain is None:
            raise ApiError(404, NOT_IN_CHAIN)
        return chain

    @bp.get("")
    def state():
        return jsonify(service().health())

    @bp.get("/drills")
    def drills():
        return jsonify({"drills": service().drills()})

    return bp
