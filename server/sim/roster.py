"""Demo athletes: nicknames with force–velocity and shuffle profiles that differ enough to make a
leaderboard interesting. Deterministic for a given seed."""

from __future__ import annotations

import random
from dataclasses import dataclass

from server.sim.physics import ShuffleAthlete, SledAthlete

NICKNAMES = [
    "Rocket", "Moose", "Kiwi", "Blaze", "Tank", "Pixie", "Viper", "Bear", "Comet", "Maple",
    "Otter", "Flash", "Bison", "Nova", "Tiger", "Pebble",
]


@dataclass(frozen=True)
class DemoAthlete:
    nickname: str
    sled: SledAthlete
    shuffle: ShuffleAthlete
    false_start_chance: float
    limb_rebreak_chance: float
    give_up_chance: float = 0.0   # a sled pull left short of the line (a stall, a grip let go): DNF at the cap


def demo_roster(seed: int = 7, size: int = 14) -> list[DemoAthlete]:
    """``size`` athletes with varied strength, speed and reaction (seeded). 14 on the demo's 4 stations:
    the rotation brings each athlete to a different station every lap."""
    rng = random.Random(seed)
    out = []
    for name in NICKNAMES[:size]:
        out.append(DemoAthlete(
            nickname=name,
            sled=SledAthlete(f0_n=rng.uniform(480, 760), v0_m_s=rng.uniform(2.6, 3.6),
                             rise_s=rng.uniform(0.25, 0.5), reaction_s=rng.uniform(0.18, 0.4)),
            shuffle=ShuffleAthlete(top_speed_m_s=rng.uniform(2.1, 3.1), accel_s=rng.uniform(0.9, 1.5),
                                   body_depth_m=rng.uniform(0.25, 0.35), reaction_s=rng.uniform(0.16, 0.35)),
            false_start_chance=0.06,
            limb_rebreak_chance=0.25,
            give_up_chance=0.04,
        ))
    return out
