"""The calibration wizards' declared machines: buttons run the effect their transition names, signals
move only along declared transitions, and cancel works everywhere before the end."""

from __future__ import annotations

import pytest

from server.errors import Conflict
from server.setup.wizards import TERMINAL, Action, BeamWizard, EncoderWizard, LoadCellWizard, Signal, State

WIZARD_CLASSES = (LoadCellWizard, EncoderWizard, BeamWizard)


@pytest.mark.parametrize("cls", WIZARD_CLASSES, ids=lambda c: c.__name__)
def test_every_button_names_an_effect_and_no_signal_does(cls):
    m = cls.MACHINE
    assert m.transitions
    for t in m.transitions:
        if isinstance(t.event, Action):
            assert callable(m.effect(t)), t
        else:
            assert isinstance(t.event, Signal) and t.effect is None, t


@pytest.mark.parametrize("cls", WIZARD_CLASSES, ids=lambda c: c.__name__)
def test_cancel_is_offered_in_every_state_but_the_end(cls):
    w = cls("w", "n", "s", started_s=0.0)
    for state in sorted(cls.MACHINE.states):
        w.state = state
        assert ("cancel" in w.actions()) is (state not in TERMINAL), state
        assert w.actions() == [] or w.actions()[-1] == "cancel"


@pytest.mark.parametrize("action", ["skip", "fix", "bogus", "MEASURE", "saved"])
def test_a_button_the_table_does_not_offer_now_is_refused_and_changes_nothing(action):
    w = LoadCellWizard("w1", "n", "force", started_s=0.0)
    before = w.view()
    with pytest.raises(Conflict, match=r"is not possible now \(step UNLOAD; possible: measure, cancel\)") as exc:
        w.act(action, {}, 1.0)
    assert str(exc.value).startswith(f"'{action}'")
    assert w.view() == before


def test_a_signal_the_table_does_not_declare_from_here_is_a_bug_and_changes_nothing():
    full = LoadCellWizard("w1", "n", "force", started_s=0.0)
    full.act("measure", {}, 1.0)
    version = full.version
    with pytest.raises(RuntimeError, match="SAVE is not declared from ZEROING"):   # guard re_zero: re-zero only
        full._fire(Signal.SAVE, 2.0)
    with pytest.raises(RuntimeError, match="ALIGNED is not declared from ZEROING"):  # another wizard's signal
        full._fire(Signal.ALIGNED, 2.0)
    assert (full.state, full.version) == (State.ZEROING, version)


def test_an_answer_nobody_waits_for_changes_nothing():
    w = EncoderWizard("w2", "n", "wheel", started_s=0.0)
    before = (w.version, w.view())
    assert w.on_ack(False, None, "busy", 1.0) == [] and w.on_ack(True, {}, None, 1.0) == []
    assert (w.version, w.view()) == before
