"""The wall display's server side: leaderboards (pure functions in :mod:`~server.boards.boards` over
rows read by :mod:`~server.boards.reader`), the live tile state fed by the hub
(:mod:`~server.boards.live`) and the instructor's board choice (:mod:`~server.boards.selection`).
The routes and socket events are in :mod:`server.web.display_api`; the rules in ``docs/display.md``."""
