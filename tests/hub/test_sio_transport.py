"""The hub's Socket.IO packets: frames encoded once per flush, everything decodes as plain Socket.IO."""

import json

from server.web.sio_transport import hub_packet_class
from socketio import packet as sio_packet


def _encode(cls, event, data, ack_id=None):
    return cls(sio_packet.EVENT, data=[event, data], id=ack_id).encode()


def test_a_frames_payload_is_encoded_once_and_each_packet_keeps_its_ack_id():
    cls = hub_packet_class()
    payload = {"t_us": 1, "stations": {"sled1": {"distance_m": 2.5, "name": "Zoë"}}}
    calls = []
    real = cls.json.dumps
    cls.json.dumps = lambda obj, **kw: (calls.append(obj), real(obj, **kw))[1]
    a, b = _encode(cls, "frames", payload, 7), _encode(cls, "frames", payload, 8)
    assert a.startswith("27[") and b.startswith("28[")
    for text in (a, b):
        decoded = cls(encoded_packet=text)
        assert decoded.data == ["frames", payload]
    plain = sio_packet.Packet(sio_packet.EVENT, data=["frames", payload], id=7).encode()
    assert a == plain                                  # byte for byte what Socket.IO would send
    assert len(calls) == 2                             # the dumps calls …
    assert cls.json._last[0] is payload                # … but one JSON of the payload, cached


def test_other_events_and_other_hubs_are_not_affected():
    one, two = hub_packet_class(), hub_packet_class()
    assert one.json is not two.json
    payload = {"t_us": 1, "stations": {}}
    _encode(one, "frames", payload, 1)
    assert two.json._last[0] is None
    result = {"id": "r1", "time_s": 7.94}
    assert json.loads(_encode(one, "result", result)[1:]) == ["result", result]
