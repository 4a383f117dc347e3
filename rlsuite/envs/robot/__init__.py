"""Robot-control environments: Reacher and Pusher, and the batched planar-arm dynamics they share.

``arm`` holds the n-link planar arm (rigid-body dynamics, integrators, the batched task core and the
single/vector env plumbing); ``reacher`` and ``pusher`` are the two tasks. Nothing is imported here,
so ``import rlsuite`` stays light; Gymnasium imports the env modules when an id is made.
"""
