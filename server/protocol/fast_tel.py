"""The fast path for ``tel`` payloads: one typed msgspec decode instead of ``json`` plus ``check_tel``.

Telemetry is nearly all of a hub's traffic (a sled node sends two batches every 50 ms), and the
stdlib path spends most of its time in Python: a hook per float (to refuse ``1e400``), then a loop per
sample. :func:`decode_tel` decodes and type-checks a batch in C (msgspec), then checks what a type
cannot say (ids, the kind, the version, sample order) in a few lines.

It is a filter, never a judge: it returns the :class:`TelemetryBatch` that
:func:`server.protocol.validate.check_tel` would return, or ``None`` for anything it is not sure of
(an integral float like ``5.0`` where the schema allows it, an error of any kind, a surprising
shape), and the caller then takes the stdlib path, which accepts it or gives the reject reason.
``tests/protocol/test_fast_tel.py`` checks that the two agree on generated and hand-made payloads.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

from server.protocol.messages import (
    COUNT_MAX, INT64_MAX, INT64_MIN, MAX_PAYLOAD_BYTES, MAX_SAMPLES_PER_BATCH, TELEMETRY_SENSOR, TelemetryBatch,
    is_id,
)
from server.protocol.validate import SensorCheck

_T = Annotated[int, msgspec.Meta(ge=0, le=INT64_MAX)]
_RAW = Annotated[int, msgspec.Meta(ge=INT64_MIN, le=INT64_MAX)]


class _Tel(msgspec.Struct):
    v: int
    boot_id: str
    seq: Annotated[int, msgspec.Meta(ge=0, le=COUNT_MAX)]
    sensor: str
    kind: str
    samples: Annotated[tuple[tuple[_T, float, _RAW], ...], msgspec.Meta(min_length=1, max_length=MAX_SAMPLES_PER_BATCH)]


_decode = msgspec.json.Decoder(_Tel).decode
_KIND_SENSOR = {kind: frozenset((sensor,)) for kind, sensor in TELEMETRY_SENSOR.items()}


def decode_tel(node: str, payload: object, rx_us: int, sensor_check: SensorCheck) -> TelemetryBatch | None:
    """The batch of a ``tel`` payload, or None: then ``parse_payload`` + ``check_tel`` decide (and say
    why they reject). ``sensor_check`` runs only for a batch returned (it may raise ``Reject``)."""
    if type(payload) is not bytes or not 0 < len(payload) <= MAX_PAYLOAD_BYTES:
        return None
    try:
        tel = _decode(payload)
    except (msgspec.DecodeError, RecursionError):  # ValidationError is a DecodeError
        return None
    allowed = _KIND_SENSOR.get(tel.kind)
    if tel.v != 1 or allowed is None or not is_id(tel.boot_id) or not is_id(tel.sensor):
        return None
    prev = 0
    for sample in tel.samples:
        t = sample[0]
        if t < prev:
            return None
        prev = t
    described = sensor_check(tel.boot_id, tel.sensor, allowed)
    return TelemetryBatch(node, tel.boot_id, tel.seq, tel.sensor, tel.kind, tel.samples, rx_us, described)
