"""Parallel jobs on Ray: ``rlsuite sweep`` (Ray Tune trials of ordinary training runs). The Ray
lifecycle they share with the RLlib agents lives below both, in :mod:`rlsuite.cluster`.

One way: :mod:`~rlsuite.jobs.spec` (the sweep file, no Ray) ← :mod:`~rlsuite.jobs.summary` (the
summary of finished trials) ← :mod:`~rlsuite.jobs.sweep` (the runner). Importing this package
imports no Ray; the runner imports it when it runs.
"""
