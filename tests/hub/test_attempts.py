from server.hub.attempts import AttemptBook


def test_heats_assign_athletes_and_rearmed_attempts_keep_them():
    book = AttemptBook("x")
    a, b = book.new_heat([("sled1", "Rocket", "m1", "c1"), ("lane1", "Kiwi", None, None)])
    assert a.heat_id == b.heat_id and a.attempt_id != b.attempt_id
    assert book.current("sled1") == a and len(book.current_all()) == 2
    assert book.get(a.attempt_id + "~2").athlete == "Rocket"  # re-armed after a voided false start
    book.finished(a.attempt_id)  # the voided attempt's result is stored ...
    assert book.get(a.attempt_id + "~2").member_id == "m1"  # ... and the re-armed one still has its athlete
    assert book.current("sled1") is None
    assert [x.station_id for x in book.current_all()] == ["lane1"]


def test_a_rearmed_station_is_current_again_until_its_rearmed_attempt_is_stored():
    book = AttemptBook("x")
    (a,) = book.new_heat([("sled1", "Rocket", "m1", None)])
    book.finished(a.attempt_id)                       # the voided false start's result ...
    book.rearmed("sled1", a.attempt_id)               # ... and the station armed again
    assert book.current("sled1") == a
    book.rearmed("lane9", a.attempt_id)               # another station's re-arm names its own attempt
    assert book.current("lane9") is None
    book.finished(a.attempt_id + "~2")
    assert book.current("sled1") is None
