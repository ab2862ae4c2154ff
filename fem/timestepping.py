"""Adaptive time stepping with cutback on divergence, bounded retries and a final checkpoint.

The stepper knows nothing about the physics: a problem provides ``advance(t, dt) -> bool``
(True if the nonlinear solve converged; it must leave the state at t+dt), ``accept()`` (the step is
final: shift history), ``reject()`` (restore the state at t) and ``checkpoint(t)``. The stepper
grows dt after easy steps, halves it on failure, and after ``max_cutbacks`` consecutive failures (or
dt below ``dt_min``) saves a checkpoint and raises :class:`SolveDivergedError` with a message.
``after_step(t, dt)`` sees each accepted time with the step it will try next (periodic checkpoints
store it); ``dt_start`` resumes with that step instead of ``dt0``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ssbx.log import get_logger

log = get_logger(__name__)


class SolveDivergedError(RuntimeError):
    """The solve could not converge even after cutting the time step; a checkpoint was saved."""


@dataclass(frozen=True)
class StepControl:
    dt0: float
    dt_min: float
    dt_max: float
    grow: float = 1.5  # factor after an easy step
    cut: float = 0.5  # factor after a failed step
    max_cutbacks: int = 6
    easy_iterations: int = 5  # Newton iterations at or below which a step counts as easy

    def __post_init__(self):
        if not 0 < self.dt_min <= self.dt0 <= self.dt_max:
            raise ValueError(f"need 0 < dt_min <= dt0 <= dt_max, got {self.dt_min}, {self.dt0}, {self.dt_max}")
        if not (self.grow >= 1 and 0 < self.cut < 1 and self.max_cutbacks >= 0):
            raise ValueError("need grow >= 1, 0 < cut < 1, max_cutbacks >= 0")


def run_adaptive(
    t0: float,
    t_end: float,
    control: StepControl,
    advance: Callable[[float, float], bool],
    accept: Callable[[float], None],
    reject: Callable[[], None],
    checkpoint: Callable[[float], str],
    iterations: Callable[[], int] = lambda: 0,
    stop: Callable[[], bool] = lambda: False,
    after_step: Callable[[float, float], None] | None = None,
    dt_start: float | None = None,
) -> dict:
    """Integrate from t0 to t_end (or until ``stop()`` is true after an accepted step).
    Returns statistics (steps, rejected steps, final dt)."""
    t, dt = t0, control.dt0 if dt_start is None else min(max(dt_start, control.dt_min), control.dt_max)
    steps = rejected = cutbacks = 0
    while t < t_end * (1 - 1e-12):
        dt_try = min(dt, t_end - t)
        if advance(t, dt_try):
            t += dt_try
            accept(t)
            steps += 1
            cutbacks = 0
            if iterations() <= control.easy_iterations:
                dt = min(control.dt_max, dt * control.grow)
            log.info("t = %.4g s (dt = %.3g s, step %d)", t, dt_try, steps)
            if after_step is not None:
                after_step(t, dt)
            if stop():
                break
            continue
        reject()
        rejected += 1
        cutbacks += 1
        dt = dt_try * control.cut
        log.info("step to t = %.4g s failed; cutting dt to %.3g s", t + dt_try, dt)
        if cutbacks > control.max_cutbacks or dt < control.dt_min:
            where = checkpoint(t)
            raise SolveDivergedError(
                f"solve diverged at t = {t:.6g} s after {cutbacks} cutbacks (dt = {dt:.3g} s, "
                f"dt_min = {control.dt_min:.3g} s); state at t saved to {where}"
            )
    return {"steps": steps, "rejected_steps": rejected, "final_dt": dt, "t": t}
