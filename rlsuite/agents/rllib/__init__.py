"""RLlib baselines behind rlsuite's agent protocol: ``agent.algo: rllib.ppo`` (and ``rllib.dqn``,
``rllib.sac``, ``rllib.appo``) train Ray RLlib's own algorithms on its new API stack (RLModule, Learner,
EnvRunner, ConnectorV2) inside ``rlsuite train``, with the same run directory, scalar names, evaluation,
checkpoints and ``rlsuite eval`` as our agents.

The package, one module per concern:

- :mod:`~rlsuite.agents.rllib.params`: the hyper-parameters, with RLlib's defaults read from RLlib;
- :mod:`~rlsuite.agents.rllib.envs`: the Ray env creator the env runners step;
- :mod:`~rlsuite.agents.rllib.module`: the RLModule for pixel observations and its encoders;
- :mod:`~rlsuite.agents.rllib.reporting`: the episode callback and the results reaching the monitor;
- :mod:`~rlsuite.agents.rllib.agents`: :class:`RLlibAgent` and one subclass per algorithm.

**Hyper-parameters** keep RLlib's names and, except for resources and vectorisation (env runners,
learners, torch threads), RLlib's defaults, read from RLlib's own ``AlgorithmConfig`` (each field's doc
states RLlib's value, and ours where it differs); ``train_batch_size`` is RLlib's
``train_batch_size_per_learner``. ``model`` passes further keys of RLlib's ``DefaultModelConfig``
(``vf_share_layers``, ``head_fcnet_hiddens``, …) through, checked against that dataclass. Every
``Algorithm.train()`` iteration is completed, so a run ends less than one iteration past
``train.total_steps``; a budget below one iteration (``min_sample_timesteps_per_iteration``, PPO's
``train_batch_size`` per learner) is a :class:`~rlsuite.config.ConfigError` before anything runs.

**Envs.** Every env is registered with Ray (``ray.tune.register_env``) under its id, with
``env.kwargs`` as the env config. Env runners step our ids' **native** vector env
(``gym_env_vectorize_mode="vector_entry_point"``: one batched env of ``num_envs_per_env_runner``
sub-envs per runner); other ids (CartPole, Pendulum) get RLlib's usual ``SyncVectorEnv`` over
``gymnasium.make(id, **env.kwargs)``. The env's :class:`gymnasium.envs.registration.EnvSpec` travels
with the creator, so an env registered only in the driver process works in the runners too.

**Ray** (:mod:`rlsuite.cluster`). Without ``address``, a Ray already running in the process is reused (a
session fixture, a notebook); else a local one is started with ``os.cpu_count()`` CPUs and no dashboard,
which lives until the agent that started it is closed (:meth:`RLlibAgent.close`) or the process ends.
``address: auto`` or ``ray://host:port`` joins a cluster. The CPUs and GPUs the config asks Ray for
(RLlib's own bundle list: the driver with its local learner, the env runners, any remote learners) are
checked against what the cluster has before anything starts: a request that can never be met is a
:class:`~rlsuite.config.ConfigError`, not a run that waits forever. ``learn`` builds the Algorithm
(:meth:`RLlibAgent.start`) and stops it, env runners and learners included, when it returns or fails.

**Reporting.** After each ``Algorithm.train()`` call the episodes that ended in it reach the monitor
one by one (``monitor.on_episodes``): an RLlib callback (:class:`EpisodeStats`) records each finished
episode's return (summed over the chunks RLlib cut it into) and length in the env runners, and RLlib
gathers them into the iteration's result. ``global_step`` is RLlib's
``num_env_steps_sampled_lifetime`` (env steps, NEXT_STEP reset steps not counted). Learner statistics
are logged under our names (``LEARNER_SCALARS``: ``losses/policy_loss``, ``losses/vf_loss``,
``losses/entropy``, ``losses/qf_loss``, …); ``charts/sps`` comes from the monitor.

**Pixels.** Channel-last ``uint8`` images get :class:`ImageActorCriticModule` (PPO only): a CNN encoder
(our Nature-CNN, :func:`rlsuite.agents.networks.build_encoder`, sized by the ``encoder`` section) with
a linear policy head and a linear value head. Its ``model_config["encoder_factory"]`` is where a
pretrained encoder plugs in: any ``factory(observation_space, model_config) -> nn.Module`` with a
``features_dim`` attribute (see :func:`image_module_spec`). A pretrained encoder from the config:

- ``encoder: {checkpoint: driving, freeze: true}``: it runs inside the env runners; their native
  vector envs are wrapped in the feature env (``FeatureObservations``), so the algorithm (any of them,
  DQN and SAC included) trains its default MLP module on the encoder's features.
- ``encoder: {checkpoint: driving}`` (PPO): :func:`pretrained_encoder` puts it in the pixel RLModule,
  fine-tuned at ``agent.lr`` with the heads (``store_features: false`` with ``freeze: true`` keeps it
  fixed there); the env runners' native vector envs stack its frames (``StackedFrames``), and so do the
  driver's evaluation envs.

**Acting** (``act``, used by evaluation) runs the RLModule's ``forward_inference`` on the batch in the
driver process (torch, CPU), takes the greedy action of its distribution and maps continuous actions
to the action space as RLlib's module-to-env connector does (``unsquash_action``).

**Checkpoints** are RLlib's own (``Algorithm.save_to_path`` → ``<dir>/rllib``) plus ``agent.json``
(algo, global step). RLlib checkpoints hold pickled Python objects that are unpickled on load, unlike
our agents' safetensors checkpoints: load only checkpoints you wrote yourself. ``load`` restores just
the RLModule (no Ray needed to evaluate); a resumed run rebuilds the Algorithm and restores all of it.
Checkpoints written before this package was split from one module name its classes and functions as
``rlsuite.agents.rllib.<name>``; the names re-exported here keep them loading.

Python use::

    import rlsuite

    run = rlsuite.train("experiments/configs/rllib_ppo_cartpole.yaml")
    print(run.evaluate(episodes=10))
"""

from __future__ import annotations

from rlsuite.agents.rllib.agents import AGENTS, RLlibAgent, RLlibAPPO, RLlibDQN, RLlibPPO, RLlibSAC
from rlsuite.agents.rllib.module import (
    ImageActorCriticModule,
    default_image_encoder,
    image_module_spec,
    pretrained_encoder,
)
from rlsuite.agents.rllib.params import (
    RLlibAPPOParams,
    RLlibDQNParams,
    RLlibParams,
    RLlibPPOParams,
    RLlibSACParams,
)
from rlsuite.agents.rllib.reporting import LEARNER_SCALARS, EpisodeStats

__all__ = [
    "AGENTS",
    "LEARNER_SCALARS",
    "EpisodeStats",
    "ImageActorCriticModule",
    "RLlibAPPO",
    "RLlibAPPOParams",
    "RLlibAgent",
    "RLlibDQN",
    "RLlibDQNParams",
    "RLlibPPO",
    "RLlibPPOParams",
    "RLlibParams",
    "RLlibSAC",
    "RLlibSACParams",
    "default_image_encoder",
    "image_module_spec",
    "pretrained_encoder",
]
