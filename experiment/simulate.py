"""Simulated participant for pilots and demos: which key, after how long.

Pure and seeded; ``responses.SimulatedResponder`` turns its choices into key
presses on the real window's clock.
"""

import math
import random

from experiment.keys import CONTINUE_KEY, EMOTION_KEYS, INTENSITY_KEYS, key_for_emotion


def lognormal_params(mean: float, sd: float) -> tuple:
    """(mu, sigma) of a lognormal with the given mean and standard deviation (seconds)."""
    if mean <= 0 or sd <= 0:
        raise ValueError(f"simulated RT mean and sd must be positive, got {mean}, {sd}")
    sigma2 = math.log(1 + (sd / mean) ** 2)
    return math.log(mean) - sigma2 / 2, math.sqrt(sigma2)


class SimulatedParticipant:
    """Answers the emotion question correctly with probability ``accuracy``.

    RTs are lognormal (right-skewed like human RTs) with the given mean and sd;
    the defaults keep a 30-trial demo well under a minute.
    """

    def __init__(self, seed: int, accuracy: float = 0.7, rt_mean: float = 0.35, rt_sd: float = 0.1):
        if not 0 <= accuracy <= 1:
            raise ValueError(f"simulated accuracy must be between 0 and 1, got {accuracy}")
        self.accuracy = accuracy
        self.rt_mean, self.rt_sd = rt_mean, rt_sd
        self._mu, self._sigma = lognormal_params(rt_mean, rt_sd)
        self._rng = random.Random(seed)

    def rt(self) -> float:
        return self._rng.lognormvariate(self._mu, self._sigma)

    def choose(self, valid_keys, correct_emotion: str | None = None) -> str:
        """Key for a screen that accepts ``valid_keys``."""
        valid = list(valid_keys)
        if set(valid) == set(EMOTION_KEYS) and correct_emotion is not None:
            right = key_for_emotion(correct_emotion)
            if self._rng.random() < self.accuracy:
                return right
            return self._rng.choice([k for k in valid if k != right])
        if set(valid) == set(INTENSITY_KEYS):
            return self._rng.choice(valid)
        if CONTINUE_KEY in valid:
            return CONTINUE_KEY
        return valid[0]

    def respond(self, valid_keys, correct_emotion: str | None = None) -> tuple:
        """(key, delay in seconds after the screen's onset)."""
        return self.choose(valid_keys, correct_emotion), self.rt()
