"""Parallel jobs on Ray: ``rlsuite sweep`` (Ray Tune trials of ordinary training runs) and the
Ray lifecycle they share with the RLlib agents (local Ray by default, any cluster by address).

Importing this package imports no Ray; :mod:`rlsuite.jobs.sweep` and :mod:`rlsuite.jobs.cluster`
import it when they run.
"""
