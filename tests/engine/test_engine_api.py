"""The engine's public surface: configuration, commands and their guards, heats, outputs, purity."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

import server.engine as eng
from server.engine import (AttemptState, CommandRejected, EngineEvent, FalseStartPolicy, HeatState,
                           HeatStateChanged, LaneStationConfig, ResultStatus, SledStationConfig, StartMode,
                           TimingEngine, draw_go_delay_us, lane_route)
from tests.engine.harness import Script

S = AttemptState
ENGINE_DIR = Path(eng.__file__).parent
FORBIDDEN = {"paho", "flask", "flask_socketio", "sqlite3", "socket", "threading", "time", "random",
             "asyncio", "os", "datetime", "logging", "subprocess"}


def test_engine_imports_nothing_impure():
    for path in ENGINE_DIR.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            for name in names:
                assert name.split(".")[0] not in FORBIDDEN, f"{path.name} imports {name}"
                if name.startswith("server"):
                    assert name.startswith("server.engine"), f"{path.name} imports {name}"


def test_modules_and_functions_stay_small():
    for path in ENGINE_DIR.glob("*.py"):
        source = path.read_text()
        assert source.count("\n") <= 600, path.name
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                assert node.end_lineno - node.lineno < 50, f"{path.name}:{node.name}"


class TestConfig:
    def test_defaults_and_normalisation(self):
        cfg = LaneStationConfig("L1", start_mode="FLY_THROUGH", split_roles=["split1"],
                                dual_beam_roles=["finish"], false_start_policy="WARN_KEEP")
        assert cfg.start_mode is StartMode.FLY_THROUGH and cfg.split_roles == ("split1",)
        assert cfg.dual_beam_roles == frozenset({"finish"}) and cfg.false_start_policy is FalseStartPolicy.WARN_KEEP
        assert lane_route(cfg) == ("start", "split1", "finish")
        hash(cfg)

    @pytest.mark.parametrize("kwargs, message", [
        ({"start_mode": StartMode.FIRST_MOVEMENT}, "not available"),
        ({"split_roles": ("finish",)}, "split gates"),
        ({"split_roles": ("lap1",)}, "unknown gate role"),
        ({"shuttle_legs": 0}, "shuttle_legs"),
        ({"shuttle_legs": 2, "split_roles": ("split1",)}, "explicit route"),
        ({"time_cap_s": 0}, "time_cap_s"),
        ({"holdoff_s": -1}, "holdoff_s"),
        ({"start_gate": False, "start_mode": StartMode.FLY_THROUGH}, "needs a start gate"),
        ({"route": ("start", "finish")}, "do not begin"),
        ({"reaction_window_s": (3.0, 1.0)}, "reaction_window_s"),
    ])
    def test_invalid_lane_configs(self, kwargs, message):
        with pytest.raises(ValueError, match=message):
            LaneStationConfig("L1", **kwargs)

    @pytest.mark.parametrize("kwargs, message", [
        ({"start_mode": StartMode.HOLD_IN_BEAM}, "not available"),
        ({"distance_m": -5}, "distance_m"),
        ({"split_distances_m": (5.0, 3.0)}, "split_distances_m"),
        ({"split_distances_m": (10.0,)}, "split_distances_m"),
        ({"force_threshold_n": float("nan")}, "force_threshold_n"),
        ({"sled_mass_kg": 0}, "sled_mass_kg"),
        ({"curve_points": 1}, "curve_points"),
        ({"station_id": ""}, "station_id"),
    ])
    def test_invalid_sled_configs(self, kwargs, message):
        args = {"station_id": "S1", "distance_m": 10.0, **kwargs}
        with pytest.raises(ValueError, match=message):
            SledStationConfig(**args)

    def test_draw_go_delay_uses_the_callers_rng(self):
        class Fixed:
            def uniform(self, a, b):
                return (a + b) / 2
        cfg = LaneStationConfig("L1", start_mode=StartMode.REACTION_RANDOM, reaction_window_s=(1.0, 2.0))
        assert draw_go_delay_us(cfg, Fixed()) == 1_500_000
        assert draw_go_delay_us(LaneStationConfig("L2"), Fixed()) == 0


class TestCommands:
    def engine(self) -> TimingEngine:
        e = TimingEngine()
        for i in (1, 2):
            e.configure_station(LaneStationConfig(f"L{i}"))
        e.configure_station(LaneStationConfig("F1", start_mode=StartMode.FLY_THROUGH))
        e.configure_station(SledStationConfig("S1", 10.0, countdown_s=5.0))
        return e

    def test_arm_returns_a_heat_and_go_returns_go_times(self):
        e = self.engine()
        heat = e.arm(["L1", "S1", "F1"], {"L1": "a", "S1": "b", "F1": "c"}, 1_000)
        assert heat == "heat1"
        assert e.go(heat, 2_000, go_delay_us=10) == {"L1": 3_002_010, "S1": 5_002_010}

    def test_static_errors_raise_at_once(self):
        e = self.engine()
        with pytest.raises(ValueError, match="unknown station"):
            e.arm(["X"], {"X": "a"}, 0)
        with pytest.raises(ValueError, match="no attempt id"):
            e.arm(["L1"], {}, 0)
        with pytest.raises(ValueError, match="unknown station or heat"):
            e.go("nope", 0)
        e.arm(["L1"], {"L1": "a"}, 0, heat_id="H")
        with pytest.raises(ValueError, match="already in use"):
            e.arm(["L2"], {"L2": "b"}, 0, heat_id="H")
        with pytest.raises(ValueError, match="go_delay_us"):
            e.go("L1", 0, go_delay_us=-1)

    def test_guards_reject_in_timeline_order(self):
        e = self.engine()
        e.go("L1", 1_000)                                   # not armed
        e.arm(["L1"], {"L1": "a"}, 2_000)
        e.arm(["L1"], {"L1": "b"}, 3_000)                   # busy
        e.stop("L2", 4_000)                                 # nothing to stop
        out = e.advance(10_000_000)
        rejected = [(o.command, o.station_id) for o in out if isinstance(o, CommandRejected)]
        assert rejected == [("go", "L1"), ("arm", "L1"), ("stop", "L2")]
        assert "busy" in [o for o in out if isinstance(o, CommandRejected)][1].reason
        assert e.attempt_id_of("L1") == "a"

    def test_rejected_arm_leaves_the_heat_with_the_other_members(self):
        e = self.engine()
        e.arm(["L1"], {"L1": "a"}, 1_000)
        e.arm(["L1", "L2"], {"L1": "b", "L2": "c"}, 2_000, heat_id="H")
        e.go("H", 3_000)
        out = e.advance(10_000_000)
        assert [o.state for o in out if isinstance(o, HeatStateChanged) and o.heat_id == "H"] == \
            [HeatState.ARMED, HeatState.COUNTDOWN, HeatState.RUNNING]
        assert e.state_of("L1") is S.ARMED and e.state_of("L2") is S.RUNNING

    def test_heat_commands_only_reach_that_heats_attempts(self):
        e = self.engine()
        e.arm(["L1", "L2"], {"L1": "a", "L2": "b"}, 1_000, heat_id="H1")
        e.abort("L1", 2_000)
        e.arm(["L1"], {"L1": "c"}, 3_000, heat_id="H2")
        e.go("H1", 4_000)
        out = e.advance(10_000_000)
        assert e.state_of("L1") is S.ARMED and e.state_of("L2") is S.RUNNING
        assert [o.station_id for o in out if isinstance(o, CommandRejected)] == ["L1"]

    def test_remove_station_aborts_its_attempt(self):
        e = self.engine()
        e.arm(["L1"], {"L1": "a"}, 1_000)
        e.advance(2_000_000)
        e.remove_station("L1")
        out = e.advance(3_000_000)
        (r,) = [o.result for o in out if type(o).__name__ == "AttemptFinished"]
        assert (r.status, r.reason) == (ResultStatus.ABORTED, "station_removed")
        assert e.ingest(EngineEvent("L1", "start", "break", 5_000_000)) is False
        with pytest.raises(ValueError):
            e.state_of("L1")

    def test_reconfigure_only_when_idle(self):
        e = self.engine()
        e.arm(["L1"], {"L1": "a"}, 1_000)
        e.advance(2_000_000)
        with pytest.raises(ValueError, match="active attempt"):
            e.configure_station(LaneStationConfig("L1", holdoff_s=0.2))
        e.abort("L1", 2_000_000)
        e.advance(3_000_000)
        e.configure_station(LaneStationConfig("L1", holdoff_s=0.2))
        assert e.stations["L1"].holdoff_s == 0.2

    def test_reconfigured_station_gets_the_buffered_events(self):
        e = TimingEngine()
        e.configure_station(LaneStationConfig("L1", start_mode=StartMode.FLY_THROUGH))
        e.ingest(EngineEvent("L1", "finish", "break", 10))
        e.configure_station(LaneStationConfig("L1", start_mode=StartMode.FLY_THROUGH, holdoff_s=0.1))
        e.advance(10_000_000)
        assert e._stations["L1"].gates["finish"].broken is True


def test_every_output_is_json_serialisable():
    cfg = SledStationConfig("S1", 1.0, false_start_policy=FalseStartPolicy.VOID_REARM)
    s = Script((cfg, LaneStationConfig("L1"))).arm(0.5, S1="a", L1="b").go(1.0, "heat1")
    s.ev("S1", "force", "force", 2.0, 500.0).go(5.0, "S1")
    for k in range(1, 120):
        s.ev("S1", "wheel", "position", 8.0 + k * 0.01, k * 0.01).ev("S1", "force", "force", 8.0 + k * 0.01, 300.0)
    s.beam("L1", "start", 4.3).beam("L1", "finish", 6.0)
    out = s.play()
    kinds = {type(o).__name__ for o in out.items}
    assert kinds >= {"AttemptStateChanged", "AttemptFinished", "FalseStartDetected", "HeatStateChanged",
                     "Progress"}
    for o in out.items:
        d = json.loads(json.dumps(o.to_dict()))
        assert d["type"] == type(o).__name__
    assert out.result("a~2").status is ResultStatus.OK


def test_live_view_is_what_a_page_joining_mid_heat_starts_from():
    e = TimingEngine(lateness_us=300_000)
    for sid in ("L1", "L2"):
        e.configure_station(LaneStationConfig(sid))
    assert e.live_view("L1") is None                        # nothing armed
    heat = e.arm(["L1", "L2"], {"L1": "a", "L2": "b"}, 1_000)
    e.advance(400_000)
    assert e.live_view("L1") == {"station_id": "L1", "attempt_id": "a", "state": "ARMED", "t_us": 1_000,
                                 "elapsed_s": None, "distance_m": None}
    go_us = e.go(heat, 500_000)["L1"]                       # the GO signal after the 3 s countdown
    e.advance(go_us + 300_000 + 1_500_000)                  # the watermark is 1.5 s after the signal
    view = e.live_view("L2")
    assert view is not None and view["state"] == "RUNNING" and view["t_us"] == go_us
    assert view["elapsed_s"] == pytest.approx(1.5, abs=0.001)
    e.stop("L1", go_us + 1_600_000)
    e.advance(go_us + 300_000 + 2_000_000)
    assert e.live_view("L1")["state"] == "DNF" and e.live_view("L2")["state"] == "RUNNING"
