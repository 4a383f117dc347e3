"""Parallel jobs on Ray: ``rlsuite sweep`` (Ray Tune trials of ordinary training runs). The Ray
lifecycle they share with the RLlib agents lives below both, in :mod:`rlsuite.cluster`.

Importing this package imports no Ray; :mod:`rlsuite.jobs.sweep` imports it when it runs.
"""
