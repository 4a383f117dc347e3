"""Device-resident replay: uniform or prioritised, n-step returns, frame stacks stored once.

The buffer is a ring of ``T = capacity // num_envs`` time rows × ``num_envs`` columns, preallocated
as torch tensors on the training device. Slot ``row * num_envs + env`` holds, for one sub-env at
one time step, the observation ``o_t`` and the transition taken from it (``a_t``, ``r_t``,
``terminated_t``, ``done_t``); the next observation is simply the slot one row later. Every
observation is therefore stored exactly once — the terminal observation of an episode included,
which is what Gymnasium's NEXT_STEP autoreset hands us — and a frame stack of ``k`` frames is
rebuilt at sampling time by indexing back along the rows (padded with the episode's first frame),
so pixel stacks cost one frame per step, not ``k``.

A slot is *valid* (can be sampled) when its transition is real: not the fake reset step that
follows a done under NEXT_STEP, not the newest row (whose next observation does not exist yet),
and not one of the oldest rows whose frame stack reaches into overwritten frames.

Sampling returns a :class:`Batch` whose targets are ready for the TD update::

    target = returns + discounts * max_a' Q_target(next_observations, a')

with ``returns = sum_{j<m} gamma^j r_{t+j}`` over the ``m <= n_steps`` transitions before the
episode ends, and ``discounts = gamma^m`` — or ``0`` when the window ends in a *termination*. A
*truncated* window bootstraps from the observation it was cut at (Pardo et al., 2018, "Time Limits
in Reinforcement Learning"). Nothing here leaves the device.

Prioritised replay (Schaul et al., 2016, "Prioritized Experience Replay", proportional variant)
keeps ``p_i^alpha`` in a :class:`SumTree`; sampling is stratified over ``batch_size`` equal segments of
the total priority, and the importance weights ``(N P(i))^-beta`` are normalised by their batch
maximum.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import torch

__all__ = ["Batch", "ReplayBuffer", "SumTree", "stack_frames"]

#: Uniform sampling draws this many candidate slots per batch row and keeps the first valid one:
#: exactly uniform over the valid slots, without a host round trip to reject invalid draws. A row
#: with no valid candidate (probability f^8 for an invalid fraction f, ~1e-10 for CartPole) gets
#: importance weight 0.
CANDIDATES = 8


class Batch(NamedTuple):
    """A sampled batch; every field is a tensor on the buffer's device with leading size ``B``."""

    observations: torch.Tensor  # (B, *obs_shape), frame stacks assembled
    actions: torch.Tensor  # (B,) int64
    returns: torch.Tensor  # (B,) float32: discounted n-step reward sum
    next_observations: torch.Tensor  # (B, *obs_shape): the observation to bootstrap from
    discounts: torch.Tensor  # (B,) float32: gamma^m, 0 after a termination
    weights: torch.Tensor  # (B,) float32: importance weights (1 without prioritised replay)
    indices: torch.Tensor  # (B,) int64 slots, for update_priorities


def stack_frames(frames: torch.Tensor) -> torch.Tensor:
    """``(B, k, *frame_shape)`` → the env layout of a stacked observation: frames concatenated on
    the last axis (channels for ``(H, W, C)`` images, features for vectors)."""
    if frames.shape[1] == 1:
        return frames[:, 0]
    stacked = frames.movedim(1, -2)  # (B, ..., k, last)
    return stacked.reshape(*stacked.shape[:-2], -1)


class SumTree:
    """A binary sum tree over ``capacity`` non-negative leaves, as one tensor on ``device``.

    ``update`` and ``find`` are vectorised over a batch of leaves and cost ``log2(capacity)`` small
    tensor operations each, with no host synchronisation.
    """

    def __init__(self, capacity: int, device: torch.device | str) -> None:
        self.size = 1 << max(0, math.ceil(math.log2(max(capacity, 1))))
        self.depth = int(math.log2(self.size))
        self.tree = torch.zeros(2 * self.size, dtype=torch.float64, device=device)

    @property
    def total(self) -> torch.Tensor:
        return self.tree[1]

    def leaves(self, index: torch.Tensor) -> torch.Tensor:
        return self.tree[index + self.size]

    def update(self, index: torch.Tensor, value: torch.Tensor) -> None:
        node = index + self.size
        self.tree[node] = value.to(self.tree.dtype)
        for _ in range(self.depth):
            node = node // 2
            self.tree[node] = self.tree[2 * node] + self.tree[2 * node + 1]  # idempotent for duplicates

    def find(self, mass: torch.Tensor) -> torch.Tensor:
        """Leaf index whose prefix-sum interval contains each ``mass`` (in ``[0, total)``)."""
        node = torch.ones_like(mass, dtype=torch.int64)
        mass = mass.to(self.tree.dtype)
        for _ in range(self.depth):
            left = self.tree[2 * node]
            # Go right when the mass lies beyond the left subtree (and the right one is not empty,
            # which rounding could otherwise reach): never returns a zero-priority leaf.
            right = (mass >= left) & (self.tree[2 * node + 1] > 0)
            mass = torch.where(right, mass - left, mass)
            node = 2 * node + right
        return node - self.size


class ReplayBuffer:
    """Preallocated replay memory on ``device`` (see the module docstring for the layout).

    Args:
        capacity: transitions held (rounded down to a multiple of ``num_envs``).
        num_envs: sub-envs of the vector env that fills it; they write one row per vector step.
        frame_shape: shape of one stored observation (one frame when ``frame_stack > 1``).
        frame_dtype: storage dtype (``torch.uint8`` for pixels, ``torch.float32`` for states).
        device: where every tensor lives.
        gamma: discount of the n-step returns.
        n_steps: transitions summed into one return (1: one-step TD).
        frame_stack: frames per observation rebuilt at sampling time (1: no stacking).
        alpha: prioritisation exponent; ``None`` samples uniformly.
        priority_eps: added to ``|TD error|`` so that no transition has zero priority.
    """

    def __init__(
        self,
        capacity: int,
        num_envs: int,
        frame_shape: Sequence[int],
        frame_dtype: torch.dtype,
        device: torch.device | str,
        gamma: float = 0.99,
        n_steps: int = 1,
        frame_stack: int = 1,
        alpha: float | None = None,
        priority_eps: float = 1e-6,
    ) -> None:
        self.num_envs = num_envs
        self.rows = max(capacity // num_envs, n_steps + frame_stack + 1)
        self.capacity = self.rows * num_envs
        self.frame_shape = tuple(frame_shape)
        self.device = torch.device(device)
        self.gamma = gamma
        self.n_steps = n_steps
        self.frame_stack = frame_stack
        self.alpha = alpha
        self.priority_eps = priority_eps
        slots, dev = self.capacity, self.device
        self.frames = torch.empty((slots, *self.frame_shape), dtype=frame_dtype, device=dev)
        self.actions = torch.zeros(slots, dtype=torch.int64, device=dev)
        self.rewards = torch.zeros(slots, dtype=torch.float32, device=dev)
        self.terminated = torch.zeros(slots, dtype=torch.bool, device=dev)
        self.dones = torch.zeros(slots, dtype=torch.bool, device=dev)  # terminated or truncated
        self.valid = torch.zeros(slots, dtype=torch.bool, device=dev)
        self.episode_steps = torch.zeros(slots, dtype=torch.int32, device=dev)  # of the observation
        self.tree = SumTree(slots, dev) if alpha is not None else None
        self.max_priority = torch.ones((), dtype=torch.float64, device=dev)
        self.row = 0  # the head: holds the newest observations, whose transitions are not written yet
        self.filled_rows = 0  # rows the head has left behind (at most self.rows): sampled from
        self._columns = torch.arange(num_envs, device=dev)
        self._steps_ahead = torch.arange(n_steps, device=dev)
        self._discounts = gamma ** torch.arange(n_steps + 1, device=dev, dtype=torch.float32)
        self._stack_offsets = torch.arange(frame_stack - 1, -1, -1, device=dev, dtype=torch.int32)

    # ---------------------------------------------------------------- sizes
    def __len__(self) -> int:
        """Transitions written so far (valid or not), at most ``capacity``."""
        return self.filled_rows * self.num_envs

    @property
    def nbytes(self) -> int:
        """Bytes of every tensor the buffer allocated."""
        tensors = [self.frames, self.actions, self.rewards, self.terminated, self.dones, self.valid]
        tensors += [self.episode_steps] + ([self.tree.tree] if self.tree is not None else [])
        return sum(t.numel() * t.element_size() for t in tensors)

    # ---------------------------------------------------------------- writing
    def _row_slice(self, row: int) -> slice:
        return slice(row * self.num_envs, (row + 1) * self.num_envs)

    def start(self, observations: torch.Tensor) -> None:
        """Write the first observations after an env reset (at the start of ``learn``)."""
        if self.filled_rows > 0:
            # The head's observation is the real next observation of the row before it: keep it,
            # leave the head's transition invalid, and start the new episodes one row later.
            self._zero_priorities(self._advance())
        head = self._row_slice(self.row)
        self.frames[head] = observations
        self.episode_steps[head] = 0

    def add(
        self,
        actions: torch.Tensor,
        rewards: torch.Tensor,
        terminated: torch.Tensor,
        truncated: torch.Tensor,
        valid: torch.Tensor,
        next_observations: torch.Tensor,
        next_episode_start: torch.Tensor,
    ) -> None:
        """Record one vector step taken from the head observations.

        ``valid`` is False for the fake reset transitions of NEXT_STEP autoreset (the step after a
        done); ``next_episode_start`` marks the sub-envs whose ``next_observations`` begin an episode.
        """
        head = self._row_slice(self.row)
        self.actions[head] = actions
        self.rewards[head] = rewards
        self.terminated[head] = terminated
        self.dones[head] = terminated | truncated
        self.valid[head] = valid
        steps = self.episode_steps[head]
        written_row = self.row
        overwritten_rows = self._advance()
        if self.tree is not None:  # one tree update: new transitions at max priority, overwritten ones 0
            slots = torch.cat([self._slots(row) for row in [written_row, *overwritten_rows]])
            zeros = torch.zeros(len(slots) - self.num_envs, dtype=torch.float64, device=self.device)
            self.tree.update(slots, torch.cat([valid * self._new_priority(), zeros]))
        new_head = self._row_slice(self.row)
        self.frames[new_head] = next_observations
        self.episode_steps[new_head] = torch.where(next_episode_start, 0, steps + 1)

    def _advance(self) -> list[int]:
        """Move the head one row; invalidate (and return) the rows whose transition or frame stack
        the new head overwrites."""
        self.filled_rows = min(self.filled_rows + 1, self.rows)
        self.row = (self.row + 1) % self.rows
        rows = [(self.row + i) % self.rows for i in range(self.frame_stack)]
        for row in rows:
            self.valid[self._row_slice(row)] = False
        return rows

    def _slots(self, row: int) -> torch.Tensor:
        return row * self.num_envs + self._columns

    def _zero_priorities(self, rows: list[int]) -> None:
        if self.tree is not None:
            slots = torch.cat([self._slots(row) for row in rows])
            self.tree.update(slots, torch.zeros(len(slots), dtype=torch.float64, device=self.device))

    def _new_priority(self) -> torch.Tensor:
        return self.max_priority ** (self.alpha or 1.0)

    # ---------------------------------------------------------------- sampling
    def sample(self, batch_size: int, beta: float = 0.4, generator: torch.Generator | None = None) -> Batch:
        """A batch of valid transitions: uniform, or proportional to priority with IS weights."""
        if self.tree is None:
            high = self.filled_rows * self.num_envs
            candidates = torch.randint(
                0, high, (batch_size, CANDIDATES), device=self.device, generator=generator
            )
            valid = self.valid[candidates]
            first_valid = valid.to(torch.uint8).argmax(dim=1, keepdim=True)  # argmax returns the first
            indices = candidates.gather(1, first_valid).squeeze(1)
            weights = valid.any(dim=1).to(torch.float32)  # no valid candidate (rare): zero weight
            return self.gather(indices, weights)
        segment = self.tree.total / batch_size
        uniform = torch.rand(batch_size, device=self.device, generator=generator, dtype=torch.float64)
        mass = (torch.arange(batch_size, device=self.device) + uniform) * segment
        indices = self.tree.find(mass)
        probabilities = self.tree.leaves(indices) / self.tree.total
        weights = (probabilities / probabilities.min()) ** -beta  # (N P_i)^-beta / max_j (N P_j)^-beta
        return self.gather(indices, weights.to(torch.float32))

    def gather(self, indices: torch.Tensor, weights: torch.Tensor | None = None) -> Batch:
        """The batch for the given slots (``sample`` draws them; tests call this directly)."""
        n, rows = self.num_envs, self.rows
        if weights is None:
            weights = torch.ones(len(indices), dtype=torch.float32, device=self.device)
        if self.n_steps == 1:  # the general window below, specialised: 4 small ops instead of ~20
            discounts = self.gamma * (~self.terminated[indices]).to(torch.float32)
            return Batch(
                observations=self.stacked(indices),
                actions=self.actions[indices],
                returns=self.rewards[indices],
                next_observations=self.stacked((indices + n) % self.capacity),
                discounts=discounts,
                weights=weights,
                indices=indices,
            )
        row, column = indices // n, indices % n
        window = (row[:, None] + self._steps_ahead) % rows * n + column[:, None]  # (B, n_steps)
        # Transition j of the window counts when transitions 0..j are valid and none before j ended
        # the episode; the window stops at the first done, invalid slot or n_steps.
        dones = self.dones[window]
        not_done_before = torch.cat([torch.ones_like(dones[:, :1]), ~dones[:, :-1]], dim=1)
        included = (self.valid[window] & not_done_before).to(torch.float32).cumprod(dim=1)
        steps = included.sum(dim=1).to(torch.int64)  # m >= 1 for a valid slot
        returns = (self.rewards[window] * included * self._discounts[:-1]).sum(dim=1)
        last = window.gather(1, (steps - 1).clamp(min=0)[:, None]).squeeze(1)
        discounts = self._discounts[steps] * (~self.terminated[last]).to(torch.float32)
        bootstrap = (row + steps) % rows * n + column
        return Batch(
            observations=self.stacked(indices),
            actions=self.actions[indices],
            returns=returns,
            next_observations=self.stacked(bootstrap),
            discounts=discounts,
            weights=weights,
            indices=indices,
        )

    def stacked(self, slots: torch.Tensor) -> torch.Tensor:
        """Observations at ``slots`` with their frame stacks, padded with each episode's first frame."""
        if self.frame_stack == 1:
            return self.frames[slots]
        n = self.num_envs
        row, column = slots // n, slots % n
        back = torch.minimum(self._stack_offsets, self.episode_steps[slots][:, None])  # (B, k)
        frame_slots = (row[:, None] - back) % self.rows * n + column[:, None]
        return stack_frames(self.frames[frame_slots])

    def update_priorities(self, indices: torch.Tensor, td_errors: torch.Tensor) -> None:
        """Set the priorities of sampled slots to ``(|td_error| + eps)^alpha``."""
        assert self.tree is not None, "update_priorities needs a prioritised buffer (alpha set)"
        priorities = td_errors.detach().abs().to(torch.float64) + self.priority_eps
        self.max_priority = torch.maximum(self.max_priority, priorities.max())
        self.tree.update(indices, priorities**self.alpha)

    # ---------------------------------------------------------------- checkpoints
    def state_dict(self) -> tuple[dict[str, torch.Tensor], dict[str, int]]:
        """Tensors (for safetensors) and the JSON-able pointers."""
        tensors = {
            "frames": self.frames,
            "actions": self.actions,
            "rewards": self.rewards,
            "terminated": self.terminated,
            "dones": self.dones,
            "valid": self.valid,
            "episode_steps": self.episode_steps,
            "max_priority": self.max_priority,
        }
        if self.tree is not None:
            tensors["tree"] = self.tree.tree
        return tensors, {"row": self.row, "filled_rows": self.filled_rows, "capacity": self.capacity}

    def load_state_dict(self, tensors: dict[str, torch.Tensor], pointers: dict[str, int]) -> None:
        if pointers["capacity"] != self.capacity:
            raise ValueError(
                f"saved replay buffer holds {pointers['capacity']} transitions; this one {self.capacity}"
            )
        for name, value in tensors.items():
            if name == "tree":
                if self.tree is not None:
                    self.tree.tree.copy_(value)
            elif name == "max_priority":
                self.max_priority = value.to(self.device, torch.float64)
            else:
                getattr(self, name).copy_(value)
        self.row, self.filled_rows = int(pointers["row"]), int(pointers["filled_rows"])
