"""The device-resident replay buffer: n-step targets, truncation, frame stacks, priorities."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rlsuite.agents.replay import ReplayBuffer, SumTree

DEVICES = [
    "cpu",
    pytest.param(
        "cuda",
        marks=[pytest.mark.cuda, pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU")],
    ),
]


def feed(buffer: ReplayBuffer, steps: list[tuple], first_obs: list[float]) -> None:
    """``steps``: per vector step ``(reward, terminated, truncated, next_obs)`` (one env or lists).

    Applies NEXT_STEP bookkeeping: the step after a done is the fake reset transition.
    """
    device = buffer.device
    n = buffer.num_envs
    shape = buffer.frame_shape

    def obs_tensor(values: list[float] | float) -> torch.Tensor:
        column = np.asarray(values, dtype=np.float32).reshape(-1, *([1] * len(shape)))
        values = np.broadcast_to(column, (n, *shape))
        return torch.as_tensor(values.copy(), device=device).to(buffer.frames.dtype)

    buffer.start(obs_tensor(first_obs))
    prev_done = torch.zeros(n, dtype=torch.bool, device=device)
    for reward, terminated, truncated, next_obs in steps:
        term = torch.as_tensor(np.broadcast_to(terminated, (n,)).copy(), device=device)
        trunc = torch.as_tensor(np.broadcast_to(truncated, (n,)).copy(), device=device)
        buffer.add(
            actions=torch.zeros(n, dtype=torch.int64, device=device),
            rewards=torch.as_tensor(np.broadcast_to(reward, (n,)).astype(np.float32), device=device),
            terminated=term,
            truncated=trunc,
            valid=~prev_done,
            next_observations=obs_tensor(next_obs),
            next_episode_start=prev_done,
        )
        prev_done = term | trunc


# An episode of 4 steps that terminates, a fake reset step, a 1-step episode that is truncated,
# a fake reset step, and one step of a third episode (the head).
EPISODES = [
    (1.0, False, False, 1.0),
    (2.0, False, False, 2.0),
    (4.0, False, False, 3.0),
    (8.0, True, False, 4.0),  # terminal observation 4
    (0.0, False, False, 50.0),  # fake: reset observation 50
    (16.0, False, True, 51.0),  # truncated at observation 51
    (0.0, False, False, 60.0),  # fake: reset observation 60
    (32.0, False, False, 61.0),
]


@pytest.mark.parametrize("device", DEVICES)
def test_n_step_returns_discounts_and_bootstrap_observations_by_hand(device: str) -> None:
    buffer = ReplayBuffer(100, 1, (1,), torch.float32, device, gamma=0.5, n_steps=3)
    feed(buffer, EPISODES, [0.0])
    batch = buffer.gather(torch.tensor([0, 1, 2, 3, 5, 7], device=device))
    # slot 0: 1 + .5*2 + .25*4, bootstrap from obs 3 with .5^3
    # slots 1-3: windows end in the termination: no bootstrap
    # slot 5: truncated after one step: bootstrap from the truncated observation 51 with .5
    # slot 7: the window stops at the newest observation 61: a 1-step return
    assert batch.returns.tolist() == [3.0, 6.0, 8.0, 8.0, 16.0, 32.0]
    assert batch.discounts.tolist() == [0.125, 0.0, 0.0, 0.0, 0.5, 0.5]
    assert batch.next_observations[[0, 4, 5], 0].tolist() == [3.0, 51.0, 61.0]
    assert batch.observations[:, 0].tolist() == [0.0, 1.0, 2.0, 3.0, 50.0, 60.0]


@pytest.mark.parametrize("device", DEVICES)
def test_one_step_bootstraps_from_truncated_but_not_terminated_transitions(device: str) -> None:
    buffer = ReplayBuffer(100, 2, (1,), torch.float32, device, gamma=0.9)
    # env 0 terminates at its 2nd step, env 1 is truncated at its 2nd step
    feed(buffer, [(1.0, False, False, [1, 1]), (1.0, [True, False], [False, True], [2, 2])], [0.0, 0.0])
    batch = buffer.gather(torch.tensor([2, 3], device=device))  # row 1: the done transitions
    assert batch.discounts.tolist() == pytest.approx([0.0, 0.9])
    assert batch.next_observations[:, 0].tolist() == [2.0, 2.0]


@pytest.mark.parametrize("device", DEVICES)
def test_sampling_never_returns_fake_reset_transitions_or_the_head(device: str) -> None:
    buffer = ReplayBuffer(100, 1, (1,), torch.float32, device, gamma=0.5, n_steps=3)
    feed(buffer, EPISODES, [0.0])
    generator = torch.Generator(device=device).manual_seed(0)
    batches = [buffer.sample(64, generator=generator) for _ in range(50)]
    sampled = torch.cat([b.indices[b.weights > 0] for b in batches]).cpu()  # weight 0: no valid draw
    counts = np.bincount(sampled.numpy(), minlength=buffer.capacity)
    assert set(np.flatnonzero(counts)) == {0, 1, 2, 3, 5, 7}
    # uniform over the six valid slots: each expected 3200 / 6 ≈ 533 times
    assert counts[[0, 1, 2, 3, 5, 7]].min() > 400


@pytest.mark.parametrize("device", DEVICES)
def test_frame_stacks_are_padded_with_the_first_frame_of_their_episode(device: str) -> None:
    buffer = ReplayBuffer(100, 1, (2, 2, 1), torch.uint8, device, frame_stack=3)
    steps = [(0.0, False, False, 2), (0.0, True, False, 3), (0.0, False, False, 10), (0.0, False, False, 11)]
    feed(buffer, steps, [1])
    stacks = buffer.stacked(torch.arange(5, device=device))  # observations 1, 2, 3, 10, 11
    assert stacks.shape == (5, 2, 2, 3)  # channel-last, frames concatenated on channels
    assert stacks[:, 0, 0, :].tolist() == [[1, 1, 1], [1, 1, 2], [1, 2, 3], [10, 10, 10], [10, 10, 11]]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("alpha", [None, 0.6], ids=["uniform", "prioritised"])
def test_ring_wraparound_keeps_transitions_and_stacks_consistent(device: str, alpha: float | None) -> None:
    """Observation = time step; episodes of 7 steps. After wrapping, every sampled transition must
    still pair an observation with its successor and stack frames of its own episode only."""
    n_envs, k = 3, 4
    buffer = ReplayBuffer(60, n_envs, (1,), torch.float32, device, gamma=1.0, frame_stack=k, alpha=alpha)
    steps, t = [], 0
    for _ in range(100):
        t += 1
        done = t % 8 == 7
        steps.append((1.0, done, False, float(t)))
    feed(buffer, steps, [0.0] * n_envs)
    generator = torch.Generator(device=device).manual_seed(1)
    batch = buffer.sample(512, generator=generator)
    kept = (batch.weights > 0).cpu().numpy()  # weight 0: none of the candidates was valid
    assert kept.mean() > 0.9
    obs, nxt = batch.observations.cpu().numpy()[kept], batch.next_observations.cpu().numpy()[kept]
    newest = obs[:, -1]
    assert (nxt[:, -1] == newest + 1).all()
    episode_start = newest - (newest % 8)  # episodes start at multiples of 8 (7 is terminal, 8 resets)
    expected = np.maximum(newest[:, None] + np.arange(-k + 1, 1), episode_start[:, None])
    np.testing.assert_array_equal(obs, expected)
    assert newest.min() >= 100 - buffer.rows + k  # nothing older than the ring holds


def test_memory_of_100k_stacked_84x84_frames_is_one_frame_per_transition() -> None:
    buffer = ReplayBuffer(100_000, 8, (84, 84, 1), torch.uint8, "meta", frame_stack=4)
    assert buffer.frames.numel() == 100_000 * 84 * 84
    assert buffer.nbytes < 0.72e9  # 0.706 GB of frames + ~2.7 MB of scalars, not 2.8 GB


@pytest.mark.parametrize("device", DEVICES)
def test_sum_tree_finds_the_leaf_whose_prefix_interval_holds_the_mass(device: str) -> None:
    tree = SumTree(5, device)
    values = torch.tensor([1.0, 0.0, 2.0, 3.0, 4.0], device=device)
    tree.update(torch.arange(5, device=device), values)
    assert tree.total.item() == 10.0
    mass = torch.tensor([0.0, 0.99, 1.0, 2.5, 3.0, 5.9, 6.0, 9.99], device=device)
    assert tree.find(mass).tolist() == [0, 0, 2, 2, 3, 3, 4, 4]


@pytest.mark.parametrize("device", DEVICES)
def test_prioritised_sampling_probabilities_and_importance_weights(device: str) -> None:
    alpha, beta = 0.5, 0.4
    buffer = ReplayBuffer(100, 1, (1,), torch.float32, device, alpha=alpha, priority_eps=1e-6)
    feed(buffer, [(0.0, False, False, float(i + 1)) for i in range(4)], [0.0])  # slots 0-3 valid
    td_errors = torch.tensor([1.0, 4.0, 9.0, 16.0], device=device)
    buffer.update_priorities(torch.arange(4, device=device), td_errors)
    expected = (td_errors.cpu().numpy() + 1e-6) ** alpha
    expected /= expected.sum()  # P(i) = p_i^alpha / sum_k p_k^alpha: 1, 2, 3, 4 over 10

    generator = torch.Generator(device=device).manual_seed(0)
    draws = torch.cat([buffer.sample(100, beta, generator).indices for _ in range(200)]).cpu().numpy()
    frequencies = np.bincount(draws, minlength=4)[:4] / len(draws)
    np.testing.assert_allclose(frequencies, expected, atol=0.01)

    batch = buffer.sample(4, beta, generator)  # stratified: one draw from each quarter of the mass
    p = expected[batch.indices.cpu().numpy()]
    weights = (len(expected) * p) ** -beta
    np.testing.assert_allclose(batch.weights.cpu().numpy(), weights / weights.max(), rtol=1e-5)
    assert buffer.max_priority.item() == pytest.approx(16.0)
    # new transitions enter with the maximal priority
    feed_more = ReplayBuffer(100, 1, (1,), torch.float32, device, alpha=alpha)
    feed(feed_more, [(0.0, False, False, 1.0)], [0.0])
    assert feed_more.tree.leaves(torch.tensor([0], device=device)).item() == 1.0
