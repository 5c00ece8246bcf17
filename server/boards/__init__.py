"""The wall display's server side: leaderboards (pure functions in :mod:`~server.boards.boards` over
rows read by :mod:`~server.boards.reader`), the live tile state fed by the hub
(:mod:`~server.boards.live`), the instructor's board choice (:mod:`~server.boards.selection`) and
:mod:`~server.boards.display`, which ties them to one hub. The routes and socket events are in
:mod:`server.web.display_api`; the rules in ``docs/display.md``."""
