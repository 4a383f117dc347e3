"""Q-networks for the deep agents: encoders, heads, and pixel augmentation.

A Q-network is an **encoder** (observation → feature vector) followed by a **head** (features →
one value per action), as in Stable-Baselines3's ``BaseFeaturesExtractor`` contract::

    encoder = build_encoder(observation_space, features_dim)   # .features_dim tells the head its input
    head = QHead(encoder.features_dim, num_actions, net_arch, dueling)

Encoders take observations in the env's own layout — ``(n, D)`` vectors, or channel-last ``(n, H, W, C)``
``uint8`` images — and do their own dtype/layout conversion, so the replay buffer and the acting code
never convert anything. Pixel encoders (and the DrQ shift) live in :mod:`rlsuite.encoders`;
:func:`build_encoder` picks one by ``encoder.type``, and pretrained ones come from
:mod:`rlsuite.encoders.transfer`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from rlsuite.agents.base import is_image_space
from rlsuite.encoders.augment import RandomShift
from rlsuite.encoders.networks import NatureCNN
from rlsuite.encoders.networks import build_encoder as build_image_encoder

__all__ = [
    "Adam",
    "MLPEncoder",
    "NatureCNN",
    "QHead",
    "QNetwork",
    "RandomShift",
    "SeedAdam",
    "build_encoder",
    "is_image_space",
    "mlp",
]

ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "elu": nn.ELU}


def mlp(in_dim: int, hidden: Sequence[int], out_dim: int | None, activation: str = "relu") -> nn.Sequential:
    """Linear layers of sizes ``hidden`` with ``activation`` after each; a final linear ``out_dim``."""
    layers: list[nn.Module] = []
    for width in hidden:
        layers += [nn.Linear(in_dim, width), ACTIVATIONS[activation]()]
        in_dim = width
    if out_dim is not None:
        layers.append(nn.Linear(in_dim, out_dim))
    return nn.Sequential(*layers)


# --------------------------------------------------------------------------------------------
# Encoders: observation -> features (each exposes .features_dim)
# --------------------------------------------------------------------------------------------
class MLPEncoder(nn.Module):
    """Vector observations: flattened and cast to float; the head's MLP does the learning."""

    def __init__(self, observation_shape: Sequence[int]) -> None:
        super().__init__()
        self.features_dim = int(np.prod(observation_shape))

    def forward(self, observations: torch.Tensor) -> torch.Tensor:
        return observations.flatten(1).float()


def build_encoder(
    observation_shape: Sequence[int],
    is_image: bool,
    features_dim: int = 512,
    encoder_type: str = "nature_cnn",
) -> nn.Module:
    """The encoder for an observation shape: an MLP input for vectors, a CNN of
    :mod:`rlsuite.encoders.networks` (``encoder.type``) for images."""
    if not is_image:
        return MLPEncoder(observation_shape)
    return build_image_encoder(encoder_type, observation_shape, features_dim)


# --------------------------------------------------------------------------------------------
# Heads: features -> Q-values
# --------------------------------------------------------------------------------------------
class QHead(nn.Module):
    """An MLP from features to one Q-value per action; optionally dueling.

    Dueling (Wang et al., 2016, "Dueling Network Architectures for Deep RL"): the last hidden layer
    is split into a value stream V(s) and an advantage stream A(s, a), combined as
    ``Q = V + A - mean_a A`` (the identifiable form of the paper's eq. 9). Earlier hidden layers are
    shared, as the paper shares the convolutional torso.
    """

    def __init__(
        self,
        in_dim: int,
        num_actions: int,
        net_arch: Sequence[int],
        dueling: bool = False,
        activation: str = "relu",
    ) -> None:
        super().__init__()
        self.dueling = dueling
        if not dueling:
            self.q = mlp(in_dim, net_arch, num_actions, activation)
            return
        shared, stream = list(net_arch[:-1]), list(net_arch[-1:])
        self.shared = mlp(in_dim, shared, None, activation)
        width = shared[-1] if shared else in_dim
        self.value = mlp(width, stream, 1, activation)
        self.advantage = mlp(width, stream, num_actions, activation)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        if not self.dueling:
            return self.q(features)
        hidden = self.shared(features)
        advantage = self.advantage(hidden)
        return self.value(hidden) + advantage - advantage.mean(dim=1, keepdim=True)


class QNetwork(nn.Module):
    """Encoder + head: a batch of observations (env layout) → Q-values ``(n, num_actions)``."""

    def __init__(self, encoder: nn.Module, head: QHead) -> None:
        super().__init__()
        self.encoder = encoder
        self.head = head

    def forward(self, observations: torch.Tensor) -> torch.Tensor:
        return self.head(self.encoder(observations))


# --------------------------------------------------------------------------------------------
# Optimiser
# --------------------------------------------------------------------------------------------
class Adam:
    """Adam (Kingma & Ba, 2015, "Adam: A Method for Stochastic Optimization") as ``torch.optim.Adam``
    computes it — through its functional form ``torch.optim.adam.adam``, with the fused kernel, so the
    weights come out the same bit for bit — and with its ``state_dict`` layout, but without
    ``torch.optim.Optimizer``: constructing one (and its ``step`` and ``zero_grad``) imports
    ``torch._dynamo``, 1–2 s of a DQN's start-up, and its per-step bookkeeping (hooks, profiler
    ranges, state grouping) costs as much again as the update it wraps on small networks.

    What DQN needs, no more: parameter groups with their own ``lr`` (``param_groups[i]["lr"]`` may be
    changed between steps), ``betas`` and ``eps``; no weight decay, AMSGrad or gradient scaling.
    """

    def __init__(
        self,
        param_groups: Sequence[dict],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
    ) -> None:
        self.param_groups = [
            {"lr": lr, "betas": tuple(betas), "eps": eps, **group, "params": list(group["params"])}
            for group in param_groups
        ]
        params = [w for group in self.param_groups for w in group["params"]]
        self.fused = all(w.is_floating_point() and _fused_adam_runs_on(w.device) for w in params)
        self.state: dict[torch.Tensor, dict[str, torch.Tensor]] = {}

    def zero_grad(self) -> None:
        """Drop the gradients (``set_to_none``, as ``torch.optim`` does by default)."""
        for group in self.param_groups:
            for w in group["params"]:
                w.grad = None

    @torch.no_grad()
    def step(self) -> None:
        """One Adam step of every parameter that has a gradient."""
        for group in self.param_groups:
            params = [w for w in group["params"] if w.grad is not None]
            if params:
                self._update(params, [self.state.get(w) or self._new_state(w) for w in params], group)

    @classmethod
    @torch.no_grad()
    def step_together(cls, optimizers: Sequence[Adam]) -> None:
        """:meth:`step` of each of ``optimizers`` (of this class, with the same parameter groups and
        hyperparameters: the K seeds of a ``train.num_seeds`` run) in one call of the functional form
        per group, not one per optimiser. Each parameter tensor is updated on its own by that call
        (the fused kernel loops over the tensors of its lists, the single-tensor forms too), so every
        optimiser's weights and state come out exactly as its own :meth:`step` leaves them; what
        joining them saves is the per-call overhead, most of a small network's step. Optimisers whose
        groups differ in a hyperparameter are stepped one by one."""
        first = optimizers[0]
        layout = [(len(g["params"]), g["lr"], g["betas"], g["eps"]) for g in first.param_groups]
        if any(
            type(o) is not cls
            or o.fused != first.fused
            or [(len(g["params"]), g["lr"], g["betas"], g["eps"]) for g in o.param_groups] != layout
            for o in optimizers
        ):
            for optimizer in optimizers:
                optimizer.step()
            return
        for i, group in enumerate(first.param_groups):
            params: list[torch.Tensor] = []
            states: list[dict[str, torch.Tensor]] = []
            for optimizer in optimizers:
                mine = [w for w in optimizer.param_groups[i]["params"] if w.grad is not None]
                params += mine
                states += [optimizer.state.get(w) or optimizer._new_state(w) for w in mine]
            if params:
                first._update(params, states, group)

    def _update(self, params: list[torch.Tensor], states: list[dict[str, torch.Tensor]], group: dict) -> None:
        """One step of ``params`` (each with a gradient) and their ``states`` with ``group``'s
        hyperparameters, through the functional form."""
        from torch.optim.adam import adam

        beta1, beta2 = group["betas"]
        adam(
            params,
            [w.grad for w in params],
            [s["exp_avg"] for s in states],
            [s["exp_avg_sq"] for s in states],
            [],
            [s["step"] for s in states],
            fused=True if self.fused else None,
            amsgrad=False,
            beta1=beta1,
            beta2=beta2,
            lr=group["lr"],
            weight_decay=0.0,
            eps=group["eps"],
            maximize=False,
        )

    def _new_state(self, w: torch.Tensor) -> dict[str, torch.Tensor]:
        state = {  # torch.optim.Adam's: the step count lives beside the weights for the fused kernel
            "step": torch.zeros((), dtype=torch.float32, device=w.device if self.fused else "cpu"),
            "exp_avg": torch.zeros_like(w, memory_format=torch.preserve_format),
            "exp_avg_sq": torch.zeros_like(w, memory_format=torch.preserve_format),
        }
        self.state[w] = state
        return state

    def state_dict(self) -> dict:
        """``{"state": {index: {...}}, "param_groups": [...]}`` with parameters numbered in group
        order, as ``torch.optim.Optimizer.state_dict`` writes it."""
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            numbers = [index.setdefault(id(w), len(index)) for w in group["params"]]
            groups.append({**{k: v for k, v in group.items() if k != "params"}, "params": numbers})
        state = {index[id(w)]: dict(s) for w, s in self.state.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """The inverse of :meth:`state_dict` (``torch.optim.Adam``'s state dicts load too)."""
        saved_groups = state_dict["param_groups"]
        if [len(g["params"]) for g in saved_groups] != [len(g["params"]) for g in self.param_groups]:
            raise ValueError("the saved optimiser state has other parameter groups than this network")
        by_index: dict[int, torch.Tensor] = {}
        for saved, group in zip(saved_groups, self.param_groups):
            group.update(lr=saved["lr"], betas=tuple(saved["betas"]), eps=saved["eps"])
            by_index.update(zip(saved["params"], group["params"]))
        self.state = {}
        for number, saved_state in state_dict["state"].items():
            w = by_index[int(number)]
            state = self._new_state(w)
            for key, value in saved_state.items():
                state[key].copy_(value)


#: A weight of this many elements (a multiple of it) lies in whole vector lanes of the fused Adam kernel
#: on every CPU torch runs on (up to 64 float lanes): the kernel's last ``numel % lanes`` elements,
#: computed one by one, are then none, whether it steps one seed's tensor or K seeds' stacked.
WHOLE_LANES = 64


class SeedAdam:
    """The :class:`Adam` optimisers of K seeds whose weights are views of ``[K, ...]`` stacked tensors
    (a ``train.num_seeds`` run), stepped as one call of torch's fused kernel; each optimiser's state
    becomes views of ``[K, ...]`` stacked moments and of one ``(K,)`` step count per weight, so the
    optimisers still save and load their own state.

    Exact: the fused CPU kernel steps each tensor of its lists on its own, its leading elements in
    vector lanes and its last ``numel % lanes`` one by one (in double precision), so a stacked tensor
    rounds a seed's elements as that seed's own step does only where no seed has such a tail: a weight
    whose size is a multiple of :data:`WHOLE_LANES` is stepped stacked, any other (an output bias of a
    few actions) as K views, each exactly its seed's tensor. All seeds share a step count (they step
    together), so the stacked call reads the first seed's. Where the kernel is not fused, or the
    seeds' groups differ in a hyperparameter, :meth:`step` falls back to :meth:`Adam.step_together`.
    """

    def __init__(
        self,
        optimizers: Sequence[Adam],
        per_seed: Sequence[Sequence[torch.Tensor]],
        stacked: Sequence[torch.Tensor],
    ) -> None:
        """``per_seed[k][i]`` is optimiser ``k``'s weight that is ``stacked[i][k]``."""
        self.optimizers = list(optimizers)
        self.per_seed = [list(weights) for weights in per_seed]
        self.stacked = list(stacked)
        first = self.optimizers[0]
        self.joint = first.fused and all(type(o) is Adam for o in self.optimizers)
        if not self.joint:
            return
        group_of = [
            {id(w): g for g, group in enumerate(o.param_groups) for w in group["params"]} for o in optimizers
        ]
        self._steps: list[torch.Tensor] = []
        #: per stacked weight: its index, its group, whether it is stepped stacked, its moments
        self._layout: list[tuple[int, int, bool, dict[str, torch.Tensor]]] = []
        for i, weights in enumerate(self.stacked):
            groups = {group_of[k][id(self.per_seed[k][i])] for k in range(len(self.optimizers))}
            if len(groups) != 1:
                raise ValueError(
                    f"stacked weight {i} is in different parameter groups of the seeds' optimisers"
                )
            state = {
                "step": torch.zeros(len(self.optimizers), dtype=torch.float32, device=weights.device),
                "exp_avg": torch.zeros_like(weights),
                "exp_avg_sq": torch.zeros_like(weights),
            }
            for k, optimizer in enumerate(self.optimizers):
                mine = {name: value[k] for name, value in state.items()}
                old = optimizer.state.get(self.per_seed[k][i])
                if old is not None:
                    for name, value in old.items():
                        mine[name].copy_(value)
                optimizer.state[self.per_seed[k][i]] = mine
            self._steps.append(state["step"])
            whole = weights[0].numel() % WHOLE_LANES == 0
            self._layout.append((i, groups.pop(), whole, state))

    @torch.no_grad()
    def step(self) -> None:
        """One Adam step of every seed: the gradients are the stacked weights' ``.grad``."""
        first = self.optimizers[0]
        hyper = [(g["lr"], g["betas"], g["eps"]) for g in first.param_groups]
        if not self.joint or any(
            [(g["lr"], g["betas"], g["eps"]) for g in o.param_groups] != hyper for o in self.optimizers[1:]
        ):
            for k, weights in enumerate(self.per_seed):
                for w, stacked in zip(weights, self.stacked):
                    w.grad = stacked.grad[k]
            type(first).step_together(self.optimizers)
            return
        torch._foreach_add_(self._steps, 1)  # torch.optim.adam's increment, every seed's at once
        for g, (lr, (beta1, beta2), eps) in enumerate(hyper):
            lists: tuple[list[torch.Tensor], ...] = ([], [], [], [], [])
            for i, group, whole, state in self._layout:
                if group != g:
                    continue
                tensors = (
                    self.stacked[i].detach(),
                    self.stacked[i].grad,
                    state["exp_avg"],
                    state["exp_avg_sq"],
                )
                if whole:
                    for out, tensor in zip(lists, (*tensors, state["step"][0])):
                        out.append(tensor)
                else:
                    for out, tensor in zip(lists, (*tensors, state["step"])):
                        out.extend(tensor.unbind(0))
            if lists[0]:  # torch.optim.adam._fused_adam's call
                torch._fused_adam_(
                    lists[0],
                    lists[1],
                    lists[2],
                    lists[3],
                    [],
                    lists[4],
                    amsgrad=False,
                    lr=lr,
                    beta1=beta1,
                    beta2=beta2,
                    weight_decay=0.0,
                    eps=eps,
                    maximize=False,
                    grad_scale=None,
                    found_inf=None,
                )


def _fused_adam_runs_on(device: torch.device) -> bool:
    """Whether torch has a fused Adam kernel for ``device`` (on CPU since torch 2.4)."""
    return device.type == "cuda" or (device.type == "cpu" and torch.__version__ >= "2.4")
